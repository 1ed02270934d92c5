"""What the test cloud's refresh lists (the routers the manifests or the state name), and what
counts as in scope for unmanaged-object reports (everything on those routers). The test cloud has
no regions: `regions` is `manifests`, and `account` adds the routers given as scope arguments
(`drift --unmanaged-scope account --scope memcloud=ROUTER`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reconciler.clouds.base import RefreshScope, UnmanagedLevel, UnmanagedScope
from reconciler.model import LiveObject, Resource, StateDoc
from tests.testcloud.kinds import KIND_INFO, ROUTER_BGP

KINDS = frozenset(KIND_INFO)


@dataclass(frozen=True, slots=True)
class MemScope(RefreshScope):
    """The routers whose BGP processes and neighbours are listed completely."""

    routers: frozenset[str] = frozenset()


def refresh_scope(
    desired: Sequence[Resource],
    state: StateDoc,
    level: UnmanagedLevel = UnmanagedLevel.MANIFESTS,
    args: Sequence[str] = (),
) -> MemScope:
    # A declared neighbour takes its router from its process (when planning), so the declared
    # processes name every router the manifests use; state records each object's router.
    routers = {str(r.attrs["routerId"]) for r in desired if r.kind in KINDS and r.attrs.get("routerId")}
    ids: set[str] = set()
    for recorded in state.resources.values():
        if recorded.kind in KINDS:
            ids.add(recorded.cloud_id)
            if recorded.attributes.get("routerId"):
                routers.add(str(recorded.attributes["routerId"]))
    for entry in state.pending:
        if entry.kind in KINDS and entry.attributes and entry.attributes.get("routerId"):
            routers.add(str(entry.attributes["routerId"]))
    if level is UnmanagedLevel.ACCOUNT:
        routers |= set(args)
    return MemScope(kinds=KINDS, ids=frozenset(ids), routers=frozenset(routers))


def unmanaged_scope(
    desired: Sequence[Resource],
    live: Iterable[LiveObject],
    level: UnmanagedLevel = UnmanagedLevel.MANIFESTS,
    args: Sequence[str] = (),
) -> UnmanagedScope:
    """Every process and neighbour on a router that a declared process names (or, at `ACCOUNT`,
    that `args` name)."""
    routers = {str(r.attrs["routerId"]) for r in desired if r.kind == ROUTER_BGP}
    if level is UnmanagedLevel.ACCOUNT:
        routers |= set(args)

    def where(obj: LiveObject) -> str | None:
        router = str(obj.attrs.get("routerId"))
        return f"router {router}" if obj.kind in KINDS and router in routers else None

    def generate_args(objects: Sequence[LiveObject]) -> tuple[str, ...]:
        return tuple(sorted({str(o.attrs.get("routerId")) for o in objects}))

    return UnmanagedScope(where, generate_args)
