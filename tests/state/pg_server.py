"""Start a throwaway PostgreSQL server for the tests and the benchmark (no pytest needed).

`initdb` and `postgres` refuse to run as root, and CI runs as root. Then the server runs as the
`postgres` OS user: its folder belongs to that user and pytest-postgresql's executor is pointed
at a small wrapper that runs pg_ctl through `runuser -u postgres`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PG_CTL_GLOB = "/usr/lib/postgresql/*/bin/pg_ctl"


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    restarter: Callable[[], None] | None = field(default=None, compare=False, repr=False)

    def restart(self) -> None:
        """Stop the server (a fast shutdown: every session ends at once) and start it again on
        the same port and data, as an operator's restart or a failover does."""
        if self.restarter is None:
            raise RuntimeError("this server cannot be restarted")
        self.restarter()

    def url(self, dbname: str, *, password: str | None = None, **params: str) -> str:
        auth = self.user if password is None else f"{self.user}:{password}"
        query = "&".join(f"{key}={value}" for key, value in params.items())
        return f"postgresql://{auth}@{self.host}:{self.port}/{dbname}" + (f"?{query}" if query else "")


def find_pg_ctl() -> str | None:
    """pg_ctl on PATH, else the newest one under /usr/lib/postgresql."""
    found = shutil.which("pg_ctl")
    if found:
        return found
    candidates = sorted(glob.glob(PG_CTL_GLOB), key=lambda path: int(Path(path).parts[-3]), reverse=True)
    return candidates[0] if candidates else None


def why_unavailable() -> str | None:
    """None if a server can be started here, else the reason."""
    if find_pg_ctl() is None:
        return f"no PostgreSQL server binaries (pg_ctl not on PATH nor at {PG_CTL_GLOB})"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "running as root and `runuser` is missing, so PostgreSQL cannot be started"
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` OS user to run PostgreSQL as"
    return None


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_connections(host: str, port: int, user: str, timeout: float = 60.0) -> None:
    """Until the server accepts a session (it refuses them while it is still starting up)."""
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(host=host, port=port, user=user, dbname="postgres", connect_timeout=5).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextmanager
def temporary_server(*, fast: bool = True) -> Iterator[Server]:
    """A fresh server on a free loopback port, stopped and deleted on exit.

    `fast` keeps fsync off (the tests kill processes, not machines); the benchmark turns it back
    on (pytest-postgresql's executor always passes `-F`, which turns it off; a later -c wins).
    """
    from pytest_postgresql.executors import PostgreSQLExecutor

    reason = why_unavailable()
    if reason:
        raise RuntimeError(reason)
    pg_ctl = find_pg_ctl()
    assert pg_ctl is not None
    base = Path(tempfile.mkdtemp(prefix="reconciler-pg-"))
    executable = pg_ctl
    if os.geteuid() == 0:
        postgres = pwd.getpwnam("postgres")
        os.chown(base, postgres.pw_uid, postgres.pw_gid)
        wrapper = base / "pg_ctl-as-postgres"
        wrapper.write_text(f'#!/bin/sh\ncd /\nexec runuser -u postgres -- "{pg_ctl}" "$@"\n')
        wrapper.chmod(0o755)
        executable = str(wrapper)
    executor = PostgreSQLExecutor(
        executable=executable,
        host="127.0.0.1",
        port=free_port(),
        datadir=str(base / "data"),
        unixsocketdir=str(base),
        logfile=str(base / "postgresql.log"),
        startparams="-w",
        dbname="reconciler_tests",
        user="postgres",
        postgres_options="-c synchronous_commit=off" if fast else "-c fsync=on -c synchronous_commit=on",
    )
    try:
        executor.start()

        def restart() -> None:
            executor.stop()
            executor.start()
            wait_for_connections(executor.host, executor.port, "postgres")

        yield Server(host="127.0.0.1", port=executor.port, user="postgres", restarter=restart)
    finally:
        try:
            if executor.running():
                executor.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)
