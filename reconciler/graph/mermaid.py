"""A graph as a Mermaid flowchart (`flowchart LR`), alone or as a fenced block for a markdown
comment (a plan's, a drift report's).

A manifest is untrusted input, so no user text is ever written as syntax: node ids are `n0`,
`n1`..., labels are quoted and every character outside a small safe set is written as a Mermaid
entity code (`#34;`), so quotes, brackets, `<`, backticks, `%%` and newlines can neither end a
label nor start a directive, a comment or a `click` line (none is ever emitted). Colours are
`classDef` / `class` lines named after the node states.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from reconciler.graph.build import MAX_NODES, GraphItem, build_graph
from reconciler.graph.model import COLOURS, Graph, Node, class_name, label_lines, one_line

# Characters written as they are inside a quoted label; anything else becomes an entity code.
_SAFE = re.compile(r"[A-Za-z0-9 ./:_,()+=@-]")
_SHAPES = {"session": ('(["', '"])'), "group": ('[["', '"]]'), "device": ('[/"', '"/]')}


def escape_label(text: str) -> str:
    """Text for inside `"..."` in Mermaid: every unsafe character as `#<code point>;`."""
    return "".join(ch if _SAFE.fullmatch(ch) else f"#{ord(ch)};" for ch in text)


def node_ids(graph: Graph) -> dict[str, str]:
    """Node key -> its id in the diagram (`n0`, `n1`...: never user text)."""
    return {node.key: f"n{i}" for i, node in enumerate(graph.nodes)}


def _node_line(node_id: str, node: Node) -> str:
    start, end = _SHAPES.get(node.role, ('["', '"]'))
    text = "<br>".join(escape_label(line) for line in label_lines(node))
    return f"    {node_id}{start}{text}{end}"


def render_mermaid(graph: Graph) -> str:
    """The diagram, ending with a newline."""
    ids = node_ids(graph)
    lines = ["flowchart LR"]
    lines += [_node_line(ids[node.key], node) for node in graph.nodes]
    for edge in graph.edges:
        if edge.link is None:
            lines.append(f"    {ids[edge.source]} --> {ids[edge.target]}")
        else:
            lines.append(f'    {ids[edge.source]} <-->|"{escape_label(one_line(edge.link))}"| {ids[edge.target]}')
    for state in graph.states:
        fill, stroke = COLOURS[state]
        members = ",".join(ids[n.key] for n in graph.nodes if n.state == state)
        lines.append(f"    classDef {class_name(state)} fill:{fill},stroke:{stroke},color:#000")
        lines.append(f"    class {members} {class_name(state)}")
    return "\n".join(lines) + "\n"


def mermaid_block(graph: Graph, what: str = "changes") -> str:
    """A ```mermaid fenced block of `graph` and, when some were left out, a note saying how many
    `what` were not drawn. The fence cannot close early: no label holds a backtick."""
    block = f"```mermaid\n{render_mermaid(graph)}```"
    if graph.left_out:
        block += f"\n\n_{graph.left_out} more {what} not drawn._"
    return block


def fitted_block(
    items: Sequence[GraphItem], focus: Sequence[str], *, max_nodes: int, max_chars: int | None, what: str
) -> str:
    """The largest block around `focus` that holds at most `max_nodes` nodes and `max_chars`
    characters (halving the nodes until it fits); empty when there is nothing to draw or no room."""
    nodes = max_nodes
    while nodes >= 1:
        graph = build_graph(items, focus=focus, max_nodes=nodes)
        if not graph.nodes:
            return ""
        block = mermaid_block(graph, what)
        if max_chars is None or comment_chars(block) <= max_chars:
            return block
        nodes //= 2
    return ""


def comment_chars(text: str) -> int:
    """Characters as GitHub may count them (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def mermaid_block_for_drift(
    items: Sequence[GraphItem],
    affected: Sequence[str],
    *,
    max_nodes: int = MAX_NODES,
    max_chars: int | None = None,
) -> str:
    """A drift report's diagram: the `affected` addresses (those with a finding) with what they
    hang from and the other ends of their links, taken from `items` (every resource the state
    manages, each coloured by its session's health), at most `max_nodes` nodes and `max_chars`
    characters, with a note of the findings not drawn. Empty when nothing is affected or there is
    no room."""
    if not affected:
        return ""
    return fitted_block(items, affected, max_nodes=max_nodes, max_chars=max_chars, what="findings")
