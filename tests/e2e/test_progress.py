"""The live status line of `plan`, `drift`, `generate` and `doctor` while they read the clouds: on
a terminal (a pseudo-terminal here) it shows the calls, the objects listed and the time, on
stderr only; without a terminal nothing changes, byte for byte."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from reconciler.sandbox import Sandbox
from tests.e2e.conftest import cli

TIMEOUT = 120.0  # seconds a command may take against the slowed-down sandbox
TERMINAL = {"TERM": "xterm-256color", "COLUMNS": "160", "LINES": "40"}


class Run:
    def __init__(self, code: int, out: bytes, err: str) -> None:
        self.code, self.out, self.err = code, out, err


def _drain(fd: int, into: bytearray) -> None:
    """Read the terminal's side until the command closed it (EIO on Linux, or end of file)."""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return
        if not chunk:
            return
        into.extend(chunk)


def run(*args: str, stderr_on_terminal: bool, env: dict[str, str] | None = None) -> Run:
    """The CLI as a process, stdout to a pipe; stderr to a pseudo-terminal or to a pipe."""
    command = [sys.executable, "-m", "reconciler", *args]
    environment = {**os.environ, **TERMINAL, **(env or {})}
    if not stderr_on_terminal:
        done = subprocess.run(
            command, check=False, env=environment, capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL
        )
        return Run(done.returncode, done.stdout, done.stderr.decode())
    controller, terminal = os.openpty()
    seen = bytearray()
    reader = threading.Thread(target=_drain, args=(controller, seen), daemon=True)
    try:
        proc = subprocess.Popen(
            command, env=environment, stdout=subprocess.PIPE, stderr=terminal, stdin=subprocess.DEVNULL
        )
        os.close(terminal)
        terminal = -1
        reader.start()
        out, _ = proc.communicate(timeout=TIMEOUT)
        reader.join(TIMEOUT)
        assert not reader.is_alive(), "the terminal was not closed when the command ended"
    finally:
        if terminal >= 0:
            os.close(terminal)
        os.close(controller)
    return Run(proc.returncode, out, seen.decode(errors="replace"))


@pytest.fixture
def slow_clouds(project: Path, sandbox: Sandbox) -> Path:
    """Every request takes a while, Alibaba's longest: the refresh lasts long enough for the line
    to be redrawn after the Equinix listing finished."""
    sandbox.configure(equinix={"latency_ms": 150}, alibaba={"latency_ms": 400})
    return project


def assert_status_line(terminal: str, what: str = "reading the clouds") -> None:
    assert f"{what}: " in terminal, terminal
    assert "API call" in terminal
    assert "objects listed (" in terminal and "equinix " in terminal
    assert "s\r" in terminal or "s\x1b" in terminal  # the elapsed seconds, then a redraw


def test_plan_and_drift_show_the_line_on_a_terminal_and_the_same_output(slow_clouds: Path) -> None:
    for args in (("plan", "bgp"), ("drift", "bgp"), ("drift", "bgp", "--format", "openmetrics")):
        on_terminal = run(*args, stderr_on_terminal=True)
        piped = run(*args, stderr_on_terminal=False)
        assert on_terminal.code == piped.code, (args, on_terminal.err, piped.err)
        assert_status_line(on_terminal.err)
        assert "reading the clouds" not in piped.err
        if args[-1] == "openmetrics":  # the run's time differs; everything else must not
            keep = [line for line in on_terminal.out.splitlines() if b"timestamp_seconds " not in line]
            assert keep == [line for line in piped.out.splitlines() if b"timestamp_seconds " not in line]
        else:
            assert on_terminal.out == piped.out, args
        assert b"reading the clouds" not in on_terminal.out and b"\x1b" not in on_terminal.out


def test_without_a_terminal_nothing_changes(slow_clouds: Path) -> None:
    in_process = cli("plan", "bgp")
    piped = run("plan", "bgp", stderr_on_terminal=False)
    assert in_process.out.encode() == piped.out
    assert in_process.err == "" and piped.err == ""


def test_json_logs_get_no_status_line(slow_clouds: Path) -> None:
    result = run("--log-format", "json", "drift", "bgp", stderr_on_terminal=True)
    assert result.code == 0, result.err
    assert "reading the clouds" not in result.err


def test_generate_and_doctor_show_it_too(slow_clouds: Path) -> None:
    assert cli("apply", "bgp", "--auto-approve").code == 0
    scope = ("--alibaba", "ap-southeast-1", "--equinix", "all")
    on_terminal = run("generate", "--out", "generated", *scope, stderr_on_terminal=True)
    piped = run("generate", "--out", "generated-2", *scope, stderr_on_terminal=False)
    assert on_terminal.code == piped.code == 0, (on_terminal.err, piped.err)
    assert_status_line(on_terminal.err)
    assert on_terminal.out == piped.out.replace(b"generated-2", b"generated")

    doctor = run("doctor", "bgp", stderr_on_terminal=True)
    plain = run("doctor", "bgp", stderr_on_terminal=False)
    assert doctor.code == plain.code, (doctor.err, plain.err)
    assert "checking: " in doctor.err and " checks done" in doctor.err
    assert doctor.out == plain.out
