"""Terraform-like text rendering of a plan, coloured with rich on a terminal.

```
  ~ BgpGroup/sg-vbr1 (group-1) will be updated in place
      ~ peerAsn: 65010 -> 65020
      ~ authKey: (sensitive value changed)

Plan: 0 to add, 1 to change, 0 to destroy, 0 to replace, 0 to forget, 0 to adopt. 2 unchanged.
```

The per-change helpers (`change_view`, `render_change_text`, `render_field`) are shared with the
markdown renderer, the apply command (which prints the plan before asking) and the drift report.
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from reconciler.clouds import KINDS
from reconciler.model import SecretValue
from reconciler.plan.model import MARKERS, Action, Change, FieldChange, Plan, PlanMode, SecretChange
from reconciler.plan.redact import redact_change, redact_field, secret_fields_of
from reconciler.words import plural

if TYPE_CHECKING:  # rich is imported when something is coloured: a plan printed to a pipe never is
    from rich.style import Style
    from rich.text import Text

# Colours per action (rich style names).
ACTION_STYLES: dict[Action, str] = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.REPLACE: "red",
    Action.DELETE: "red",
    Action.FORGET: "magenta",
    Action.ADOPT: "cyan",
    Action.NOOP: "",
}
FIELD_STYLES: dict[str, str] = {"+": "green", "~": "yellow", "-": "red", " ": ""}
COMMENT_STYLE = "dim"

VERBS: dict[Action, str] = {
    Action.CREATE: "will be created",
    Action.UPDATE: "will be updated in place",
    Action.REPLACE: "must be replaced",
    Action.DELETE: "will be deleted",
    Action.FORGET: "will be forgotten (removed from state only, not deleted)",
    Action.ADOPT: "will be adopted",
    Action.NOOP: "is unchanged",
}

SENSITIVE_VALUE = "(sensitive value)"
SENSITIVE_CHANGED = "(sensitive value changed)"
KNOWN_AFTER_APPLY = "(known after apply)"
FORCES_REPLACEMENT = "# forces replacement"

BODY_INDENT = "      "  # field lines start under the address, as in Terraform


class Line(NamedTuple):
    """One output line as styled pieces: `((text, rich style), ...)`."""

    spans: tuple[tuple[str, str], ...]

    @property
    def plain(self) -> str:
        return "".join(text for text, _ in self.spans)

    def styled(self) -> Text:
        from rich.text import Text

        return Text.assemble(*self.spans)


class ChangeView(NamedTuple):
    """A change ready to print: the header line and the (unindented) lines under it."""

    header: Line
    body: tuple[Line, ...]


# ---------------------------------------------------------------------------------------------
# Values and fields


def escape_invisible(text: str) -> str:
    """Show control and format characters (ANSI escapes, bidi overrides) as `\\uXXXX`."""
    if text.isprintable():
        return text
    return "".join(ch if ch == " " or unicodedata.category(ch)[0] not in "CZ" else f"\\u{ord(ch):04x}" for ch in text)


def format_value(value: Any) -> str:
    """A value as JSON (`"10.0.0.1"`, `65010`, `true`), on one line, safe for a terminal."""
    if isinstance(value, SecretValue):
        return SENSITIVE_VALUE
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return escape_invisible(text)


def field_marker(field: FieldChange) -> str:
    """`+` added, `-` removed, `~` changed, ` ` unchanged."""
    if field.sensitive:
        return {
            SecretChange.ADDED: "+",
            SecretChange.REMOVED: "-",
            SecretChange.UNCHANGED: " ",
        }.get(field.secret_change or SecretChange.CHANGED, "~")
    if field.after_unknown:
        return "+" if field.before is None else "~"
    if field.before is None and field.after is not None:
        return "+"
    if field.before is not None and field.after is None:
        return "-"
    return "~"


def _field_value_text(field: FieldChange, marker: str) -> str:
    if field.sensitive:
        return SENSITIVE_CHANGED if marker == "~" else SENSITIVE_VALUE
    if field.after_unknown:
        if field.before is None:
            return KNOWN_AFTER_APPLY
        return f"{format_value(field.before)} -> {KNOWN_AFTER_APPLY}"
    if marker == "+":
        return format_value(field.after)
    if marker == "-":
        return f"{format_value(field.before)} -> null"
    return f"{format_value(field.before)} -> {format_value(field.after)}"


def field_line(field: FieldChange, *, note: str = "") -> Line:
    """A styled field line: `~ peerAsn: 65010 -> 65020`, with `# forces replacement` if so."""
    marker = field_marker(field)
    style = FIELD_STYLES[marker]
    spans = [(f"{marker} {escape_invisible(field.name)}: {_field_value_text(field, marker)}", style)]
    if field.forces_replacement:
        spans.append((" " + FORCES_REPLACEMENT, "bold red"))
    if note:
        spans.append((f" # {note}", COMMENT_STYLE))
    return Line(tuple(spans))


def render_field(field: FieldChange) -> str:
    """One field as plain text, e.g. `~ peerAsn: 65010 -> 65020` or
    `~ authKey: (sensitive value changed)`. Sensitive fields never show a value."""
    leaked = isinstance(field.before, SecretValue) or isinstance(field.after, SecretValue)
    return field_line(redact_field(field, secret=leaked)).plain


# ---------------------------------------------------------------------------------------------
# Changes


def _attr_order(change: Change, names: Iterable[str]) -> list[str]:
    """Kind's field order first, then anything else alphabetically."""
    info = KINDS.get(change.kind)
    known = list(info.fields) if info else []
    rank = {name: i for i, name in enumerate(known)}
    return sorted(set(names), key=lambda n: (rank.get(n, len(rank)), n))


def displayed_fields(change: Change) -> tuple[FieldChange, ...]:
    """The field lines a change shows (secrets already redacted).

    The planner's `fields` when it gave any; otherwise a create shows every desired attribute and
    a delete every attribute it removes. Fields known only after apply and replace-only fields
    are marked whatever their source. An object applied again after a failed provisioning shows
    only the fields that differ.
    """
    secrets = secret_fields_of(change)
    if change.fields:
        shown = list(change.fields)
    elif change.action is Action.CREATE:
        after = change.after or {}
        names = _attr_order(change, [*after, *change.after_unknown])
        shown = [
            FieldChange(name, after=after.get(name), after_unknown=name in change.after_unknown)
            for name in names
            if name not in secrets
        ]
        shown += [
            FieldChange(name, sensitive=True, secret_change=SecretChange.ADDED)
            for name in sorted(secrets & {*after, *change.secret_refs})
        ]
    elif change.action is Action.DELETE:
        before = change.before or {}
        shown = [FieldChange(name, before=before[name]) for name in _attr_order(change, before)]
        shown = [
            FieldChange(f.name, sensitive=True, secret_change=SecretChange.REMOVED) if f.name in secrets else f
            for f in shown
        ]
    else:
        shown = []
    listed = {f.name for f in shown}
    before = change.before or {}
    shown += [
        FieldChange(name, before=before.get(name), after_unknown=True)
        for name in change.after_unknown
        if name not in listed
    ]
    replace_only = set(change.replace_fields)
    return tuple(
        dataclasses.replace(f, forces_replacement=True) if f.name in replace_only else f
        for f in shown
        if not (f.sensitive and f.secret_change is SecretChange.UNCHANGED) and not _sent_again_unchanged(change, f)
    )


def _sent_again_unchanged(change: Change, field: FieldChange) -> bool:
    """A field an object whose provisioning failed is sent again with, already at its value: part
    of the call, not a change (the reason says the object is applied again)."""
    return change.reapply and not field.sensitive and not field.after_unknown and field.before == field.after


def _ref_for(change: Change, field_name: str) -> str | None:
    """The address that supplies an after-unknown field (`bgpGroupId` <- the group)."""
    if field_name in change.refs:
        return change.refs[field_name]
    info = KINDS.get(change.kind)
    for spec_field, ref in (info.ref_fields if info else {}).items():
        if ref.id_attr == field_name and spec_field in change.refs:
            return change.refs[spec_field]
    return None


def _comment_lines(text: str, width: int | None, indent: int) -> list[Line]:
    if width is None:
        chunks = [text]
    else:
        chunks = textwrap.wrap(text, max(20, width - indent - 2), break_on_hyphens=False) or [text]
    return [Line(((f"# {escape_invisible(chunk)}", COMMENT_STYLE),)) for chunk in chunks]


def header_line(change: Change) -> Line:
    """`-/+ BgpPeering/sg-ne1 (uuid) must be replaced`, marker right-aligned."""
    style = ACTION_STYLES[change.action]
    marker = f"{MARKERS[change.action]:>3}"
    if change.action is Action.FORGET:
        marker += " (forget)"
    cloud = f" ({escape_invisible(change.cloud_id)})" if change.cloud_id else ""
    return Line(
        (
            (marker + " ", f"bold {style}".strip()),
            (escape_invisible(change.address), "bold"),
            (f"{cloud} {VERBS[change.action]}", style),
        )
    )


def change_view(change: Change, *, width: int | None = None) -> ChangeView:
    """Header and body of one change; comment lines wrap at `width` (None: never)."""
    change = redact_change(change)
    body: list[Line] = []
    indent = len(BODY_INDENT)
    if change.reason:
        body += _comment_lines(change.reason, width, indent)
    if change.outside_change and "outside reconciler" not in change.reason:
        body += _comment_lines("this difference was made outside reconciler", width, indent)
    if change.previous_address:
        body += _comment_lines(f"(moved from {change.previous_address})", width, indent)
    for field in displayed_fields(change):
        ref = _ref_for(change, field.name) if field.after_unknown else None
        body.append(field_line(field, note=f"from {ref}" if ref else ""))
    return ChangeView(header_line(change), tuple(body))


def change_lines(change: Change, *, width: int | None = None) -> list[Line]:
    """A change as indented, styled lines (header, then its body)."""
    view = change_view(change, width=width)
    body_prefix = ((BODY_INDENT, ""),)
    return [
        view.header,
        *(Line(body_prefix + line.spans) for line in view.body),
    ]


def render_change_text(change: Change, *, width: int | None = None) -> list[str]:
    """A change as plain, indented lines: what `plan` prints for it (no trailing blank line)."""
    return [line.plain for line in change_lines(change, width=width)]


def render_change_styled(change: Change, *, width: int | None = None) -> list[Text]:
    """The same lines as rich `Text`, coloured by action, for printing on a terminal."""
    return [line.styled() for line in change_lines(change, width=width)]


# ---------------------------------------------------------------------------------------------
# Plans


def summary_line(plan: Plan) -> str:
    """`Plan: 1 to add, ... 0 to adopt. 3 unchanged.` (no-op resources are only counted)."""
    unchanged = plan.summary()[Action.NOOP.value]
    suffix = f" {unchanged} unchanged." if unchanged else ""
    settling = sum(1 for c in plan.changes if c.settling)
    if settling:
        suffix += f" {settling} still provisioning: apply waits for them."
    return plan.summary_line() + suffix


@dataclass(frozen=True, slots=True)
class DestructiveGroup:
    """Deletes, replaces or forgets that share a reason, for the warning every renderer starts with."""

    action: Action
    reason: str
    addresses: tuple[str, ...]


DESTROY_NOTE = "Destroy plan: reconciler will delete (or forget) every resource in its state."


def destructive_groups(plan: Plan) -> list[DestructiveGroup]:
    """Every delete / replace / forget, grouped by action and reason, in plan order."""
    groups: dict[tuple[Action, str], list[str]] = {}
    for change in plan.changes:
        if change.destructive:
            groups.setdefault((change.action, change.reason), []).append(change.address)
    return [DestructiveGroup(action, reason, tuple(addresses)) for (action, reason), addresses in groups.items()]


def destructive_counts(plan: Plan) -> list[str]:
    """`["delete 2", "forget 1"]`: how many of each destructive action, those present only."""
    s = plan.summary()
    return [
        f"{verb} {s[action.value]}"
        for action, verb in ((Action.DELETE, "delete"), (Action.REPLACE, "replace"), (Action.FORGET, "forget"))
        if s[action.value]
    ]


def joined(words: Sequence[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def outside_paths_note(plan: Plan) -> str:
    """The resources left alone because their manifest file is not among the paths given, if any."""
    held = plan.outside_paths
    if not held:
        return ""
    return f"not in the given paths ({len(held)}): {', '.join(c.address for c in held)}; `--prune` deletes them"


def metadata_note(plan: Plan) -> str:
    """That apply will update the state's records of what the manifests say, if it will."""
    count = len(plan.metadata_updates)
    if not count:
        return ""
    return (
        f"The state's records of {plural(count, 'resource')} (manifest file, deletionPolicy, preventDestroy, "
        "labels) will be updated by the next apply; nothing changes in the clouds."
    )


_TEXT_GROUP_TITLES = {
    Action.DELETE: "delete (-)",
    Action.REPLACE: "replace (-/+: delete, then create)",
    Action.FORGET: "forget (stop managing; nothing is deleted in the cloud)",
}


def _destructive_lines(plan: Plan) -> list[Line]:
    counts = destructive_counts(plan)
    if not counts:
        return []
    lines = [
        Line(
            (
                ("Warning: ", "bold yellow"),
                (f"this plan will {joined(counts)} of the managed resources. Review them carefully.", "bold"),
            )
        )
    ]
    for group in destructive_groups(plan):
        why = f": {escape_invisible(group.reason)}" if group.reason else ""
        lines.append(Line(((f"  {_TEXT_GROUP_TITLES[group.action]}{why}", ""),)))
        lines += [Line(((f"    - {escape_invisible(address)}", ""),)) for address in group.addresses]
    return [*lines, Line(())]


def plan_lines(plan: Plan, *, width: int | None = None) -> list[Line]:
    """The whole text rendering as styled lines. Deterministic: no clock, no environment."""
    lines: list[Line] = []
    blank = Line(())
    if plan.mode == PlanMode.REFRESH_ONLY:
        lines += [
            Line((("Refresh-only plan: reconciler will only update its state to match the clouds.", "bold"),)),
            blank,
        ]
    if plan.mode == PlanMode.DESTROY:
        lines += [Line(((DESTROY_NOTE, "bold"),)), blank]
    lines += _destructive_lines(plan)
    if plan.targets:
        lines += [
            Line(
                (
                    ("Note: only these addresses were planned (--target): ", "bold"),
                    (", ".join(escape_invisible(t) for t in plan.targets), ""),
                )
            ),
            blank,
        ]
    if plan.has_changes:
        lines += [Line((("Reconciler will perform the following actions:", ""),)), blank]
        for change in plan.actionable:
            lines += [*change_lines(change, width=width), blank]
    for warning in plan.warnings:
        lines.append(Line((("Warning: ", "bold yellow"), (escape_invisible(warning), ""))))
    if plan.warnings:
        lines.append(blank)
    held = outside_paths_note(plan)
    if held:
        lines += [Line((("Note: ", "bold"), (escape_invisible(held.replace("`", "")) + ".", ""))), blank]
    lines.append(Line(((summary_line(plan), "bold"),)))
    metadata = metadata_note(plan)
    if metadata:
        lines.append(Line(((metadata, ""),)))
    return lines


@cache
def _style(name: str) -> Style:
    from rich.style import Style

    return Style.parse(name)


def _ansi(line: Line) -> str:
    """A line with ANSI colour codes, by rich (its styles rendered directly: 50x faster than
    printing `Text` through a `Console`, with the same bytes)."""
    from rich.color import ColorSystem

    return "".join(
        _style(style).render(text, color_system=ColorSystem.STANDARD) if style and text else text
        for text, style in line.spans
    )


def render_text(plan: Plan, *, color: bool = False, width: int | None = None) -> str:
    """The plan as text, ending with a newline; ANSI colours (16-colour) only when `color` is true."""
    lines = plan_lines(plan, width=width)
    if not color:
        return "".join(line.plain + "\n" for line in lines)
    return "".join(_ansi(line) + "\n" for line in lines)
