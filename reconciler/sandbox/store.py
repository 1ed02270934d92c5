"""In-memory tables of records, made durable by an append-only change log.

Durability without rewriting big files: every change appends one JSON line to `<data>.log`;
`sync(ticket)` fsyncs it before the HTTP response goes out (concurrent requests share one fsync).
At start and stop the log is compacted into the snapshot `<data>` (temp file + fsync + rename),
so a `kill -9` loses nothing acknowledged and start-up reads one snapshot plus a short log.
Replaying a log line is idempotent (it holds the whole record), so a crash between the rename
and the log truncation is harmless.

All access goes through `lock` (handlers run on the sandbox's event loop, the `Sandbox` methods
on the caller's thread).

Lists cost O(page), not O(table) (docs/sandbox.md, Scale): every record gets a sequence number
when its key is first stored, so creation order is the order of those numbers, and each table keeps
sorted lists of them: one of all its records, and one per value of each field group in `INDEXED`
(the filters the lists take, alone and together). `select` finds a page's first record by
bisecting those lists and counts the matches from their lengths; only the records whose reads
still lag behind (`records.visible`) are looked at one by one.

One process at a time serves a data file: `hold_data_file` takes `<data>.lock` (and records who
holds it in `<data>.lock.json`) for `sandbox serve --data` and `--sandbox` runs alike.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import json
import os
import socket
import threading
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from reconciler.durable import write_atomically
from reconciler.sandbox.config import SandboxError
from reconciler.sandbox.records import TOMBSTONE, AlibabaGroup, AlibabaPeer, ClientTokenUse, EquinixBgp, visible
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


# table -> the groups of fields lists and lookups filter on together, each a secondary index in
# creation order (a filter on fields no group covers exactly is checked record by record)
INDEXED: dict[str, tuple[tuple[str, ...], ...]] = {
    "connections": (("vbr_id",),),
    "vbrs": (("region_id",),),
    "equinix_bgp": (("connection_uuid",), ("device_uuid",), ("status",)),
    "alibaba_groups": (("region_id",), ("router_id",), ("region_id", "router_id")),
    "alibaba_peers": (
        ("region_id",),
        ("router_id",),
        ("group_id",),
        ("region_id", "router_id"),
        ("region_id", "group_id"),
        ("region_id", "router_id", "group_id"),
    ),
}
# table -> the field that is its key (a filter on it needs no index)
KEY_FIELDS: dict[str, str] = {
    "devices": "uuid",
    "connections": "uuid",
    "regions": "region_id",
    "vbrs": "vbr_id",
    "equinix_bgp": "uuid",
    "alibaba_groups": "group_id",
    "alibaba_peers": "peer_id",
    "alibaba_tokens": "token_key",
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
        # Creation order as numbers: key -> sequence number, and back.
        self._next_seq = 0
        self._seqs: dict[str, dict[str, int]] = {name: {} for name in TABLES}
        self._keys: dict[str, dict[int, str]] = {name: {} for name in TABLES}
        self._all: dict[str, list[int]] = {name: [] for name in TABLES}  # sorted
        # (table, fields) -> their values -> sorted sequence numbers of the records with those values
        self._index: dict[tuple[str, tuple[str, ...]], dict[tuple[Any, ...], list[int]]] = {
            (table, names): {} for table, groups in INDEXED.items() for names in groups
        }
        # table -> key -> record, for the records with a `lag_until` (reads may show another version)
        self._lagging: dict[str, dict[str, Any]] = {name: {} for name in TABLES}
        self.examined = 0  # records `select` looked at one by one (tests check it stays O(page))
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

    def where(self, table: str, name: str, values: Collection[Any]) -> list[Any]:
        """The stored records (not what reads show) whose field `name`, the key or one indexed alone
        in `INDEXED`, has one of `values`, in creation order."""
        if name != KEY_FIELDS[table] and (name,) not in INDEXED.get(table, ()):
            raise ValueError(f"{table}.{name} has no index")  # a full scan would be silently slow
        buckets, _ = self._drive(table, {name: values})
        rows, keys = self._tables[table], self._keys[table]
        return [rows[keys[seq]] for seq in heapq.merge(*buckets)]

    def select(
        self,
        table: str,
        where: Mapping[str, Collection[Any]],
        now: float,
        offset: int,
        limit: int,
        matches: Callable[[Any], bool] | None = None,
    ) -> tuple[list[Any], int]:
        """What a read at `now` shows (`records.visible`) whose fields have one of `where`'s values
        and which pass `matches`, in creation order: the records at offset..offset+limit, and how
        many there are in all. The same as filtering every record, at the cost of the page."""
        rows, keys = self._tables[table], self._keys[table]
        drive, rest = self._drive(table, where)

        def passes(record: Any) -> bool:
            return all(getattr(record, name) in values for name, values in rest.items()) and (
                matches is None or matches(record)
            )

        def passes_all(record: Any) -> bool:
            return all(getattr(record, name) in values for name, values in where.items()) and (
                matches is None or matches(record)
            )

        # Records whose reads lag: judged one by one on the version a read shows.
        lagging: list[int] = []  # their sequence numbers
        shown: list[tuple[int, Any]] = []  # (sequence number, shown version) of those that match
        for key, record in list(self._lagging[table].items()):
            self.examined += 1
            if now >= record.lag_until and record.status != TOMBSTONE:
                # Its lag is over for good (the clock under `lock` only moves on): reads show it as stored.
                del self._lagging[table][key]
                continue
            seq = self._seqs[table][key]
            lagging.append(seq)
            version = visible(record, now)
            if version is not None and passes_all(version):
                shown.append((seq, version))
        lagging.sort()
        shown.sort(key=lambda item: item[0])
        shown_seqs = [seq for seq, _ in shown]
        skip = set(lagging)

        if rest or matches is not None:
            # A filter no index answers: look at every record of the (smallest) driving lists.
            found: list[tuple[int, Any]] = []
            for seq in heapq.merge(*drive):
                if seq in skip:
                    continue
                self.examined += 1
                record = rows[keys[seq]]
                if passes(record):
                    found.append((seq, record))
            merged = list(heapq.merge(found, shown, key=lambda item: item[0]))
            return [record for _, record in merged[offset : offset + limit]], len(merged)

        # Every record of the driving lists matches, except the lagging ones, judged above.
        lagging_in = [seq for seq in lagging if any(_contains(bucket, seq) for bucket in drive)]
        total = sum(len(bucket) for bucket in drive) - len(lagging_in) + len(shown)
        if offset >= total or limit <= 0:
            return [], total

        def rank(seq: int) -> int:
            """How many records of the result come at or before sequence number `seq`."""
            driven = sum(bisect_right(bucket, seq) for bucket in drive)
            return driven - bisect_right(lagging_in, seq) + bisect_right(shown_seqs, seq)

        low, high = 0, self._next_seq  # the first sequence number whose rank passes `offset`
        while low < high:
            middle = (low + high) // 2
            if rank(middle) > offset:
                high = middle
            else:
                low = middle + 1
        # At most `limit` records of a list are taken, plus the lagging ones skipped (a slice, not
        # an islice, which would step over every record before the start).
        ahead = limit + len(lagging_in)
        starts = [bucket[(at := bisect_left(bucket, low)) : at + ahead] for bucket in drive]
        stream = heapq.merge(
            ((seq, None) for seq in heapq.merge(*starts) if seq not in skip),
            shown[bisect_left(shown_seqs, low) :],
            key=lambda item: item[0],
        )
        page: list[Any] = []
        for seq, version in itertools.islice(stream, limit):
            self.examined += 1
            page.append(version if version is not None else rows[keys[seq]])
        return page, total

    def _drive(
        self, table: str, where: Mapping[str, Collection[Any]]
    ) -> tuple[list[list[int]], dict[str, Collection[Any]]]:
        """The sorted lists to walk for `where`: those of the key, else of the index covering the most
        of its fields (the smallest of those); and the filters they leave to check record by record."""
        key_field = KEY_FIELDS[table]
        if key_field in where:
            seqs = self._seqs[table]
            buckets = [[seqs[value]] for value in set(where[key_field]) if value in seqs]
            return buckets, {name: values for name, values in where.items() if name != key_field}
        best: tuple[int, int, tuple[str, ...], list[list[int]]] | None = None
        for names in INDEXED.get(table, ()):
            if not set(names) <= where.keys():
                continue
            index = self._index[(table, names)]
            combinations = itertools.product(*(set(where[name]) for name in names))
            buckets = [index[values] for values in combinations if values in index]
            rank = (-len(names), sum(len(bucket) for bucket in buckets))
            if best is None or rank < best[:2]:
                best = (*rank, names, buckets)
        if best is None:
            return [self._all[table]], dict(where)
        names, buckets = best[2], best[3]
        return buckets, {name: values for name, values in where.items() if name not in names}

    # -- writing (hold `lock`) -------------------------------------------------------------------

    def put(self, table: str, record: Any) -> int:
        """Insert or replace a record; returns the ticket to `sync` before acknowledging."""
        self._set(table, record)
        return self._append({"t": table, "k": record.key, "v": record_to_json(record)})

    def delete(self, table: str, key: str) -> int:
        self._remove(table, key)
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
                self._remove(table, key)
            else:
                self._set(table, settled)  # it may start another transition (Deleted, a tombstone)

    def _set(self, table: str, record: Any) -> None:
        key = record.key
        rows = self._tables[table]
        before = rows.get(key)
        rows[key] = record
        groups = INDEXED.get(table, ())
        if before is None:
            seq = self._next_seq  # the largest yet: appending keeps every list sorted
            self._next_seq += 1
            self._seqs[table][key] = seq
            self._keys[table][seq] = key
            self._all[table].append(seq)
            for names in groups:
                self._index[(table, names)].setdefault(_values(record, names), []).append(seq)
        else:
            seq = self._seqs[table][key]
            for names in groups:
                old, new = _values(before, names), _values(record, names)
                if old != new:
                    self._unindex(table, names, old, seq)
                    insort(self._index[(table, names)].setdefault(new, []), seq)
        if getattr(record, "lag_until", None) is not None:
            self._lagging[table][key] = record
        else:
            self._lagging[table].pop(key, None)
        settles_at = getattr(record, "settles_at", None)
        if settles_at is not None:
            heapq.heappush(self._timers, (settles_at, table, key))

    def _remove(self, table: str, key: str) -> None:
        record = self._tables[table].pop(key, None)
        if record is None:
            return
        seq = self._seqs[table].pop(key)
        del self._keys[table][seq]
        _discard(self._all[table], seq)
        for names in INDEXED.get(table, ()):
            self._unindex(table, names, _values(record, names), seq)
        self._lagging[table].pop(key, None)

    def _unindex(self, table: str, names: tuple[str, ...], values: tuple[Any, ...], seq: int) -> None:
        index = self._index[(table, names)]
        bucket = index[values]
        _discard(bucket, seq)
        if not bucket:
            del index[values]  # no empty lists left behind by values gone for good

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
                self._remove(table, key)
            else:
                self._set(table, self._decode(path, table, entry["v"]))

    @staticmethod
    def _decode(path: Path, table: str, row: Any) -> Any:
        try:
            return record_from_json(table, row)
        except TypeError as exc:
            raise SandboxError(f"{path}: bad {table} record ({exc})") from None


def _values(record: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(getattr(record, name) for name in names)


def _contains(ordered: list[int], seq: int) -> bool:
    at = bisect_left(ordered, seq)
    return at < len(ordered) and ordered[at] == seq


def _discard(ordered: list[int], seq: int) -> None:
    at = bisect_left(ordered, seq)
    if at < len(ordered) and ordered[at] == seq:
        del ordered[at]


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
