"""Folding the write-ahead journal into the state document: a pure function, no I/O.

The apply engine appends an `intent` entry before each mutating API call and a `done` or
`failed` entry right after it. Folding replays the entries in order:

- `done` create / update / adopt: the resource is recorded as the entry describes it;
- `done` delete / forget: the resource is removed;
- `done` metadata: the resource's record of what the manifests say (file, deletion policy,
  preventDestroy, labels) is replaced; a create / update / adopt may carry the same;
- `failed`: nothing changes (the call did not happen, or was rejected);
- an `intent` with no outcome (yet): it stays in `StateDoc.pending`; the next run resolves it
  against live objects and appends the outcome.

Folding is idempotent: for every address the last settled entry decides, and for every entry
id the last entry decides whether it is pending. So fold(fold(d, E), E) == fold(d, E) and
fold(fold(d, E1), E2) == fold(d, E1 + E2); a crash between writing the folded state and
emptying the journal cannot apply anything twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from reconciler.model import JournalAction, JournalEntry, ResourceMetadata, StateDoc, StateResource
from reconciler.state.codec import RECORDING_ACTIONS, REMOVING_ACTIONS


def fold(doc: StateDoc, entries: Sequence[JournalEntry]) -> StateDoc:
    """`doc` with `entries` applied in order (lineage and serial unchanged)."""
    if not entries:
        return doc
    resources = dict(doc.resources)
    pending = {entry.id: entry for entry in doc.pending}
    for entry in entries:
        if entry.phase == "intent":
            pending[entry.id] = entry
            continue
        pending.pop(entry.id, None)
        if entry.phase != "done":
            continue
        if entry.action in REMOVING_ACTIONS:
            resources.pop(entry.address, None)
        elif entry.action in RECORDING_ACTIONS:
            resources[entry.address] = recorded_resource(entry, resources.get(entry.address))
        elif entry.action == JournalAction.METADATA and entry.metadata is not None and entry.address in resources:
            resources[entry.address] = with_metadata(resources[entry.address], entry.metadata)
    return replace(
        doc,
        resources={address: resources[address] for address in sorted(resources)},
        pending=tuple(sorted(pending.values(), key=lambda entry: (entry.time, entry.id))),
    )


def recorded_resource(entry: JournalEntry, before: StateResource | None = None) -> StateResource:
    """What a settled create / update / adopt entry says is now in the cloud. A create records
    when it was made; an update or adopt of the same object keeps that time."""
    if entry.cloud_id is None:
        raise ValueError(f"journal entry {entry.id} ({entry.phase} {entry.action}) has no cloud_id")
    created_at: str | None = None
    if entry.action == JournalAction.CREATE:
        created_at = entry.time
    else:
        created_at = before.created_at if before is not None and before.cloud_id == entry.cloud_id else None
    recorded = StateResource(
        address=entry.address,
        kind=entry.kind,
        cloud_id=entry.cloud_id,
        region=entry.region,
        attributes=dict(entry.attributes or {}),
        dependencies=tuple(dict.fromkeys(entry.dependencies)),  # once each, in order
        created_at=created_at,
    )
    # An entry without metadata (refresh-only, recovery of an older journal) keeps what was recorded.
    metadata = entry.metadata or (ResourceMetadata.of(before) if before is not None else None)
    return with_metadata(recorded, metadata) if metadata is not None else recorded


def with_metadata(recorded: StateResource, metadata: ResourceMetadata) -> StateResource:
    return replace(
        recorded,
        manifest_file=metadata.manifest_file,
        deletion_policy=metadata.deletion_policy,
        prevent_destroy=metadata.prevent_destroy,
        labels=dict(metadata.labels),
    )
