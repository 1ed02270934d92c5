"""Resolving references (`reconciler.plan.resolve`) and comparing secret fields (`reconciler.plan.secrets`)."""

from __future__ import annotations

from reconciler.model import SecretValue, StateDoc
from reconciler.plan.model import SecretChange
from reconciler.plan.resolve import ReferencedObject, dependency_order, resolve, resolve_against_state
from reconciler.plan.secrets import compare_secret, desired_secrets
from tests.builders import equinix, group, peer, state_of


def test_referenced_resources_come_first_then_address_order() -> None:
    g1, g2 = group("b-group"), group("a-group")
    p1, p2 = peer("a-peer", grp="b-group"), peer("z-peer", grp="a-group")
    order = [r.address for r in dependency_order([p2, p1, g1, g2])]
    assert order.index(g1.address) < order.index(p1.address)
    assert order.index(g2.address) < order.index(p2.address)
    assert order == sorted(order[:2]) + sorted(order[2:])


def test_a_reference_takes_the_id_and_the_inherited_attributes_of_its_target() -> None:
    g, p = group(), peer()
    resolved = resolve(p, {g.address: ReferencedObject("bgpg-1", g.attrs)})
    assert resolved.attrs["bgpGroupId"] == "bgpg-1"
    assert resolved.attrs["regionId"] == g.attrs["regionId"]
    assert resolved.unknown == frozenset()
    assert resolved.depends_on == (g.address,)


def test_an_id_the_target_does_not_have_yet_is_known_after_apply() -> None:
    g, p = group(), peer()
    resolved = resolve(p, {g.address: ReferencedObject(None, g.attrs)})
    assert "bgpGroupId" not in resolved.attrs
    assert resolved.unknown == frozenset({"bgpGroupId"})


def test_a_resource_without_references_keeps_its_attributes() -> None:
    e = equinix()
    assert resolve(e, {}).attrs is e.attrs


def test_resolving_against_state_takes_ids_from_state_only() -> None:
    g, p = group(), peer()
    in_state = resolve_against_state([p, g], state_of((g, "bgpg-1", {})))
    assert in_state[p.address].attrs["bgpGroupId"] == "bgpg-1"
    nothing_applied = resolve_against_state([p, g], StateDoc())
    assert nothing_applied[p.address].unknown == frozenset({"bgpGroupId"})


def test_secret_verdicts_speak_from_the_manifests_side() -> None:
    key, other = SecretValue("k1"), SecretValue("k2")
    assert compare_secret(key, SecretValue("k1")) is SecretChange.UNCHANGED
    assert compare_secret(None, None) is SecretChange.UNCHANGED
    assert compare_secret(key, None) is SecretChange.ADDED
    assert compare_secret(None, key) is SecretChange.REMOVED
    assert compare_secret(key, other) is SecretChange.CHANGED


def test_every_secret_field_of_the_kind_has_a_desired_value_or_none() -> None:
    assert set(desired_secrets(equinix(key="abcdef1")).values()) == {SecretValue("abcdef1")}
    assert set(desired_secrets(equinix()).values()) == {None}
    assert desired_secrets(peer()) == {}
