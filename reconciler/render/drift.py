"""Render a drift report: text (terminal / CI log), markdown (a tracking issue), json (versioned)."""

from __future__ import annotations

import json
from typing import Any

from reconciler.drift import DriftField, DriftItem, DriftReport, HealthItem
from reconciler.render.markdown import md_escape
from reconciler.render.text import format_value

SENSITIVE = "(sensitive)"


# compare_secret(desired, live) speaks from the plan's side: "added" means apply would add a key.
_SECRET_WORDS = {
    "added": "no key is set live, the manifests set one",
    "removed": "a key is set live, the manifests set none",
    "changed": "the live key differs from the manifests",
}


def _field_text(f: DriftField) -> str:
    if f.sensitive:
        verdict = _SECRET_WORDS.get(f.secret_change.value if f.secret_change else "", "differs")
        return f"~ {f.name}: {SENSITIVE} {verdict}"
    live, state, desired = (format_value(v) for v in (f.live, f.state, f.desired))
    return f"~ {f.name}: live {live}, last applied {state}, manifests {desired}"


def _who(item: DriftItem) -> str:
    if item.address:
        return f"{item.address} ({item.cloud_id})"
    return f"{item.kind} {item.cloud_id}"


def _unmanaged_summary(item: DriftItem) -> str:
    keys = ("peerIpAddress", "name", "peerAsn", "localIpAddress", "remoteAsn")
    shown = ", ".join(f"{k} {format_value(item.attrs[k])}" for k in keys if k in item.attrs)
    return shown


def render_text(report: DriftReport, *, verbose: bool = False) -> str:
    lines: list[str] = []
    for item in report.findings:
        if item.category == "changed":
            lines.append(f"changed    {_who(item)}: {item.detail}")
            lines += [f"    {_field_text(f)}" for f in item.fields if not f.ignored]
        elif item.category == "missing":
            lines.append(f"missing    {_who(item)}: {item.detail}")
        else:
            lines.append(f"unmanaged  {_who(item)} on {item.scope}: {_unmanaged_summary(item)}; {item.detail}")
    if report.health:
        lines.append("")
        lines.append("Session health:")
        for h in report.health:
            mark = "ok" if h.healthy else "!!"
            since = f" since {h.since}" if h.since else ""
            detail = f" ({h.detail})" if h.detail else ""
            lines.append(f"  {mark} {h.address}: {h.session or 'unknown'}{since}{detail}")
    if verbose and report.ignored:
        lines.append("")
        lines.append("Ignored (accepted drift, metadata.driftIgnore):")
        for entry in report.ignored:
            if isinstance(entry, DriftItem):
                lines.append(f"  {entry.category} {_who(entry)}: {entry.ignore_reason or 'accepted'}")
            else:
                lines.append(f"  {_field_text(entry)} ({entry.ignore_reason or 'accepted'})")
    for warning in report.warnings:
        lines.append(f"warning: {warning}")
    lines.append("")
    lines.append(report.summary_line())
    return "\n".join(lines).lstrip("\n") + "\n"


def render_markdown(report: DriftReport) -> str:
    out = ["## reconciler drift report", "", f"**{report.summary_line()}**", ""]
    changed = [i for i in report.findings if i.category == "changed"]
    missing = [i for i in report.findings if i.category == "missing"]
    unmanaged = [i for i in report.findings if i.category == "unmanaged"]
    if changed:
        out += ["### Changed outside reconciler", "", "| Resource | Field | Live | Last applied | Manifests |"]
        out.append("|---|---|---|---|---|")
        for item in changed:
            for f in item.fields:
                if f.ignored:
                    continue
                if f.sensitive:
                    words = _SECRET_WORDS.get(f.secret_change.value if f.secret_change else "", "differs")
                    out.append(f"| `{item.address}` | {f.name} | {SENSITIVE} {words} | | |")
                else:
                    cells = " | ".join(md_escape(format_value(v)) for v in (f.live, f.state, f.desired))
                    out.append(f"| `{item.address}` | {f.name} | {cells} |")
        out.append("")
    if missing:
        out += ["### Missing (deleted outside reconciler)", ""]
        out += [f"- `{i.address}` (`{i.cloud_id}`): {md_escape(i.detail)}" for i in missing]
        out.append("")
    if unmanaged:
        out += ["### Unmanaged objects in scope", "", "| Kind | Cloud id | Scope | Looks like | Note |"]
        out.append("|---|---|---|---|---|")
        out += [
            f"| {i.kind} | `{i.cloud_id}` | {md_escape(i.scope)} | {md_escape(_unmanaged_summary(i))} "
            f"| {md_escape(i.detail)} |"
            for i in unmanaged
        ]
        out.append("")
    if report.health:
        out += ["### BGP session health", "", "| Resource | Session | Since | Provisioning | |"]
        out.append("|---|---|---|---|---|")
        out += [
            f"| `{h.address}` | {h.session or 'unknown'} | {h.since or ''} | {h.provisioning} | "
            f"{':white_check_mark:' if h.healthy else ':warning: ' + md_escape(h.detail)} |"
            for h in report.health
        ]
        out.append("")
    if report.ignored:
        out += [f"<details><summary>Ignored as accepted drift ({len(report.ignored)})</summary>", ""]
        for entry in report.ignored:
            if isinstance(entry, DriftItem):
                out.append(f"- {entry.category} `{entry.address or entry.cloud_id}`: {md_escape(entry.ignore_reason)}")
            else:
                out.append(f"- field `{entry.name}`: {md_escape(entry.ignore_reason or 'accepted')}")
        out += ["", "</details>", ""]
    out.append(
        f"_reconciler {report.tool_version}, state serial {report.serial}, lineage `{report.lineage}`, "
        f"{report.created_at}_"
    )
    return "\n".join(out) + "\n"


def _field_dict(f: DriftField) -> dict[str, Any]:
    data: dict[str, Any] = {"name": f.name, "sensitive": f.sensitive, "ignored": f.ignored}
    if f.sensitive:
        data["secret_change"] = f.secret_change.value if f.secret_change else None
    else:
        data.update(live=f.live, state=f.state, desired=f.desired)
    if f.ignored:
        data["ignore_reason"] = f.ignore_reason
    return data


def _item_dict(i: DriftItem) -> dict[str, Any]:
    return {
        "category": i.category,
        "kind": i.kind,
        "cloud_id": i.cloud_id,
        "address": i.address,
        "region": i.region,
        "scope": i.scope,
        "detail": i.detail,
        "fields": [_field_dict(f) for f in i.fields],
        "attrs": dict(i.attrs),
        "ignored": i.ignored,
        "ignore_reason": i.ignore_reason,
    }


def _health_dict(h: HealthItem) -> dict[str, Any]:
    return {
        "address": h.address,
        "kind": h.kind,
        "cloud_id": h.cloud_id,
        "session": h.session,
        "since": h.since,
        "provisioning": h.provisioning,
        "healthy": h.healthy,
        "detail": h.detail,
    }


def drift_to_dict(report: DriftReport) -> dict[str, Any]:
    return {
        "format_version": report.format_version,
        "tool_version": report.tool_version,
        "created_at": report.created_at,
        "lineage": report.lineage,
        "serial": report.serial,
        "drifted": report.drifted,
        "summary": {
            "changed": report.count("changed"),
            "missing": report.count("missing"),
            "unmanaged": report.count("unmanaged"),
            "unhealthy": len(report.health_findings),
            "ignored": len(report.ignored),
            "managed_in_scope": report.managed_in_scope,
            "total_in_scope": report.total_in_scope,
            "coverage": report.coverage,
        },
        "items": [_item_dict(i) for i in report.items],
        "health": [_health_dict(h) for h in report.health],
        "warnings": list(report.warnings),
        "api_calls": {k: dict(v) for k, v in report.api_calls.items()},
        "require_established": report.require_established,
    }


def render_drift(report: DriftReport, fmt: str = "text", *, verbose: bool = False) -> str:
    if fmt == "json":
        return json.dumps(drift_to_dict(report), indent=2, sort_keys=True) + "\n"
    if fmt == "markdown":
        return render_markdown(report)
    return render_text(report, verbose=verbose)
