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
  deletes the folded rows in the same transaction that inserts the new serial. Appends made at
  the same time by the apply engine's worker threads are inserted together, by one statement
  in one transaction (group commit, `reconciler.state.group_commit`); each append still returns
  only once its rows are committed.
- ``locks(name, id, operation, username, host, pid, created, info, backend_pid)``: who holds
  the lock. The lock itself is a session-level advisory lock (``pg_try_advisory_lock``) held
  on a dedicated connection, so it vanishes with the holder's session: when the holder dies,
  and also when the server restarts or the connection drops while the holder still runs. A
  row whose session has ended is stale: the next locker replaces it and says whose it was.

Every write and journal append checks, in the statement or transaction that writes, that the
row still names this process's lock and that the session the row names (ours) still holds the
advisory lock. A holder whose session ended, or whose row was removed (`reconciler state
unlock`) or replaced, therefore writes nothing and says which of these happened.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from typing import Any, LiteralString, TypeVar

import psycopg
from psycopg import sql

from reconciler.errors import LockError, StateError
from reconciler.log import get_logger
from reconciler.masking import mask_url_passwords
from reconciler.model import JournalEntry, StateDoc
from reconciler.state.base import (
    LockBusy,
    LockInfo,
    acquire_with_backoff,
    new_lock_info,
    only_the_serial_differs,
    waiting_logger,
)
from reconciler.state.codec import (
    FORMAT_VERSION,
    Invalid,
    check_entry,
    check_entry_json,
    dump_state,
    entry_from_json,
    load_state,
)
from reconciler.state.group_commit import GroupCommit
from reconciler.state.journal import fold

DEFAULT_NAME = "default"
DEFAULT_SCHEMA = "reconciler"
DEFAULT_CONNECT_TIMEOUT = 10  # seconds
SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
MASK = "***"
MIN_MASKED_ANYWHERE = 6  # shorter passwords are masked only where a URL or `password=` holds them

log = get_logger("reconciler.state")
T = TypeVar("T")

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
# A row of pg_locks that says a session holds the advisory lock of key (classid, objid): a bigint
# key shows as its two 32-bit halves and objsubid 1. Completed with the session's backend pid.
_ADVISORY_LOCK_HELD_BY: LiteralString = (
    "SELECT 1 FROM pg_locks p WHERE p.locktype = 'advisory' AND p.granted "
    "AND p.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND p.classid = %s::bigint::oid AND p.objid = %s::bigint::oid AND p.objsubid = 1 AND p.pid = "
)


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
    if not SCHEMA_RE.fullmatch(schema):
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
        unsigned = self.lock_key & 0xFFFFFFFFFFFFFFFF
        self._key_halves = (unsigned >> 32, unsigned & 0xFFFFFFFF)  # as pg_locks shows the key
        self._ddl_key = advisory_key("ddl", self.schema)
        self._lock_path = f"{self.schema}.locks, state {self.name!r}"
        self._conn: Connection | None = None  # for reads, writes and appends
        self._opening = threading.Lock()  # the apply engine appends from worker threads
        self._held: LockInfo | None = None
        self._lock_backend_pid: int | None = None  # the session holding our advisory lock
        self._tables_ready = False
        # The apply engine appends from worker threads: their rows are inserted a batch at a time.
        self._journal_group: GroupCommit[str] = GroupCommit(self._insert_journal_rows)

    # -- connections and errors --------------------------------------------------------------

    def mask(self, text: str) -> str:
        """The password out of `text`: in any URL's userinfo or `password=` value, and, where it is
        long enough not to be part of ordinary words (`p` in `port`), wherever it appears."""
        text = mask_url_passwords(text)
        for secret in self._settings.secrets:
            if len(secret) >= MIN_MASKED_ANYWHERE:
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
            if self._conn is not None and self._conn.broken:  # the server ended it (a restart...)
                with suppress(psycopg.Error):
                    self._conn.close()
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
        row, rows = self._reading("reading the state", self._select_snapshot)
        stored = StateDoc() if row is None else self._parse_state(row[0], row[1])
        return stored, [self._parse_entry(seq, text) for seq, text in rows]

    def _select_snapshot(self, conn: Connection) -> tuple[tuple[Any, ...] | None, list[tuple[Any, ...]]]:
        if not self._tables_exist(conn):
            return None, []
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
        return row, rows

    def _reading(self, doing: str, query: Callable[[Connection], T]) -> T:
        """Run a read-only `query`; once more on a new connection if the server ended the
        session (a restart), since a read can be repeated safely. Whether the lock survived is
        the writes' business: they say so."""
        conn = self._data()
        try:
            with self._errors(doing):
                return query(conn)
        except StateError:
            if not conn.broken:
                raise
        with self._errors(doing):
            return query(self._data())

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
        with self._writing("writing the state", "write the state", conn, held), conn.transaction():
            # The row lock keeps a new holder from taking over until this transaction ends.
            problem = self._lock_problem(conn, held, for_update=True)
            if problem:
                raise self._lost_lock(held, problem, "write the state")
            row = conn.execute(
                self._q(
                    "SELECT serial, lineage, data FROM {schema}.state_versions WHERE name = %s "
                    "ORDER BY serial DESC LIMIT 1"
                ),
                [self.name],
            ).fetchone()
            stored_serial, stored_lineage, stored_text = (
                (0, None, None) if row is None else (int(row[0]), str(row[1]), str(row[2]))
            )
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
            if only_the_serial_differs(stored_text, stored_serial, new, text):
                # Nothing but the serial would change: keep the serial, so saved plans stay valid.
                conn.execute(self._q("DELETE FROM {schema}.journal WHERE name = %s"), [self.name])
                return replace(new, serial=stored_serial)
            conn.execute(
                self._q(
                    "INSERT INTO {schema}.state_versions (name, serial, lineage, data, written_by) "
                    "VALUES (%s, %s, %s, %s, %s)"
                ),
                [self.name, new.serial, new.lineage, text, f"{held.user}@{held.host}"],
            )
            conn.execute(self._q("DELETE FROM {schema}.journal WHERE name = %s"), [self.name])
        return new

    def journal_append(self, entry: JournalEntry) -> None:
        self.journal_append_many((entry,))

    def journal_append_many(self, entries: Sequence[JournalEntry]) -> None:
        self._require_lock("append to the journal")
        # Checked in the appender's thread: an entry that cannot be stored fails its own append
        # only, never the batch it would have joined.
        texts = [
            json.dumps(check_entry(entry), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            for entry in entries
        ]
        self._journal_group.append(texts)

    def _insert_journal_rows(self, texts: Sequence[str]) -> None:
        """One batch of entries (as JSON text), in order. Called by one thread at a time."""
        held = self._require_lock("append to the journal")
        conn = self._data()
        with self._writing("appending to the journal", "append to the journal", conn, held):
            # One autocommit statement (durable once the server acknowledges it), written only
            # while our row names us and our session holds the advisory lock: all rows or none.
            # FOR SHARE keeps a new holder from replacing the row until the rows are committed.
            # Rows are inserted in array order, so `seq` keeps the order of the appends.
            inserted = conn.execute(
                self._q(
                    "INSERT INTO {schema}.journal (name, entry) SELECT %s, e.entry "
                    "FROM unnest(%s::text[]) WITH ORDINALITY AS e(entry, n) WHERE EXISTS "
                    "(SELECT 1 FROM {schema}.locks l WHERE l.name = %s AND l.id = %s "
                    "AND EXISTS (" + _ADVISORY_LOCK_HELD_BY + "l.backend_pid) FOR SHARE) ORDER BY e.n"
                ),
                [self.name, list(texts), self.name, held.id, *self._key_halves],
            ).rowcount
            if inserted != len(texts):
                raise self._lost_lock(held, self._lock_problem(conn, held), "append to the journal")

    @contextmanager
    def _writing(self, doing: str, what: str, conn: Connection, held: LockInfo) -> Iterator[None]:
        """Database errors as StateError; a connection lost mid-write is explained by what
        happened to the lock (a server restart ends every session, the lock's included)."""
        try:
            with self._errors(doing):
                yield
        except LockError:
            raise
        except StateError as exc:
            if not (conn.broken or conn.closed):
                raise
            problem = None
            with suppress(StateError, psycopg.Error):
                probe = self._data()  # a new connection: the old one is gone
                problem = self._lock_problem(probe, held)
            if problem:
                raise self._lost_lock(held, problem, what) from None
            raise StateError(
                f"{exc.message}; the connection to the state database was lost, so whether it was written is not known",
                hint="run the command again: unsettled journal intents are resolved at the start",
            ) from None

    def _lock_problem(self, conn: Connection, held: LockInfo, *, for_update: bool = False) -> str | None:
        """None while this process holds the lock; else what happened to it, for a message."""
        row = self._lock_row(conn, for_update=for_update)
        alive = self._lock_backend_pid is not None and self._session_holds_lock(conn, self._lock_backend_pid)
        if row is not None and row[0].id == held.id and alive:
            return None
        if not alive:
            problem = (
                f"the state lock was lost: the database session that held it (backend pid {self._lock_backend_pid}) "
                "ended: the server restarted, or the connection dropped or was terminated"
            )
            if row is None:
                return problem + "; its lock record has been removed since"
            if row[0].id != held.id:
                return problem + f"; another process holds the lock now:\n{row[0].describe()}"
            return problem
        if row is None:
            return (
                f"the lock record of this process (lock {held.id}) was removed from {self.schema}.locks "
                "while its session still held the lock"
            )
        return f"the lock record in {self.schema}.locks now names another holder:\n{row[0].describe()}"

    def _session_holds_lock(self, conn: Connection, backend_pid: int) -> bool:
        row = conn.execute(
            "SELECT EXISTS (" + _ADVISORY_LOCK_HELD_BY + "%s)", [*self._key_halves, backend_pid]
        ).fetchone()
        return bool(row and row[0])

    def _lost_lock(self, held: LockInfo, problem: str | None, what: str) -> LockError:
        problem = problem or f"this process no longer holds the state lock {held.id}"
        return LockError(
            f"{problem}\nrefusing to {what} of {self.description}: nothing was written (the state and its "
            f"journal are as they were; this process held lock {held.id})",
            hint="run the command again once any other holder has finished: unsettled journal intents are "
            "resolved at the start",
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
                stale = self._lock_row(lock_conn, for_update=True)
                if stale is not None:
                    # We hold the advisory lock, so the session the row names has ended. Its
                    # process may live on (a server restart, a dropped connection): its writes
                    # are refused from now on.
                    previous, backend_pid = stale
                    job = {"info": previous.info} if previous.info else {}
                    log.warning(
                        "state lock: taking it over from a holder whose database session has ended (the "
                        "server restarted, its connection dropped or was terminated, or it died); it may "
                        "still be running, and can no longer write the state",
                        lock_id=previous.id,
                        operation=previous.operation,
                        holder=previous.who,
                        since=previous.created,
                        backend_pid=backend_pid,
                        **job,
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
                backend_pid_row = lock_conn.execute("SELECT pg_backend_pid()").fetchone()
            self._held = info
            self._lock_backend_pid = int(backend_pid_row[0]) if backend_pid_row else None
            try:
                yield info
            finally:
                self._held = None
                self._lock_backend_pid = None
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
        def query(conn: Connection) -> tuple[LockInfo, int] | None:
            return self._lock_row(conn) if self._tables_exist(conn) else None

        row = self._reading("reading the state lock", query)
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
