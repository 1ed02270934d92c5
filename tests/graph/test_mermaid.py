"""Mermaid output: structure, colours, escaping of untrusted names, and that Mermaid's own parser
reads it (tools/mermaid-check; skipped when not installed)."""

from __future__ import annotations

import re
from dataclasses import replace

from reconciler.graph.build import GraphItem, build_graph, items_from_resources
from reconciler.graph.mermaid import escape_label, mermaid_block, mermaid_block_for_drift, render_mermaid
from reconciler.graph.model import Edge, Graph, Health, Node, Planned
from tests.graph.parser import assert_parses
from tests.graph.samples import HOSTILE, linked

# What every line of the diagram may look like: nothing else can appear, whatever the names.
LINE = re.compile(
    r'flowchart LR|    n\d+(\["|\(\["|\[\["|\[/")[^"\n]*("\]|"\]\)|"\]\]|"/\])'
    r'|    n\d+ --> n\d+|    n\d+ <-->\|"[^"\n]*"\| n\d+'
    r"|    classDef [a-z]+ fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6},color:#000|    class n\d+(,n\d+)* [a-z]+"
)


def hostile_graph() -> Graph:
    nodes = (
        Node("a", HOSTILE, "session", Planned.CREATE),
        Node("b", HOSTILE, "group", Health.DOWN),
        Node("c", HOSTILE, "device"),
        Node("d", HOSTILE, "router", Planned.NOOP),
    )
    return Graph(nodes, (Edge("c", "a"), Edge("a", "b", link=HOSTILE), Edge("d", "b")))


def test_plain_topology() -> None:
    text = render_mermaid(build_graph(items_from_resources(linked())))
    assert text.startswith("flowchart LR\n") and text.endswith("\n")
    assert all(LINE.fullmatch(line) for line in text.splitlines()), text
    assert '<-->|"sg-ne1-alibaba"|' in text
    assert "classDef" not in text  # nothing coloured without health or a plan


def test_colours_are_classes_named_after_the_states() -> None:
    items = items_from_resources(linked(), {"EquinixBgpPeering/sg-ne1": Health.ESTABLISHED})
    text = render_mermaid(build_graph(items))
    assert "classDef established fill:#d4edda" in text and "classDef unknown fill:#e2e3e5" in text
    ids = re.findall(r"class (\S+) unknown", text)[0].split(",")
    assert len(ids) == 2  # the peer and sg-ne2, whose health the refresh did not give
    assert "<br>established" in text  # the state is written too, not only coloured


def test_hostile_names_cannot_break_or_inject() -> None:
    text = render_mermaid(hostile_graph())
    assert all(LINE.fullmatch(line) for line in text.splitlines()), text
    assert len(text.splitlines()) == 1 + 4 + 3 + 6  # header, nodes, edges, three states x2
    # Outside the quoted labels only the diagram's own syntax is left; inside them, nothing raw.
    assert not re.search(r"click|href|javascript|evil|init", _syntax(text))
    for raw in ("%%", "`", "<b>", "\\", "\n\n"):
        assert raw not in text.replace("<br>", ""), raw


def _syntax(text: str) -> str:
    """The diagram with every quoted label removed."""
    return re.sub(r'"[^"]*"', '""', text)


def test_escape_label_keeps_safe_text_and_codes_the_rest() -> None:
    assert escape_label("AlibabaBgpPeer/sg-vbr1 10.0.0.1 (x)") == "AlibabaBgpPeer/sg-vbr1 10.0.0.1 (x)"
    assert escape_label('a"b]<`%#\n;') == "a#34;b#93;#60;#96;#37;#35;#10;#59;"


def test_long_labels_are_cut() -> None:
    graph = Graph((Node("a", "x" * 500, "session"),), ())
    assert "x" * 80 not in render_mermaid(graph) and "x" * 79 in render_mermaid(graph)


def test_block_notes_what_was_left_out() -> None:
    graph = Graph((Node("a", "a", "session", Planned.CREATE),), (), left_out=3)
    block = mermaid_block(graph)
    assert block.startswith("```mermaid\nflowchart LR\n") and "\n```\n\n_3 more changes not drawn._" in block


def test_drift_block_draws_the_affected_addresses_with_their_context() -> None:
    items = items_from_resources(linked(), {"AlibabaBgpPeer/sg-vbr1-p1": Health.DOWN})
    block = mermaid_block_for_drift(items, ["AlibabaBgpPeer/sg-vbr1-p1"])
    assert block.startswith("```mermaid\n") and block.endswith("```")
    assert "sg-ne1" in block and "sg-ne2" not in block and "class n" in block
    assert mermaid_block_for_drift(items, []) == ""
    small = mermaid_block_for_drift(items, ["AlibabaBgpPeer/sg-vbr1-p1", "EquinixBgpPeering/sg-ne2"], max_nodes=2)
    assert "sg-ne2" in small and "_1 more findings not drawn._" in small
    assert mermaid_block_for_drift(items, ["AlibabaBgpPeer/sg-vbr1-p1"], max_chars=50) == ""


def test_mermaid_parses_plain_coloured_and_hostile() -> None:
    plain = render_mermaid(build_graph(items_from_resources(linked())))
    health = {"EquinixBgpPeering/sg-ne1": Health.ESTABLISHED, "AlibabaBgpPeer/sg-vbr1-p1": Health.PENDING}
    coloured = render_mermaid(build_graph(items_from_resources(linked(), health)))
    every_state = Graph(
        tuple(Node(f"k{i}", state.value, "session", state) for i, state in enumerate([*Health, *Planned])), ()
    )
    hostile_items = (
        *(
            replace(item, address=f"{item.address}{HOSTILE}", link=HOSTILE)
            for item in items_from_resources(linked())
            if item.kind != "AlibabaBgpGroup"
        ),
        GraphItem("AlibabaBgpGroup/" + HOSTILE, "AlibabaBgpGroup", {"virtualBorderRouterId": HOSTILE}),
    )
    assert_parses(
        [
            plain,
            coloured,
            render_mermaid(every_state),
            render_mermaid(hostile_graph()),
            render_mermaid(build_graph(hostile_items)),
        ]
    )
