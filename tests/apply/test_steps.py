"""The apply graph built from plan changes (pure)."""

from __future__ import annotations

from dataclasses import replace

from reconciler.apply.steps import Op, build_steps, client_token, serial_scopes
from reconciler.plan.model import Action, Change

G = "AlibabaBgpGroup/g"
P = "AlibabaBgpPeer/p"
E = "EquinixBgpPeering/e"


def change(address: str, action: Action, depends_on: tuple[str, ...] = ()) -> Change:
    kind = address.partition("/")[0]
    provider = "equinix" if kind.startswith("Equinix") else "alibaba"
    return Change(address, kind, action, provider, cloud_id="id-" + address, depends_on=depends_on)


def graph(changes: list[Change]) -> dict[str, set[str]]:
    return {s.key: set(s.after) for s in build_steps(changes)}


def test_creates_follow_dependencies() -> None:
    assert graph([change(G, Action.CREATE), change(P, Action.CREATE, (G,))]) == {
        f"{G}:create": set(),
        f"{P}:create": {f"{G}:create"},
    }


def test_deletes_run_in_reverse_dependency_order() -> None:
    assert graph([change(P, Action.DELETE, (G,)), change(G, Action.DELETE)]) == {
        f"{P}:delete": set(),
        f"{G}:delete": {f"{P}:delete"},
    }


def test_replace_is_delete_then_create_and_dependents_wait() -> None:
    g = graph([change(G, Action.REPLACE), change(P, Action.REPLACE, (G,))])
    assert g[f"{G}:delete"] == {f"{P}:delete"}
    assert g[f"{G}:create"] == {f"{G}:delete"}
    assert g[f"{P}:create"] == {f"{G}:create", f"{P}:delete"}


VBR_1, VBR_2 = "vbr-1", "vbr-2"


def group_change(name: str, action: Action, vbr: str) -> Change:
    attrs = {"regionId": "ap-southeast-1", "virtualBorderRouterId": vbr, "name": name, "peerAsn": 65010}
    before = attrs if action is not Action.CREATE else None
    after = attrs if action is not Action.DELETE else None
    return Change(f"AlibabaBgpGroup/{name}", "AlibabaBgpGroup", action, "alibaba", before=before, after=after)


def test_creates_wait_only_for_the_deletes_they_conflict_with() -> None:
    """A create waits for a delete that frees its natural key or room in its serial scope (a VBR
    counts its peers), never for an unrelated delete: one stuck delete must not hold up the rest."""
    changes = [
        group_change("old", Action.DELETE, VBR_1),
        group_change("renamed", Action.DELETE, VBR_2),
        group_change("new-on-vbr-1", Action.CREATE, VBR_1),  # same VBR as "old"
        group_change("elsewhere", Action.CREATE, "vbr-3"),  # conflicts with nothing
    ]
    g = {s.key: set(s.after) for s in build_steps(changes, scopes=serial_scopes(changes))}
    assert g["AlibabaBgpGroup/new-on-vbr-1:create"] == {"AlibabaBgpGroup/old:delete"}
    assert g["AlibabaBgpGroup/elsewhere:create"] == set()
    # Same name on the same VBR: the natural key the delete frees. Found without serial scopes too.
    same_key = [group_change("renamed", Action.DELETE, VBR_2), group_change("twin", Action.CREATE, VBR_2)]
    twin = replace(same_key[1], after={**(same_key[1].after or {}), "name": "renamed"})
    g = {s.key: set(s.after) for s in build_steps([same_key[0], twin])}
    assert g["AlibabaBgpGroup/twin:create"] == {"AlibabaBgpGroup/renamed:delete"}


def test_equinix_replace_forgets_instead_of_deleting() -> None:
    steps = build_steps([change(E, Action.REPLACE)])
    assert [(s.op, set(s.after)) for s in steps] == [(Op.FORGET, set()), (Op.CREATE, {f"{E}:forget"})]


def test_noop_has_no_step_and_unrelated_clouds_do_not_wait() -> None:
    g = graph([change(G, Action.NOOP), change(P, Action.DELETE, (G,)), change(E, Action.CREATE)])
    assert g == {f"{P}:delete": set(), f"{E}:create": set()}


def test_refresh_only_records_and_forgets() -> None:
    steps = build_steps([change(G, Action.UPDATE), change(P, Action.FORGET)], refresh_only=True)
    assert [s.op for s in steps] == [Op.RECORD, Op.FORGET]


def test_client_token_is_deterministic_ascii_and_short() -> None:
    token = client_token("lineage-1", P, "create", 7, "run-1")
    assert token == client_token("lineage-1", P, "create", 7, "run-1")
    assert token != client_token("lineage-1", P, "create", 8, "run-1")
    assert token != client_token("lineage-1", P, "delete", 7, "run-1")
    # Another run (a restored state copy repeats lineage and serial) sends tokens of its own.
    assert token != client_token("lineage-1", P, "create", 7, "run-2")
    assert token.isascii() and len(token) <= 64


def test_client_token_of_a_later_attempt_is_new_derived_and_short() -> None:
    first = client_token("lineage-1", P, "create", 7, "run-1")
    assert client_token("lineage-1", P, "create", 7, "run-1", 1) == first  # what older runs journaled
    later = [client_token("lineage-1", P, "create", 7, "run-1", n) for n in (2, 3, 10_000)]
    assert len({first, *later}) == 4
    assert later == [client_token("lineage-1", P, "create", 7, "run-1", n) for n in (2, 3, 10_000)]
    assert all(t.startswith(first) and t.isascii() and len(t) <= 64 for t in later)


# ---------------------------------------------------------------- serial scopes

VBR1, VBR2 = "vbr-1", "vbr-2"
CONN = "80AFC8BE-0CE3-4950-BE27-3D3E678E6873"


def group(name: str, action: Action, vbr: str, *, moved_from: str | None = None, cloud_id: str = "") -> Change:
    attrs = {"regionId": "r", "virtualBorderRouterId": vbr, "name": name}
    before = {**attrs, "virtualBorderRouterId": moved_from or vbr} if action is not Action.CREATE else None
    return Change(
        f"AlibabaBgpGroup/{name}",
        "AlibabaBgpGroup",
        action,
        "alibaba",
        cloud_id=cloud_id or None,
        before=before,
        after=None if action is Action.DELETE else attrs,
        name=name,
    )


def peer(name: str, action: Action, on: str, group_id: str | None, *, was_on: str | None = None) -> Change:
    """A peer of group `on`; `group_id` is known unless the group is created or replaced."""
    after = {"regionId": "r", "peerIpAddress": "10.0.0.1"} | ({"bgpGroupId": group_id} if group_id else {})
    before = {"regionId": "r", "peerIpAddress": "10.0.0.1", "bgpGroupId": was_on} if was_on else None
    return Change(
        f"AlibabaBgpPeer/{name}",
        "AlibabaBgpPeer",
        action,
        "alibaba",
        cloud_id=f"bgp-{name}" if was_on else None,
        before=before,
        after=None if action is Action.DELETE else after,
        after_unknown=() if group_id else ("bgpGroupId",),
        refs={} if action is Action.DELETE else {"bgpGroup": f"AlibabaBgpGroup/{on}"},
        depends_on=(f"AlibabaBgpGroup/{on}",),
        name=name,
    )


def scoped(plan: list[Change]) -> dict[str, str | None]:
    applied = [c for c in plan if c.applies]
    return {s.key: s.serial_scope for s in build_steps(applied, scopes=serial_scopes(plan))}


def test_every_step_on_one_router_shares_its_scope_found_through_what_it_references() -> None:
    plan = [
        group("new", Action.CREATE, VBR1),
        peer("p-new", Action.CREATE, "new", None),
        group("old", Action.NOOP, VBR1, cloud_id="bgpg-old"),  # makes no step, but gives its peer a scope
        peer("p-old", Action.UPDATE, "old", "bgpg-old", was_on="bgpg-old"),
        group("other", Action.UPDATE, VBR2, cloud_id="bgpg-other"),
        Change("EquinixBgpPeering/e", "EquinixBgpPeering", Action.CREATE, "equinix", after={"connectionUuid": CONN}),
    ]
    assert scoped(plan) == {
        "AlibabaBgpGroup/new:create": "alibaba: VBR vbr-1",
        "AlibabaBgpPeer/p-new:create": "alibaba: VBR vbr-1",
        "AlibabaBgpPeer/p-old:update": "alibaba: VBR vbr-1",
        "AlibabaBgpGroup/other:update": "alibaba: VBR vbr-2",
        "EquinixBgpPeering/e:create": f"equinix: connection {CONN.lower()}",
    }


def test_a_replace_that_moves_objects_deletes_in_the_old_scope_and_creates_in_the_new() -> None:
    plan = [
        peer("p", Action.REPLACE, "g", None, was_on="bgpg-g"),
        group("g", Action.REPLACE, VBR2, moved_from=VBR1, cloud_id="bgpg-g"),
        peer("gone", Action.DELETE, "g", None, was_on="bgpg-g"),
    ]
    assert scoped(plan) == {
        "AlibabaBgpPeer/p:delete": "alibaba: VBR vbr-1",
        "AlibabaBgpPeer/p:create": "alibaba: VBR vbr-2",
        "AlibabaBgpGroup/g:delete": "alibaba: VBR vbr-1",
        "AlibabaBgpGroup/g:create": "alibaba: VBR vbr-2",
        "AlibabaBgpPeer/gone:delete": "alibaba: VBR vbr-1",
    }


def test_steps_that_make_no_call_have_no_scope() -> None:
    conn = {"connectionUuid": CONN}
    replaced = Change(
        "EquinixBgpPeering/e", "EquinixBgpPeering", Action.REPLACE, "equinix", before=conn, after=conn, cloud_id="u"
    )
    forgotten = Change("EquinixBgpPeering/f", "EquinixBgpPeering", Action.FORGET, "equinix", before=conn, cloud_id="v")
    assert scoped([replaced, forgotten]) == {
        "EquinixBgpPeering/e:forget": None,
        "EquinixBgpPeering/e:create": f"equinix: connection {CONN.lower()}",
        "EquinixBgpPeering/f:forget": None,
    }
    refreshed = build_steps(
        [group("g", Action.UPDATE, VBR1)], refresh_only=True, scopes=serial_scopes([group("g", Action.UPDATE, VBR1)])
    )
    assert [(s.op, s.serial_scope) for s in refreshed] == [(Op.RECORD, None)]
