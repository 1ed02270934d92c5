"""Precise staleness of saved plans: the footprint a plan records and what moved since."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reconciler.model import Resource, SecretRef, SecretValue, StateDoc, StateResource
from reconciler.plan.codec import plan_from_dict, plan_to_dict
from reconciler.plan.model import Plan
from reconciler.plan.planner import make_plan
from reconciler.plan.staleness import (
    DESIRED_MOVED,
    STATE_MOVED,
    Moved,
    desired_digest,
    footprint_refs,
    moved_in_manifests,
    moved_in_state,
    moved_keys,
    state_digest,
)
from tests.builders import VBR_OTHER, equinix, group, live_of, live_peer, peer, state_of

G1, G2 = group("g1"), group("g2", vbr=VBR_OTHER)
P1, P2 = peer("p1", grp="g1", ip="10.0.0.1"), peer("p2", grp="g2", ip="10.0.0.2")
BASE = (G1, P1, G2, P2)


def _base_state() -> StateDoc:
    state = state_of(
        (G1, "bgpg-1", {}),
        (P1, "bgp-1", {"bgpGroupId": "bgpg-1"}),
        (G2, "bgpg-2", {}),
        (P2, "bgp-2", {"bgpGroupId": "bgpg-2"}),
    )
    # Peers record their group as a dependency, as apply does.
    resources = dict(state.resources)
    resources[P1.address] = replace(resources[P1.address], dependencies=(G1.address,))
    resources[P2.address] = replace(resources[P2.address], dependencies=(G2.address,))
    return replace(state, resources=resources)


LIVE = [
    live_of(G1, "bgpg-1"),
    live_peer(P1, "bgp-1", "bgpg-1"),
    live_of(G2, "bgpg-2"),
    live_peer(P2, "bgp-2", "bgpg-2"),
]


def _plan(desired: tuple[Resource, ...]) -> Plan:
    return make_plan(desired, _base_state(), LIVE)


def _with_attr(resource: Resource, **attrs: Any) -> Resource:
    return replace(resource, attrs={**resource.attrs, **attrs})


@pytest.mark.parametrize(
    ("desired", "footprint"),
    [
        pytest.param(BASE, set(), id="nothing to do: an empty footprint"),
        pytest.param(
            (G1, _with_attr(P1, enableBfd=False), G2, P2), {P1.address, G1.address}, id="a peer and its group"
        ),
        pytest.param((_with_attr(G1, description="x"), P1, G2, P2), {G1.address}, id="a group alone"),
        pytest.param((G1, P1), {G2.address, P2.address}, id="deletes"),
        pytest.param(
            (_with_attr(G1, virtualBorderRouterId=VBR_OTHER), P1, G2, P2),
            {G1.address, P1.address},
            id="a replace takes in what depends on it",
        ),
    ],
)
def test_the_footprint_is_what_the_plan_acts_on_and_depends_on(
    desired: tuple[Resource, ...], footprint: set[str]
) -> None:
    plan = _plan(desired)
    assert plan.footprint is not None
    assert set(plan.footprint) == footprint
    state = _base_state()
    declared = {r.address: r for r in desired}
    for address, seen in plan.footprint.items():
        assert seen.state == state_digest(state.resources.get(address))
        assert seen.desired == desired_digest(declared.get(address))


def test_the_footprint_survives_the_plan_file_codec() -> None:
    plan = _plan((G1, _with_attr(P1, enableBfd=False)))
    assert plan_from_dict(plan_to_dict(plan)).footprint == plan.footprint


def _moved_state(state: StateDoc, address: str, **attrs: Any) -> StateDoc:
    resources = dict(state.resources)
    resources[address] = replace(resources[address], attributes={**resources[address].attributes, **attrs})
    return replace(state, serial=state.serial + 1, resources=resources)


def _without(state: StateDoc, address: str) -> StateDoc:
    return replace(state, serial=state.serial + 1, resources={a: r for a, r in state.resources.items() if a != address})


def _with_dependent(state: StateDoc, address: str, on: str) -> StateDoc:
    entry = StateResource(address, P1.kind, "bgp-9", "ap-southeast-1", {"peerIpAddress": "10.0.0.9"}, (on,))
    return replace(state, serial=state.serial + 1, resources={**state.resources, address: entry})


UPDATES_P1 = (G1, _with_attr(P1, enableBfd=False), G2, P2)
DELETES_G2 = (G1, P1)


@pytest.mark.parametrize(
    ("desired", "now", "moved"),
    [
        pytest.param(UPDATES_P1, _moved_state(_base_state(), P2.address, enableBfd=False), [], id="another peer: none"),
        pytest.param(
            UPDATES_P1,
            _moved_state(_base_state(), P1.address, enableBfd=False),
            [Moved(P1.address, STATE_MOVED)],
            id="the same peer",
        ),
        pytest.param(
            UPDATES_P1,
            _moved_state(_base_state(), G1.address, peerAsn=65099),
            [Moved(G1.address, STATE_MOVED)],
            id="the group it depends on",
        ),
        pytest.param(UPDATES_P1, _without(_base_state(), P1.address), [Moved(P1.address, STATE_MOVED)], id="deleted"),
        pytest.param(
            DELETES_G2,
            _with_dependent(_base_state(), "AlibabaBgpPeer/p9", G2.address),
            [Moved(G2.address, "AlibabaBgpPeer/p9 now depends on it (applied by another run since)")],
            id="a new dependent of what it deletes",
        ),
        pytest.param(DELETES_G2, _with_dependent(_base_state(), "AlibabaBgpPeer/p9", G1.address), [], id="elsewhere"),
    ],
)
def test_moved_in_state(desired: tuple[Resource, ...], now: StateDoc, moved: list[Moved]) -> None:
    plan = _plan(desired)
    assert plan.footprint is not None
    assert moved_in_state(plan.footprint, plan.changes, now) == moved


@pytest.mark.parametrize(
    ("now", "moved"),
    [
        pytest.param((G1, _with_attr(P1, enableBfd=False), G2, _with_attr(P2, enableBfd=False)), [], id="another peer"),
        pytest.param((G1, _with_attr(P1, enableBfd=False), _with_attr(G2, description="y")), [], id="another group"),
        pytest.param(
            (G1, _with_attr(P1, enableBfd=False, bfdMultiHop=3), G2, P2),
            [Moved(P1.address, DESIRED_MOVED)],
            id="the same peer again",
        ),
        pytest.param((G1, G2, P2), [Moved(P1.address, DESIRED_MOVED)], id="removed"),
        pytest.param(
            (_with_attr(G1, peerAsn=65099), _with_attr(P1, enableBfd=False), G2, P2),
            [Moved(G1.address, DESIRED_MOVED)],
            id="its group",
        ),
        pytest.param(
            (replace(G1, labels={"link": "x"}), _with_attr(P1, enableBfd=False), G2, P2),
            [Moved(G1.address, DESIRED_MOVED)],
            id="a label",
        ),
        pytest.param(
            (G1, replace(_with_attr(P1, enableBfd=False), prevent_destroy=True), G2, P2),
            [Moved(P1.address, DESIRED_MOVED)],
            id="preventDestroy",
        ),
    ],
)
def test_moved_in_manifests(now: tuple[Resource, ...], moved: list[Moved]) -> None:
    plan = _plan(UPDATES_P1)
    assert plan.footprint is not None
    assert moved_in_manifests(plan.footprint, now) == moved


def test_a_deletion_moves_when_the_manifests_declare_it_again() -> None:
    plan = _plan(DELETES_G2)
    assert plan.footprint is not None
    assert moved_in_manifests(plan.footprint, BASE) == [
        Moved(G2.address, DESIRED_MOVED),
        Moved(P2.address, DESIRED_MOVED),
    ]


def test_the_desired_digest_names_a_key_reference_never_its_value() -> None:
    keyed = replace(equinix(), secret_refs={"authenticationKey": SecretRef("env", "SG_KEY")})
    one = replace(keyed, secrets={"authenticationKey": SecretValue("KeyValueOne1")})
    other = replace(keyed, secrets={"authenticationKey": SecretValue("KeyValueTwo2")})
    assert desired_digest(one) == desired_digest(other) == desired_digest(keyed)
    renamed = replace(keyed, secret_refs={"authenticationKey": SecretRef("env", "OTHER_KEY")})
    assert desired_digest(renamed) != desired_digest(keyed)


def test_digests_do_not_depend_on_the_order_of_members() -> None:
    reordered = replace(G1, attrs=dict(reversed(list(G1.attrs.items()))))
    assert desired_digest(reordered) == desired_digest(G1)
    entry = _base_state().resources[G1.address]
    assert state_digest(replace(entry, attributes=dict(reversed(list(entry.attributes.items()))))) == state_digest(
        entry
    )


def test_keys_of_the_footprint_name_the_addresses_using_them() -> None:
    keyed = replace(equinix(), secret_refs={"authenticationKey": SecretRef("env", "SG_KEY")})
    keyed = replace(keyed, secrets={"authenticationKey": SecretValue("KeyValueOne1")})
    plan = make_plan((keyed, *BASE), _base_state(), LIVE)
    assert plan.footprint is not None and keyed.address in plan.footprint
    refs = footprint_refs(plan.footprint, plan.changes)
    assert refs == {"env:SG_KEY": (keyed.address,)}
    assert set(plan.secret_digests) == {"env:SG_KEY"}  # digests of the footprint's keys only
    assert moved_keys(["env:SG_KEY"], refs) == [Moved(keyed.address, "its key changed: env:SG_KEY")]
    assert moved_keys([], refs) == []
