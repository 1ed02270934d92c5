"""Group commit of journal appends: entries appended at the same time share one sync (local file)
or one transaction (PostgreSQL), and each append returns only once its own entries are durable.

Batches are made deterministic by holding the first write until the other appenders have queued
behind it (`GroupCommit.queued`); nothing here depends on timing.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Iterator, Sequence

import psycopg
import pytest

from reconciler.errors import StateError
from reconciler.model import JournalEntry
from reconciler.state import local as local_module
from reconciler.state.group_commit import GroupCommit
from reconciler.state.local import LocalBackend
from reconciler.state.postgres import PostgresBackend
from tests.state.fixtures import wait_until
from tests.state.pg_server import Server

APPENDERS = 8
PEER = "AlibabaBgpPeer/sg-vbr1-peer1"


def entry(op_id: str) -> JournalEntry:
    return JournalEntry(
        id=op_id, address=PEER, kind="AlibabaBgpPeer", action="create", phase="intent", time="2024-05-01T10:00:00Z"
    )


def in_threads(count: int, append: Callable[[int], None]) -> dict[int, BaseException | None]:
    """Start `append(i)` in `count` threads; returns a function's outcome by index, once all end."""
    outcomes: dict[int, BaseException | None] = {}

    def run(index: int) -> None:
        try:
            append(index)
        except BaseException as exc:
            outcomes[index] = exc
        else:
            outcomes[index] = None

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "an appender never returned"
    return outcomes


class HeldFirstWrite:
    """Wraps a write: the first call waits until `release()`; every call's items are recorded."""

    def __init__(self, write: Callable[[Sequence[str]], None] | None = None) -> None:
        self.writes: list[list[str]] = []
        self.entered = threading.Event()
        self._released = threading.Event()
        self._write = write

    def release(self) -> None:
        self._released.set()

    def __call__(self, items: Sequence[str]) -> None:
        first = not self.writes
        self.writes.append(list(items))
        if first:
            self.entered.set()
            assert self._released.wait(60), "the first write was never released"
        if self._write is not None:
            self._write(items)


def start_a_held_write(group: GroupCommit[str], held: HeldFirstWrite) -> threading.Thread:
    """Start one appender whose write is held until `held.release()`."""
    first = threading.Thread(target=group.append, args=(["first"],))
    first.start()
    assert held.entered.wait(30), "the first write never started"
    return first


# -- the mechanism -------------------------------------------------------------------------------


def test_appenders_queued_behind_a_write_share_the_next_write() -> None:
    held = HeldFirstWrite()
    group: GroupCommit[str] = GroupCommit(held)
    first = start_a_held_write(group, held)
    rest = threading.Thread(target=lambda: in_threads(APPENDERS, lambda i: group.append([f"a{i}", f"b{i}"])))
    rest.start()
    wait_until(lambda: group.queued == APPENDERS, what="the appenders to queue")
    held.release()
    first.join(timeout=60)
    rest.join(timeout=60)
    assert len(held.writes) == 2, held.writes
    second = held.writes[1]
    assert sorted(second) == sorted([f"a{i}" for i in range(APPENDERS)] + [f"b{i}" for i in range(APPENDERS)])
    for i in range(APPENDERS):  # one append's items are written together and in order
        assert second.index(f"b{i}") == second.index(f"a{i}") + 1


def test_an_error_reaches_every_appender_of_its_batch_and_none_after() -> None:
    failure = StateError("the disk is full")

    def fail_the_second_write(items: Sequence[str]) -> None:
        if len(held.writes) == 2:
            raise failure

    held = HeldFirstWrite(fail_the_second_write)
    group: GroupCommit[str] = GroupCommit(held)
    first = start_a_held_write(group, held)
    outcomes: dict[int, BaseException | None] = {}
    rest = threading.Thread(target=lambda: outcomes.update(in_threads(APPENDERS, lambda i: group.append([f"a{i}"]))))
    rest.start()
    wait_until(lambda: group.queued == APPENDERS, what="the appenders to queue")
    held.release()
    first.join(timeout=60)
    rest.join(timeout=60)
    assert outcomes == dict.fromkeys(range(APPENDERS), failure)
    group.append(["after"])  # the next batch is written, and succeeds
    assert held.writes[-1] == ["after"] and len(held.writes) == 3


class Interrupted(BaseException):
    """What the test's signal handler raises, as Ctrl-C's KeyboardInterrupt would."""


def test_an_appender_interrupted_while_queued_is_never_handed_the_lead() -> None:
    # The lead passes from one appender to the next one queued. An appender that stopped waiting
    # must be passed over, or everyone queued behind it would wait forever; its items are still
    # written by the next batch.
    assert threading.current_thread() is threading.main_thread(), "signals reach the main thread only"
    held = HeldFirstWrite()
    group: GroupCommit[str] = GroupCommit(held)
    first = start_a_held_write(group, held)
    behind: dict[int, BaseException | None] = {}

    def interrupt_once_another_appender_queued_behind() -> None:
        wait_until(lambda: group.queued == 1, what="the main thread to queue")
        later = threading.Thread(target=lambda: behind.update(in_threads(1, lambda i: group.append(["after"]))))
        later.start()
        wait_until(lambda: group.queued == 2, what="another appender to queue behind it")
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGUSR1)
        later.join(timeout=60)

    def raise_interrupted(signum: int, frame: object) -> None:
        raise Interrupted

    previous = signal.signal(signal.SIGUSR1, raise_interrupted)
    helper = threading.Thread(target=interrupt_once_another_appender_queued_behind)
    try:
        helper.start()
        with pytest.raises(Interrupted):
            group.append(["interrupted"])
    finally:
        signal.signal(signal.SIGUSR1, previous)
    held.release()
    first.join(timeout=60)
    helper.join(timeout=60)
    assert not helper.is_alive(), "the appender queued behind the interrupted one never returned"
    assert behind == {0: None}
    assert held.writes == [["first"], ["interrupted", "after"]]


def test_nothing_to_append_writes_nothing() -> None:
    held = HeldFirstWrite()
    held.release()
    GroupCommit(held).append([])
    assert held.writes == []


# -- the local file: one fdatasync per batch, every entry synced before its append returns ------


class SyncRecorder:
    """Stands in for `sync_data`: syncs for real, and records which entry ids were in the journal
    at each sync. The first sync waits until the other appenders have queued."""

    def __init__(self, backend: LocalBackend, queued: int, fail_second: bool = False) -> None:
        self.backend = backend
        self.synced: set[str] = set()
        self.syncs = 0
        self._queued = queued
        self._fail_second = fail_second
        self._real = local_module.sync_data

    def __call__(self, fd: int) -> None:
        self.syncs += 1
        if self.syncs == 1:
            wait_until(lambda: self.backend._journal_group.queued == self._queued, what="the appenders to queue")
        if self._fail_second and self.syncs == 2:
            raise OSError(5, "Input/output error")
        self._real(fd)
        lines = self.backend.journal_path.read_bytes().splitlines()
        self.synced |= {json.loads(line)["id"] for line in lines}


@pytest.fixture
def locked(local: LocalBackend) -> Iterator[LocalBackend]:
    with local.lock("apply"):
        yield local


def test_concurrent_local_appends_share_one_fdatasync_and_each_returns_once_synced(
    locked: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked.journal_append(entry("opened"))  # opens the journal: its first sync is not under test
    recorder = SyncRecorder(locked, queued=APPENDERS - 1)
    monkeypatch.setattr(local_module, "sync_data", recorder)
    returned_durable: dict[str, bool] = {}

    def append(i: int) -> None:
        locked.journal_append(entry(f"e{i}"))
        returned_durable[f"e{i}"] = f"e{i}" in recorder.synced

    outcomes = in_threads(APPENDERS, append)
    assert outcomes == dict.fromkeys(range(APPENDERS))
    assert returned_durable == dict.fromkeys((f"e{i}" for i in range(APPENDERS)), True)
    assert recorder.syncs == 2  # the first appender's, then one for the other seven
    assert sorted(e.id for e in locked.journal_entries()) == sorted(["opened", *(f"e{i}" for i in range(APPENDERS))])


def test_a_failed_local_sync_fails_every_appender_of_its_batch_and_the_next_batch_succeeds(
    locked: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked.journal_append(entry("opened"))
    recorder = SyncRecorder(locked, queued=APPENDERS - 1, fail_second=True)
    monkeypatch.setattr(local_module, "sync_data", recorder)

    def append(i: int) -> None:
        locked.journal_append(entry(f"e{i}"))

    outcomes = in_threads(APPENDERS, append)
    failed = [i for i, error in outcomes.items() if error is not None]
    assert len(failed) == APPENDERS - 1  # all but the first appender, whose batch was synced
    for i in failed:
        error = outcomes[i]
        assert isinstance(error, StateError)
        assert "cannot append to the journal" in str(error) and "Input/output error" in str(error)
    locked.journal_append(entry("after"))
    assert recorder.syncs == 3 and "after" in recorder.synced


def test_many_entries_appended_at_once_are_synced_once_in_order(
    locked: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked.journal_append(entry("opened"))
    recorder = SyncRecorder(locked, queued=0)
    monkeypatch.setattr(local_module, "sync_data", recorder)
    locked.journal_append_many([entry(f"m{i}") for i in range(50)])
    assert recorder.syncs == 1
    assert [e.id for e in locked.journal_entries()] == ["opened", *(f"m{i}" for i in range(50))]


# -- PostgreSQL: one INSERT, one transaction, per batch -----------------------------------------


@pytest.fixture
def sql(pg_server: Server, pg_dbname: str, pg_schema: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(pg_server.url(pg_dbname), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {pg_schema}")
        yield conn


def test_concurrent_postgres_appends_are_inserted_by_one_transaction_per_batch(
    pg_url: str, sql: psycopg.Connection[tuple[object, ...]]
) -> None:
    pg = PostgresBackend(pg_url)
    try:
        with pg.lock("apply"):
            pg.journal_append(entry("opened"))
            # Another session holds our lock row: the first batch's INSERT (FOR SHARE on that row)
            # waits in the server while the other appenders queue behind it.
            with sql.transaction():
                sql.execute("SELECT 1 FROM locks FOR UPDATE")
                first = threading.Thread(target=pg.journal_append, args=(entry("first"),))
                first.start()
                rest: dict[int, BaseException | None] = {}
                others = threading.Thread(
                    target=lambda: rest.update(
                        in_threads(APPENDERS, lambda i: pg.journal_append_many([entry(f"a{i}"), entry(f"b{i}")]))
                    )
                )
                others.start()
                wait_until(lambda: pg._journal_group.queued == APPENDERS, what="the appenders to queue")
            first.join(timeout=60)
            others.join(timeout=60)
            assert rest == dict.fromkeys(range(APPENDERS))
            rows = sql.execute("SELECT xmin::text, entry FROM journal ORDER BY seq").fetchall()
            transactions = {str(xmin) for xmin, _ in rows}
            assert len(transactions) == 3  # "opened", "first", then every other appender's rows
            ids = [json.loads(str(text))["id"] for _, text in rows]
            assert sorted(ids) == sorted(
                ["opened", "first", *(f"a{i}" for i in range(APPENDERS)), *(f"b{i}" for i in range(APPENDERS))]
            )
            for i in range(APPENDERS):  # one append's rows are inserted together and in order
                assert ids.index(f"b{i}") == ids.index(f"a{i}") + 1
            assert [e.id for e in pg.journal_entries()] == ids
    finally:
        pg.close()
