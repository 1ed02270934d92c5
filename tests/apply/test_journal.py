"""The journal writer: intents before calls, outcomes after, one id per attempt."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from reconciler.apply.journal import JournalWriter, entry_id
from reconciler.model import JournalAction, JournalEntry
from reconciler.plan.model import Action
from tests.apply.fakes import LINEAGE, ROUTER, RUN_ID, SERIAL, MemoryJournal, registered, router, steps


@pytest.fixture(autouse=True)
def fake_cloud() -> Iterator[None]:
    yield from registered()


def writer() -> tuple[JournalWriter, MemoryJournal]:
    journal = MemoryJournal()
    return JournalWriter(journal.append, LINEAGE, SERIAL, RUN_ID), journal


ATTRS = {"region": "r1", "name": "a", "asn": 65000}


def test_an_accepted_call_settles_its_intent_and_records_the_object() -> None:
    (create,) = steps(router("a"))
    w, journal = writer()
    w.intent(create, token="t-1", attributes=ATTRS, region="r1")
    assert [e.id for e in journal.pending] == [f"{LINEAGE}:{SERIAL}:{RUN_ID}:{ROUTER}/a:create"]
    w.done(create, cloud_id="router-1", attributes=ATTRS, region="r1")
    state = journal.state()
    assert state.pending == ()
    assert state.resources[f"{ROUTER}/a"].cloud_id == "router-1"
    intent, done = journal.entries
    assert (intent.id, intent.token, intent.natural_key) == (done.id, "t-1", ("r1", "a"))


def test_a_refused_call_settles_its_intent_as_failed_and_changes_nothing() -> None:
    (create,) = steps(router("a"))
    w, journal = writer()
    w.intent(create, token="t-1", attributes=ATTRS)
    w.failed(create, "quota exceeded")
    assert journal.phases() == ["intent", "failed"]
    assert journal.entries[1].error == "quota exceeded"
    assert journal.state().pending == () and journal.state().resources == {}


def test_an_unknown_outcome_leaves_the_intent_open_and_a_later_failure_writes_nothing() -> None:
    (create,) = steps(router("a"))
    w, journal = writer()
    w.intent(create, token="t-1", attributes=ATTRS)
    w.unknown(create)
    w.failed(create, "too late")  # nothing is open any more: the intent stays for recovery
    assert journal.phases() == ["intent"]
    assert [e.token for e in journal.pending] == ["t-1"]


def test_every_attempt_has_its_own_id_and_only_the_last_one_can_stay_open() -> None:
    (create,) = steps(router("a"))
    w, journal = writer()
    for _ in range(3):  # busy, busy, then the outcome is unknown
        w.intent(create, token="t-1", attributes=ATTRS)
        w.failed(create, "busy")
    w.intent(create, token="t-1", attributes=ATTRS)
    ids = [e.id for e in journal.entries]
    base = f"{LINEAGE}:{SERIAL}:{RUN_ID}:{ROUTER}/a:create"
    assert ids == [base, base, f"{base}#2", f"{base}#2", f"{base}#3", f"{base}#3", f"{base}#4"]
    assert [(e.id, e.token) for e in journal.pending] == [(f"{base}#4", "t-1")]
    w.done(create, cloud_id="router-1", attributes=ATTRS)
    assert journal.entries[-1].id == f"{base}#4"
    assert journal.state().pending == ()


def test_entry_ids_stay_within_the_state_schema_limit() -> None:
    (create,) = steps(router("a" * 63))
    assert len(entry_id(LINEAGE, 10**9, RUN_ID, create, 10_000) + ":moved") <= 200


def test_an_adopt_that_moves_the_object_releases_the_old_address_around_the_takeover() -> None:
    (adopt,) = steps(router("new", Action.ADOPT, cloud_id="router-1", previous_address=f"{ROUTER}/old"))
    w, journal = writer()
    w.intent(adopt, token=None, cloud_id="router-1")
    # A crash now: both the release and the takeover are open, recovery settles both as done.
    assert {(e.address, e.action) for e in journal.pending} == {
        (f"{ROUTER}/old", JournalAction.FORGET),
        (f"{ROUTER}/new", JournalAction.ADOPT),
    }
    w.done(adopt, cloud_id="router-1", attributes=ATTRS)
    assert [(e.phase, e.address) for e in journal.entries] == [
        ("intent", f"{ROUTER}/old"),
        ("intent", f"{ROUTER}/new"),
        ("done", f"{ROUTER}/new"),
        ("done", f"{ROUTER}/old"),
    ]
    assert journal.entries[0].id == journal.entries[1].id + ":moved"


def test_a_refused_move_keeps_the_object_at_its_old_address() -> None:
    (adopt,) = steps(router("new", Action.ADOPT, cloud_id="router-1", previous_address=f"{ROUTER}/old"))
    w, journal = writer()
    w.intent(adopt, token="t", cloud_id="router-1", attributes=ATTRS)
    w.failed(adopt, "busy")
    w.intent(adopt, token="t", cloud_id="router-1", attributes=ATTRS)
    assert [e.phase for e in journal.entries] == ["intent", "intent", "failed", "failed", "intent", "intent"]
    assert len({e.id for e in journal.entries}) == 4  # two attempts, two entries each
    assert len(journal.pending) == 2


def test_recording_live_values_is_journaled_as_an_update() -> None:
    (record,) = steps(router("a", Action.UPDATE, cloud_id="router-1"), refresh_only=True)
    w, journal = writer()
    w.intent(record, token=None)
    w.done(record, cloud_id="router-1", attributes=ATTRS)
    assert {e.action for e in journal.entries} == {JournalAction.UPDATE}
    assert journal.state().resources[f"{ROUTER}/a"].attributes == ATTRS


def test_an_intent_is_journaled_under_the_attempt_it_is_given_with_that_attempts_token() -> None:
    (create,) = steps(router("a"))
    w, journal = writer()
    w.intent(create, attempt=1, token="t-1", attributes=ATTRS)
    w.failed(create, "busy")
    w.intent(create, attempt=2, token="t-2", attributes=ATTRS)
    base = f"{LINEAGE}:{SERIAL}:{RUN_ID}:{ROUTER}/a:create"
    assert [(e.id, e.phase, e.token) for e in journal.entries] == [
        (base, "intent", "t-1"),
        (base, "failed", "t-1"),
        (f"{base}#2", "intent", "t-2"),
    ]
    assert [(e.id, e.token) for e in journal.pending] == [(f"{base}#2", "t-2")]


def test_steps_on_other_threads_append_while_one_append_is_in_progress() -> None:
    """The writer's lock never covers a durable append: the appends of many steps can then be
    made durable together (group commit) instead of one after another."""
    first_step, second_step = steps(router("a"), router("b"))
    journal = MemoryJournal()
    in_progress = threading.Event()
    second_arrived = threading.Event()

    def append(entry: JournalEntry) -> None:
        if entry.address == first_step.address:
            in_progress.set()
            # Held until the other step's append arrives; the deadline only keeps a failure short.
            second_arrived.wait(timeout=10)
        else:
            second_arrived.set()
        journal.append(entry)

    w = JournalWriter(append, LINEAGE, SERIAL, RUN_ID)
    first = threading.Thread(target=w.intent, args=(first_step,), kwargs={"token": "t-a", "attributes": ATTRS})
    first.start()
    assert in_progress.wait(timeout=30)
    second = threading.Thread(target=w.intent, args=(second_step,), kwargs={"token": "t-b", "attributes": ATTRS})
    second.start()
    second.join(timeout=30)
    first.join(timeout=30)
    assert second_arrived.is_set(), "the second step's append waited for the first one's"
    assert journal.entries[0].address == second_step.address  # it was written while the first was held
    assert {e.address for e in journal.pending} == {first_step.address, second_step.address}
