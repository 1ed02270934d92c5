"""Fixtures for the state tests; also imported by tests/commands/test_state.py.

PostgreSQL: one real server and one database per test process (`pg_server`, started with
pytest-postgresql's executor, see pg_server.py; `pg_dbname`, made by its DatabaseJanitor) and a
fresh schema per test (`pg_schema`, in `pg_url`). Skipped, with the reason, only where no
PostgreSQL binaries exist.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reconciler.state import StateBackend, open_backend
from reconciler.state.local import LocalBackend
from tests.conftest import PROXY_VARIABLES
from tests.state.pg_server import Server, temporary_server, why_unavailable

HOLDER_SCRIPT = Path(__file__).with_name("holder.py")


def environment_without_proxies() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in PROXY_VARIABLES}


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "reconciler.json"


@pytest.fixture
def local(state_path: Path) -> Iterator[LocalBackend]:
    backend = LocalBackend(state_path)
    yield backend
    backend.close()


# -- PostgreSQL --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    reason = why_unavailable()
    if reason:
        pytest.skip(f"PostgreSQL backend tests need a server: {reason}")
    with temporary_server() as server:
        yield server


@pytest.fixture(scope="session")
def pg_dbname(pg_server: Server) -> Iterator[str]:
    """One database per test process, made by pytest-postgresql's janitor."""
    from pytest_postgresql.janitor import DatabaseJanitor

    name = f"state_{uuid.uuid4().hex[:12]}"
    janitor = DatabaseJanitor(user=pg_server.user, host=pg_server.host, port=pg_server.port, dbname=name)
    janitor.init()
    yield name
    janitor.drop()


@pytest.fixture
def pg_schema() -> str:
    """A fresh schema per test: its own tables and advisory-lock keys (cheaper than a database)."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def pg_url(pg_server: Server, pg_dbname: str, pg_schema: str) -> str:
    return pg_server.url(pg_dbname, name="test", schema=pg_schema)


@pytest.fixture(params=["local", "postgres"])
def backend_url(request: pytest.FixtureRequest, state_path: Path) -> str:
    """Every contract test runs against both backends."""
    if request.param == "local":
        return str(state_path)
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def backend(backend_url: str) -> Iterator[StateBackend]:
    opened = open_backend(backend_url)
    yield opened
    opened.close()


# -- another process holding the lock ------------------------------------------------------------


class Holder:
    """tests/state/holder.py running in its own process; see that file for the modes."""

    def __init__(self, url: str, mode: str, arg: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HOLDER_SCRIPT), url, mode, arg],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment_without_proxies(),
        )
        self.pid = self.proc.pid
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read_stdout, daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.strip())
        self._lines.put(None)

    def expect(self, prefix: str, timeout: float = 60.0) -> str:
        """Wait for an output line starting with `prefix`; return the rest of it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"holder printed no {prefix!r} line in {timeout}s") from None
            if line is None:
                self.proc.wait(timeout=10)
                stderr = self.proc.stderr.read() if self.proc.stderr else ""
                raise AssertionError(f"holder exited ({self.proc.returncode}) before {prefix!r}:\n{stderr}")
            if line.startswith(prefix):
                return line[len(prefix) :].strip()

    def tell(self) -> None:
        """Send the line a `write-on-line` holder waits for."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()

    def attempt(self, what: str) -> str | None:
        """After `tell`: None if the holder's `what` ("append", "write") succeeded, else the
        message it was refused with."""
        outcome = self.expect(f"{what} ")
        if outcome.startswith("ok"):
            return None
        message: str = json.loads(outcome.removeprefix("refused "))
        return message

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        self.expect("released")
        self.proc.wait(timeout=30)

    def interrupt(self) -> None:
        """Ctrl-C."""
        self.proc.send_signal(signal.SIGINT)

    def kill9(self) -> None:
        self.proc.kill()  # SIGKILL: no cleanup of any kind runs
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def start_holder() -> Iterator[Callable[[str, str, str], Holder]]:
    """`start_holder(url, mode, arg)`: a holder process, killed at the end of the test."""
    started: list[Holder] = []

    def start(url: str, mode: str, arg: str) -> Holder:
        holder = Holder(url, mode, arg)
        started.append(holder)
        return holder

    yield start
    for holder in started:
        holder.stop()


def wait_until(condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)
