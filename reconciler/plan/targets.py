"""`--target` selectors (Terraform's `-target`, widened): which changes a targeted plan keeps.

A selector is an exact address (`Kind/name`), a glob over addresses (`*`, `?`, `[...]`, matched
case-sensitively) or a label selector `label:key=value` (a resource whose label `key` is exactly
`value`: the declared labels, or for a resource only in state, the labels it recorded). The plan
keeps what the selectors match plus, transitively, what those depend on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from reconciler.errors import UsageError
from reconciler.plan.model import Change

LABEL_PREFIX = "label:"
_GLOB_CHARACTERS = frozenset("*?[")
_VALID_FORMS = "an address Kind/name, a glob such as 'Kind/sg-*', or 'label:key=value'"


@dataclass(frozen=True, slots=True)
class Selector:
    """One `--target` value, parsed: a label selector (`label` set) or an address pattern."""

    text: str
    pattern: str = ""
    label: tuple[str, str] | None = None

    def matches(self, address: str, labels: Mapping[str, str]) -> bool:
        if self.label is not None:
            key, value = self.label
            return labels.get(key) == value
        if _GLOB_CHARACTERS.intersection(self.pattern):
            return fnmatchcase(address, self.pattern)
        return address == self.pattern


@dataclass(frozen=True, slots=True)
class Selection:
    """The changes kept, and the selectors (as given) that matched nothing."""

    changes: tuple[Change, ...]
    unmatched: tuple[str, ...]

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(f"--target {text!r} matched nothing" for text in self.unmatched)


def parse_selector(text: str) -> Selector:
    """Raises UsageError, saying the valid forms, for an empty selector or a malformed label one."""
    if text.startswith(LABEL_PREFIX):
        key, equals, value = text[len(LABEL_PREFIX) :].partition("=")
        if not equals or not key.strip():
            raise UsageError(
                f"--target {text!r} is not a valid label selector: expected label:key=value with a non-empty key",
                hint=f"a target is {_VALID_FORMS}",
            )
        return Selector(text, label=(key, value))
    if not text.strip():
        raise UsageError("--target '' is empty", hint=f"a target is {_VALID_FORMS}")
    return Selector(text, pattern=text)


def select_targets(
    changes: Sequence[Change], targets: Sequence[str], labels: Mapping[str, Mapping[str, str]]
) -> Selection:
    """The changes the selectors match and everything they depend on, in the order given.
    `labels` holds each address's labels. A selector that matches nothing is named in the result
    when another one matched; when none matched, it is a usage error listing known addresses."""
    selectors = [parse_selector(t) for t in targets]
    by_address = {c.address: c for c in changes}
    matched: set[str] = set()
    unmatched: list[str] = []
    for selector in selectors:
        hits = {a for a in by_address if selector.matches(a, labels.get(a, {}))}
        if not hits:
            unmatched.append(selector.text)
        matched |= hits
    if not matched:
        known = sorted(by_address)
        sample = ", ".join(known[:10]) + (" ..." if len(known) > 10 else "")
        shown = ", ".join(repr(t) for t in targets)
        raise UsageError(
            f"--target {shown} matches no resource in the manifests or the state",
            hint=f"a target is {_VALID_FORMS}; known addresses: {sample or '(none)'}",
        )
    wanted: set[str] = set()
    stack = sorted(matched)
    while stack:
        address = stack.pop()
        if address in wanted:
            continue
        wanted.add(address)
        change = by_address.get(address)
        if change is not None:
            stack.extend(change.depends_on)
    return Selection(tuple(c for c in changes if c.address in wanted), tuple(unmatched))
