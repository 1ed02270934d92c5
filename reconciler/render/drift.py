"""Render a drift report: text (terminal / CI log), markdown (a tracking issue), json (versioned),
openmetrics (node_exporter's textfile collector, `render/openmetrics.py`).

Everything that comes from the clouds or the manifests (ids, session states, descriptions,
ignore reasons) is escaped: control characters shown as `\\uXXXX` in text, markdown- and
HTML-escaped in markdown. Secrets are never rendered, only "(sensitive)" with a verdict. The
coverage names the scope it counts; text and markdown end with the `reconciler generate` command
that takes the unmanaged objects, when there are any.

Session health is shown by session (`DriftReport.sessions`): a linked session whose ends are both
managed is one row with each end's state (named by its cloud), time in state, and the routes
received against the route limit, with a "prefix-limit headroom" warning near the limit. JSON
keeps the per-object `health` list as it was and adds `sessions`.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from reconciler.clouds import KINDS
from reconciler.drift import BgpSession, DriftField, DriftItem, DriftReport, HealthItem, IgnoredEntry
from reconciler.render.markdown import GITHUB_COMMENT_LIMIT, code_block, comment_size, md_code, md_escape
from reconciler.render.text import escape_invisible, format_value

SENSITIVE = "(sensitive)"
NOT_DECLARED = "(not declared)"
# Stable first line of the markdown report, so a scheduled job can find the issue it opened before.
MARKDOWN_MARKER = "<!-- reconciler:drift-report -->"
TIME_NOT_REPORTED = "time in state: not reported by the cloud API"
END_TIME_NOT_REPORTED = "time in state not reported"
# What the suggested `reconciler generate` command does, and what it does not.
GENERATE_NOTE = (
    "generate manifests for them (and for every other BGP object on their routers and devices: keep only what is new)"
)

# compare_secret(desired, live) speaks from the plan's side: "added" means apply would add a key.
_SECRET_WORDS = {
    "added": "no key is set live, the manifests set one",
    "removed": "a key is set live, the manifests set none",
    "changed": "the live key differs from the manifests",
}


def _secret_words(f: DriftField) -> str:
    return _SECRET_WORDS.get(f.secret_change.value if f.secret_change else "", "differs")


def _desired_text(item: DriftItem, f: DriftField) -> str:
    return format_value(f.desired) if item.declared else NOT_DECLARED


def _field_text(item: DriftItem, f: DriftField) -> str:
    name = escape_invisible(f.name)
    if f.sensitive:
        return f"~ {name}: {SENSITIVE} {_secret_words(f)}"
    live, state = format_value(f.live), format_value(f.state)
    return f"~ {name}: live {live}, last applied {state}, manifests {_desired_text(item, f)}"


def _who(item: DriftItem) -> str:
    cloud_id = escape_invisible(item.cloud_id)
    if item.address and item.category != "unmanaged":
        return f"{item.address} ({cloud_id})"
    return f"{item.kind} {cloud_id}"


def _unmanaged_summary(item: DriftItem) -> str:
    info = KINDS.get(item.kind)
    keys = info.summary_fields if info is not None else ()
    return ", ".join(f"{k} {format_value(item.attrs[k])}" for k in keys if k in item.attrs)


def duration(seconds: int) -> str:
    """`45s`, `12m`, `3h 12m`, `4d 3h`: how long a session has been in its state."""
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{minutes}m"
    if seconds < 86400:
        return f"{hours}h {minutes % 60}m"
    return f"{days}d {hours % 24}h"


def _time_in_state(h: HealthItem) -> str:
    """`for 3h 12m (since 2025-01-31T09:30:00Z)`, `since ...`, or empty when the API does not tell."""
    since = escape_invisible(h.since) if h.since else ""
    if h.seconds_in_state is not None:
        return f"for {duration(h.seconds_in_state)} (since {since})"
    return f"since {since}" if since else ""


def _end_name(h: HealthItem) -> str:
    """`Example end`: an end of a linked session, named by its cloud (the kind when unknown)."""
    return f"{h.cloud or h.kind} end"


def _routes_text(session: BgpSession) -> str:
    """`received routes 90 of 110 allowed (82%)`, or empty when no end reports both."""
    received, limit, percent = session.received_routes, session.route_limit, session.route_usage_percent
    if received is None or limit is None:
        return ""
    return f"received routes {received} of {limit} allowed ({percent}%)"


def _ignore_note(reason: str, expires: str | None) -> str:
    note = escape_invisible(" ".join(reason.split())) or "accepted"
    return f"{note} (until {escape_invisible(expires)})" if expires else note


def _hints(report: DriftReport) -> list[str]:
    """What to do about each kind of finding present, one sentence each."""
    hints = []
    if report.count("changed") or report.count("missing"):
        hints.append(
            "to restore the manifests' configuration, review `reconciler plan` and run `reconciler apply`; "
            "to accept a changed field instead, list it in the resource's `metadata.driftIgnore`"
        )
    if report.count("unmanaged"):
        hints.append(
            "for an unmanaged object: declare it (apply adopts an object that matches), delete it in the cloud, "
            "or accept it with `metadata.driftIgnore: [{unmanaged: <cloud id>, reason: ...}]`"
        )
    if report.health_findings:
        hints.append(
            "an unhealthy session is not configuration drift: check the other end of the session "
            "(device, cloud side, keys) and the provisioning status"
        )
    return hints


# ---------------------------------------------------------------------------------------------
# Text


def _ignored_text(entry: IgnoredEntry) -> str:
    item, f = entry
    if f is None:
        where = f" on {escape_invisible(item.scope)}" if item.scope else ""
        return f"unmanaged  {_who(item)}{where}: {_ignore_note(item.ignore_reason, item.ignore_expires)}"
    return f"changed    {_who(item)}: {_field_text(item, f)}: {_ignore_note(f.ignore_reason, f.ignore_expires)}"


def _end_text(h: HealthItem, no_time: str = "") -> str:
    """`Established for 3m (since ...)`, or `no_time` when the API does not tell, then the
    verdict's detail when there is one."""
    state = escape_invisible(h.session) if h.session else "no state reported"
    time = _time_in_state(h) or no_time
    detail = f" - {escape_invisible(h.detail)}" if h.detail else ""
    return f"{state}{' ' + time if time else ''}{detail}"


def _session_lines(session: BgpSession) -> list[str]:
    """One row per session (a linked one with every end, by cloud), then its headroom warning."""
    mark = "ok" if session.healthy else "!!"
    if session.linked:
        ends = "; ".join(
            f"{_end_name(h)} {_end_text(h, f'({END_TIME_NOT_REPORTED})')} [{h.address}]" for h in session.ends
        )
        row = f"  {mark} {escape_invisible(session.name)}: {ends}"
    else:
        (h,) = session.ends
        row = f"  {mark} {h.address}: {_end_text(h)}"
    routes = _routes_text(session)
    lines = [f"{row}; {routes}" if routes else row]
    if session.headroom_warning:
        lines.append(f"       warning: {escape_invisible(session.headroom_warning)}")
    return lines


def render_text(report: DriftReport, *, verbose: bool = False) -> str:
    lines: list[str] = []
    for item in report.findings:
        if item.category == "changed":
            lines.append(f"changed    {_who(item)}: {item.detail}")
            lines += [f"    {_field_text(item, f)}" for f in item.fields if not f.ignored]
        elif item.category == "missing":
            lines.append(f"missing    {_who(item)}: {item.detail}")
        else:
            looks = _unmanaged_summary(item)
            looks = f": {looks}" if looks else ""
            lines.append(f"unmanaged  {_who(item)} on {escape_invisible(item.scope)}{looks}; {item.detail}")
    if report.health:
        lines += ["", "Session health:"]
        sessions = report.sessions
        for session in sessions:
            lines += _session_lines(session)
        if any(s.ends[0].since is None for s in sessions if not s.linked):
            lines.append(f"  ({TIME_NOT_REPORTED})")
    if report.ignored:
        if verbose:
            lines += ["", "Ignored (accepted drift, metadata.driftIgnore):"]
            lines += [f"  {_ignored_text(entry)}" for entry in report.ignored]
        else:
            lines += ["", f"{len(report.ignored)} accepted (metadata.driftIgnore) not shown; -v lists them."]
    if report.warnings:
        lines.append("")
        lines += [f"warning: {escape_invisible(w)}" for w in report.warnings]
    if report.errors:
        lines.append("")
        lines += [f"error: {escape_invisible(e)}" for e in report.errors]
    lines += ["", report.summary_line()]
    lines += [f"Hint: {hint}." for hint in _hints(report)]
    if report.generate_command:
        lines += ["", f"To bring the unmanaged objects under management, {GENERATE_NOTE}:"]
        lines.append(f"  {escape_invisible(report.generate_command)}")
    return "\n".join(lines).lstrip("\n") + "\n"


# ---------------------------------------------------------------------------------------------
# Markdown


def _cell_code(text: str) -> str:
    """An inline code span for a table cell: GFM splits cells at `|` even inside code spans."""
    return md_code(text).replace("|", "\\|")


def _md_end_cells(h: HealthItem) -> tuple[str, str]:
    """An end's session state and its time in state, as table cells."""
    session = md_escape(h.session) if h.session else "_none reported_"
    if h.seconds_in_state is not None:
        time = f"{duration(h.seconds_in_state)} (since {md_escape(h.since or '')})"
    else:
        time = f"since {md_escape(h.since)}" if h.since else "_not reported_"
    return session, time


def _md_session_row(s: BgpSession) -> str:
    """One row per session; a linked session lists each end on its own line of each cell."""
    if s.linked:
        addresses = (f"{md_escape(_end_name(h))}: {_cell_code(h.address)}" for h in s.ends)
        who = "<br>".join([_cell_code(s.name), *addresses])
        cells = [_md_end_cells(h) for h in s.ends]
        session = "<br>".join(f"{md_escape(_end_name(h))}: {c[0]}" for h, c in zip(s.ends, cells, strict=True))
        time = "<br>".join(f"{md_escape(_end_name(h))}: {c[1]}" for h, c in zip(s.ends, cells, strict=True))
        provisioning = "<br>".join(f"{md_escape(_end_name(h))}: {md_escape(h.provisioning)}" for h in s.ends)
    else:
        (h,) = s.ends
        who, provisioning = _cell_code(h.address), md_escape(h.provisioning)
        session, time = _md_end_cells(h)
    routes = md_escape(_routes_text(s).removeprefix("received routes ")) or "_not reported_"
    verdict = ":white_check_mark:" if s.healthy else ":warning:"
    notes = [f"{md_escape(_end_name(h)) + ': ' if s.linked else ''}{md_escape(h.detail)}" for h in s.ends if h.detail]
    if s.headroom_warning:
        notes.append(f"**{md_escape(s.headroom_warning)}**")
    note = f" {'<br>'.join(notes)}" if notes else ""
    return f"| {who} | {session} | {time} | {provisioning} | {routes} | {verdict}{note} |"


def _md_ignored(entry: IgnoredEntry) -> str:
    item, f = entry
    if f is None:
        note = md_escape(_ignore_note(item.ignore_reason, item.ignore_expires))
        return f"- unmanaged {item.kind} {md_code(item.cloud_id)} on {md_escape(item.scope)}: {note}"
    note = md_escape(_ignore_note(f.ignore_reason, f.ignore_expires))
    return f"- {md_code(item.address or item.cloud_id)} field {md_code(f.name)}: {note}"


class _Section(NamedTuple):
    """A part of the markdown report: `intro` lines, then `rows` (cut to fit), then `outro` lines."""

    intro: tuple[str, ...]
    rows: tuple[str, ...]
    outro: tuple[str, ...] = ("",)


def _table(title: str, header: str, rows: list[str], note: str = "") -> _Section:
    columns = header.count("|") - 1
    intro = (title, "", *((note, "") if note else ()), header, "|" + "---|" * columns)
    return _Section(intro, tuple(rows))


def _changed_rows(changed: list[DriftItem]) -> list[str]:
    rows = []
    for item in changed:
        where = _cell_code(item.address or "")
        for f in item.fields:
            if f.ignored:
                continue
            if f.sensitive:
                rows.append(f"| {where} | {f.name} | {SENSITIVE} {_secret_words(f)} | | |")
            else:
                cells = (format_value(f.live), format_value(f.state), _desired_text(item, f))
                rows.append(f"| {where} | {f.name} | {' | '.join(map(md_escape, cells))} |")
    return rows


def _sections(report: DriftReport) -> tuple[list[_Section], list[_Section]]:
    """The findings sections, then the collapsed ones (healthy sessions, ignored items); most
    important first, which is also the order in which they get room when the report is too long."""
    changed = [i for i in report.findings if i.category == "changed"]
    missing = [i for i in report.findings if i.category == "missing"]
    unmanaged = [i for i in report.findings if i.category == "unmanaged"]
    sessions = report.sessions
    unhealthy = [s for s in sessions if not s.healthy]
    healthy = [s for s in sessions if s.healthy]
    health_header = "| Session | State | Time in state | Provisioning | Routes received | |"
    findings: list[_Section] = []
    if changed:
        header = "| Resource | Field | Live | Last applied | Manifests |"
        findings.append(_table("### Changed outside reconciler", header, _changed_rows(changed)))
    if missing:
        rows = [f"- {md_code(i.address or '')} ({md_code(i.cloud_id)}): {md_escape(i.detail)}" for i in missing]
        findings.append(_Section(("### Missing (deleted outside reconciler)", ""), tuple(rows)))
    if unmanaged:
        rows = [
            f"| {i.kind} | {_cell_code(i.cloud_id)} | {md_escape(i.scope)} | {md_escape(_unmanaged_summary(i))} "
            f"| {md_escape(i.detail)} |"
            for i in unmanaged
        ]
        header = "| Kind | Cloud id | Scope | Looks like | Note |"
        findings.append(_table("### Unmanaged objects in scope", header, rows))
    if report.health:
        title = f"### BGP sessions ({len(unhealthy)} of {len(sessions)} unhealthy)"
        note = "_`--require-established`: an unhealthy session counts as drift._" if report.require_established else ""
        if unhealthy:
            findings.append(_table(title, health_header, [_md_session_row(s) for s in unhealthy], note))
        else:
            findings.append(_Section((title, "", "No health findings."), ()))
    collapsed: list[_Section] = []
    if healthy:
        summary = f"<details><summary>Healthy sessions ({len(healthy)})</summary>"
        table = _table(summary, health_header, [_md_session_row(s) for s in healthy])
        collapsed.append(table._replace(outro=("", "</details>", "")))
    if report.ignored:
        summary = f"<details><summary>Ignored as accepted drift ({len(report.ignored)})</summary>"
        rows = [_md_ignored(e) for e in report.ignored]
        collapsed.append(_Section((summary, ""), tuple(rows), ("", "</details>", "")))
    return findings, collapsed


def _more_line(left_out: int) -> str:
    # After a blank line, so that it neither joins a table nor continues the last list item.
    return f"\n_… and {left_out} more not shown here: `reconciler drift --format json` lists everything._"


def _size(lines: list[str] | tuple[str, ...]) -> int:
    return comment_size("\n".join(lines)) + 1 if lines else 0


def _fit(sections: list[_Section], room: int) -> tuple[list[str], int]:
    """Each section with as many rows as fit in `room`, in order; returns the lines and the room left."""
    out: list[str] = []
    for section in sections:
        rows: list[str] = []
        for row in section.rows:
            if _size([row]) > room:
                break
            rows.append(row)
            room -= _size([row])
        more = [_more_line(len(section.rows) - len(rows))] if len(rows) < len(section.rows) else []
        out += [*section.intro, *rows, *more, *section.outro]
    return out, room


def _diagram(report: DriftReport, budget: int) -> list[str]:
    """The findings' part of the topology as a Mermaid diagram in at most `budget` characters."""
    title = ["### Affected sessions", ""]
    affected = report.affected_addresses
    if budget <= _size(title) or not report.topology or not affected:
        return []
    from reconciler.graph.mermaid import mermaid_block_for_drift  # only a report with findings draws

    block = mermaid_block_for_drift(report.topology, affected, max_chars=budget - _size(title) - 1)
    return [*title, *block.split("\n"), ""] if block else []


def render_markdown(report: DriftReport, *, max_chars: int = GITHUB_COMMENT_LIMIT) -> str:
    """A tracking-issue body of at most `max_chars` characters (GitHub's limit by default).

    Summary and coverage first; then changed, missing, unmanaged, unhealthy sessions; how to fix;
    healthy sessions and ignored items (collapsed); warnings; provenance. When it would be too long,
    the later sections lose their last rows first, and each says how many it left out.
    """
    head = [
        MARKDOWN_MARKER,
        "## reconciler drift report",
        "",
        f"**{report.headline}:** {' · '.join(report.counts())}",
        "",
        f"**Coverage:** {report.coverage}; {report.scope}",
        "",
    ]
    hints = _hints(report)
    fix = ["### How to fix", "", *(f"- {hint[0].upper()}{hint[1:]}." for hint in hints), ""] if hints else []
    warnings = ["> [!IMPORTANT]", "> **Warnings**", ">", *(f"> - {md_escape(w)}" for w in report.warnings), ""]
    errors = ["> [!CAUTION]", "> **Errors**", ">", *(f"> - {md_escape(e)}" for e in report.errors), ""]
    head += errors if report.errors else []
    lineage = md_code(report.lineage) if report.lineage else "none"
    footer = [
        f"<sub>reconciler {md_code(report.tool_version)} · drift format {md_code(report.format_version)} · "
        f"state lineage {lineage} serial {report.serial} · {md_code(report.created_at)}</sub>"
    ]
    generate = []
    if report.generate_command:
        note = f"{GENERATE_NOTE[0].upper()}{GENERATE_NOTE[1:]}:"
        generate = ["", "### Bring the unmanaged objects under management", "", note, ""]
        generate += code_block([escape_invisible(report.generate_command)], "sh").split("\n")
    findings, collapsed = _sections(report)
    fixed = [*head, *fix, *(warnings if report.warnings else []), *footer, *generate]
    # Every section keeps its frame (title, table header, closing tags) and room for a "more" line.
    frames = sum(_size(s.intro) + _size(s.outro) + _size([_more_line(len(s.rows))]) for s in findings + collapsed)
    room = max_chars - _size(fixed) - frames
    # The diagram gives way first: never more than a quarter of the room the findings have.
    diagram = _diagram(report, room // 4)
    room -= _size(diagram)
    shown, room = _fit(findings, room)
    shown_collapsed, _ = _fit(collapsed, room)
    # The generate command comes last, so the issue ends with what to run.
    parts = [
        *head,
        *shown,
        *diagram,
        *fix,
        *shown_collapsed,
        *(warnings if report.warnings else []),
        *footer,
        *generate,
    ]
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------------------
# JSON


def _field_dict(f: DriftField) -> dict[str, Any]:
    data: dict[str, Any] = {"name": f.name, "sensitive": f.sensitive, "ignored": f.ignored}
    if f.sensitive:
        data["secret_change"] = f.secret_change.value if f.secret_change else None
    else:
        data.update(live=f.live, state=f.state, desired=f.desired)
    if f.ignored:
        data["ignore_reason"] = f.ignore_reason
        data["ignore_expires"] = f.ignore_expires
    return data


def _item_dict(i: DriftItem) -> dict[str, Any]:
    return {
        "category": i.category,
        "kind": i.kind,
        "cloud_id": i.cloud_id,
        "address": i.address,
        "declared": i.declared,
        "region": i.region,
        "scope": i.scope,
        "detail": i.detail,
        "fields": [_field_dict(f) for f in i.fields],
        "attrs": dict(i.attrs),
        "ignored": i.ignored,
        "ignore_reason": i.ignore_reason,
        "ignore_expires": i.ignore_expires,
    }


def _health_dict(h: HealthItem) -> dict[str, Any]:
    return {
        "address": h.address,
        "kind": h.kind,
        "cloud_id": h.cloud_id,
        "session": h.session,
        "since": h.since,
        "seconds_in_state": h.seconds_in_state,
        "provisioning": h.provisioning,
        "healthy": h.healthy,
        "detail": h.detail,
    }


def _end_dict(h: HealthItem) -> dict[str, Any]:
    """One end of a session: what `health` says of it, with its cloud and routes."""
    return {
        **_health_dict(h),
        "cloud": h.cloud,
        "received_routes": h.received_routes,
        "route_limit": h.route_limit,
    }


def _session_dict(s: BgpSession) -> dict[str, Any]:
    return {
        "name": s.name,
        "link": s.link,
        "healthy": s.healthy,
        "ends": [_end_dict(h) for h in s.ends],
        "received_routes": s.received_routes,
        "route_limit": s.route_limit,
        "route_usage_percent": s.route_usage_percent,
        "headroom_warning": s.headroom_warning,
    }


def drift_to_dict(report: DriftReport) -> dict[str, Any]:
    return {
        "format_version": report.format_version,
        "tool_version": report.tool_version,
        "created_at": report.created_at,
        "lineage": report.lineage,
        "serial": report.serial,
        "drifted": report.drifted,
        "exit_code": report.exit_code(),
        "summary": {
            "changed": report.count("changed"),
            "missing": report.count("missing"),
            "unmanaged": report.count("unmanaged"),
            "unhealthy": len(report.health_findings),
            "unhealthy_sessions": len(report.unhealthy_sessions),
            "ignored": len(report.ignored),
            "managed_in_scope": report.managed_in_scope,
            "total_in_scope": report.total_in_scope,
            "coverage_percent": report.coverage_percent,
            "coverage": report.coverage,
            "scope": report.unmanaged_level.value,
        },
        "generate_command": report.generate_command,
        "items": [_item_dict(i) for i in report.items],
        "health": [_health_dict(h) for h in report.health],
        "sessions": [_session_dict(s) for s in report.sessions],
        "warnings": list(report.warnings),
        "errors": list(report.errors),
        "api_calls": {k: dict(v) for k, v in report.api_calls.items()},
        "require_established": report.require_established,
    }


def render_drift(report: DriftReport, fmt: str = "text", *, verbose: bool = False) -> str:
    if fmt == "openmetrics":
        from reconciler.render.openmetrics import render_openmetrics

        return render_openmetrics(report)
    if fmt == "json":
        return json.dumps(drift_to_dict(report), indent=2, sort_keys=True) + "\n"
    if fmt == "markdown":
        return render_markdown(report)
    return render_text(report, verbose=verbose)
