"""Resolving references: what a desired resource takes from the resources it references.

A resource may name another declared resource (`bgpGroup: sg-vbr1`, see `KindInfo.ref_fields`).
Once that one exists, its cloud id fills an attribute of the referencing resource and some of its
attributes are inherited (`KindInfo.inherited`); until it exists, the id is "known after apply".
The diff resolves against what the plan will do; drift and `import` resolve against the state
alone (docs/architecture.md, "Plan").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.clouds import KINDS
from reconciler.model import Resource, StateDoc


@dataclass(frozen=True, slots=True)
class Resolved:
    """A desired resource with its references resolved as far as the plan can know them."""

    resource: Resource
    attrs: Mapping[str, Any]  # normalised, with referenced ids and inherited attributes filled in
    unknown: frozenset[str]  # fields known only after a dependency is applied
    depends_on: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReferencedObject:
    """What a reference to a resource resolves to: the object's cloud id and its attributes."""

    cloud_id: str | None  # None: known only after apply
    attrs: Mapping[str, Any]


def dependency_order(resources: Sequence[Resource]) -> list[Resource]:
    """Referenced resources first (a group before its peers), otherwise in address order."""
    by_address = {r.address: r for r in resources}
    depth: dict[str, int] = {}

    def depth_of(address: str, seen: frozenset[str] = frozenset()) -> int:
        if address in depth:
            return depth[address]
        resource = by_address.get(address)
        if resource is None or address in seen:
            return 0
        d = 1 + max((depth_of(a, seen | {address}) for a in resource.refs.values()), default=-1)
        depth[address] = d
        return d

    return sorted(resources, key=lambda r: (depth_of(r.address), r.address))


def resolve(resource: Resource, referenced: Mapping[str, ReferencedObject]) -> Resolved:
    """Fill in what a resource takes from the resources it references (the peer's group id...).

    `referenced` maps an address to what it resolves to; an address it lacks stays unresolved."""
    info = KINDS[resource.kind]
    attrs = dict(resource.attrs)
    unknown: set[str] = set()
    depends_on: list[str] = []
    for ref_field, target in resource.refs.items():
        depends_on.append(target)
        ref_spec = info.ref_fields.get(ref_field)
        found = referenced.get(target)
        if ref_spec is None or found is None:
            continue
        id_attr = ref_spec.id_attr
        if found.cloud_id is None:
            unknown.add(id_attr)
        else:
            attrs[id_attr] = found.cloud_id
        for mine, theirs in info.inherited.items():
            if theirs in found.attrs:
                attrs[mine] = found.attrs[theirs]
    # Manifest attributes are normalised when loaded, and what a reference adds (an id, the
    # referenced resource's normalised attributes) is too: only a resource with refs needs a new mapping.
    resolved_attrs = attrs if resource.refs else resource.attrs
    return Resolved(resource, resolved_attrs, frozenset(unknown), tuple(sorted(set(depends_on))))


def resolve_against_state(desired: Sequence[Resource], state: StateDoc) -> dict[str, Resolved]:
    """Resolve every desired resource as if nothing were applied: ids come from state only."""
    referenced: dict[str, ReferencedObject] = {}
    out: dict[str, Resolved] = {}
    for resource in dependency_order(desired):
        recorded = state.resources.get(resource.address)
        out[resource.address] = resolved = resolve(resource, referenced)
        referenced[resource.address] = ReferencedObject(recorded.cloud_id if recorded else None, resolved.attrs)
    return out
