"""A graph as Graphviz DOT (`digraph`, left to right).

Ids are `n0`, `n1`... and every id and label is a double-quoted string with `\\` and `"`
escaped, so no user text can end a string or add an attribute or a statement.
"""

from __future__ import annotations

from reconciler.graph.model import COLOURS, Graph, class_name, label_lines, one_line

_SHAPES = {"session": "ellipse", "group": "box3d", "device": "component", "router": "box", "connection": "cds"}


def quoted(text: str) -> str:
    """A DOT string: `\\` and `"` escaped, so `\\N`, `\\l`... mean nothing either."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_dot(graph: Graph) -> str:
    """The digraph, ending with a newline. Lines within a label are joined with DOT's `\\n`."""
    ids = {node.key: f"n{i}" for i, node in enumerate(graph.nodes)}
    lines = [
        "digraph reconciler {",
        "    rankdir=LR;",
        '    node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];',
    ]
    for node in graph.nodes:
        label = quoted("\n".join(label_lines(node))).replace("\n", "\\n")
        attrs = [f"label={label}", f"shape={_SHAPES.get(node.role, 'box')}"]
        if node.state is not None:
            fill, stroke = COLOURS[node.state]
            attrs += [f'fillcolor="{fill}"', f'color="{stroke}"', f"class={quoted(class_name(node.state))}"]
        lines.append(f"    {quoted(ids[node.key])} [{', '.join(attrs)}];")
    for edge in graph.edges:
        link = f" [dir=both, style=dashed, label={quoted(one_line(edge.link))}]" if edge.link is not None else ""
        lines.append(f"    {quoted(ids[edge.source])} -> {quoted(ids[edge.target])}{link};")
    lines.append("}")
    return "\n".join(lines) + "\n"
