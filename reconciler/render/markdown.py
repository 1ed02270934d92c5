"""A plan as a pull-request comment, in the Atlantis / tfcmt style.

Layout, top to bottom: the summary line; a warning listing every delete, replace and forget with
its reason; a Mermaid diagram of the sessions the plan changes (with what they hang from and the
other ends of their links); one collapsed `<details>` per changed resource with its diff;
provenance (state lineage and serial, manifests digest, tool version). The comment never exceeds
the size limit (GitHub's 65,536 characters): the summary and destructive list come first; the
diagram takes at most a quarter of the rest, drawing fewer nodes (or none) when that is short;
then as many details as fit, then a note saying how many were left out and how to see them.

Everything that comes from users or clouds (descriptions, reasons, ids) is escaped so it cannot
break the comment's structure: markdown-escaped in prose, HTML-escaped in `<summary>`, and
inside a code fence longer than any run of backticks in the block.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from reconciler.plan.model import MARKERS, Action, Change, Plan, PlanMode
from reconciler.render.text import (
    DESTROY_NOTE,
    VERBS,
    change_view,
    destructive_counts,
    destructive_groups,
    escape_invisible,
    joined,
    metadata_note,
)
from reconciler.words import plural

GITHUB_COMMENT_LIMIT = 65_536

GROUP_TITLES = {
    Action.DELETE: "**delete** `-`",
    Action.REPLACE: "**replace** `-/+` (delete, then create)",
    Action.FORGET: "**forget** `- (forget)` (stop managing; nothing is deleted in the cloud)",
}

# Markdown punctuation that means something anywhere in a line (emphasis, code, links, tables,
# strikethrough); `<`, `>` and `&` become HTML entities instead.
_MD_INLINE = re.compile(r"([\\`*_\[\]|~])")
# ...and what means something only at the start of a line (lists, headings, quotes, rules).
_MD_LINE_START = re.compile(r"^([-+#=])")
_MD_ORDERED_ITEM = re.compile(r"^(\d+)([.)])")
_BACKTICKS = re.compile(r"`+")


def comment_size(text: str) -> int:
    """Characters as GitHub may count them (UTF-16 code units; never less than `len`)."""
    return len(text.encode("utf-16-le")) // 2


def md_escape(text: str) -> str:
    """Plain text safe inside markdown prose: one line, no markup, no raw HTML."""
    one_line = escape_invisible(" ".join(text.split()))
    escaped = _MD_INLINE.sub(r"\\\1", html.escape(one_line, quote=False))
    escaped = _MD_LINE_START.sub(r"\\\1", escaped)
    return _MD_ORDERED_ITEM.sub(r"\1\\\2", escaped)


def md_code(text: str) -> str:
    """An inline code span that holds `text` verbatim, backticks included."""
    one_line = escape_invisible(" ".join(text.split()))
    longest = max((len(run) for run in _BACKTICKS.findall(one_line)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if longest or one_line.startswith(" ") else ""
    return f"{fence}{pad}{one_line}{pad}{fence}"


def code_block(lines: list[str], info: str = "diff") -> str:
    """A fenced block that no line inside it can close early."""
    longest = max((len(run) for line in lines for run in _BACKTICKS.findall(line)), default=0)
    fence = "`" * max(3, longest + 1)
    return "\n".join([fence + info, *lines, fence])


def summary_line(plan: Plan) -> str:
    """`**Plan:** `+2 ~1 -1` · 1 to replace · 0 to forget · 1 to adopt · 3 unchanged`."""
    s = plan.summary()
    unchanged = f" · {s['no-op']} unchanged" if s["no-op"] else ""
    if not plan.has_changes:
        return f"**Plan:** no changes, the clouds match the manifests{unchanged}"
    counts = f"+{s['create']} ~{s['update']} -{s['delete']}"
    return (
        f"**Plan:** `{counts}` · {s['replace']} to replace · {s['forget']} to forget · {s['adopt']} to adopt{unchanged}"
    )


def _notes(plan: Plan) -> list[str]:
    notes = []
    if plan.mode == PlanMode.REFRESH_ONLY:
        notes.append("_Refresh-only plan: reconciler will only update its state to match the clouds._")
    if plan.mode == PlanMode.DESTROY:
        notes.append(f"**{DESTROY_NOTE}**")
    held = plan.outside_paths
    if held:
        addresses = ", ".join(md_code(c.address) for c in held)
        notes.append(f"_Not in the given paths ({len(held)}):_ {addresses}; `--prune` deletes them")
    if plan.metadata_updates:
        notes.append(f"_{md_escape(metadata_note(plan))}_")
    if plan.targets:
        targets = ", ".join(md_code(t) for t in plan.targets)
        notes.append(f"_Only these addresses were planned (`--target`):_ {targets}")
    return notes


def _fit_list(intro: list[str], items: list[tuple[str, int]], budget: int, more: Callable[[int], str]) -> str:
    """`intro`, then as many `items` as fit in `budget`, then `more(n)` if any were cut.

    Each item is `(line, weight)`: the weight is how many things the line lists (0 for a group
    heading), so `more` is told how many things were left out, not how many lines.
    """
    lines = list(intro)
    total = sum(weight for _, weight in items)
    # Room for the "... and N more" line is kept from the start (N = total is its longest form).
    room = budget - comment_size("\n".join(lines)) - comment_size("\n" + more(total))
    shown = 0
    last_weight = 1
    for line, weight in items:
        size = comment_size("\n" + line)
        if size > room:
            break
        lines.append(line)
        room -= size
        shown += weight
        last_weight = weight
    if shown < total:
        if last_weight == 0:  # a group heading with none of its items: drop it
            lines.pop()
        lines.append(more(total - shown))
    return "\n".join(lines)


def _destructive_block(plan: Plan, budget: int, plan_file: str | None) -> str:
    """A warning listing every delete / replace / forget, grouped by action and reason."""
    counts = destructive_counts(plan)
    if not counts:
        return ""
    intro = [
        "> [!WARNING]",
        f"> **This plan will {joined(counts)} of the managed resources.** Review them carefully.",
        ">",
    ]
    items: list[tuple[str, int]] = []
    for group in destructive_groups(plan):
        what = GROUP_TITLES[group.action]
        why = f": {md_escape(group.reason)}" if group.reason else ""
        items.append((f"> - {what}{why}", 0))
        items += [(f">   - {md_code(address)}", 1) for address in group.addresses]
    show = md_code(f"reconciler show {plan_file or 'PLANFILE'}")
    return _fit_list(intro, items, budget, lambda n: f"> - … and {n} more (see them with {show})")


def _warnings_block(plan: Plan, budget: int) -> str:
    if not plan.warnings:
        return ""
    items = [(f"> - {md_escape(w)}", 1) for w in plan.warnings]
    return _fit_list(["> [!IMPORTANT]", "> **Warnings**", ">"], items, budget, lambda n: f"> - … and {n} more")


def diagram_block(plan: Plan, budget: int) -> str:
    """The sessions the plan changes, as a Mermaid diagram of at most `MAX_NODES` nodes and
    `budget` characters (fewer nodes when the room is short; nothing when there is none)."""
    # Imported here: the graph code (and every cloud's hooks) is needed only once there are changes.
    from reconciler.graph.build import MAX_NODES, changed_addresses, items_from_plan
    from reconciler.graph.mermaid import fitted_block

    changed = changed_addresses(plan)
    title = "**Affected sessions**\n\n"
    if not changed or budget <= comment_size(title):
        return ""
    block = fitted_block(
        items_from_plan(plan), changed, max_nodes=MAX_NODES, max_chars=budget - comment_size(title), what="changes"
    )
    return title + block if block else ""


def details_block(change: Change) -> str:
    """One resource: collapsed, the header as summary, the diff in a fenced block."""
    view = change_view(change)
    marker = "- (forget)" if change.action is Action.FORGET else MARKERS[change.action]
    cloud = f" (<code>{html.escape(escape_invisible(change.cloud_id))}</code>)" if change.cloud_id else ""
    summary = (
        f"<code>{html.escape(marker)}</code> <code>{html.escape(escape_invisible(change.address))}</code>"
        f"{cloud} {VERBS[change.action]}"
    )
    body = [line.plain for line in view.body] or ["# no attribute changes"]
    return f"<details><summary>{summary}</summary>\n\n{code_block(body)}\n\n</details>"


def _provenance(plan: Plan, plan_file: str | None) -> str:
    parts = [f"reconciler {md_code(plan.tool_version or 'unknown')}", f"plan format {md_code(plan.format_version)}"]
    if plan.lineage:
        parts.append(f"state lineage {md_code(plan.lineage)} serial {plan.serial}")
    else:
        parts.append("new state")
    if plan.manifests_digest:
        parts.append(f"manifests {md_code(plan.manifests_digest)}")
    if plan.created_at:
        parts.append(f"planned {md_code(plan.created_at)}")
    lines = ["---", f"<sub>{' · '.join(parts)}</sub>"]
    if plan_file and plan.has_changes:
        lines.insert(
            1,
            f"Apply exactly this plan with {md_code(f'reconciler apply {plan_file}')}; "
            f"see it in full with {md_code(f'reconciler show {plan_file}')}.\n",
        )
    return "\n".join(lines)


def _left_out_note(left_out: int, total: int, max_chars: int, plan_file: str | None) -> str:
    show = md_code(f"reconciler show {plan_file or 'PLANFILE'}")
    return (
        "> [!NOTE]\n"
        f"> **{left_out} of {plural(total, 'changed resource')} {'is' if left_out == 1 else 'are'} not shown** "
        "to keep this comment under "
        f"{max_chars:,} characters. See the whole plan with {show}."
    )


def render_markdown(plan: Plan, *, max_chars: int = GITHUB_COMMENT_LIMIT, plan_file: str | None = None) -> str:
    """The plan as a pull-request comment of at most `max_chars` characters, ending in a newline.

    `plan_file` names the saved plan in the apply / show hints (default: `PLANFILE`).
    """
    sep = "\n\n"
    footer = _provenance(plan, plan_file)
    changes = plan.actionable
    # Room kept for the "N were left out" note, whatever N turns out to be.
    note_room = comment_size(sep + _left_out_note(len(changes), len(changes), max_chars, plan_file))
    head = [summary_line(plan), *_notes(plan)]
    reserved = comment_size(sep.join(head)) + comment_size(sep + footer + "\n") + note_room

    destructive = _destructive_block(plan, max_chars - reserved - len(sep), plan_file)
    if destructive:
        head.append(destructive)
        reserved += comment_size(sep + destructive)
    warnings = _warnings_block(plan, max_chars - reserved - len(sep))
    if warnings:
        head.append(warnings)
        reserved += comment_size(sep + warnings)
    # The diagram gives way first: never more than a quarter of what the head leaves.
    diagram = diagram_block(plan, (max_chars - reserved) // 4 - len(sep))
    if diagram:
        head.append(diagram)
        reserved += comment_size(sep + diagram)

    blocks: list[str] = []
    room = max_chars - reserved
    for change in changes:
        block = details_block(change)
        size = comment_size(sep + block)
        if size > room:
            break
        blocks.append(block)
        room -= size

    parts = head + blocks
    if len(blocks) < len(changes):
        parts.append(_left_out_note(len(changes) - len(blocks), len(changes), max_chars, plan_file))
    parts.append(footer)
    return sep.join(parts) + "\n"
