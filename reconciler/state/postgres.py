"""The PostgreSQL state backend, for teams whose CI runners share one state.

URL: ``postgresql://USER:PASSWORD@HOST:PORT/DATABASE?name=STATE&schema=SCHEMA`` (``postgres://``
works too). ``name`` chooses the state (default ``default``: one database can hold many states),
``schema`` the schema of the tables (default ``reconciler``); every other query parameter goes
to libpq unchanged (``sslmode``, ``connect_timeout``, ...; ``PGPASSWORD`` and ``~/.pgpass``
work as usual). The password is masked in `description` and in every message.

Tables, created on first lock (idempotent DDL):

- ``state_versions(name, serial, lineage, data, written_at, written_by)``: one row per serial,
  so every version is kept; the current state is the highest serial. The primary key
  (name, serial) also makes two writers of the same serial impossible.
- ``journal(name, seq, entry)``: the write-ahead journal, one row per entry; a write
  deletes the folded rows in the same transaction that inserts the new serial.
- ``locks(name, id, operation, username, host, pid, created, info, backend_pid)``: who holds
  the lock. The lock itself is a session-level advisory lock (``pg_try_advisory_lock``) held
  on a dedicated connection, so it vanishes with the holder's session; a row left behind by
  a killed holder is stale and is replaced, with a warning. Writes and journal appends check
  that the row is still theirs, so after `reconciler state unlock` a zombie holder cannot write.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from typing import Any, LiteralString

import psycopg
from psycopg import sql

from reconciler.errors import LockError, StateError
from reconciler.log import get_logger
from reconciler.model import JournalEntry, StateDoc
from reconciler.state.base import LockBusy, LockInfo, acquire_with_backoff, new_lock_info, waiting_logger
from reconciler.state.codec import (
    FORMAT_VERSION,
    Invalid,
    check_entry,
    check_entry_json,
    dump_state,
    entry_from_json,
    load_state,
)
from reconciler.state.journal import fold

DEFAULT_NAME = "default"
DEFAULT_SCHEMA = "reconciler"
DEFAULT_CONNECT_TIMEOUT = 10  # seconds
SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
MASK = "***"

log = get_logger("reconciler.state")

_DDL: tuple[LiteralString, ...] = (
    "CREATE SCHEMA IF NOT EXISTS {schema}",
    """CREATE TABLE IF NOT EXISTS {schema}.state_versions (
        name text NOT NULL,
        serial bigint NOT NULL,
        lineage text NOT NULL,
        data text NOT NULL,
        written_at timestamptz NOT NULL DEFAULT now(),
        written_by text NOT NULL DEFAULT '',
        PRIMARY KEY (name, serial))""",
    """CREATE TABLE IF NOT EXISTS {schema}.journal (
        name text NOT NULL,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        entry text NOT NULL,
        PRIMARY KEY (name, seq))""",
    """CREATE TABLE IF NOT EXISTS {schema}.locks (
        name text PRIMARY KEY,
        id text NOT NULL,
        operation text NOT NULL,
        username text NOT NULL,
        host text NOT NULL,
        pid integer NOT NULL,
        created text NOT NULL,
        info text NOT NULL DEFAULT '',
        backend_pid integer NOT NULL)""",
)
_TABLES = ("state_versions", "journal", "locks")
_LOCK_COLUMNS: LiteralString = "id, operation, username, host, pid, created, info, backend_pid"


@dataclass(frozen=True, slots=True)
class PostgresSettings:
    """What a postgresql:// state URL says."""

    conninfo: str  # for libpq, without our parameters; may hold the password
    name: str
    schema: str
    description: str  # the URL with the password masked
    secrets: tuple[str, ...]  # strings to mask in any message (the password, as written and decoded)
    connect_kwargs: dict[str, Any]


def parse_url(url: str) -> PostgresSettings:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    ours = {key: value for key, value in query if key in ("name", "schema")}
    name = ours.get("name", DEFAULT_NAME)
    schema = ours.get("schema", DEFAULT_SCHEMA)
    secrets = [value for key, value in query if key == "password" and value]
    if parts.password:
        secrets += [parts.password, urllib.parse.unquote(parts.password)]
    masked_query = urllib.parse.urlencode(
        [(key, MASK if key == "password" else value) for key, value in query], safe="*/:"
    )
    description = urllib.parse.urlunsplit((parts.scheme, _masked_netloc(parts.netloc), parts.path, masked_query, ""))
    if not name or len(name) > 200:
        raise StateError(f"{description}: the state name (?name=) must be 1 to 200 characters")
    if not SCHEMA_RE.match(schema):
        raise StateError(f"{description}: schema {schema!r} is not a plain lowercase identifier (letters, digits, _)")
    rest = [(key, value) for key, value in query if key not in ("name", "schema")]
    conninfo = urllib.parse.urlunsplit(
        (parts.scheme, parts.netloc, parts.path, urllib.parse.urlencode(rest), parts.fragment)
    )
    given = {key for key, _ in rest}
    connect_kwargs: dict[str, Any] = {}
    if "connect_timeout" not in given:
        connect_kwargs["connect_timeout"] = DEFAULT_CONNECT_TIMEOUT
    if "application_name" not in given:
        connect_kwargs["application_name"] = "reconciler"
    return PostgresSettings(
        conninfo=conninfo,
        name=name,
        schema=schema,
        description=description,
        secrets=tuple(sorted(set(secrets), key=len, reverse=True)),
        connect_kwargs=connect_kwargs,
    )


def _masked_netloc(netloc: str) -> str:
    userinfo, at, hostinfo = netloc.rpartition("@")
    if not at:
        return netloc
    user, colon, _ = userinfo.partition(":")
    return f"{user}:{MASK}@{hostinfo}" if colon else netloc


def advisory_key(*parts: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock, derived from names."""
    digest = hashlib.sha256(":".join(("reconciler", *parts)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


Connection = psycopg.Connection[tuple[Any, ...]]


class PostgresBackend:
    """State in PostgreSQL. See the module docstring for the URL and the tables."""

    def __init__(self, url: str) -> None:
        self._settings = parse_url(url)
        self.description = self._settings.description
        self.name = self._settings.name
        self.schema = self._settings.schema
        self.lock_key = advisory_key("state", self.schema, self.name)
        self._ddl_key = advisory_key("ddl", self.schema)
        self._lock_path = f"{self.schema}.locks, state {self.name!r}"
        self._conn: Connection | None = None  # for reads, writes and appends
        self._opening = threading.Lock()  # the apply engine appends from worker threads
        self._held: LockInfo | None = None
        self._tables_ready = False

    # -- connections and errors --------------------------------------------------------------

    def mask(self, text: str) -> str:
        for secret in self._settings.secrets:
            text = text.replace(secret, MASK)
        return text

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn database errors into StateError, password masked."""
        try:
            yield
        except psycopg.Error as exc:
            detail = self.mask(str(exc).strip()) or type(exc).__name__
            raise StateError(f"{doing} ({self.description}) failed: {detail}") from None

    def _connect(self) -> Connection:
        with self._errors("connecting to the state database"):
            conn = psycopg.connect(self._settings.conninfo, autocommit=True, **self._settings.connect_kwargs)
        # One consistent snapshot for reading the state and its journal together.
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        return conn

    def _data(self) -> Connection:
        with self._opening:
            if self._conn is None or self._conn.closed:
                self._conn = self._connect()
            return self._conn

    def _q(self, template: LiteralString) -> sql.Composed:
        return sql.SQL(template).format(schema=sql.Identifier(self.schema))

    def _tables_exist(self, conn: Connection) -> bool:
        if self._tables_ready:
            return True
        names = [f"{self.schema}.{table}" for table in _TABLES]
        row = conn.execute("SELECT to_regclass(%s), to_regclass(%s), to_regclass(%s)", names).fetchone()
        self._tables_ready = row is not None and all(value is not None for value in row)
        return self._tables_ready

    def _ensure_tables(self, conn: Connection) -> None:
        with self._errors("creating the state tables"):
            if self._tables_exist(conn):
                return
            with conn.transaction():
                # Serialise concurrent first uses: CREATE ... IF NOT EXISTS can race.
                conn.execute("SELECT pg_advisory_xact_lock(%s)", [self._ddl_key])
                for statement in _DDL:
                    conn.execute(self._q(statement))
            self._tables_ready = True

    # -- reading -----------------------------------------------------------------------------

    def read(self) -> StateDoc:
        stored, entries = self._read_snapshot()
        return fold(stored, entries)

    def journal_entries(self) -> list[JournalEntry]:
        return self._read_snapshot()[1]

    def _read_snapshot(self) -> tuple[StateDoc, list[JournalEntry]]:
        conn = self._data()
        with self._errors("reading the state"):
            if not self._tables_exist(conn):
                return StateDoc(), []
            with conn.transaction():
                row = conn.execute(
                    self._q(
                        "SELECT serial, data FROM {schema}.state_versions WHERE name = %s ORDER BY serial DESC LIMIT 1"
                    ),
                    [self.name],
                ).fetchone()
                rows = conn.execute(
                    self._q("SELECT seq, entry FROM {schema}.journal WHERE name = %s ORDER BY seq"), [self.name]
                ).fetchall()
        stored = StateDoc() if row is None else self._parse_state(row[0], row[1])
        return stored, [self._parse_entry(seq, text) for seq, text in rows]

    def _parse_state(self, serial: int, text: str) -> StateDoc:
        source = f"{self.description} (state_versions serial {serial})"
        try:
            return load_state(text, source)
        except StateError as exc:
            older = f"serial {serial - 1}" if serial > 1 else "none (this is the first serial)"
            raise StateError(
                exc.message,
                hint=f"nothing was changed; every earlier serial is kept in {self.schema}.state_versions "
                f"(previous: {older})",
            ) from None

    def _parse_entry(self, seq: int, text: str) -> JournalEntry:
        try:
            data = json.loads(text)
            check_entry_json(data, "$")
        except (ValueError, Invalid) as exc:
            raise StateError(f"{self.description}: journal row seq {seq} is corrupt ({exc})") from None
        return entry_from_json(data)

    # -- writing -----------------------------------------------------------------------------

    def write(self, doc: StateDoc) -> StateDoc:
        held = self._require_lock("write the state")
        conn = self._data()
        with self._errors("writing the state"), conn.transaction():
            row = conn.execute(
                self._q(
                    "SELECT serial, lineage FROM {schema}.state_versions WHERE name = %s ORDER BY serial DESC LIMIT 1"
                ),
                [self.name],
            ).fetchone()
            stored_serial, stored_lineage = (0, None) if row is None else (int(row[0]), str(row[1]))
            if doc.serial != stored_serial:
                raise StateError(
                    f"the state {self.description} moved from serial {doc.serial} to {stored_serial} "
                    "since this document was read; nothing was written",
                    hint="read the state again and redo the change",
                )
            if stored_lineage and doc.lineage and doc.lineage != stored_lineage:
                raise StateError(
                    f"refusing to write a state of lineage {doc.lineage} over {self.description}, "
                    f"which has lineage {stored_lineage}; nothing was written"
                )
            new = replace(
                doc,
                lineage=doc.lineage or stored_lineage or str(uuid.uuid4()),
                serial=stored_serial + 1,
                format_version=FORMAT_VERSION,
            )
            text = dump_state(new)
            inserted = conn.execute(
                self._q(
                    "INSERT INTO {schema}.state_versions (name, serial, lineage, data, written_by) "
                    "SELECT %s, %s, %s, %s, %s WHERE EXISTS "
                    "(SELECT 1 FROM {schema}.locks WHERE name = %s AND id = %s)"
                ),
                [self.name, new.serial, new.lineage, text, f"{held.user}@{held.host}", self.name, held.id],
            ).rowcount
            if inserted != 1:
                raise self._lost_lock(held)
            conn.execute(self._q("DELETE FROM {schema}.journal WHERE name = %s"), [self.name])
        return new

    def journal_append(self, entry: JournalEntry) -> None:
        held = self._require_lock("append to the journal")
        text = json.dumps(check_entry(entry), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        conn = self._data()
        with self._errors("appending to the journal"):
            # Autocommit: durable once the server acknowledges the commit.
            inserted = conn.execute(
                self._q(
                    "INSERT INTO {schema}.journal (name, entry) SELECT %s, %s WHERE EXISTS "
                    "(SELECT 1 FROM {schema}.locks WHERE name = %s AND id = %s)"
                ),
                [self.name, text, self.name, held.id],
            ).rowcount
        if inserted != 1:
            raise self._lost_lock(held)

    def _lost_lock(self, held: LockInfo) -> LockError:
        return LockError(
            f"this process no longer holds the state lock {held.id} on {self.description} (it was removed "
            "with `reconciler state unlock`, or taken over after this process's lock session ended); "
            "nothing was written",
            hint="run the command again: unsettled journal intents are resolved at the start",
        )

    # -- locking -----------------------------------------------------------------------------

    @contextmanager
    def lock(self, operation: str, timeout: float = 0.0) -> Iterator[LockInfo]:
        if self._held is not None:
            raise StateError(f"this process already holds the state lock (for {self._held.operation})")
        self._ensure_tables(self._data())
        lock_conn = self._connect()  # dedicated: the advisory lock lives as long as this session
        try:

            def attempt() -> None:
                with self._errors("taking the state lock"):
                    row = lock_conn.execute("SELECT pg_try_advisory_lock(%s)", [self.lock_key]).fetchone()
                    if row is None or not row[0]:
                        holder = self._lock_row(lock_conn)
                        raise LockBusy(holder[0] if holder else None)

            acquire_with_backoff(attempt, timeout, self.description, waiting_logger(self.description, timeout))
            info = new_lock_info(operation, self._lock_path)
            with self._errors("recording the lock holder"), lock_conn.transaction():
                dead = self._lock_row(lock_conn, for_update=True)
                if dead is not None:
                    log.warning(
                        "state lock: its previous holder died without releasing it; taking it over",
                        lock_id=dead[0].id,
                        operation=dead[0].operation,
                        holder=dead[0].who,
                        since=dead[0].created,
                    )
                lock_conn.execute(
                    self._q(
                        "INSERT INTO {schema}.locks (name, id, operation, username, host, pid, created, info, "
                        "backend_pid) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, pg_backend_pid()) "
                        "ON CONFLICT (name) DO UPDATE SET id = excluded.id, operation = excluded.operation, "
                        "username = excluded.username, host = excluded.host, pid = excluded.pid, "
                        "created = excluded.created, info = excluded.info, backend_pid = excluded.backend_pid"
                    ),
                    [self.name, info.id, info.operation, info.user, info.host, info.pid, info.created, info.info],
                )
            self._held = info
            try:
                yield info
            finally:
                self._held = None
                # If this fails the session still ends below, which releases the advisory
                # lock; the row left behind is then recognised as stale.
                with suppress(psycopg.Error):
                    lock_conn.execute(
                        self._q("DELETE FROM {schema}.locks WHERE name = %s AND id = %s"), [self.name, info.id]
                    )
                    lock_conn.execute("SELECT pg_advisory_unlock(%s)", [self.lock_key])
        finally:
            with suppress(psycopg.Error):
                lock_conn.close()

    def _lock_row(self, conn: Connection, *, for_update: bool = False) -> tuple[LockInfo, int] | None:
        """The recorded holder and its database session's pid."""
        query = self._q("SELECT " + _LOCK_COLUMNS + " FROM {schema}.locks WHERE name = %s")
        if for_update:
            query = query + sql.SQL(" FOR UPDATE")
        row = conn.execute(query, [self.name]).fetchone()
        if row is None:
            return None
        lock_id, operation, user, host, pid, created, info, backend_pid = row
        holder = LockInfo(lock_id, operation, user, host, pid, created, self._lock_path, info)
        return holder, int(backend_pid)

    def current_lock(self) -> LockInfo | None:
        conn = self._data()
        with self._errors("reading the state lock"):
            if not self._tables_exist(conn):
                return None
            row = self._lock_row(conn)
        return None if row is None else row[0]

    def force_unlock(self, lock_id: str) -> LockInfo:
        conn = self._data()
        with self._errors("reading the state lock"):
            row = self._lock_row(conn) if self._tables_exist(conn) else None
        if row is None:
            raise LockError(f"the state {self.description} is not locked: there is no lock {lock_id!r}")
        holder, backend_pid = row
        if holder.id != lock_id:
            raise LockError(
                f"there is no lock {lock_id!r} on {self.description}; the current lock is:\n{holder.describe()}"
            )
        probe = self._connect()
        try:
            with self._errors("releasing the state lock"):
                got = probe.execute("SELECT pg_try_advisory_lock(%s)", [self.lock_key]).fetchone()
                if got is None or not got[0]:
                    raise LockError(
                        f"lock {lock_id} is held by a live database session (backend pid {backend_pid}, "
                        f"{holder.who}); it is released when that session ends, so it is not stale",
                        hint="if that process is gone but its connection lingers, end the session in "
                        f"PostgreSQL: SELECT pg_terminate_backend({backend_pid});",
                    )
                try:
                    probe.execute(
                        self._q("DELETE FROM {schema}.locks WHERE name = %s AND id = %s"), [self.name, lock_id]
                    )
                finally:
                    probe.execute("SELECT pg_advisory_unlock(%s)", [self.lock_key])
        finally:
            with suppress(psycopg.Error):
                probe.close()
        return holder

    def _require_lock(self, what: str) -> LockInfo:
        if self._held is None:
            raise StateError(f"cannot {what} without holding the state lock (internal error: call lock() first)")
        return self._held

    def close(self) -> None:
        if self._conn is not None:
            with suppress(psycopg.Error):
                self._conn.close()
            self._conn = None

    def __enter__(self) -> PostgresBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
