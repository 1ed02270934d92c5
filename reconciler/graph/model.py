"""The graph as plain values: nodes, edges, and the state a node is coloured by.

A node's state is either the health of its BGP session (from a refresh) or the planned action
on it (from a plan). The renderers give each state one colour and write its name in the node, so
the drawing does not rely on colour alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Health(StrEnum):
    """A session's health as a refresh saw it."""

    ESTABLISHED = "established"
    DOWN = "down"  # provisioned, but the session is not Established (or the object is gone)
    PENDING = "pending"  # still provisioning
    UNKNOWN = "unknown"  # not applied yet, or not read


class Planned(StrEnum):
    """The plan's action on a resource (the plan's `adopt` is an import)."""

    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    FORGET = "forget"
    IMPORT = "import"
    NOOP = "no-op"


NodeState = Health | Planned

# (fill, stroke) of each state; renderers name the class after the state (safe identifiers).
COLOURS: dict[NodeState, tuple[str, str]] = {
    Health.ESTABLISHED: ("#d4edda", "#1e7e34"),
    Health.DOWN: ("#f8d7da", "#c82333"),
    Health.PENDING: ("#fff3cd", "#d39e00"),
    Health.UNKNOWN: ("#e2e3e5", "#6c757d"),
    Planned.CREATE: ("#d4edda", "#1e7e34"),
    Planned.UPDATE: ("#fff3cd", "#d39e00"),
    Planned.REPLACE: ("#ffe5d0", "#e8590c"),
    Planned.DELETE: ("#f8d7da", "#c82333"),
    Planned.FORGET: ("#e5dbff", "#6741d9"),
    Planned.IMPORT: ("#d0ebff", "#1971c2"),
    Planned.NOOP: ("#ffffff", "#adb5bd"),
}


def class_name(state: NodeState) -> str:
    """The state as an identifier a diagram language accepts (`no-op` -> `noop`)."""
    return state.value.replace("-", "")


@dataclass(frozen=True, slots=True)
class Node:
    """One box. `key` identifies it (an address, or a cloud's key for a device or a router) and is
    never written into a diagram as an id; `label` is user text, escaped by each renderer."""

    key: str
    label: str
    role: str  # device, connection, router, group, session, resource
    state: NodeState | None = None  # None: context only (what an object hangs from)


@dataclass(frozen=True, slots=True)
class Edge:
    """From parent to child; a `link` joins the two ends of one BGP session across clouds and is
    labelled with the link's name."""

    source: str
    target: str
    link: str | None = None


@dataclass(frozen=True, slots=True)
class Graph:
    """Nodes and edges in a stable order; `left_out` counts changed resources not drawn (the
    node cap), for the note under the diagram."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    left_out: int = 0

    @property
    def states(self) -> tuple[NodeState, ...]:
        """The states the nodes use, in legend order."""
        used = {node.state for node in self.nodes if node.state is not None}
        return tuple(state for state in COLOURS if state in used)


# A label line is cut at this many characters: a manifest's names are untrusted and a drawing
# (a pull-request comment's above all) must stay small.
LINE_LIMIT = 80


def label_lines(node: Node) -> tuple[str, ...]:
    """The lines a node shows: its label's lines, each cut at `LINE_LIMIT` with invisible
    characters spelt `\\uXXXX`, then its state."""
    lines = [one_line(line) for line in node.label.split("\n")]
    if node.state is not None:
        lines.append(node.state.value)
    return tuple(lines)


def one_line(text: str) -> str:
    """`text` with invisible characters (newlines included) spelt `\\uXXXX`, cut at `LINE_LIMIT`."""
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)
    return text if len(text) <= LINE_LIMIT else text[: LINE_LIMIT - 1] + "…"
