"""Graphviz DOT output: structure, colours, quoting of untrusted names, and that a DOT parser
reads it (tools/mermaid-check; skipped when not installed)."""

from __future__ import annotations

import re

from reconciler.graph.build import build_graph, items_from_resources
from reconciler.graph.dot import quoted, render_dot
from reconciler.graph.model import Edge, Graph, Health, Node, Planned
from tests.graph.parser import assert_parses
from tests.graph.samples import HOSTILE, linked

STRING = r'"(?:[^"\\\n]|\\.)*"'
LINE = re.compile(
    rf"digraph reconciler \{{|    rankdir=LR;|    node \[.*\];|}}"
    rf"|    \"n\d+\" \[label={STRING}, shape=[a-z0-9]+"
    rf"(, fillcolor=\"#[0-9a-f]{{6}}\", color=\"#[0-9a-f]{{6}}\", class=\"[a-z]+\")?\];"
    rf"|    \"n\d+\" -> \"n\d+\"( \[dir=both, style=dashed, label={STRING}\])?;"
)


def test_plain_and_coloured_topology() -> None:
    text = render_dot(build_graph(items_from_resources(linked(), {"EquinixBgpPeering/sg-ne1": Health.ESTABLISHED})))
    assert text.startswith("digraph reconciler {\n") and text.endswith("}\n")
    assert all(LINE.fullmatch(line) for line in text.splitlines()), text
    assert 'label="sg-ne1-alibaba"' in text and 'fillcolor="#d4edda"' in text
    assert '\\nestablished"' in text


def test_quoting() -> None:
    assert quoted('a"b\\N') == '"a\\"b\\\\N"'


def test_hostile_names_stay_inside_their_strings() -> None:
    graph = Graph(
        (Node("a", HOSTILE, "session", Planned.DELETE), Node("b", HOSTILE, "group")), (Edge("a", "b", link=HOSTILE),)
    )
    text = render_dot(graph)
    assert all(LINE.fullmatch(line) for line in text.splitlines()), text
    assert len(text.splitlines()) == 3 + 2 + 1 + 1


def test_dot_parses_plain_coloured_and_hostile() -> None:
    plain = render_dot(build_graph(items_from_resources(linked())))
    coloured = render_dot(build_graph(items_from_resources(linked(), {"AlibabaBgpPeer/sg-vbr1-p1": Health.DOWN})))
    hostile = render_dot(
        Graph((Node("a", HOSTILE, "session", Planned.CREATE), Node("b", HOSTILE, "x")), (Edge("a", "b", HOSTILE),))
    )
    assert_parses([plain, coloured, hostile], dot=True)
