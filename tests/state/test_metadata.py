"""What the state records of the manifests (file, deletion policy, preventDestroy, labels): the
codec, and folding it from the journal."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from reconciler.errors import StateError
from reconciler.model import DeletionPolicy, JournalAction, JournalEntry, ResourceMetadata, StateDoc, StateResource
from reconciler.state.codec import check_entry, dump_state, entry_from_json, load_state
from reconciler.state.journal import fold

LINEAGE = "0b6f3c2e-8a41-4d57-9f1e-2c3b4a5d6e7f"
ADDRESS = "AlibabaBgpGroup/sg-vbr1"
METADATA = ResourceMetadata("bgp/sg.yaml", DeletionPolicy.ORPHAN, True, {"team": "neteng"})


def doc(**fields: object) -> StateDoc:
    resource = StateResource(ADDRESS, "AlibabaBgpGroup", "bgpg-1", "ap-southeast-1", {"peerAsn": 65010}, **fields)  # type: ignore[arg-type]
    return StateDoc(lineage=LINEAGE, serial=3, resources={ADDRESS: resource})


def entry(action: JournalAction, metadata: ResourceMetadata | None, n: int = 1) -> JournalEntry:
    return JournalEntry(
        id=f"e{n}",
        address=ADDRESS,
        kind="AlibabaBgpGroup",
        action=action,
        phase="done",
        time="2030-01-01T00:00:00.000Z",
        cloud_id="bgpg-1" if action.records else None,
        attributes={"peerAsn": 65020} if action.records else None,
        metadata=metadata,
    )


def test_metadata_round_trips_and_defaults_are_not_written() -> None:
    full = doc(
        manifest_file="bgp/sg.yaml", deletion_policy=DeletionPolicy.ORPHAN, prevent_destroy=True, labels={"a": "b"}
    )
    text = dump_state(full)
    assert load_state(text, "s") == full
    written = json.loads(dump_state(doc()))["resources"][ADDRESS]
    assert not {"manifest_file", "deletion_policy", "prevent_destroy", "labels"} & set(written)


def test_an_older_state_without_metadata_still_reads() -> None:
    data = json.loads(dump_state(doc()))
    recorded = load_state(json.dumps(data), "s").resources[ADDRESS]
    assert recorded.manifest_file is None and recorded.deletion_policy is DeletionPolicy.DELETE
    assert recorded.prevent_destroy is False


def test_a_wrong_deletion_policy_in_state_names_the_path() -> None:
    data = json.loads(dump_state(doc()))
    data["resources"][ADDRESS]["deletion_policy"] = "Retain"
    with pytest.raises(StateError, match=r"deletion_policy: 'Retain' is not one of Delete, Orphan"):
        load_state(json.dumps(data), "s")


def test_journal_entry_metadata_round_trips() -> None:
    e = entry(JournalAction.METADATA, METADATA)
    assert entry_from_json(check_entry(e)) == e


def test_metadata_entry_folds_idempotently_and_ignores_removed_addresses() -> None:
    entries = [entry(JournalAction.METADATA, METADATA)]
    once = fold(doc(), entries)
    assert fold(once, entries) == once
    assert once.resources[ADDRESS].deletion_policy is DeletionPolicy.ORPHAN
    assert once.resources[ADDRESS].manifest_file == "bgp/sg.yaml"
    assert fold(StateDoc(lineage=LINEAGE, serial=1), entries).resources == {}


def test_an_update_carries_metadata_and_one_without_keeps_the_record() -> None:
    recorded = fold(doc(), [entry(JournalAction.UPDATE, METADATA)]).resources[ADDRESS]
    assert recorded.prevent_destroy is True and recorded.attributes == {"peerAsn": 65020}
    kept = fold(replace(doc(), resources={ADDRESS: recorded}), [entry(JournalAction.UPDATE, None, 2)])
    assert kept.resources[ADDRESS].prevent_destroy is True and kept.resources[ADDRESS].labels == {"team": "neteng"}
