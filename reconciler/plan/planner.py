"""Assemble a Plan from desired resources, state and live objects (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from reconciler import __version__
from reconciler.model import LiveObject, Resource, StateDoc
from reconciler.plan.ambiguous import find_ambiguities, refuse_ambiguities
from reconciler.plan.diff import LiveIndex, diff, refresh_only_changes
from reconciler.plan.digest import make_digests
from reconciler.plan.model import Plan, PlanMode
from reconciler.plan.order import order_changes, select_targets


def make_plan(
    desired: Sequence[Resource],
    state: StateDoc,
    live_objects: Iterable[LiveObject],
    *,
    manifests_digest: str = "",
    targets: Sequence[str] = (),
    refresh_only: bool = False,
    refreshed_kinds: frozenset[str] | None = None,
    api_calls: Mapping[str, Mapping[str, int]] | None = None,
    warnings: Sequence[str] = (),
) -> Plan:
    live_objects = tuple(live_objects)
    refuse_ambiguities(find_ambiguities(desired, state, live_objects))
    live = LiveIndex.build(live_objects)
    if refresh_only:
        changes = refresh_only_changes(state, live, refreshed_kinds)
    else:
        changes = diff(desired, state, live, refreshed_kinds=refreshed_kinds)
    if targets:
        changes = list(select_targets(changes, targets))
    return Plan(
        changes=order_changes(changes),
        lineage=state.lineage,
        serial=state.serial,
        manifests_digest=manifests_digest,
        secret_digests=make_digests(desired) if not refresh_only else {},
        mode=PlanMode.REFRESH_ONLY if refresh_only else PlanMode.NORMAL,
        targets=tuple(targets),
        created_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        tool_version=__version__,
        api_calls=api_calls or {},
        warnings=tuple(warnings),
    )
