"""Guard rails on a plan: what it would destroy (deletes and replaces; a forget is no destroy),
refused when a resource has `preventDestroy` or there are more than `--max-deletes` (pure).

The same checks run on a fresh plan and, at `apply PLANFILE`, on a saved one against the current
state: `preventDestroy` may have been recorded since the plan was made.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.errors import PlanError
from reconciler.model import StateDoc
from reconciler.plan.diff import DESTROY_OPTION, REPLACE_OPTION
from reconciler.plan.model import Action, Change, Plan, PlanMode

_SHOWN = 20


def destroys(plan: Plan) -> tuple[Change, ...]:
    """The changes that delete or replace an object in a cloud."""
    return tuple(c for c in plan.changes if c.action in (Action.DELETE, Action.REPLACE))


def why_destroyed(change: Change, mode: PlanMode) -> str:
    """Why the plan destroys `change`'s object, in a few words."""
    if change.action is Action.REPLACE:
        if change.reason.startswith(REPLACE_OPTION):
            return REPLACE_OPTION
        if change.replace_fields:
            fields = ", ".join(change.replace_fields)
            return f"{fields} {'forces' if len(change.replace_fields) == 1 else 'force'} replacement"
        return f"replaced: {change.reason}" if change.reason else "replaced"
    if mode is PlanMode.DESTROY:
        return DESTROY_OPTION
    return change.reason or "removed from the manifests"


def protected(change: Change, state: StateDoc) -> bool:
    """Whether `change`'s resource has preventDestroy: as the manifests say for one they declare
    (carried in the change), else as the state records."""
    if change.metadata is not None:
        return change.metadata.prevent_destroy
    recorded = state.resources.get(change.address)
    return recorded is not None and recorded.prevent_destroy


def refuse_prevented(plan: Plan, state: StateDoc) -> None:
    """PlanError naming every resource with preventDestroy that the plan would destroy, and why."""
    refused = [
        f"{c.address} has preventDestroy: {why_destroyed(c, plan.mode)}" for c in destroys(plan) if protected(c, state)
    ]
    if refused:
        raise PlanError(
            f"the plan would destroy {_resources(len(refused))} with preventDestroy:\n{_listed(refused)}",
            hint="nothing was changed; to destroy it, set metadata.preventDestroy: false and apply that first",
        )


def refuse_too_many(plan: Plan, max_deletes: int | None) -> None:
    """PlanError listing the deletes and replaces when there are more than `max_deletes`."""
    found = destroys(plan)
    if max_deletes is None or len(found) <= max_deletes:
        return
    lines = [f"{c.action.value} {c.address}: {why_destroyed(c, plan.mode)}" for c in found]
    raise PlanError(
        f"the plan deletes or replaces {_resources(len(found))}, more than --max-deletes {max_deletes}:\n"
        f"{_listed(lines)}",
        hint="nothing was changed; check the paths given and the manifests, or raise --max-deletes "
        "(RECONCILER_MAX_DELETES) if this is intended",
    )


def _resources(count: int) -> str:
    return f"{count} resource" if count == 1 else f"{count} resources"


def _listed(lines: Sequence[str]) -> str:
    shown = "\n".join(f"  {line}" for line in lines[:_SHOWN])
    more = f"\n  ... and {len(lines) - _SHOWN} more" if len(lines) > _SHOWN else ""
    return shown + more
