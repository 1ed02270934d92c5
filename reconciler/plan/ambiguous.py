"""Objects reconciler cannot tell apart: two or more live objects with the natural key of a declared
or managed resource (pure).

A cloud normally keeps one object per natural key (one BGP config per connection, one peer per
address in a group). A second one appears when a create was sent twice while reads lagged, or when
someone made one by hand. Which of them the manifests mean cannot be guessed, and acting on either
may make things worse, so `plan` refuses and `drift` reports an error, naming every object
(docs/architecture.md, "Plan").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.clouds import KINDS
from reconciler.errors import PlanError
from reconciler.model import LiveObject, Resource, StateDoc


@dataclass(frozen=True, slots=True)
class Ambiguity:
    """The live objects that share the natural key of one declared or managed address."""

    address: str
    kind: str
    cloud_ids: tuple[str, ...]

    def describe(self) -> str:
        info = KINDS[self.kind]
        return (
            f"{self.address}: {len(self.cloud_ids)} objects in the cloud have its {info.key_words} "
            f"({', '.join(self.cloud_ids)}); the cloud should hold one, and reconciler cannot tell which "
            "one the manifests mean"
        )


def find_ambiguities(
    desired: Sequence[Resource], state: StateDoc, live_objects: Iterable[LiveObject]
) -> tuple[Ambiguity, ...]:
    """Every declared or managed address whose natural key more than one live object holds.
    Objects on their way out (deleting) do not count."""
    holders: dict[tuple[str, tuple[Any, ...]], list[LiveObject]] = {}
    for obj in live_objects:
        if obj.status != "deleting":
            holders.setdefault((obj.kind, KINDS[obj.kind].key_of(obj.attrs)), []).append(obj)
    shared = {key: objs for key, objs in holders.items() if len(objs) > 1}
    if not shared:
        return ()
    by_id = {obj.cloud_id: key for key, objs in shared.items() for obj in objs}
    found: dict[tuple[str, tuple[Any, ...]], str] = {}
    for recorded in state.resources.values():
        key = by_id.get(recorded.cloud_id)
        if key is not None:
            found.setdefault(key, recorded.address)
    for resource in desired:
        info = KINDS[resource.kind]
        natural = (resource.kind, info.key_of(info.normalise(resource.attrs)))
        if natural in shared:
            found.setdefault(natural, resource.address)
    return tuple(
        Ambiguity(address, key[0], tuple(sorted(o.cloud_id for o in shared[key])))
        for key, address in sorted(found.items(), key=lambda item: item[1])
    )


def refuse_ambiguities(ambiguities: Sequence[Ambiguity]) -> None:
    """Raise a `PlanError` naming every ambiguity, if there is one."""
    if not ambiguities:
        return
    lines = "\n".join(f"  {a.describe()}" for a in ambiguities)
    raise PlanError(
        f"cannot plan: {len(ambiguities)} resource(s) match more than one object in the cloud:\n{lines}",
        hint="keep one object per resource: remove the others in the cloud's console (or ask the provider's "
        "support where its API cannot delete them), then plan again",
    )
