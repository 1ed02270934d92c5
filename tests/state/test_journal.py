"""Folding the journal into the state: semantics, and the idempotence that makes crashes safe."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.model import JournalEntry, StateDoc, StateResource
from reconciler.state.journal import fold
from tests.state.strategies import journal_entries, state_docs

PEER = "AlibabaBgpPeer/sg-vbr1-peer1"


def entry(op_id: str, action: str, phase: str, **fields: Any) -> JournalEntry:
    fields.setdefault("address", PEER)
    fields.setdefault("kind", fields["address"].split("/")[0])
    if phase == "done" and action in ("create", "update", "adopt"):
        fields.setdefault("cloud_id", "bgp-1")
        fields.setdefault("attributes", {"peerIpAddress": "10.0.0.1"})
    return JournalEntry(id=op_id, action=action, phase=phase, time=f"2024-05-01T10:00:0{op_id[-1]}Z", **fields)


def recorded(cloud_id: str = "bgp-1", **attributes: Any) -> StateResource:
    return StateResource(PEER, "AlibabaBgpPeer", cloud_id, None, attributes or {"peerIpAddress": "10.0.0.1"})


def test_a_done_create_records_the_resource_from_the_done_entry() -> None:
    folded = fold(
        StateDoc(),
        [
            entry("op1", "create", "intent", attributes={"peerIpAddress": "10.9.9.9"}),
            entry(
                "op1",
                "create",
                "done",
                cloud_id="bgp-77",
                region="ap-southeast-1",
                dependencies=("AlibabaBgpGroup/sg-vbr1", "AlibabaBgpGroup/sg-vbr1"),
            ),
        ],
    )
    assert folded.resources == {
        PEER: StateResource(
            PEER,
            "AlibabaBgpPeer",
            "bgp-77",
            "ap-southeast-1",
            {"peerIpAddress": "10.0.0.1"},
            ("AlibabaBgpGroup/sg-vbr1",),
            created_at="2024-05-01T10:00:01Z",  # when the create was done: reads may lag it
        )
    }
    assert folded.pending == ()


@pytest.mark.parametrize("action", ["update", "adopt"])
def test_a_done_update_or_adopt_replaces_the_recorded_attributes(action: str) -> None:
    start = StateDoc(resources={PEER: recorded(peerIpAddress="10.0.0.1", enableBfd=False)})
    folded = fold(start, [entry("op1", action, "intent"), entry("op1", action, "done", attributes={"enableBfd": True})])
    assert folded.resources[PEER].attributes == {"enableBfd": True}


def test_an_update_keeps_the_time_the_object_was_created_and_another_object_has_none() -> None:
    created = fold(StateDoc(), [entry("op1", "create", "done", cloud_id="bgp-1")])
    updated = fold(created, [entry("op2", "update", "done", cloud_id="bgp-1")])
    assert updated.resources[PEER].created_at == "2024-05-01T10:00:01Z"
    adopted_another = fold(created, [entry("op3", "adopt", "done", cloud_id="bgp-2")])
    assert adopted_another.resources[PEER].created_at is None


@pytest.mark.parametrize("action", ["delete", "forget"])
def test_a_done_delete_or_forget_removes_the_resource(action: str) -> None:
    other = StateResource("AlibabaBgpGroup/g", "AlibabaBgpGroup", "bgpg-1", None, {})
    start = StateDoc(resources={PEER: recorded(), other.address: other})
    folded = fold(start, [entry("op1", action, "intent"), entry("op1", action, "done")])
    assert list(folded.resources) == ["AlibabaBgpGroup/g"]


def test_a_failed_call_changes_nothing_and_settles_the_intent() -> None:
    start = StateDoc(resources={PEER: recorded()})
    folded = fold(start, [entry("op1", "delete", "intent"), entry("op1", "delete", "failed", error="Throttling")])
    assert folded.resources == start.resources
    assert folded.pending == ()


def test_an_intent_without_outcome_stays_pending_until_its_outcome_arrives() -> None:
    intent = entry("op1", "create", "intent", token="tok-1")
    first = fold(StateDoc(), [intent])
    assert first.pending == (intent,)
    assert first.resources == {}
    resolved = fold(first, [entry("op1", "create", "done", cloud_id="bgp-5")])
    assert resolved.pending == ()
    assert resolved.resources[PEER].cloud_id == "bgp-5"


def test_entries_apply_in_order() -> None:
    created_then_deleted = [entry("op1", "create", "done"), entry("op2", "delete", "done")]
    deleted_then_created = [entry("op2", "delete", "done"), entry("op1", "create", "done")]
    assert fold(StateDoc(), created_then_deleted).resources == {}
    assert list(fold(StateDoc(), deleted_then_created).resources) == [PEER]


def test_pending_is_sorted_by_time_then_id() -> None:
    later = entry("op9", "create", "intent", address="AlibabaBgpPeer/b")
    earlier = entry("op1", "create", "intent", address="AlibabaBgpPeer/a")
    assert [e.id for e in fold(StateDoc(), [later, earlier]).pending] == ["op1", "op9"]


def test_fold_leaves_its_input_alone() -> None:
    start = StateDoc(resources={PEER: recorded()})
    fold(start, [entry("op1", "delete", "done")])
    assert list(start.resources) == [PEER]


def test_a_malformed_done_entry_is_an_error_not_a_guess() -> None:
    bad = JournalEntry(id="x", address=PEER, kind="AlibabaBgpPeer", action="create", phase="done", time="t")
    with pytest.raises(ValueError, match="has no cloud_id"):
        fold(StateDoc(), [bad])


# Few ids and addresses, so that generated journals reuse them and interact.
few_ids = st.sampled_from(["op1", "op2", "op3", "op4"])
journals = st.lists(journal_entries(entry_ids=few_ids), max_size=12)


@settings(max_examples=120, deadline=None)
@given(state_docs(), journals, st.integers(min_value=0, max_value=12))
def test_folding_in_one_go_equals_folding_in_two_halves(start: StateDoc, entries: list[JournalEntry], cut: int) -> None:
    assert fold(fold(start, entries[:cut]), entries[cut:]) == fold(start, entries)


@settings(max_examples=120, deadline=None)
@given(state_docs(), journals)
def test_folding_twice_equals_folding_once(start: StateDoc, entries: list[JournalEntry]) -> None:
    once = fold(start, entries)
    assert fold(once, entries) == once
