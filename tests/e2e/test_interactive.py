"""Apply on a terminal (confirmation, live progress) and interrupted with Ctrl-C."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

from reconciler.sandbox import FaultConfig, Sandbox
from tests.e2e.conftest import cli, spawn


def run_on_terminal(args: list[str], answer: str, timeout: float = 60) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin/stdout/stderr; type `answer` at the prompt."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args], stdin=follower, stdout=follower, stderr=follower, close_fds=True
    )
    os.close(follower)
    output = b""
    answered = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            if not answered and b"Only 'yes' will be accepted" in output:
                os.write(leader, answer.encode() + b"\n")
                answered = True
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(leader)
    return proc.returncode, output.decode(errors="replace")


def test_apply_asks_on_a_terminal_and_only_yes_applies(project: Path, sandbox: Sandbox) -> None:
    for answer in ("no", "y"):  # like Terraform: anything but "yes" cancels
        code, output = run_on_terminal(["apply", "bgp"], answer)
        assert code == 1 and "Apply cancelled" in output
    assert sandbox.objects().counts() == {"equinix_bgp": 0, "alibaba_groups": 0, "alibaba_peers": 0}

    code, output = run_on_terminal(["apply", "bgp"], "yes")
    assert code == 0, output
    assert "15 done, 0 failed" in output
    assert "apply" in output and "15/15" in output  # the live progress bar reached the end
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


class Lines:
    """Reads a process's output in the background, so a test can wait for a line with a deadline."""

    def __init__(self, stream: IO[str]) -> None:
        self._lines: list[str] = []
        self._closed = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def seen(self) -> int:
        """How many lines have been read so far."""
        with self._changed:
            return len(self._lines)

    def wait_for(self, text: str, timeout: float, after: int = 0) -> None:
        """Return once a line containing `text` has been read (after the first `after` lines); fail at
        the deadline or at end of output."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(text in line for line in self._lines[after:]):
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    raise AssertionError(f"no line with {text!r} within {timeout:.0f} s:\n{''.join(self._lines)}")
                self._changed.wait(remaining)

    def text(self, timeout: float) -> str:
        """All the output, once the stream is closed."""
        self._reader.join(timeout)
        assert not self._reader.is_alive(), "the output did not end"
        return "".join(self._lines)


def interrupted_once(args: tuple[str, ...], text: str, *, on_stderr: bool = False) -> tuple[int, str, str]:
    """Run `reconciler ARGS`, press Ctrl-C once a line holding `text` shows on its stdout (or
    stderr), and return its exit code, stdout and stderr."""
    proc = spawn(*args)
    assert proc.stdout is not None and proc.stderr is not None
    out, err = Lines(proc.stdout), Lines(proc.stderr)
    try:
        (err if on_stderr else out).wait_for(text, timeout=120)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out.text(timeout=10), err.text(timeout=10)


def test_ctrl_c_lets_calls_in_flight_finish_saves_state_and_exits_1(project: Path, sandbox: Sandbox) -> None:
    # Every object takes 3 s to provision, and a peer is created only once its group is ready:
    # for 3 s after the first create, none of the 6 peers can start.
    sandbox.configure(provision_delay=3.0)
    # Once a create has been made and journaled, the Ctrl-C handler is installed and the state
    # will hold at least one object: interrupt then, long before any peer can start.
    code, summary, err = interrupted_once(
        ("apply", "bgp", "--auto-approve", "--parallelism", "2"), "waiting for the cloud to settle", on_stderr=True
    )
    assert code == 1
    assert "Interrupted: finishing the calls in flight" in err
    # The creates the cloud accepted took effect: they are sent, not cancelled.
    assert "sent; the result will be confirmed by the next run" in summary, summary
    assert "interrupted before it finished" not in summary
    assert "run apply again to finish" in err
    state = json.loads((project / "state" / "reconciler.json").read_text())
    recorded = set(state["resources"])
    assert 0 < len(recorded) < 15
    assert not (project / "state" / "reconciler.json.journal").read_text().strip()  # folded into state
    live = sandbox.objects()
    live_ids = set(live.equinix_bgp) | set(live.alibaba_groups) | set(live.alibaba_peers)
    assert {r["cloud_id"] for r in state["resources"].values()} == live_ids  # exactly what exists

    sandbox.configure(provision_delay=0.0)
    finished = cli("apply", "bgp", "--auto-approve")
    assert finished.code == 0, finished.both
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


def test_second_ctrl_c_exits_at_once_and_the_next_apply_converges(project: Path, sandbox: Sandbox) -> None:
    slow = FaultConfig(latency_ms=3000)  # every call hangs for 3 s: plenty of calls in flight
    proc = spawn("apply", "bgp", "--auto-approve", "--parallelism", "3")
    assert proc.stdout is not None and proc.stderr is not None
    Lines(proc.stdout)  # read, so the process never blocks on a full pipe
    err = Lines(proc.stderr)
    try:
        err.wait_for("creating", timeout=120)  # applying has begun
        sandbox.configure(equinix=slow, alibaba=slow)
        err.wait_for("creating", timeout=120, after=err.seen())  # a call started since hangs
        proc.send_signal(signal.SIGINT)
        err.wait_for("Interrupted: finishing the calls in flight", timeout=120)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1
    assert time.monotonic() - started < 1.5  # did not wait for the calls in flight
    last = err.text(timeout=10).strip().splitlines()[-1]
    assert last.startswith("Interrupted again: exiting now; ") and "the next run confirms" in last, last

    sandbox.configure(equinix=FaultConfig(), alibaba=FaultConfig())
    time.sleep(3.5)  # the abandoned calls still complete in the cloud
    finished = cli("apply", "bgp", "--auto-approve")
    assert finished.code == 0, finished.both
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0
    counts = sandbox.objects().counts()
    assert counts == {"equinix_bgp": 4, "alibaba_groups": 5, "alibaba_peers": 6}  # no duplicates
