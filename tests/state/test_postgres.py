"""The PostgreSQL backend against a real server: history, advisory lock + holder row, fencing,
URL parameters and password masking. (The shared contract is in test_base.py.)"""

from __future__ import annotations

import getpass
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import replace

import psycopg
import pytest
from structlog.testing import capture_logs

from reconciler.errors import LockError, StateError
from reconciler.model import JournalEntry, StateDoc, StateResource
from reconciler.state import open_backend
from reconciler.state.postgres import PostgresBackend, advisory_key, parse_url
from tests.state.fixtures import Holder, wait_until
from tests.state.pg_server import Server, temporary_server, why_unavailable

GROUP = "AlibabaBgpGroup/sg-vbr1"
PASSWORD = "pw-S3cret/xyz"  # has a character that URLs percent-encode
StartHolder = Callable[[str, str, str], Holder]


def group(description: str) -> StateResource:
    return StateResource(GROUP, "AlibabaBgpGroup", "bgpg-1", "ap-southeast-1", {"description": description})


def intent(op_id: str) -> JournalEntry:
    return JournalEntry(
        id=op_id, address=GROUP, kind="AlibabaBgpGroup", action="update", phase="intent", time="2024-05-01T10:00:00Z"
    )


@pytest.fixture
def pg(pg_url: str) -> Iterator[PostgresBackend]:
    backend = PostgresBackend(pg_url)
    yield backend
    backend.close()


@pytest.fixture
def sql(pg_server: Server, pg_dbname: str, pg_schema: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A plain connection for looking at the test's tables directly (its schema is on the search path)."""
    with psycopg.connect(pg_server.url(pg_dbname), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {pg_schema}")
        yield conn


def advisory_lock_holders(sql: psycopg.Connection[tuple[object, ...]], key: int) -> list[object]:
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    rows = sql.execute(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = %s AND objid = %s "
        "AND objsubid = 1",
        [unsigned >> 32, unsigned & 0xFFFFFFFF],
    ).fetchall()
    return [row[0] for row in rows]


# -- the URL -----------------------------------------------------------------------------------


def test_url_parameters_and_defaults() -> None:
    plain = parse_url("postgres://ci@db.internal/netstate")
    assert (plain.name, plain.schema) == ("default", "reconciler")
    assert plain.connect_kwargs == {"connect_timeout": 10, "application_name": "reconciler"}
    custom = parse_url("postgresql://ci@db:6432/netstate?name=prod-sg&schema=bgp&sslmode=require&connect_timeout=3")
    assert (custom.name, custom.schema) == ("prod-sg", "bgp")
    assert custom.conninfo == "postgresql://ci@db:6432/netstate?sslmode=require&connect_timeout=3"
    assert custom.connect_kwargs == {"application_name": "reconciler"}


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql://db/x?schema=Robert'); DROP", "is not a plain lowercase identifier"),
        # `$` alone would let a trailing newline through into the schema's name.
        ("postgresql://db/x?schema=reconciler%0A", "is not a plain lowercase identifier"),
        ("postgresql://db/x?name=", "the state name (?name=) must be 1 to 200 characters"),
    ],
)
def test_bad_url_parameters_are_refused(url: str, problem: str) -> None:
    with pytest.raises(StateError, match=problem.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        parse_url(url)


def test_the_password_is_masked_in_the_description() -> None:
    encoded = "pw-S3cret%2Fxyz"
    settings = parse_url(f"postgresql://alice:{encoded}@db:5432/netstate?name=prod&password=other-Secret")
    assert settings.description == "postgresql://alice:***@db:5432/netstate?name=prod&password=***"
    assert PASSWORD in settings.secrets and encoded in settings.secrets and "other-Secret" in settings.secrets
    assert open_backend(f"postgresql://alice:{encoded}@db/x").description == "postgresql://alice:***@db/x"


# -- tables and history -------------------------------------------------------------------------


def test_reading_creates_nothing_and_the_first_lock_creates_the_tables(
    pg: PostgresBackend, pg_url: str, sql: psycopg.Connection[tuple[object, ...]]
) -> None:
    assert pg.read() == StateDoc()
    assert sql.execute("SELECT to_regclass('state_versions')").fetchone() == (None,)
    with pg.lock("apply"):
        pass
    tables = sql.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1", [pg.schema]
    ).fetchall()
    assert tables == [("journal",), ("locks",), ("state_versions",)]
    second = PostgresBackend(pg_url)  # the same tables again: the DDL is idempotent
    with second.lock("apply"):
        pass
    second.close()


def test_every_serial_is_kept_as_history(pg: PostgresBackend, sql: psycopg.Connection[tuple[object, ...]]) -> None:
    with pg.lock("apply"):
        for description in ("one", "two", "three"):
            pg.write(replace(pg.read(), resources={GROUP: group(description)}))
    rows = sql.execute(
        "SELECT serial, lineage, data, written_by FROM state_versions WHERE name = 'test' ORDER BY serial"
    ).fetchall()
    assert [row[0] for row in rows] == [1, 2, 3]
    assert len({row[1] for row in rows}) == 1
    history = [json.loads(str(row[2]))["resources"][GROUP]["attributes"]["description"] for row in rows]
    assert history == ["one", "two", "three"]
    assert rows[0][3] == f"{getpass.getuser()}@{socket.gethostname()}"
    assert pg.read().resources[GROUP].attributes == {"description": "three"}


def test_states_with_other_names_are_independent(pg: PostgresBackend, pg_url: str) -> None:
    other = PostgresBackend(pg_url.replace("name=test", "name=other"))
    with pg.lock("apply"), other.lock("apply"):  # different names: different locks
        pg.write(StateDoc(resources={GROUP: group("mine")}))
    assert other.read() == StateDoc()
    assert pg.read().serial == 1
    other.close()


def test_journal_rows_are_deleted_by_the_write_that_folds_them(
    pg: PostgresBackend, sql: psycopg.Connection[tuple[object, ...]]
) -> None:
    with pg.lock("apply"):
        pg.journal_append(intent("a"))
        pg.journal_append(intent("b"))
        assert sql.execute("SELECT count(*) FROM journal WHERE name = 'test'").fetchone() == (2,)
        written = pg.write(pg.read())
    assert sql.execute("SELECT count(*) FROM journal").fetchone() == (0,)
    assert [entry.id for entry in written.pending] == ["a", "b"]


def test_a_corrupt_latest_version_is_reported_and_nothing_changes(
    pg: PostgresBackend, sql: psycopg.Connection[tuple[object, ...]]
) -> None:
    with pg.lock("apply"):
        pg.write(StateDoc(resources={GROUP: group("one")}))
        pg.write(replace(pg.read(), resources={GROUP: group("two")}))
    sql.execute("UPDATE state_versions SET data = '{\"format_version\": 1' WHERE serial = 2")
    with pytest.raises(StateError) as caught:
        pg.read()
    assert "(state_versions serial 2):1:21: not valid JSON" in str(caught.value)
    assert f"every earlier serial is kept in {pg.schema}.state_versions (previous: serial 1)" in str(caught.value)


# -- locking ---------------------------------------------------------------------------------


def test_the_lock_is_an_advisory_lock_plus_a_row_naming_the_holder(
    pg: PostgresBackend, pg_url: str, start_holder: StartHolder, sql: psycopg.Connection[tuple[object, ...]]
) -> None:
    holder = start_holder(pg_url, "hold", "apply")
    lock_id = holder.expect("locked")
    row = sql.execute("SELECT id, operation, pid, backend_pid FROM locks WHERE name = 'test'").fetchone()
    assert row is not None
    assert row[:3] == (lock_id, "apply", holder.pid)
    assert advisory_lock_holders(sql, pg.lock_key) == [row[3]]  # held by the holder's own session
    with pytest.raises(LockError, match=f"lock id:   {lock_id}"), pg.lock("apply"):
        pass
    holder.release()
    assert advisory_lock_holders(sql, pg.lock_key) == []
    assert sql.execute("SELECT count(*) FROM locks").fetchone() == (0,)


def test_a_killed_holder_releases_its_advisory_lock_with_its_session(
    pg: PostgresBackend, pg_url: str, start_holder: StartHolder, sql: psycopg.Connection[tuple[object, ...]]
) -> None:
    holder = start_holder(pg_url, "hold", "apply")
    dead_id = holder.expect("locked")
    holder.kill9()
    wait_until(lambda: advisory_lock_holders(sql, pg.lock_key) == [], what="the server to end the killed session")
    stale = sql.execute("SELECT id FROM locks WHERE name = 'test'").fetchone()
    assert stale == (dead_id,)  # the row outlives the session...
    with capture_logs() as logs, pg.lock("apply") as mine:  # ...and is replaced, with a warning
        assert sql.execute("SELECT id FROM locks").fetchone() == (mine.id,)
    assert [log["lock_id"] for log in logs if log["log_level"] == "warning"] == [dead_id]


def test_force_unlock_refuses_a_live_session_and_says_how_to_end_it(
    pg: PostgresBackend, pg_url: str, start_holder: StartHolder, sql: psycopg.Connection[tuple[object, ...]]
) -> None:
    holder = start_holder(pg_url, "hold", "apply")
    lock_id = holder.expect("locked")
    backend_pid = sql.execute("SELECT backend_pid FROM locks").fetchone()
    assert backend_pid is not None
    with pytest.raises(LockError) as caught:
        pg.force_unlock(lock_id)
    assert f"live database session (backend pid {backend_pid[0]}" in str(caught.value)
    assert f"SELECT pg_terminate_backend({backend_pid[0]});" in str(caught.value)
    # Following that advice ends the session; then the record is stale and can be removed.
    sql.execute("SELECT pg_terminate_backend(%s)", [backend_pid[0]])
    wait_until(lambda: advisory_lock_holders(sql, pg.lock_key) == [], what="the session to end")
    assert pg.force_unlock(lock_id).id == lock_id
    assert pg.current_lock() is None


def test_a_holder_whose_lock_was_removed_can_no_longer_write(
    pg: PostgresBackend, sql: psycopg.Connection[tuple[object, ...]]
) -> None:
    with pg.lock("apply") as mine:
        pg.journal_append(intent("a"))
        sql.execute("DELETE FROM locks WHERE id = %s", [mine.id])  # as `state unlock` would
        with pytest.raises(LockError, match=rf"the lock record of this process \(lock {mine.id}\) was removed"):
            pg.journal_append(intent("b"))
        with pytest.raises(LockError, match=r"refusing to write the state .*: nothing was written"):
            pg.write(pg.read())
    assert [entry.id for entry in pg.journal_entries()] == ["a"]
    assert pg.read().serial == 0


def backend_pid_of_the_lock(sql: psycopg.Connection[tuple[object, ...]]) -> int:
    row = sql.execute("SELECT backend_pid FROM locks WHERE name = 'test'").fetchone()
    assert row is not None
    return int(str(row[0]))


def test_a_holder_whose_lock_session_ended_writes_nothing_and_says_the_lock_was_lost(
    pg: PostgresBackend, sql: psycopg.Connection[tuple[object, ...]]
) -> None:
    """From the holder's side, an ended session is what a server restart or a dropped
    connection looks like: its row still names it, but the advisory lock is gone."""
    with pg.lock("apply") as mine:
        pg.journal_append(intent("a"))
        backend_pid = backend_pid_of_the_lock(sql)
        sql.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
        wait_until(lambda: advisory_lock_holders(sql, pg.lock_key) == [], what="the session to end")
        with pytest.raises(LockError) as on_append:
            pg.journal_append(intent("b"))
        with pytest.raises(LockError) as on_write:
            pg.write(replace(pg.read(), resources={GROUP: group("after the loss")}))
    for caught, what in ((on_append, "append to the journal"), (on_write, "write the state")):
        message = str(caught.value)
        assert message.startswith(
            f"the state lock was lost: the database session that held it (backend pid {backend_pid}) ended: "
            "the server restarted, or the connection dropped or was terminated\n"
        )
        assert f"refusing to {what} of {pg.description}: nothing was written" in message
        assert mine.id in message
    assert [entry.id for entry in pg.journal_entries()] == ["a"]
    assert pg.read().serial == 0


@pytest.fixture
def own_server() -> Iterator[Server]:
    """A server of the test's own, since restarting one ends every session on it."""
    reason = why_unavailable()
    if reason:
        pytest.skip(f"PostgreSQL backend tests need a server: {reason}")
    with temporary_server() as server:
        yield server


def test_after_a_server_restart_the_old_holder_writes_nothing_and_the_new_one_names_it(
    own_server: Server, start_holder: StartHolder
) -> None:
    url = own_server.url("postgres", name="test", schema="restart")
    holder = start_holder(url, "write-on-line", "apply")
    old_id = holder.expect("locked")
    first = PostgresBackend(url)
    old = first.current_lock()
    assert old is not None
    first.close()
    # A holder in this process too, of another state: after the restart it reads, then writes.
    other = PostgresBackend(url.replace("name=test", "name=other"))
    with other.lock("apply"):
        own_server.restart()  # every session ends, the holders' advisory locks with them; they live on
        with pytest.raises(LockError) as in_process:
            other.write(replace(other.read(), extra={"written_by": "the old holder"}))
    other.close()
    assert str(in_process.value).startswith("the state lock was lost: the database session that held it")
    second = PostgresBackend(url)
    with capture_logs() as logs, second.lock("apply") as mine:
        written = second.write(StateDoc(resources={GROUP: group("by the new holder")}))
        holder.tell()  # the old holder, still running, goes on with its work
        refusals = {what: holder.attempt(what) for what in ("append", "write")}
    holder.expect("released")
    warnings = [log for log in logs if log["log_level"] == "warning"]
    assert len(warnings) == 1
    assert warnings[0]["event"].startswith("state lock: taking it over from a holder whose database session has ended")
    assert "it may still be running, and can no longer write the state" in warnings[0]["event"]
    assert "died without releasing it" not in warnings[0]["event"]
    assert (warnings[0]["lock_id"], warnings[0]["operation"], warnings[0]["since"]) == (old_id, "apply", old.created)
    assert warnings[0]["holder"] == f"{getpass.getuser()}@{socket.gethostname()} (pid {holder.pid})"
    for what, refused in refusals.items():
        assert refused is not None, f"the old holder could {what} after the restart"
        assert refused.startswith("the state lock was lost: the database session that held it (backend pid ")
        assert "ended: the server restarted, or the connection dropped or was terminated" in refused
        assert f"another process holds the lock now:\n  lock id:   {mine.id}" in refused
        assert "nothing was written" in refused
        assert "internal error" not in refused
    state = second.read()
    assert (state.serial, state.resources[GROUP].attributes) == (written.serial, {"description": "by the new holder"})
    assert second.journal_entries() == []
    second.close()


def test_the_advisory_key_depends_on_schema_and_name() -> None:
    keys = {advisory_key("state", schema, name) for schema in ("a", "b") for name in ("x", "y")}
    assert len(keys) == 4
    assert all(-(2**63) <= key < 2**63 for key in keys)
    assert advisory_key("state", "a", "x") == advisory_key("state", "a", "x")


# -- passwords ---------------------------------------------------------------------------------


@pytest.fixture
def alice_url(pg_server: Server, pg_dbname: str, pg_schema: str, sql: psycopg.Connection[tuple[object, ...]]) -> str:
    """A role with a password that may create the test's schema."""
    sql.execute("DO $$ BEGIN CREATE ROLE alice LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    sql.execute("ALTER ROLE alice PASSWORD 'pw-S3cret/xyz'")
    sql.execute(f'GRANT CREATE ON DATABASE "{pg_dbname}" TO alice')
    return (
        f"postgresql://alice:pw-S3cret%2Fxyz@{pg_server.host}:{pg_server.port}/{pg_dbname}?name=test&schema={pg_schema}"
    )


def test_the_password_never_appears_in_messages_logs_or_lock_records(
    alice_url: str, pg_server: Server, start_holder: StartHolder
) -> None:
    backend = PostgresBackend(alice_url)
    with capture_logs() as logs:
        with backend.lock("apply") as info:
            backend.write(StateDoc(resources={GROUP: group("x")}))
        holder = start_holder(alice_url, "hold", "apply")
        holder.expect("locked")
        with pytest.raises(LockError) as busy, backend.lock("apply", timeout=0.3):
            pass
    backend.close()
    broken = PostgresBackend(alice_url.replace(f":{pg_server.port}/", ":1/"))  # nothing listens on port 1
    with pytest.raises(StateError) as unreachable:
        broken.read()
    texts = [str(busy.value), str(unreachable.value), repr(info), repr(logs), backend.description]
    for text in texts:
        assert "S3cret" not in text
    assert "postgresql://alice:***@" in str(busy.value)
    assert str(unreachable.value).startswith("connecting to the state database (postgresql://alice:***@")
