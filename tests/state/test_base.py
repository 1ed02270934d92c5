"""The StateBackend contract, run against both backends (local file and real PostgreSQL).

Locking tests use a second, real process (tests/state/holder.py) as the other party.
"""

from __future__ import annotations

import getpass
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import replace

import pytest
from structlog.testing import capture_logs

from reconciler.errors import LockError, StateError
from reconciler.model import JournalEntry, StateDoc, StateResource
from reconciler.state import StateBackend, open_backend
from reconciler.state.base import LockBusy, LockInfo, acquire_with_backoff
from tests.state import holder as holder_script
from tests.state.fixtures import Holder

GROUP = "AlibabaBgpGroup/sg-vbr1"
PEER = "AlibabaBgpPeer/sg-vbr1-peer1"
StartHolder = Callable[[str, str, str], Holder]


def group() -> StateResource:
    return StateResource(GROUP, "AlibabaBgpGroup", "bgpg-1", "ap-southeast-1", {"peerAsn": 65010, "name": "sg-vbr1"})


def entry(op_id: str, phase: str, action: str = "create", address: str = PEER, **fields: object) -> JournalEntry:
    if phase == "done" and action in ("create", "update", "adopt"):
        fields.setdefault("cloud_id", f"bgp-{op_id}")
        fields.setdefault("attributes", {"peerIpAddress": "10.0.0.1", "enableBfd": True})
    return JournalEntry(
        id=op_id,
        address=address,
        kind=address.split("/", maxsplit=1)[0],
        action=action,
        phase=phase,  # type: ignore[arg-type]
        time="2024-05-01T10:00:00.000Z",
        **fields,  # type: ignore[arg-type]
    )


def write(backend: StateBackend, doc: StateDoc) -> StateDoc:
    with backend.lock("test"):
        return backend.write(doc)


# -- reading and writing ---------------------------------------------------------------------


def test_a_missing_state_reads_as_empty(backend: StateBackend) -> None:
    assert backend.read() == StateDoc()
    assert backend.journal_entries() == []
    assert backend.current_lock() is None


def test_writes_assign_a_lineage_once_and_count_serials(backend: StateBackend) -> None:
    first = write(backend, StateDoc(resources={GROUP: group()}))
    assert first.serial == 1
    assert first.lineage is not None and len(first.lineage) == 36
    second = write(backend, replace(backend.read(), resources={}))
    assert (second.lineage, second.serial) == (first.lineage, 2)
    assert backend.read() == second
    third = write(backend, replace(backend.read(), resources={GROUP: group()}))
    assert (third.lineage, third.serial) == (first.lineage, 3)
    assert backend.read().resources[GROUP] == group()


def test_write_and_append_require_the_lock(backend: StateBackend) -> None:
    with pytest.raises(StateError, match="without holding the state lock"):
        backend.write(StateDoc())
    with pytest.raises(StateError, match="without holding the state lock"):
        backend.journal_append(entry("1", "intent"))
    with backend.lock("apply"):
        pass
    with pytest.raises(StateError, match="without holding the state lock"):
        backend.write(StateDoc())  # not after the lock is released either
    assert backend.read() == StateDoc()


def test_a_write_based_on_an_old_serial_is_refused(backend: StateBackend, backend_url: str) -> None:
    stale = write(backend, StateDoc())
    other = open_backend(backend_url)
    try:
        write(other, replace(other.read(), extra={"note": "other"}))  # someone else writes serial 2
    finally:
        other.close()
    with backend.lock("apply"), pytest.raises(StateError, match="moved from serial 1 to 2 since this document"):
        backend.write(replace(stale, resources={GROUP: group()}))
    assert backend.read().serial == 2
    assert backend.read().resources == {}


def test_a_write_of_another_lineage_is_refused(backend: StateBackend) -> None:
    written = write(backend, StateDoc())
    foreign = replace(written, lineage="11111111-2222-4333-8444-555555555555")
    with backend.lock("apply"), pytest.raises(StateError, match="refusing to write a state of lineage 1111"):
        backend.write(foreign)
    assert backend.read().lineage == written.lineage


def test_a_secret_in_attributes_is_refused_and_nothing_is_written(backend: StateBackend) -> None:
    secret = "hunter2-md5-key"
    leaky = StateResource(GROUP, "AlibabaBgpGroup", "bgpg-1", None, {"authKey": secret})
    with backend.lock("apply"):
        with pytest.raises(StateError) as on_write:
            backend.write(StateDoc(resources={GROUP: leaky}))
        with pytest.raises(StateError) as on_append:
            backend.journal_append(entry("1", "done", attributes={"authKey": secret}))
    for caught in (on_write, on_append):
        assert "is a secret field" in str(caught.value)
        assert secret not in str(caught.value)
    assert backend.read() == StateDoc()
    assert backend.journal_entries() == []


# -- the journal -----------------------------------------------------------------------------


def test_a_write_that_changes_nothing_keeps_the_serial_and_still_empties_the_journal(backend: StateBackend) -> None:
    first = write(backend, StateDoc(resources={GROUP: group()}))
    with backend.lock("apply"):
        # An apply whose only call was refused: its entries change nothing.
        backend.journal_append(entry("a", "intent"))
        backend.journal_append(entry("a", "failed", error="InvalidVbrId.NotFound"))
        kept = backend.write(backend.read())
        assert kept == first
        assert backend.journal_entries() == []
        assert backend.read() == first
        # An open intent is a change: the next run must see it.
        backend.journal_append(entry("b", "intent"))
        pending = backend.write(backend.read())
        assert (pending.serial, [e.id for e in pending.pending]) == (first.serial + 1, ["b"])
        backend.journal_append(entry("b", "done"))
        settled = backend.write(backend.read())
    assert (settled.serial, settled.pending, sorted(settled.resources)) == (first.serial + 2, (), [GROUP, PEER])
    assert backend.read() == settled


def test_the_journal_is_folded_on_read_and_emptied_by_a_write(backend: StateBackend) -> None:
    entries = [
        entry("op1", "intent"),
        entry("op1", "done", region="ap-southeast-1"),
        entry("op2", "intent", address="AlibabaBgpPeer/sg-vbr1-peer2", token="tok-2"),
    ]
    with backend.lock("apply"):
        for item in entries:
            backend.journal_append(item)
        assert backend.journal_entries() == entries
        folded = backend.read()
        assert folded.serial == 0  # folded in memory only
        assert folded.resources[PEER].cloud_id == "bgp-op1"
        assert folded.resources[PEER].region == "ap-southeast-1"
        assert [e.id for e in folded.pending] == ["op2"]
        written = backend.write(folded)
    assert backend.journal_entries() == []
    assert backend.read() == written
    assert written.pending == (entries[2],)


def test_a_pending_intent_is_settled_by_a_later_outcome(backend: StateBackend) -> None:
    with backend.lock("apply"):
        backend.journal_append(entry("op1", "intent"))
        backend.write(backend.read())
    assert [e.id for e in backend.read().pending] == ["op1"]
    with backend.lock("apply"):  # the next run found the object and records the outcome
        backend.journal_append(entry("op1", "done", cloud_id="bgp-found"))
        assert backend.read().pending == ()
        backend.write(backend.read())
    state = backend.read()
    assert state.pending == ()
    assert state.resources[PEER].cloud_id == "bgp-found"
    assert state.serial == 2


def test_appends_from_a_killed_process_are_all_read_back(
    backend: StateBackend, backend_url: str, start_holder: StartHolder
) -> None:
    holder = start_holder(backend_url, "append", "400")
    holder.expect("locked")
    holder.expect("appended 150")  # entries 0..150 are durable
    holder.kill9()  # mid-stream: it may have appended a few more since
    entries = backend.journal_entries()
    assert len(entries) >= 151
    assert entries == [holder_script.entry(i) for i in range(len(entries))]
    folded = backend.read()
    done = len(entries) // 2  # every odd entry settles one create
    assert len(folded.resources) == done
    assert folded.resources["AlibabaBgpPeer/peer-0"].cloud_id == "bgp-0"


# -- locking ---------------------------------------------------------------------------------


def test_a_second_locker_fails_fast_naming_the_holder(
    backend: StateBackend, backend_url: str, start_holder: StartHolder
) -> None:
    holder = start_holder(backend_url, "hold", "apply")
    lock_id = holder.expect("locked")
    with pytest.raises(LockError) as caught, backend.lock("state rm"):
        pass
    message = str(caught.value)
    for expected in (
        f"lock id:   {lock_id}",
        "operation: apply",
        f"who:       {getpass.getuser()}@{socket.gethostname()} (pid {holder.pid})",
        "since:     ",
        "--lock-timeout",
    ):
        assert expected in message
    current = backend.current_lock()
    assert current is not None
    assert (current.id, current.operation, current.pid) == (lock_id, "apply", holder.pid)
    holder.release()
    assert backend.current_lock() is None
    with backend.lock("state rm") as mine:
        assert mine.pid == os.getpid()


def test_with_a_timeout_the_second_locker_waits_for_the_holder(
    backend: StateBackend, backend_url: str, start_holder: StartHolder
) -> None:
    holder = start_holder(backend_url, "hold-for", "0.5")
    lock_id = holder.expect("locked")
    with capture_logs() as logs, backend.lock("apply", timeout=60) as mine:
        assert mine.id != lock_id
        assert mine.operation == "apply"
    holder.expect("released")
    waits = [log for log in logs if log["event"] == "state lock is busy; waiting for it"]
    assert len(waits) == 1
    assert waits[0]["holder"].endswith(f"(pid {holder.pid})")
    assert waits[0]["operation"] == "test hold-for"


def test_the_lock_is_released_after_an_exception(
    backend: StateBackend, backend_url: str, start_holder: StartHolder
) -> None:
    with pytest.raises(RuntimeError, match="boom"), backend.lock("apply"):
        raise RuntimeError("boom")
    assert backend.current_lock() is None
    holder = start_holder(backend_url, "hold", "apply")
    assert holder.expect("locked")  # another process can take it at once


def test_the_lock_is_released_after_keyboard_interrupt(backend: StateBackend) -> None:
    with pytest.raises(KeyboardInterrupt), backend.lock("apply"):
        raise KeyboardInterrupt
    assert backend.current_lock() is None
    with capture_logs() as logs, backend.lock("apply"):
        pass
    assert [log for log in logs if log["log_level"] == "warning"] == []


def test_ctrl_c_in_another_process_releases_its_lock(
    backend: StateBackend, backend_url: str, start_holder: StartHolder
) -> None:
    holder = start_holder(backend_url, "hold", "apply")
    holder.expect("locked")
    holder.interrupt()
    holder.expect("interrupted")
    assert holder.proc.wait(timeout=30) == 130
    assert backend.current_lock() is None
    with capture_logs() as logs, backend.lock("apply"):
        pass
    assert not any("died" in log["event"] for log in logs)


def test_a_dead_holder_is_taken_over_with_a_warning(
    backend: StateBackend, backend_url: str, start_holder: StartHolder
) -> None:
    holder = start_holder(backend_url, "hold", "apply")
    dead_id = holder.expect("locked")
    holder.kill9()
    stale = backend.current_lock()
    assert stale is not None and stale.id == dead_id  # its record outlives it
    with capture_logs() as logs, backend.lock("apply", timeout=20) as mine:
        assert mine.id != dead_id
        current = backend.current_lock()
        assert current is not None and current.id == mine.id
    warnings = [log for log in logs if log["log_level"] == "warning"]
    assert len(warnings) == 1
    if backend_url.startswith("postgresql://"):  # a session may end while its process lives on
        assert "holder whose database session has ended" in warnings[0]["event"]
        assert "it may still be running" in warnings[0]["event"]
    else:  # the OS releases a folder lock only when its holder exits
        assert "previous holder died" in warnings[0]["event"]
    assert warnings[0]["lock_id"] == dead_id
    assert warnings[0]["holder"].endswith(f"(pid {holder.pid})")
    assert backend.current_lock() is None


def test_force_unlock_removes_a_dead_holders_record(
    backend: StateBackend, backend_url: str, start_holder: StartHolder
) -> None:
    holder = start_holder(backend_url, "hold", "apply")
    dead_id = holder.expect("locked")
    holder.kill9()
    removed = _force_unlock_once_released(backend, dead_id)
    assert (removed.id, removed.pid, removed.operation) == (dead_id, holder.pid, "apply")
    assert backend.current_lock() is None


def _force_unlock_once_released(backend: StateBackend, lock_id: str) -> LockInfo:
    """PostgreSQL may take a moment to notice the killed session; retry while it looks alive."""

    def attempt() -> LockInfo:
        try:
            return backend.force_unlock(lock_id)
        except LockError as exc:
            if "live" in str(exc):
                raise LockBusy(None) from exc
            raise

    return acquire_with_backoff(attempt, 20.0, backend.description)


def test_force_unlock_refuses_a_live_holder(backend: StateBackend, backend_url: str, start_holder: StartHolder) -> None:
    holder = start_holder(backend_url, "hold", "apply")
    lock_id = holder.expect("locked")
    with pytest.raises(LockError, match=f"lock {lock_id} is held by a live"):
        backend.force_unlock(lock_id)
    current = backend.current_lock()
    assert current is not None and current.id == lock_id
    with pytest.raises(LockError), backend.lock("apply"):
        pass


def test_force_unlock_of_an_unknown_id_names_the_current_lock(
    backend: StateBackend, backend_url: str, start_holder: StartHolder
) -> None:
    with pytest.raises(LockError, match="is not locked: there is no lock 'nope'"):
        backend.force_unlock("nope")
    holder = start_holder(backend_url, "hold", "apply")
    lock_id = holder.expect("locked")
    with pytest.raises(LockError) as caught:
        backend.force_unlock("nope")
    assert "there is no lock 'nope'" in str(caught.value)
    assert f"lock id:   {lock_id}" in str(caught.value)


def test_the_same_backend_cannot_lock_twice(backend: StateBackend) -> None:
    with backend.lock("apply"):
        with pytest.raises(StateError, match="already holds the state lock"), backend.lock("apply"):
            pass
        assert backend.current_lock() is not None
    assert backend.current_lock() is None


def test_appends_from_several_threads_all_land_intact(backend: StateBackend) -> None:
    def append_some(worker: int) -> None:
        for i in range(25):
            backend.journal_append(entry(f"w{worker}-{i}", "intent", address=f"AlibabaBgpPeer/peer-{worker}-{i}"))

    with backend.lock("apply"):
        threads = [threading.Thread(target=append_some, args=(worker,)) for worker in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    ids = [item.id for item in backend.journal_entries()]
    assert sorted(ids) == sorted(f"w{worker}-{i}" for worker in range(4) for i in range(25))
    for worker in range(4):  # each thread's entries keep their order
        assert [i for i in ids if i.startswith(f"w{worker}-")] == [f"w{worker}-{i}" for i in range(25)]


def test_waiting_for_a_busy_lock_retries_until_the_timeout_then_names_the_holder() -> None:
    holder = LockInfo("abc", "apply", "ci", "runner-1", 77, "2024-05-01T10:00:00+00:00", "s.json.lock")
    attempts: list[int] = []
    waited_for: list[LockInfo | None] = []

    def busy() -> None:
        attempts.append(1)
        raise LockBusy(holder)

    with pytest.raises(LockError) as caught:
        acquire_with_backoff(busy, 0.35, "s.json", waited_for.append)
    assert len(attempts) >= 3  # 0.1 s, 0.2 s, then a last try at the deadline
    assert waited_for == [holder]  # "waiting for ..." is said once
    assert str(caught.value).startswith("the state s.json is locked by another process after waiting 0.35s:\n")
    assert "  who:       ci@runner-1 (pid 77)" in str(caught.value)
    with pytest.raises(LockError) as at_once:
        acquire_with_backoff(busy, 0.0, "s.json")
    assert "after waiting" not in str(at_once.value)
