"""A graph from what is declared: each resource asks its cloud what it hangs from
(`Cloud.graph_chain`), is joined to the resources it references, and the two ends of a linked
session (`metadata.labels.link`) are joined to each other, labelled with the link's name.

Pure: the health of sessions (from a refresh) and the actions of a plan come in as node states.
A graph may be drawn around a few `focus` addresses only (the changes of a plan, the findings of
a drift report) with what they hang from and the other end of their links, for context, up to a
number of nodes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from reconciler.clouds import CLOUDS, KINDS
from reconciler.graph.model import Edge, Graph, Health, Node, NodeState, Planned
from reconciler.manifest.links import LINK_LABEL
from reconciler.model import LiveObject, Resource, StateDoc
from reconciler.plan.model import Action, Change, Plan

# How many nodes a drawing around a few addresses holds at most (a comment stays readable).
MAX_NODES = 60

# A plan's `adopt` takes over a live object: an import, in the words people look for in a drawing.
_PLANNED: dict[Action, Planned] = {
    **{action: Planned(action.value) for action in Action if action is not Action.ADOPT},
    Action.ADOPT: Planned.IMPORT,
}


@dataclass(frozen=True, slots=True)
class GraphItem:
    """One resource to draw: its address and kind, non-secret attributes, the addresses it
    references (`parents`), the name of its link, what a refresh reported besides its attributes
    (`info`: a session's device, say), and the state its node is coloured by."""

    address: str
    kind: str
    attrs: Mapping[str, Any]
    parents: tuple[str, ...] = ()
    link: str | None = None
    info: Mapping[str, Any] = field(default_factory=dict)
    state: NodeState | None = None


def planned(action: Action) -> Planned:
    return _PLANNED[action]


def items_from_resources(
    resources: Iterable[Resource],
    health: Mapping[str, Health] | None = None,
    info: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[GraphItem, ...]:
    """The declared resources; with `health`, each session is coloured by it (a session it does
    not name is `unknown`), without, nothing is coloured."""
    return tuple(
        GraphItem(
            address=r.address,
            kind=r.kind,
            attrs=r.attrs,
            parents=tuple(r.refs.values()),
            link=r.labels.get(LINK_LABEL),
            info=(info or {}).get(r.address, {}),
            state=None if health is None or not _has_session(r.kind) else health.get(r.address, Health.UNKNOWN),
        )
        for r in resources
    )


def items_from_plan(plan: Plan) -> tuple[GraphItem, ...]:
    """Every address of the plan, coloured by its action. A removed resource's link is not in the
    plan (only what apply records is), so it is drawn without its other end."""
    return tuple(_item_of_change(change) for change in plan.changes)


def _item_of_change(change: Change) -> GraphItem:
    labels = change.metadata.labels if change.metadata is not None else {}
    return GraphItem(
        address=change.address,
        kind=change.kind,
        attrs=change.after or change.before or {},
        parents=tuple(change.refs.values()),
        link=labels.get(LINK_LABEL),
        state=planned(change.action),
    )


def changed_addresses(plan: Plan) -> tuple[str, ...]:
    """The addresses a plan changes (or waits for), in the plan's order."""
    return tuple(change.address for change in plan.to_apply)


def session_health(
    resources: Iterable[Resource], state: StateDoc, live: Iterable[LiveObject]
) -> tuple[dict[str, Health], dict[str, Mapping[str, Any]]]:
    """The health of each declared session, and what the refresh reported of every declared
    resource besides its attributes, matched through the cloud ids the state records."""
    by_id = {obj.cloud_id: obj for obj in live}
    health: dict[str, Health] = {}
    info: dict[str, Mapping[str, Any]] = {}
    for resource in resources:
        recorded = state.resources.get(resource.address)
        obj = by_id.get(recorded.cloud_id) if recorded is not None else None
        if obj is not None:
            info[resource.address] = obj.info
        if _has_session(resource.kind):
            health[resource.address] = Health.UNKNOWN if recorded is None else health_of(obj)
    return health, info


def items_from_state(state: StateDoc, desired: Iterable[Resource], live: Iterable[LiveObject]) -> tuple[GraphItem, ...]:
    """Every resource the state manages, as the manifests declare it (else as last applied),
    each session coloured by the health the refresh saw: a drift report's picture."""
    declared = {r.address: r for r in desired}
    by_id = {obj.cloud_id: obj for obj in live}
    items: list[GraphItem] = []
    for recorded in state.resources.values():
        obj = by_id.get(recorded.cloud_id)
        resource = declared.get(recorded.address)
        items.append(
            GraphItem(
                address=recorded.address,
                kind=recorded.kind,
                attrs=resource.attrs if resource is not None else recorded.attributes,
                parents=tuple(resource.refs.values()) if resource is not None else recorded.dependencies,
                link=(resource.labels if resource is not None else recorded.labels).get(LINK_LABEL),
                info=obj.info if obj is not None else {},
                state=health_of(obj) if _has_session(recorded.kind) else None,
            )
        )
    return tuple(items)


def health_of(obj: LiveObject | None) -> Health:
    """A recorded object's session: gone or not Established is down; still provisioning is pending."""
    if obj is None or obj.status == "failed":
        return Health.DOWN
    if obj.status == "pending":
        return Health.PENDING
    return Health.ESTABLISHED if obj.session == "Established" else Health.DOWN


def _has_session(kind: str) -> bool:
    info = KINDS.get(kind)
    return info is not None and info.has_session


def _chain(item: GraphItem) -> tuple[Node, ...]:
    """The nodes of `item`'s cloud chain, outermost first, the item's own node last."""
    kind = KINDS.get(item.kind)
    if kind is None or kind.cloud not in CLOUDS:  # a kind no longer registered: the address alone
        return (Node(item.address, item.address, "resource", item.state),)
    chain = CLOUDS[kind.cloud].graph_chain(item.kind, item.address, item.attrs, item.info)
    *above, own = chain
    return (*(Node(n.key, n.label, n.role) for n in above), Node(item.address, own.label, own.role, item.state))


def build_graph(
    items: Sequence[GraphItem], *, focus: Sequence[str] | None = None, max_nodes: int | None = None
) -> Graph:
    """The graph of `items`, or only around the `focus` addresses (each with the resources it
    references and the other end of its link, transitively), at most `max_nodes` nodes: focus
    addresses that would not fit are counted in `left_out`, never drawn in part."""
    by_address = {item.address: item for item in items}
    chains = {item.address: _chain(item) for item in items}
    roots = list(focus) if focus is not None else [item.address for item in items]
    roots = [address for address in dict.fromkeys(roots) if address in by_address]
    links = _links(items)

    drawn: dict[str, Node] = {}
    included: list[str] = []
    left_out = 0
    for root in roots:
        if root in included:
            continue
        group = [a for a in _closure(root, by_address, links) if a not in included]
        new = {n.key: n for a in group for n in chains[a] if n.key not in drawn}
        if max_nodes is not None and len(drawn) + len(new) > max_nodes:
            left_out += 1
            continue
        for address in group:
            for node in chains[address]:
                # A resource's own node wins over the same key drawn as context (never the reverse).
                if node.key not in drawn or node.key == address:
                    drawn[node.key] = node
        included.extend(group)
    return Graph(tuple(drawn.values()), _edges(included, chains, by_address, links, drawn), left_out)


def _links(items: Sequence[GraphItem]) -> dict[str, tuple[str, ...]]:
    """Link name -> the addresses of its session ends, in order."""
    out: dict[str, list[str]] = {}
    for item in items:
        if item.link and _has_session(item.kind):
            out.setdefault(item.link, []).append(item.address)
    return {name: tuple(sorted(ends)) for name, ends in out.items()}


def _closure(root: str, by_address: Mapping[str, GraphItem], links: Mapping[str, tuple[str, ...]]) -> list[str]:
    """`root`, what it references (transitively) and the other ends of its links, with theirs."""
    seen: list[str] = []
    pending = [root]
    while pending:
        address = pending.pop(0)
        if address in seen or address not in by_address:
            continue
        seen.append(address)
        item = by_address[address]
        pending.extend(item.parents)
        if item.link:
            pending.extend(links.get(item.link, ()))
    return seen


def _edges(
    included: Collection[str],
    chains: Mapping[str, tuple[Node, ...]],
    by_address: Mapping[str, GraphItem],
    links: Mapping[str, tuple[str, ...]],
    drawn: Mapping[str, Node],
) -> tuple[Edge, ...]:
    edges: dict[tuple[str, str], Edge] = {}
    for address in included:
        chain = chains[address]
        for parent, child in pairwise(chain):
            edges.setdefault((parent.key, child.key), Edge(parent.key, child.key))
        for referenced in by_address[address].parents:
            if referenced in drawn:
                edges.setdefault((referenced, address), Edge(referenced, address))
    for name, ends in links.items():
        drawn_ends = [end for end in ends if end in drawn]
        for one, other in pairwise(drawn_ends):
            edges.setdefault((one, other), Edge(one, other, link=name))
    return tuple(edges.values())
