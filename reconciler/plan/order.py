"""Order changes: deletions first, dependents before what they depend on; then everything else,
dependencies first. Ties break on the address, so the order is the same on every run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from reconciler.plan.model import Action, Change

REMOVALS = frozenset({Action.DELETE, Action.FORGET})


def _depths(changes: Sequence[Change]) -> dict[str, int]:
    deps: Mapping[str, tuple[str, ...]] = {c.address: c.depends_on for c in changes}
    depth: dict[str, int] = {}

    def visit(address: str, trail: frozenset[str]) -> int:
        if address in depth:
            return depth[address]
        if address in trail or address not in deps:
            return 0
        d = 1 + max((visit(a, trail | {address}) for a in deps[address]), default=-1)
        depth[address] = d
        return d

    for c in changes:
        visit(c.address, frozenset())
    return depth


def order_changes(changes: Iterable[Change]) -> tuple[Change, ...]:
    items = list(changes)
    depth = _depths(items)

    def key(c: Change) -> tuple[int, int, str]:
        if c.action in REMOVALS:
            return (0, -depth[c.address], c.address)
        return (1, depth[c.address], c.address)

    return tuple(sorted(items, key=key))
