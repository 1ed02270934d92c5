"""The three-way diff and its ordering, over plain data."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.errors import UsageError
from reconciler.model import NO_ENTRIES, StateDoc, StateResource
from reconciler.plan.codec import change_from_dict, change_to_dict
from reconciler.plan.model import Action, SecretChange
from reconciler.plan.planner import make_plan
from reconciler.render import render_change_text
from tests.builders import CONN, CONN_OTHER, equinix, group, live_of, peer, state_of


def by_address(plan: Any) -> dict[str, Any]:
    return {c.address: c for c in plan.changes}


def test_empty_state_plans_creates_with_group_before_peer_and_unknown_group_id() -> None:
    plan = make_plan([peer(), group(), equinix()], StateDoc(), [])
    assert [c.action for c in plan.changes] == [Action.CREATE] * 3
    order = [c.address for c in plan.changes]
    assert order.index("AlibabaBgpGroup/sg-vbr1") < order.index("AlibabaBgpPeer/sg-vbr1-p1")
    p = by_address(plan)["AlibabaBgpPeer/sg-vbr1-p1"]
    assert p.after_unknown == ("bgpGroupId",)
    assert p.after["regionId"] == "ap-southeast-1"  # inherited from the group
    assert p.depends_on == ("AlibabaBgpGroup/sg-vbr1",)
    assert plan.summary()["create"] == 3


def test_no_change_when_live_matches_even_with_different_spellings() -> None:
    e, g = equinix(key="abcdef1"), group()
    p = peer(ip="2001:DB8::0001", enableBfd=False, bfdMultiHop=None)
    state = state_of((e, "eq-1", {}), (g, "bgpg-1", {}), (p, "bgp-1", {"bgpGroupId": "bgpg-1"}))
    live = [
        # CIDR and ASN spelled differently, BFD hop count reported while BFD is off
        live_of(e, "eq-1", key="abcdef1", localIpAddress=" 10.0.0.1/30", localAsn="65010"),
        live_of(g, "bgpg-1", peerAsn="65010", isFakeAsn="false", routeQuota="110"),
        live_of(
            p, "bgp-1", bgpGroupId="bgpg-1", regionId="ap-southeast-1", bfdMultiHop=255, peerIpAddress="2001:db8::1"
        ),
    ]
    plan = make_plan([e, g, p], state, live)
    assert not plan.has_changes, [(c.address, c.fields) for c in plan.actionable]


def test_update_names_fields_and_flags_outside_change() -> None:
    g = group()
    state = state_of((g, "bgpg-1", {}))
    plan = make_plan([g], state, [live_of(g, "bgpg-1", peerAsn=65099)])
    (change,) = plan.changes
    assert change.action is Action.UPDATE
    assert [(f.name, f.before, f.after) for f in change.fields] == [("peerAsn", 65099, 65010)]
    assert change.outside_change
    assert "outside reconciler" in change.reason


def test_secret_compared_against_live_and_never_carries_values() -> None:
    e = equinix(key="newKey99")
    state = state_of((e, "eq-1", {}))
    plan = make_plan([e], state, [live_of(e, "eq-1", key="oldKey11")])
    (change,) = plan.changes
    assert change.action is Action.UPDATE
    (f,) = change.fields
    assert f.sensitive and f.secret_change is SecretChange.CHANGED
    assert f.before is None and f.after is None
    assert "newKey99" not in repr(plan) and "oldKey11" not in repr(plan)
    assert change.secret_refs == {"authenticationKey": "env:SG_KEY"}


def test_removing_a_key_is_a_change() -> None:
    e = equinix()
    plan = make_plan([e], state_of((e, "eq-1", {})), [live_of(e, "eq-1", key="oldKey11")])
    assert plan.changes[0].fields[0].secret_change is SecretChange.REMOVED


def test_connection_change_is_replace_that_forgets_the_old_equinix_config() -> None:
    old = equinix()
    new = equinix(conn=CONN_OTHER)
    plan = make_plan([new], state_of((old, "eq-1", {})), [live_of(old, "eq-1")])
    (change,) = plan.changes
    assert change.action is Action.REPLACE
    assert change.replace_fields == ("connectionUuid",)
    assert "connectionUuid cannot be changed in place" in change.reason
    assert "forgotten, not deleted" in change.reason


def test_equinix_removed_from_manifests_is_forget_with_explanation() -> None:
    e = equinix()
    plan = make_plan([], state_of((e, "eq-1", {})), [live_of(e, "eq-1")])
    (change,) = plan.changes
    assert change.action is Action.FORGET
    assert "no delete" in change.reason and "stays on the connection" in change.reason


def test_alibaba_removed_is_delete_peers_before_groups() -> None:
    g, p = group(), peer()
    state = state_of((g, "bgpg-1", {}), (p, "bgp-1", {"bgpGroupId": "bgpg-1"}))
    state = StateDoc(
        lineage="lin",
        serial=3,
        resources={
            **state.resources,
            p.address: StateResource(p.address, p.kind, "bgp-1", "ap-southeast-1", dict(p.attrs), (g.address,)),
        },
    )
    live = [live_of(g, "bgpg-1"), live_of(p, "bgp-1", bgpGroupId="bgpg-1", regionId="ap-southeast-1")]
    plan = make_plan([], state, live)
    assert [(c.address, c.action) for c in plan.changes] == [
        (p.address, Action.DELETE),
        (g.address, Action.DELETE),
    ]


def test_gone_from_cloud_is_create_marked_deleted_outside() -> None:
    g = group()
    plan = make_plan([g], state_of((g, "bgpg-1", {})), [])
    (change,) = plan.changes
    assert change.action is Action.CREATE
    assert change.outside_change and "deleted outside reconciler" in change.reason


def test_live_object_with_natural_key_but_no_state_is_adopted() -> None:
    g = group()
    plan = make_plan([g], StateDoc(), [live_of(g, "bgpg-9", description="hand made")])
    (change,) = plan.changes
    assert change.action is Action.ADOPT
    assert change.cloud_id == "bgpg-9"
    assert [f.name for f in change.fields] == ["description"]


def test_peer_adopted_when_group_known_resolves_group_id() -> None:
    g, p = group(), peer()
    live = [live_of(g, "bgpg-1"), live_of(p, "bgp-7", bgpGroupId="bgpg-1", regionId="ap-southeast-1")]
    plan = make_plan([g, p], state_of((g, "bgpg-1", {})), live)
    change = by_address(plan)[p.address]
    assert change.action is Action.ADOPT and change.cloud_id == "bgp-7"
    assert change.after["bgpGroupId"] == "bgpg-1"


def test_rename_takes_over_instead_of_delete_and_create() -> None:
    old, new = peer(name="old-name"), peer(name="new-name")
    g = group()
    state = state_of((g, "bgpg-1", {}), (old, "bgp-1", {"bgpGroupId": "bgpg-1"}))
    live = [live_of(g, "bgpg-1"), live_of(old, "bgp-1", bgpGroupId="bgpg-1", regionId="ap-southeast-1")]
    plan = make_plan([g, new], state, live)
    assert {c.address: c.action for c in plan.actionable} == {new.address: Action.ADOPT}
    assert by_address(plan)[new.address].previous_address == old.address


def test_group_replaced_forces_peer_replacement_with_unknown_group_id() -> None:
    g_old, g_new, p = group(vbr="vbr-1"), group(vbr="vbr-2"), peer()
    state = state_of((g_old, "bgpg-1", {}), (p, "bgp-1", {"bgpGroupId": "bgpg-1"}))
    live = [live_of(g_old, "bgpg-1"), live_of(p, "bgp-1", bgpGroupId="bgpg-1", regionId="ap-southeast-1")]
    plan = make_plan([g_new, p], state, live)
    changes = by_address(plan)
    assert changes[g_new.address].action is Action.REPLACE
    assert changes[g_new.address].replace_fields == ("virtualBorderRouterId",)
    assert changes[p.address].action is Action.REPLACE
    assert changes[p.address].replace_fields == ("bgpGroupId",)


def test_refresh_only_reports_live_vs_state() -> None:
    g, g2 = group(), group(name="other", vbr="vbr-2")
    state = state_of((g, "bgpg-1", {}), (g2, "bgpg-2", {}))
    plan = make_plan([g, g2], state, [live_of(g, "bgpg-1", peerAsn=65077)], refresh_only=True)
    changes = by_address(plan)
    assert changes[g.address].action is Action.UPDATE
    assert changes[g.address].fields[0].after == 65077
    assert changes[g2.address].action is Action.FORGET
    assert plan.mode == "refresh-only"


def test_target_limits_to_address_and_dependencies() -> None:
    plan = make_plan([group(), peer(), equinix()], StateDoc(), [], targets=["AlibabaBgpPeer/sg-vbr1-p1"])
    assert [c.address for c in plan.changes] == ["AlibabaBgpGroup/sg-vbr1", "AlibabaBgpPeer/sg-vbr1-p1"]
    with pytest.raises(UsageError, match="matches no resource"):
        make_plan([group()], StateDoc(), [], targets=["AlibabaBgpPeer/nope"])


def test_unrefreshed_kinds_are_not_declared_gone() -> None:
    g = group()
    plan = make_plan([g], state_of((g, "bgpg-1", {})), [], refreshed_kinds=frozenset({EQUINIX_PEERING}))
    assert plan.changes[0].action is Action.NOOP


def test_order_is_stable_across_input_orders() -> None:
    resources = [group(name=f"g{i}", vbr=f"vbr-{i}") for i in range(5)] + [
        peer(name=f"p{i}", grp=f"g{i % 5}", ip=f"10.0.{i}.1") for i in range(10)
    ]
    first = [c.address for c in make_plan(resources, StateDoc(), []).changes]
    second = [c.address for c in make_plan(list(reversed(resources)), StateDoc(), []).changes]
    assert first == second


def test_secret_digests_are_salted_and_hold_no_value() -> None:
    plan = make_plan([equinix(key="topSecret1")], StateDoc(), [])
    (digest,) = plan.secret_digests.values()
    assert "topSecret1" not in digest.digest and len(digest.salt) == 32
    again = make_plan([equinix(key="topSecret1")], StateDoc(), [])
    assert next(iter(again.secret_digests.values())).digest != digest.digest  # fresh salt each plan


def test_an_old_address_holding_a_declared_object_is_forgotten_not_deleted() -> None:
    # After a rename interrupted at the wrong moment both addresses may record one object.
    old, new, g = peer(name="old-name"), peer(name="new-name"), group()
    on_group = {"bgpGroupId": "bgpg-1"}
    state = state_of((g, "bgpg-1", {}), (old, "bgp-1", on_group), (new, "bgp-1", on_group))
    live = [live_of(g, "bgpg-1"), live_of(old, "bgp-1", bgpGroupId="bgpg-1", regionId="ap-southeast-1")]
    plan = make_plan([g, new], state, live)
    change = by_address(plan)[old.address]
    assert change.action is Action.FORGET
    assert "managed as AlibabaBgpPeer/new-name" in change.reason


def test_two_peers_swapping_addresses_untangle_with_one_replace() -> None:
    from reconciler.apply.steps import build_steps

    g = group()
    p0, p1 = peer(name="p0", ip="10.0.0.2"), peer(name="p1", ip="10.0.0.3")
    on_group = {"bgpGroupId": "bgpg-1"}
    state = state_of((g, "bgpg-1", {}), (p0, "bgp-0", on_group), (p1, "bgp-1", on_group))
    live = [
        live_of(g, "bgpg-1"),
        live_of(p0, "bgp-0", bgpGroupId="bgpg-1", regionId="ap-southeast-1"),
        live_of(p1, "bgp-1", bgpGroupId="bgpg-1", regionId="ap-southeast-1"),
    ]
    swapped = [g, peer(name="p0", ip="10.0.0.3"), peer(name="p1", ip="10.0.0.2")]
    changes = by_address(make_plan(swapped, state, live))
    assert changes["AlibabaBgpPeer/p0"].action is Action.REPLACE
    assert changes["AlibabaBgpPeer/p0"].replace_fields == ("peerIpAddress",)
    assert changes["AlibabaBgpPeer/p1"].action is Action.UPDATE
    steps = {s.key: s.after for s in build_steps(list(changes.values()))}
    # p0 is deleted first, p1 then moves onto its address, and p0 is created on p1's old one.
    assert "AlibabaBgpPeer/p0:delete" in steps["AlibabaBgpPeer/p1:update"]
    assert "AlibabaBgpPeer/p1:update" in steps["AlibabaBgpPeer/p0:create"]


def test_group_rename_is_in_place_only_when_unambiguous() -> None:
    old = group(name="old-name")
    state = state_of((old, "bgpg-1", {}))
    live = [live_of(old, "bgpg-1")]
    (change,) = [c for c in make_plan([group(name="new-name")], state, live).changes if c.action is not Action.NOOP]
    assert change.action is Action.ADOPT and change.cloud_id == "bgpg-1"
    assert change.previous_address == "AlibabaBgpGroup/old-name"
    assert [(f.name, f.before, f.after) for f in change.fields] == [("name", "old-name", "new-name")]
    # Two new groups on the same VBR: which one is the rename? Not guessed: create both, delete the old.
    plan = make_plan([group(name="new-a"), group(name="new-b")], state, live)
    assert sorted(c.action.value for c in plan.changes) == ["create", "create", "delete"]


def test_a_rename_that_would_need_a_replace_is_a_delete_and_a_create() -> None:
    old = group(name="old-name", ipVersion="IPv6")
    state = state_of((old, "bgpg-1", {}))
    plan = make_plan([group(name="new-name")], state, [live_of(old, "bgpg-1")])
    assert {c.address: c.action for c in plan.changes} == {
        "AlibabaBgpGroup/old-name": Action.DELETE,
        "AlibabaBgpGroup/new-name": Action.CREATE,
    }


@pytest.mark.parametrize("in_state", [True, False], ids=["managed", "adopted"])
def test_a_failed_object_is_applied_again_without_the_fields_that_only_change_by_replacement(in_state: bool) -> None:
    """A config whose provisioning FAILED is applied again with the fields an update may send:
    a cloud refuses an update that names a replace-only field (Equinix: connectionUuid)."""
    e = equinix(key="abcdef1")
    state = state_of((e, "eq-1", {})) if in_state else StateDoc()
    live = [live_of(e, "eq-1", key="abcdef1", status="failed", raw_status="FAILED")]
    (change,) = make_plan([e], state, live).changes
    assert change.action is (Action.UPDATE if in_state else Action.ADOPT)
    assert "FAILED: it will be applied again" in change.reason
    sent = {f.name for f in change.fields}
    assert "connectionUuid" not in sent
    assert {"localIpAddress", "localAsn", "remoteIpAddress", "remoteAsn"} <= sent


@pytest.mark.parametrize("in_state", [True, False], ids=["managed", "adopted"])
def test_a_failed_object_applied_again_shows_no_field_as_a_change_from_x_to_x(in_state: bool) -> None:
    e = equinix(key="abcdef1")
    state = state_of((e, "eq-1", {})) if in_state else StateDoc()
    live = [live_of(e, "eq-1", key="abcdef1", status="failed", raw_status="FAILED")]
    (change,) = make_plan([e], state, live).changes
    assert change.reapply
    assert change_from_dict(change_to_dict(change)).reapply  # a saved plan keeps it
    shown = "\n".join(render_change_text(change))
    assert "FAILED: it will be applied again" in shown
    assert " -> " not in shown, shown  # every field is sent again, none differs


def test_a_change_the_cloud_may_have_rolled_back_is_not_blamed_on_someone_else() -> None:
    """Live differs from what reconciler last applied. When the manifests still want exactly that,
    the cloud may have rolled reconciler's own change back: the plan says both. When the manifests
    want something else now, someone changed it outside reconciler."""
    g = group()
    state = state_of((g, "bgpg-1", {}))
    (same,) = make_plan([g], state, [live_of(g, "bgpg-1", peerAsn=65099)]).changes
    assert same.reason == (
        "the cloud does not show what reconciler last applied (rolled back, or changed outside reconciler)"
    )
    moved = group(peerAsn=65020)
    (other,) = make_plan([moved], state, [live_of(g, "bgpg-1", peerAsn=65099)]).changes
    assert other.reason == "changed outside reconciler"


def test_a_no_op_change_shows_the_live_attributes_without_copying_them() -> None:
    e = equinix()
    live = live_of(e, "eq-1")
    plan = make_plan([e], state_of((e, "eq-1", {})), [live])
    (change,) = plan.changes
    assert change.action is Action.NOOP
    assert change.before is live.attrs
    assert change.secret_refs is NO_ENTRIES and change.refs is NO_ENTRIES
    assert change.metadata is not None and change.metadata.labels is NO_ENTRIES


def test_secret_references_and_labels_are_still_shown_when_there_are_some() -> None:
    e = replace(equinix(key="abcdef1"), labels={"team": "neteng"})
    plan = make_plan([e], state_of((e, "eq-1", {})), [live_of(e, "eq-1", key="abcdef1")])
    (change,) = plan.changes
    assert dict(change.secret_refs) == {"authenticationKey": "env:SG_KEY"}
    assert change.metadata is not None and dict(change.metadata.labels) == {"team": "neteng"}


def test_a_state_record_spelt_otherwise_is_compared_normalised_and_not_taken_for_drift() -> None:
    e = equinix()
    respelt = {"localIpAddress": " 10.0.0.1/30", "localAsn": "65010", "connectionUuid": CONN.upper()}
    plan = make_plan([e], state_of((e, "eq-1", respelt)), [live_of(e, "eq-1")])
    (change,) = plan.changes
    assert change.action is Action.NOOP and not change.outside_change
    # A recorded value that differs even when normalised is drift.
    drifted = make_plan([e], state_of((e, "eq-1", {"localAsn": 65099})), [live_of(e, "eq-1")])
    assert drifted.changes[0].outside_change
    # A record of other metadata than the manifests' is recorded, and only that.
    labelled = replace(e, labels={"team": "neteng"})
    relabelled = make_plan([labelled], state_of((e, "eq-1", {})), [live_of(e, "eq-1")])
    assert relabelled.changes[0].records_metadata and relabelled.changes[0].action is Action.NOOP
    assert not make_plan([e], state_of((e, "eq-1", {})), [live_of(e, "eq-1")]).changes[0].records_metadata
