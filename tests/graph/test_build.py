"""Building the graph: each cloud's chain, references, links, health, plan actions, focus and cap."""

from __future__ import annotations

from dataclasses import replace

from reconciler.graph.build import (
    GraphItem,
    build_graph,
    changed_addresses,
    health_of,
    items_from_plan,
    items_from_resources,
    session_health,
)
from reconciler.graph.model import Health, Planned
from reconciler.plan.model import Action, Change, Plan
from tests.builders import live_of, live_peer, state_of
from tests.graph.samples import CONN, CONN_OTHER, VBR, linked

NE1, NE2 = "EquinixBgpPeering/sg-ne1", "EquinixBgpPeering/sg-ne2"
GROUP, PEER = "AlibabaBgpGroup/sg-vbr1", "AlibabaBgpPeer/sg-vbr1-p1"
CONNECTION = f"equinix/connection/{CONN}"
ROUTER = f"alibaba/vbr/ap-southeast-1/{VBR}"


def test_topology_from_manifests_connection_session_link_peer_group_vbr() -> None:
    items = items_from_resources(linked())
    graph = build_graph(items)
    keys = [n.key for n in graph.nodes]
    assert set(keys) == {CONNECTION, NE1, ROUTER, GROUP, PEER, f"equinix/connection/{CONN_OTHER}", NE2}
    assert len(keys) == len(set(keys))
    assert {(e.source, e.target, e.link) for e in graph.edges} == {
        (CONNECTION, NE1, None),
        (ROUTER, GROUP, None),
        (GROUP, PEER, None),  # the peer's reference to its group
        (f"equinix/connection/{CONN_OTHER}", NE2, None),
        (PEER, NE1, "sg-ne1-alibaba"),  # the two ends of one session (drawn both ways), labelled with the link
    }
    assert all(n.state is None for n in graph.nodes)  # no health, no plan: nothing coloured
    roles = {n.key: n.role for n in graph.nodes}
    assert roles[NE1] == roles[PEER] == "session" and roles[GROUP] == "group" and roles[ROUTER] == "router"


def test_links_join_only_session_ends_that_share_the_link() -> None:
    one, grp, other, lone = linked()
    items = items_from_resources((one, grp, replace(other, labels={"link": "elsewhere"}), lone))
    assert not [e for e in build_graph(items).edges if e.link]


def test_health_from_the_refresh_through_state_ids() -> None:
    ne1, grp, p1, ne2 = linked()
    state = state_of((ne1, "uuid-1", {}), (grp, "bgpg-1", {}), (p1, "bgpp-1", {"bgpGroupId": "bgpg-1"}))
    live = [
        replace(live_of(ne1, "uuid-1", session="Established"), info={"virtualDeviceUuid": "dev-1"}),
        live_of(grp, "bgpg-1"),
        live_peer(p1, "bgpp-1", "bgpg-1", session="Active"),
    ]
    health, info = session_health((ne1, grp, p1, ne2), state, live)
    assert health == {NE1: Health.ESTABLISHED, PEER: Health.DOWN, NE2: Health.UNKNOWN}  # ne2: never applied
    graph = build_graph(items_from_resources((ne1, grp, p1, ne2), health, info))
    states = {n.key: n.state for n in graph.nodes}
    assert states[NE1] is Health.ESTABLISHED and states[PEER] is Health.DOWN and states[NE2] is Health.UNKNOWN
    assert states[GROUP] is None  # a group has no session
    # The device is known from the refresh only, and the connection hangs from it.
    assert ("equinix/device/dev-1", CONNECTION, None) in {(e.source, e.target, e.link) for e in graph.edges}


def test_health_of_a_recorded_object() -> None:
    ne1 = linked()[0]
    assert health_of(None) is Health.DOWN  # recorded, but gone
    assert health_of(live_of(ne1, "u", status="pending", session=None)) is Health.PENDING
    assert health_of(live_of(ne1, "u", status="failed")) is Health.DOWN
    assert health_of(live_of(ne1, "u", session="Idle")) is Health.DOWN
    assert health_of(live_of(ne1, "u", session="Established")) is Health.ESTABLISHED


def _change(resource_address: str, kind: str, action: Action, **kw: object) -> Change:
    return Change(address=resource_address, kind=kind, action=action, provider="p", **kw)  # type: ignore[arg-type]


def _plan_of_linked(actions: dict[str, Action]) -> Plan:
    from reconciler.model import ResourceMetadata

    changes = []
    for r in linked():
        meta = ResourceMetadata(labels=dict(r.labels))
        action = actions.get(r.address, Action.NOOP)
        changes.append(
            Change(r.address, r.kind, action, "p", after=r.attrs, refs=dict(r.refs), metadata=meta, name=r.name)
        )
    return Plan(changes=tuple(changes), lineage=None, serial=0)


def test_plan_colours_every_address_by_its_action_adopt_as_import() -> None:
    plan = _plan_of_linked({NE1: Action.UPDATE, PEER: Action.CREATE, NE2: Action.ADOPT})
    graph = build_graph(items_from_plan(plan))
    states = {n.key: n.state for n in graph.nodes}
    assert states[NE1] is Planned.UPDATE and states[PEER] is Planned.CREATE and states[NE2] is Planned.IMPORT
    assert states[GROUP] is Planned.NOOP and states[CONNECTION] is None
    assert {e.link for e in graph.edges if e.link} == {"sg-ne1-alibaba"}  # links come from the recorded labels


def test_focus_draws_the_changes_with_their_parents_and_the_linked_other_end() -> None:
    plan = _plan_of_linked({NE1: Action.UPDATE})
    assert changed_addresses(plan) == (NE1,)
    graph = build_graph(items_from_plan(plan), focus=changed_addresses(plan))
    # The other end of the link and what it hangs from are context; the unrelated session is not drawn.
    assert {n.key for n in graph.nodes} == {CONNECTION, NE1, PEER, GROUP, ROUTER}
    assert graph.left_out == 0


def test_node_cap_leaves_whole_changes_out_and_counts_them() -> None:
    plan = _plan_of_linked({NE1: Action.UPDATE, NE2: Action.UPDATE})
    items = items_from_plan(plan)
    full = build_graph(items, focus=changed_addresses(plan))
    assert len(full.nodes) == 7 and full.left_out == 0
    capped = build_graph(items, focus=changed_addresses(plan), max_nodes=5)
    assert {n.key for n in capped.nodes} == {CONNECTION, NE1, PEER, GROUP, ROUTER}
    assert capped.left_out == 1  # sg-ne2 (with its connection) would make 7
    smaller = build_graph(items, focus=changed_addresses(plan), max_nodes=2)  # what fits is drawn
    assert {n.key for n in smaller.nodes} == {f"equinix/connection/{CONN_OTHER}", NE2} and smaller.left_out == 1
    none = build_graph(items, focus=changed_addresses(plan), max_nodes=1)
    assert none.nodes == () and none.edges == () and none.left_out == 2
    assert all(e.source in {n.key for n in capped.nodes} for e in capped.edges)


def test_deleted_resource_without_references_is_drawn_alone() -> None:
    change = _change("AlibabaBgpPeer/gone", "AlibabaBgpPeer", Action.DELETE, before={"peerIpAddress": "10.9.9.9"})
    graph = build_graph(items_from_plan(Plan(changes=(change,), lineage="l", serial=1)))
    assert [(n.key, n.state) for n in graph.nodes] == [("AlibabaBgpPeer/gone", Planned.DELETE)]


def test_unregistered_kind_is_drawn_by_its_address() -> None:
    item = GraphItem("Gone/x", "GoneKind", {}, state=Planned.FORGET)
    assert [(n.key, n.label, n.role) for n in build_graph((item,)).nodes] == [("Gone/x", "Gone/x", "resource")]


def test_keys_never_reach_a_label() -> None:
    resources = linked()
    assert resources[0].secrets  # sg-ne1 holds its key in memory
    graph = build_graph(items_from_resources(resources))
    assert not [n for n in graph.nodes if "NeverShownKey1" in n.label]
