"""Deletion policy, preventDestroy, --max-deletes, subsets, --replace and --destroy in the planner."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reconciler.errors import PlanError
from reconciler.model import DeletionPolicy, ResourceMetadata, StateDoc
from reconciler.plan.guards import refuse_prevented, refuse_too_many
from reconciler.plan.model import Action, PlanMode
from reconciler.plan.planner import make_plan
from tests.builders import equinix, group, live_of, state_of

VBR2 = "vbr-t4nexample000000000002"


def by_address(plan: Any) -> dict[str, Any]:
    return {c.address: c for c in plan.changes}


def applied_group(**state_fields: Any) -> tuple[Any, StateDoc, list[Any]]:
    g = group()
    state = state_of((g, "bgpg-1", {}))
    recorded = replace(state.resources[g.address], **state_fields)
    return g, replace(state, resources={g.address: recorded}), [live_of(g, "bgpg-1")]


def test_removed_resource_with_recorded_orphan_policy_is_forgotten() -> None:
    g, state, live = applied_group(deletion_policy=DeletionPolicy.ORPHAN)
    change = by_address(make_plan([], state, live))[g.address]
    assert change.action is Action.FORGET
    assert "deletionPolicy: Orphan: the object stays in the cloud, only the state entry goes" in change.reason


def test_removed_resource_without_orphan_is_deleted() -> None:
    g, state, live = applied_group()
    assert by_address(make_plan([], state, live))[g.address].action is Action.DELETE


def test_prevent_destroy_recorded_in_state_refuses_a_removal() -> None:
    _g, state, live = applied_group(prevent_destroy=True)
    with pytest.raises(PlanError, match="AlibabaBgpGroup/sg-vbr1 has preventDestroy: removed from the manifests"):
        make_plan([], state, live)


def test_prevent_destroy_in_the_manifests_refuses_a_replacement_naming_the_field() -> None:
    _g, state, live = applied_group()
    moved = replace(group(vbr=VBR2), prevent_destroy=True)
    with pytest.raises(PlanError, match="has preventDestroy: virtualBorderRouterId forces replacement"):
        make_plan([moved], state, live)


def test_prevent_destroy_refuses_replace_and_destroy_but_not_a_forget() -> None:
    g, state, live = applied_group(prevent_destroy=True)
    protected = replace(g, prevent_destroy=True)
    with pytest.raises(PlanError, match="has preventDestroy: --replace"):
        make_plan([protected], state, live, replace=[g.address])
    with pytest.raises(PlanError, match="has preventDestroy: --destroy"):
        make_plan([protected], state, live, destroy=True)
    orphaned = replace(protected, deletion_policy=DeletionPolicy.ORPHAN)
    plan = make_plan([orphaned], state, live, destroy=True)  # a forget destroys nothing
    assert by_address(plan)[g.address].action is Action.FORGET


def test_manifests_without_prevent_destroy_override_the_state_record() -> None:
    g, state, live = applied_group(prevent_destroy=True)
    plan = make_plan([group(vbr=VBR2)], state, live)
    assert by_address(plan)[g.address].action is Action.REPLACE


def test_a_saved_plan_is_checked_against_preventdestroy_recorded_since() -> None:
    g, state, live = applied_group()
    plan = make_plan([], state, live)
    now = replace(state, resources={g.address: replace(state.resources[g.address], prevent_destroy=True)})
    with pytest.raises(PlanError, match="preventDestroy"):
        refuse_prevented(plan, now)


def test_max_deletes_counts_deletes_and_replaces_not_forgets() -> None:
    _g, state, live = applied_group()
    e = equinix()
    both = replace(state, resources={**state.resources, **state_of((e, "eq-1", {})).resources})
    plan = make_plan([], both, [*live, live_of(e, "eq-1")])
    assert {c.action for c in plan.changes} == {Action.DELETE, Action.FORGET}
    refuse_too_many(plan, 1)
    refuse_too_many(plan, None)
    with pytest.raises(PlanError, match=r"1 resource, more than --max-deletes 0:\n  delete AlibabaBgpGroup/sg-vbr1"):
        refuse_too_many(plan, 0)


def test_outside_paths_are_no_ops_unless_pruned() -> None:
    g, state, live = applied_group()
    held = make_plan([], state, live, outside_paths={g.address: "its manifest file x.yaml is not among them"})
    change = by_address(held)[g.address]
    assert change.action is Action.NOOP and change.outside_paths and not held.has_changes
    assert held.outside_paths == (change,)
    assert "not in the given paths" in change.reason and "--prune" in change.reason


def test_replace_forces_a_replacement_and_a_non_deletable_kind_says_so() -> None:
    g, state, live = applied_group()
    e = equinix()
    both = replace(state, resources={**state.resources, **state_of((e, "eq-1", {})).resources})
    plan = make_plan([g, e], both, [*live, live_of(e, "eq-1")], replace=[g.address, e.address])
    changes = by_address(plan)
    assert changes[g.address].action is Action.REPLACE and changes[g.address].reason == "--replace"
    assert changes[e.address].action is Action.REPLACE
    assert "forgotten, not deleted" in changes[e.address].reason


def test_replace_of_an_orphan_forgets_the_old_object() -> None:
    from reconciler.apply.steps import Op, build_steps

    g, state, live = applied_group()
    orphan = replace(g, deletion_policy=DeletionPolicy.ORPHAN)
    plan = make_plan([orphan], state, live, replace=[g.address])
    change = by_address(plan)[g.address]
    assert "the old object is left in the cloud" in change.reason
    assert [s.op for s in build_steps([change])] == [Op.FORGET, Op.CREATE]


def test_destroy_deletes_deletable_kinds_and_forgets_the_others() -> None:
    g, state, live = applied_group()
    e = equinix()
    both = replace(state, resources={**state.resources, **state_of((e, "eq-1", {})).resources})
    plan = make_plan([g, e], both, [*live, live_of(e, "eq-1")], destroy=True)
    assert plan.mode is PlanMode.DESTROY and plan.secret_digests == {}
    assert {c.address: c.action for c in plan.changes} == {g.address: Action.DELETE, e.address: Action.FORGET}
    assert by_address(plan)[g.address].reason == "--destroy"


def test_metadata_only_difference_is_no_change_but_recorded() -> None:
    g, state, live = applied_group()
    files = {g.address: "bgp/sg.yaml"}
    plan = make_plan([replace(g, prevent_destroy=True)], state, live, manifest_files=files)
    change = by_address(plan)[g.address]
    assert not plan.has_changes and plan.metadata_updates == (change,)
    assert change.metadata == ResourceMetadata("bgp/sg.yaml", DeletionPolicy.DELETE, True, dict(g.labels))
    recorded = replace(state.resources[g.address], manifest_file="bgp/sg.yaml", prevent_destroy=True)
    recorded = replace(recorded, labels=dict(g.labels))
    same = make_plan(
        [replace(g, prevent_destroy=True)], replace(state, resources={g.address: recorded}), live, manifest_files=files
    )
    assert same.metadata_updates == ()
