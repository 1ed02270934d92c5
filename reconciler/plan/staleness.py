"""Precise staleness of a saved plan (docs/architecture.md, "Plan").

A plan records, for every address in its footprint, what it saw there: a digest of the state
entry and one of the desired resource. The footprint is every address the plan acts on (any
change but a no-op with nothing to wait for or record), what those depend on, transitively, and
what depended in state on an address it removes. `apply PLANFILE` compares that record with the
manifests and the state as they are now, so a plan stays good after applies that touched none of
its addresses. Pure functions: the callers read the manifests and the state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from reconciler.model import Resource, StateDoc, StateResource
from reconciler.plan.digest import content_digest
from reconciler.plan.model import Action, Change, Seen

STATE_MOVED = "the state entry changed (applied by another run since)"
DESIRED_MOVED = "the manifests changed for it"
KEY_MOVED = "its key changed"

# Changes after which what depended on the address in state would be left dangling.
_REMOVING = frozenset({Action.DELETE, Action.FORGET, Action.REPLACE})


@dataclass(frozen=True, slots=True)
class Moved:
    """An address of a plan's footprint that is no longer as the plan saw it, and why."""

    address: str
    why: str

    def __str__(self) -> str:
        return f"{self.address} ({self.why})"


def state_digest(entry: StateResource | None) -> str | None:
    """What a plan relies on in a state entry: its identity, last-applied attributes and
    dependencies (not the record of what the manifests said: the desired digest covers that)."""
    if entry is None:
        return None
    return content_digest(
        {
            "cloud_id": entry.cloud_id,
            "region": entry.region,
            "attributes": dict(entry.attributes),
            "dependencies": list(entry.dependencies),
        }
    )


def desired_digest(resource: Resource | None) -> str | None:
    """What a plan relies on in a declared resource. Keys appear as their reference ids only:
    their values are covered by the plan's salted digests."""
    if resource is None:
        return None
    return content_digest(
        {
            "kind": resource.kind,
            "attrs": dict(resource.attrs),
            "refs": dict(resource.refs),
            "secret_refs": {field: ref.id for field, ref in resource.secret_refs.items()},
            "labels": dict(resource.labels),
            "deletion_policy": resource.deletion_policy.value,
            "prevent_destroy": resource.prevent_destroy,
        }
    )


def footprint_addresses(changes: Sequence[Change], state: StateDoc) -> frozenset[str]:
    """Addresses the plan acts on, what they depend on (in the plan or in state), transitively,
    and what depends in state on an address it removes."""
    depends_on: dict[str, set[str]] = {a: set(r.dependencies) for a, r in state.resources.items()}
    for change in changes:
        depends_on.setdefault(change.address, set()).update(change.depends_on)
    acted_on = [c.address for c in changes if c.applies or c.records_metadata]
    removed = {c.address for c in changes if c.action in _REMOVING}
    acted_on.extend(a for a, r in state.resources.items() if removed.intersection(r.dependencies))
    footprint: set[str] = set()
    stack = list(acted_on)
    while stack:
        address = stack.pop()
        if address not in footprint:
            footprint.add(address)
            stack.extend(depends_on.get(address, ()))
    return frozenset(footprint)


def footprint(changes: Sequence[Change], desired: Iterable[Resource], state: StateDoc) -> dict[str, Seen]:
    """What the plan saw of each address of its footprint, sorted by address."""
    declared = {r.address: r for r in desired}
    return {
        address: Seen(state=state_digest(state.resources.get(address)), desired=desired_digest(declared.get(address)))
        for address in sorted(footprint_addresses(changes, state))
    }


def moved_in_manifests(seen: Mapping[str, Seen], resources: Iterable[Resource]) -> list[Moved]:
    """Footprint addresses whose declared resource is not the one the plan saw (changed, added
    or removed since)."""
    declared = {r.address: r for r in resources}
    return [
        Moved(address, DESIRED_MOVED)
        for address, saw in sorted(seen.items())
        if desired_digest(declared.get(address)) != saw.desired
    ]


def moved_in_state(seen: Mapping[str, Seen], changes: Sequence[Change], state: StateDoc) -> list[Moved]:
    """Footprint addresses whose state entry is not the one the plan saw, and addresses the plan
    removes on which a resource outside its footprint now depends (recorded by another run)."""
    moved = [
        Moved(address, STATE_MOVED)
        for address, saw in sorted(seen.items())
        if state_digest(state.resources.get(address)) != saw.state
    ]
    removed = {c.address for c in changes if c.action in _REMOVING}
    for address, entry in sorted(state.resources.items()):
        if address in seen:
            continue
        for dependency in sorted(removed.intersection(entry.dependencies)):
            moved.append(Moved(dependency, f"{address} now depends on it (applied by another run since)"))
    return moved


def footprint_refs(seen: Mapping[str, Seen], changes: Sequence[Change]) -> dict[str, tuple[str, ...]]:
    """The secret reference ids the footprint's changes use, each with the addresses using it."""
    users: dict[str, list[str]] = {}
    for change in changes:
        if change.address in seen:
            for ref_id in change.secret_refs.values():
                users.setdefault(ref_id, []).append(change.address)
    return {ref_id: tuple(sorted(set(addresses))) for ref_id, addresses in sorted(users.items())}


def moved_keys(stale_refs: Iterable[str], refs: Mapping[str, Sequence[str]]) -> list[Moved]:
    """The footprint addresses using a key whose value no longer matches the plan's digest."""
    return [
        Moved(address, f"{KEY_MOVED}: {ref_id}") for ref_id in sorted(stale_refs) for address in refs.get(ref_id, ())
    ]
