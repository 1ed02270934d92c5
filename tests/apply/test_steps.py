"""The apply graph built from plan changes (pure)."""

from __future__ import annotations

from reconciler.apply.steps import Op, build_steps, client_token
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
    assert g[f"{G}:create"] == {f"{G}:delete", f"{P}:delete"}
    assert g[f"{P}:create"] == {f"{G}:create", f"{G}:delete", f"{P}:delete"}


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
    token = client_token("lineage-1", P, "create", 7)
    assert token == client_token("lineage-1", P, "create", 7)
    assert token != client_token("lineage-1", P, "create", 8)
    assert token != client_token("lineage-1", P, "delete", 7)
    assert token.isascii() and len(token) <= 64
