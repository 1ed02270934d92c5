"""In-memory tables of records, made durable by an append-only change log.

Durability without rewriting big files: every change appends one JSON line to `<data>.log`;
`sync(ticket)` fsyncs it before the HTTP response goes out (concurrent requests share one fsync).
At start and stop the log is compacted into the snapshot `<data>` (temp file + fsync + rename),
so a `kill -9` loses nothing acknowledged and start-up reads one snapshot plus a short log.
Replaying a log line is idempotent (it holds the whole record), so a crash between the rename
and the log truncation is harmless.

All access goes through `lock` (handlers run on the sandbox's event loop, the `Sandbox` methods
on the caller's thread).

One process at a time serves a data file: `hold_data_file` takes `<data>.lock` (and records who
holds it in `<data>.lock.json`) for `sandbox serve --data` and `--sandbox` runs alike.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import os
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from reconciler.durable import write_atomically
from reconciler.sandbox.config import SandboxError
from reconciler.sandbox.records import AlibabaGroup, AlibabaPeer, ClientTokenUse, EquinixBgp
from reconciler.sandbox.seed import SeedConnection, SeedDevice, SeedRegion, SeedVbr

FORMAT = "reconciler-sandbox/1"

# table name -> record class. Every class is a frozen dataclass with a `key` property.
TABLES: dict[str, type[Any]] = {
    "devices": SeedDevice,
    "connections": SeedConnection,
    "regions": SeedRegion,
    "vbrs": SeedVbr,
    "equinix_bgp": EquinixBgp,
    "alibaba_groups": AlibabaGroup,
    "alibaba_peers": AlibabaPeer,
    "alibaba_tokens": ClientTokenUse,
}


def record_to_json(record: Any) -> dict[str, Any]:
    return dataclasses.asdict(record)


def record_from_json(table: str, data: Mapping[str, Any]) -> Any:
    cls = TABLES[table]
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


class Store:
    def __init__(self, data_file: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.data_file = data_file
        self._tables: dict[str, dict[str, Any]] = {name: {} for name in TABLES}
        self._timers: list[tuple[float, str, str]] = []  # (settles_at, table, key), a heap
        self._log_fd: int | None = None
        self._written = 0  # tickets: number of log lines written
        self._synced = 0
        self._sync_lock = threading.Lock()

    # -- reading -------------------------------------------------------------------------------

    def get(self, table: str, key: str) -> Any | None:
        return self._tables[table].get(key)

    def values(self, table: str) -> list[Any]:
        """Records in creation order."""
        return list(self._tables[table].values())

    def iter(self, table: str) -> Iterator[Any]:
        return iter(self._tables[table].values())

    def count(self, table: str) -> int:
        return len(self._tables[table])

    # -- writing (hold `lock`) -------------------------------------------------------------------

    def put(self, table: str, record: Any) -> int:
        """Insert or replace a record; returns the ticket to `sync` before acknowledging."""
        self._set(table, record)
        return self._append({"t": table, "k": record.key, "v": record_to_json(record)})

    def delete(self, table: str, key: str) -> int:
        self._tables[table].pop(key, None)
        return self._append({"t": table, "k": key, "del": True})

    def settle(self, now: float) -> None:
        """Apply every asynchronous transition due by `now` (derived, so not logged)."""
        while self._timers and self._timers[0][0] <= now:
            due, table, key = heapq.heappop(self._timers)
            record = self._tables[table].get(key)
            if record is None or record.settles_at != due:
                continue  # replaced since the timer was set
            settled = record.settle()
            if settled is None:
                del self._tables[table][key]
            else:
                self._set(table, settled)  # it may start another transition (Deleted, a tombstone)

    def _set(self, table: str, record: Any) -> None:
        self._tables[table][record.key] = record
        settles_at = getattr(record, "settles_at", None)
        if settles_at is not None:
            heapq.heappush(self._timers, (settles_at, table, record.key))

    # -- durability ----------------------------------------------------------------------------

    def _append(self, entry: dict[str, Any]) -> int:
        if self._log_fd is None:
            return 0
        line = json.dumps(entry, separators=(",", ":")).encode() + b"\n"
        view = memoryview(line)
        while view:  # O_APPEND and one writer at a time (the lock) keep lines whole
            view = view[os.write(self._log_fd, view) :]
        self._written += 1
        return self._written

    @property
    def last_ticket(self) -> int:
        """The ticket of the latest change: sync it to be sure everything read so far is on disk."""
        return self._written

    def sync(self, ticket: int) -> None:
        """Block until the change with `ticket` is on disk. Safe from any thread."""
        if self._log_fd is None or ticket <= self._synced:
            return
        with self._sync_lock:
            if ticket <= self._synced:
                return  # another caller's fsync covered it
            target = self._written
            os.fsync(self._log_fd)
            self._synced = max(self._synced, target)

    @property
    def log_file(self) -> Path | None:
        return None if self.data_file is None else self.data_file.with_name(self.data_file.name + ".log")

    def open(self) -> None:
        """Load the snapshot and replay the log, then compact and start a new log."""
        if self.data_file is None:
            return
        with self.lock:
            self.data_file.parent.mkdir(parents=True, exist_ok=True)
            if self.data_file.exists():
                self._load_snapshot(self.data_file)
            log_file = self.log_file
            assert log_file is not None
            if log_file.exists():
                self._replay(log_file)
            self._log_fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self.compact()

    def close(self) -> None:
        with self.lock:
            if self._log_fd is None:
                return
            self.compact()
            os.close(self._log_fd)
            self._log_fd = None

    def compact(self) -> None:
        """Write the snapshot atomically, then empty the log."""
        if self.data_file is None or self._log_fd is None:
            return
        with self.lock:
            snapshot = {
                "format": FORMAT,
                "tables": {name: [record_to_json(r) for r in rows.values()] for name, rows in self._tables.items()},
            }
            write_atomically(self.data_file, json.dumps(snapshot, separators=(",", ":")).encode())
            os.ftruncate(self._log_fd, 0)
            os.fsync(self._log_fd)
            self._synced = self._written

    def _load_snapshot(self, path: Path) -> None:
        try:
            data = json.loads(path.read_bytes() or b"{}")
        except (OSError, ValueError) as exc:
            raise SandboxError(f"{path}: not a sandbox data file ({exc})") from None
        if not data:
            return
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise SandboxError(f"{path}: not a sandbox data file (expected format {FORMAT!r})")
        for table, rows in data.get("tables", {}).items():
            if table not in TABLES:
                raise SandboxError(f"{path}: unknown table {table!r}")
            for row in rows:
                self._set(table, self._decode(path, table, row))

    def _replay(self, path: Path) -> None:
        lines = path.read_bytes().split(b"\n")
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                table, key = entry["t"], entry["k"]
            except (ValueError, KeyError, TypeError):
                if number == len(lines):
                    break  # a torn last line: never acknowledged, drop it
                raise SandboxError(f"{path}:{number}: corrupt change log line") from None
            if table not in TABLES:
                raise SandboxError(f"{path}:{number}: unknown table {table!r}")
            if entry.get("del"):
                self._tables[table].pop(key, None)
            else:
                self._set(table, self._decode(path, table, entry["v"]))

    @staticmethod
    def _decode(path: Path, table: str, row: Any) -> Any:
        try:
            return record_from_json(table, row)
        except TypeError as exc:
            raise SandboxError(f"{path}: bad {table} record ({exc})") from None


# -- one process per data file ---------------------------------------------------------------


@contextmanager
def hold_data_file(data_file: Path, holder: str, timeout: float = 0.0) -> Iterator[None]:
    """Hold `data_file` for this process: two processes serving one data file would each
    overwrite the other's changes at their next compaction. `holder` says what holds it (e.g.
    "`reconciler sandbox serve`"), for the message another process gets; it waits up to
    `timeout` seconds, then fails naming the file and its holder."""
    from filelock import FileLock, Timeout

    in_use = FileLock(f"{data_file}.lock")
    record = data_file.with_name(data_file.name + ".lock.json")
    try:
        in_use.acquire(timeout=timeout)
    except Timeout:
        raise SandboxError(
            f"the sandbox data {data_file} is in use by {_holder_of(record)}",
            hint="stop it or wait for it to finish (--lock-timeout SECONDS waits), or give this one "
            "other data (--sandbox-data FILE, `sandbox serve --data FILE`)",
        ) from None
    try:
        about = {"holder": holder, "pid": os.getpid(), "host": socket.gethostname()}
        write_atomically(record, json.dumps(about).encode())
        try:
            yield
        finally:
            with suppress(OSError):
                record.unlink()
    finally:
        in_use.release()


def _holder_of(record: Path) -> str:
    """Who holds a data file, as its record says (a process of an earlier version writes none)."""
    try:
        about = json.loads(record.read_bytes())
        return f"{str(about['holder'])[:80]} (pid {int(about['pid'])} on {str(about['host'])[:80]})"
    except (OSError, ValueError, TypeError, KeyError):
        return "another reconciler process"
