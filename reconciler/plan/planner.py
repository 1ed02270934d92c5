"""Assemble a Plan from desired resources, state and live objects (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from reconciler import __version__
from reconciler.model import LiveObject, Resource, StateDoc
from reconciler.plan.ambiguous import find_ambiguities, refuse_ambiguities
from reconciler.plan.diff import LiveIndex, destroy_changes, diff, refresh_only_changes
from reconciler.plan.digest import make_digests
from reconciler.plan.guards import refuse_prevented
from reconciler.plan.model import Plan, PlanMode
from reconciler.plan.order import order_changes
from reconciler.plan.staleness import footprint
from reconciler.plan.targets import select_targets


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
    manifest_files: Mapping[str, str] | None = None,
    outside_paths: Mapping[str, str] | None = None,
    replace: Sequence[str] = (),
    destroy: bool = False,
) -> Plan:
    """The plan. `manifest_files` (address -> file, as the state records it) and `outside_paths`
    (state addresses left alone, with why) come from the workflow, which knows the paths given;
    `replace` lists addresses to replace anyway; `destroy` plans the removal of everything in
    state. Raises PlanError when the plan would destroy a resource with preventDestroy."""
    live_objects = tuple(live_objects)
    refuse_ambiguities(find_ambiguities(desired, state, live_objects))
    live = LiveIndex.build(live_objects)
    mode = PlanMode.REFRESH_ONLY if refresh_only else PlanMode.DESTROY if destroy else PlanMode.NORMAL
    if refresh_only:
        changes = refresh_only_changes(state, live, refreshed_kinds)
    elif destroy:
        changes = destroy_changes(desired, state, live, refreshed_kinds=refreshed_kinds, manifest_files=manifest_files)
    else:
        changes = diff(
            desired,
            state,
            live,
            refreshed_kinds=refreshed_kinds,
            manifest_files=manifest_files,
            outside_paths=outside_paths,
            replace_addresses=frozenset(replace),
        )
    if targets:
        labels = {a: r.labels for a, r in state.resources.items()} | {r.address: r.labels for r in desired}
        selection = select_targets(changes, targets, labels)
        changes, warnings = list(selection.changes), (*warnings, *selection.warnings)
    seen = footprint(changes, desired, state)
    plan = Plan(
        changes=order_changes(changes),
        lineage=state.lineage,
        serial=state.serial,
        manifests_digest=manifests_digest,
        # Keys of the footprint only: a key used elsewhere may change without making the plan stale.
        secret_digests=make_digests(r for r in desired if r.address in seen) if mode is PlanMode.NORMAL else {},
        mode=mode,
        targets=tuple(targets),
        created_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        tool_version=__version__,
        api_calls=api_calls or {},
        warnings=tuple(warnings),
        footprint=seen,
    )
    refuse_prevented(plan, state)
    return plan
