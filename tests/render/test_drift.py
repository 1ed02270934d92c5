"""Rendering a drift report: text, markdown (a tracking issue) and JSON (schema-checked)."""

from __future__ import annotations

import copy
import json
import shlex
from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from markdown_it import MarkdownIt

from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.drift import DriftField, DriftItem, DriftReport, HealthItem
from reconciler.model import DriftIgnore
from reconciler.package_data import load_schema
from reconciler.plan.model import SecretChange
from reconciler.render.drift import MARKDOWN_MARKER, drift_to_dict, duration, render_drift
from tests.drift.test_compare import (
    FAKE_KEY,
    equinix,
    group,
    live_of,
    live_peer,
    managed_trio,
    peer,
    run,
    state_of,
)

LINEAGE = "6f1c2a9e-3b7d-4c55-9a2e-1d2f3a4b5c6d"
VBR = "vbr-t4nexample0000000001"
EQ_UUID = "632459d6-27e0-406c-8e88-a64f198ac622"
FORMATS = ("text", "markdown", "json")
GENERATE_COMMAND = f"reconciler generate --out generated --alibaba ap-southeast-1:{VBR}"
MANIFESTS_SCOPE = "scope: manifests (the routers and connections the manifests name)"


def sample_report(**over: Any) -> DriftReport:
    """Every category, an ignored field and an ignored object, all health verdicts, a warning."""
    group_item = DriftItem(
        "changed",
        ALIBABA_GROUP,
        "bgpg-1",
        f"{ALIBABA_GROUP}/sg-vbr1",
        "ap-southeast-1",
        fields=(
            DriftField("peerAsn", live=65099, state=65010, desired=65010),
            DriftField(
                "description",
                live="edited by NOC",
                state="Singapore VBR 1",
                desired="Singapore VBR 1",
                ignored=True,
                ignore_reason="NOC keeps notes here",
                ignore_expires="2030-01-31",
            ),
            DriftField("authKey", sensitive=True, secret_change=SecretChange.CHANGED),
        ),
        detail="changed outside reconciler",
        ignore_reason="NOC keeps notes here",
    )
    removed_item = DriftItem(
        "changed",
        EQUINIX_PEERING,
        "5a0b1c2d-0000-4000-8000-000000000001",
        f"{EQUINIX_PEERING}/old-ne",
        None,
        fields=(DriftField("remoteAsn", live=45105, state=45104, desired=None),),
        detail="changed outside reconciler (no longer in the manifests: apply will forget it, "
        "as the API has no delete)",
        declared=False,
    )
    missing_item = DriftItem(
        "missing",
        ALIBABA_PEER,
        "bgp-2",
        f"{ALIBABA_PEER}/sg-vbr1-peer2",
        "ap-southeast-1",
        detail="deleted outside reconciler: apply will create it again",
    )
    rogue = DriftItem(
        "unmanaged",
        ALIBABA_PEER,
        "bgp-rogue",
        None,
        "ap-southeast-1",
        scope=f"VBR {VBR}",
        attrs={"bgpGroupId": "bgpg-1", "peerIpAddress": "10.0.0.9", "enableBfd": False},
        detail="not declared in any manifest",
    )
    adoptable = DriftItem(
        "unmanaged",
        ALIBABA_GROUP,
        "bgpg-2",
        f"{ALIBABA_GROUP}/sg-vbr2",
        "ap-southeast-1",
        scope=f"VBR {VBR}",
        attrs={"name": "sg-vbr2", "peerAsn": 65010, "virtualBorderRouterId": VBR},
        detail=f"matches {ALIBABA_GROUP}/sg-vbr2 in the manifests: apply will adopt it",
    )
    lab = DriftItem(
        "unmanaged",
        ALIBABA_PEER,
        "bgp-lab",
        None,
        "ap-southeast-1",
        scope=f"VBR {VBR}",
        attrs={"peerIpAddress": "10.0.0.13"},
        detail="not declared in any manifest",
        ignored=True,
        ignore_reason="lab peer, removed after the trial",
        ignore_expires="2030-06-30",
    )
    health = (
        HealthItem(f"{ALIBABA_PEER}/sg-vbr1-peer1", ALIBABA_PEER, "bgp-1", "Established", None, "Available", True),
        HealthItem(
            f"{ALIBABA_PEER}/sg-vbr1-peer3",
            ALIBABA_PEER,
            "bgp-3",
            "Down",
            "2025-01-31T08:48:00Z",
            "Available",
            False,
            "BGP session is Down, not Established",
            seconds_in_state=3 * 3600 + 12 * 60,
        ),
        HealthItem(
            f"{ALIBABA_PEER}/sg-vbr1-peer4",
            ALIBABA_PEER,
            "bgp-4",
            None,
            None,
            "Pending",
            True,
            "still provisioning (Pending): not judged yet",
        ),
        HealthItem(
            f"{EQUINIX_PEERING}/sg-ne1",
            EQUINIX_PEERING,
            EQ_UUID,
            "Idle",
            None,
            "PROVISIONED",
            False,
            "BGP session is Idle, not Established",
        ),
    )
    fields: dict[str, Any] = {
        "items": (group_item, removed_item, missing_item, rogue, adoptable, lab),
        "health": health,
        "managed_in_scope": 12,
        "total_in_scope": 14,
        "lineage": LINEAGE,
        "serial": 7,
        "created_at": "2025-01-31T12:00:00Z",
        "tool_version": "0.1.0",
        "api_calls": {"alibaba": {"DescribeBgpGroups": 1, "DescribeBgpPeers": 2}, "equinix": {"GET /ne/v1/bgp": 1}},
        "warnings": (
            "AlibabaBgpPeer/sg-vbr1-peer5: an apply is running or was interrupted during create; "
            "the next apply resolves it",
        ),
        "generate_command": GENERATE_COMMAND,
    }
    fields.update(over)
    return DriftReport(**fields)


def clean_report() -> DriftReport:
    return sample_report(
        items=(),
        health=sample_report().health[:1],
        managed_in_scope=3,
        total_in_scope=3,
        warnings=(),
        generate_command=None,
    )


@pytest.fixture(scope="module")
def drift_validator() -> Draft202012Validator:
    schema = load_schema("drift.schema.json")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _closed(schema: Any) -> Any:
    """The schema with every described object closed (additionalProperties: false), so output keys the
    schema does not describe fail validation."""
    if isinstance(schema, dict):
        out = {k: _closed(v) for k, v in schema.items()}
        if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_closed(v) for v in schema]
    return schema


@pytest.fixture(scope="module")
def strict_validator() -> Draft202012Validator:
    return Draft202012Validator(_closed(copy.deepcopy(load_schema("drift.schema.json"))))


def _errors(validator: Draft202012Validator, document: Any) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(document)]


def _all_reports() -> list[DriftReport]:
    """The hand-built reports plus reports made by `detect` from plain data."""
    desired, state, live = managed_trio(key="wanted-key-1")
    drifted_live = [
        live_of(desired[0], "eq-1", key=FAKE_KEY, session="Idle"),
        live_of(desired[1], "bgpg-1", peerAsn=65099),
        live_peer(peer("x", ip="10.0.0.9"), "bgp-rogue", "bgpg-1"),
    ]
    return [
        sample_report(),
        clean_report(),
        sample_report(require_established=True, lineage=None, serial=0),
        run(desired, state, live),
        run(desired, state, drifted_live, require_established=True),
    ]


# ---------------------------------------------------------------------------------------------
# Text


def test_text_lists_findings_health_and_summary(snapshot: Callable[[str, str], None]) -> None:
    text = render_drift(sample_report(), "text")
    lines = text.splitlines()
    assert lines[:7] == [
        "changed    AlibabaBgpGroup/sg-vbr1 (bgpg-1): changed outside reconciler",
        "    ~ peerAsn: live 65099, last applied 65010, manifests 65010",
        "    ~ authKey: (sensitive) the live key differs from the manifests",
        "changed    EquinixBgpPeering/old-ne (5a0b1c2d-0000-4000-8000-000000000001): changed outside reconciler "
        "(no longer in the manifests: apply will forget it, as the API has no delete)",
        "    ~ remoteAsn: live 45105, last applied 45104, manifests (not declared)",
        "missing    AlibabaBgpPeer/sg-vbr1-peer2 (bgp-2): deleted outside reconciler: apply will create it again",
        f'unmanaged  AlibabaBgpPeer bgp-rogue on VBR {VBR}: peerIpAddress "10.0.0.9"; not declared in any manifest',
    ]
    assert (
        "  !! AlibabaBgpPeer/sg-vbr1-peer3: Down for 3h 12m (since 2025-01-31T08:48:00Z) - "
        "BGP session is Down, not Established" in lines
    )
    assert (
        "  ok AlibabaBgpPeer/sg-vbr1-peer4: no state reported - still provisioning (Pending): not judged yet" in lines
    )
    assert "  ok AlibabaBgpPeer/sg-vbr1-peer1: Established" in lines
    assert "  (time in state: not reported by the cloud API)" in lines
    assert "description" not in text  # ignored field: only with -v
    assert "bgp-lab" not in text
    assert "2 accepted (metadata.driftIgnore) not shown; -v lists them." in lines
    assert (
        "warning: AlibabaBgpPeer/sg-vbr1-peer5: an apply is running or was interrupted during create; the next "
        "apply resolves it" in lines
    )
    assert lines[-7] == (
        "Drift found: 2 changed, 1 missing, 2 unmanaged, 2 unhealthy sessions, 2 ignored. "
        f"12 of 14 BGP objects in scope are managed (86%); {MANIFESTS_SCOPE}."
    )
    assert lines[-6].startswith("Hint: to restore the manifests' configuration, review `reconciler plan`")
    assert lines[-5].startswith("Hint: for an unmanaged object: declare it")
    assert lines[-4].startswith("Hint: an unhealthy session is not configuration drift")
    assert lines[-2] == (
        "To bring the unmanaged objects under management, generate manifests for them (and for every other "
        "BGP object on their routers and devices: keep only what is new):"
    )
    assert lines[-1] == f"  {GENERATE_COMMAND}"
    snapshot("drift-sample.txt", text)


def test_verbose_text_lists_every_ignored_item_with_its_resource_and_reason() -> None:
    lines = render_drift(sample_report(), "text", verbose=True).splitlines()
    start = lines.index("Ignored (accepted drift, metadata.driftIgnore):")
    assert lines[start + 1 : start + 3] == [
        '  changed    AlibabaBgpGroup/sg-vbr1 (bgpg-1): ~ description: live "edited by NOC", last applied '
        '"Singapore VBR 1", manifests "Singapore VBR 1": NOC keeps notes here (until 2030-01-31)',
        f"  unmanaged  AlibabaBgpPeer bgp-lab on VBR {VBR}: lab peer, removed after the trial (until 2030-06-30)",
    ]
    assert not any("-v lists them" in line for line in lines)


def test_clean_text_is_one_health_block_and_the_summary() -> None:
    assert render_drift(clean_report(), "text") == (
        "Session health:\n"
        "  ok AlibabaBgpPeer/sg-vbr1-peer1: Established\n"
        "  (time in state: not reported by the cloud API)\n"
        "\n"
        "No drift: 0 changed, 0 missing, 0 unmanaged, 0 unhealthy sessions. "
        f"3 of 3 BGP objects in scope are managed (100%); {MANIFESTS_SCOPE}.\n"
    )


def test_text_shows_control_characters_from_the_cloud_escaped() -> None:
    evil = DriftItem(
        "unmanaged", ALIBABA_PEER, "bgp-\x1b[31mred", None, scope="VBR v\x1b[2J", attrs={}, detail="not declared"
    )
    report = DriftReport((evil,), (), managed_in_scope=0, total_in_scope=1, warnings=("w\x1b]0;title\x07",))
    text = render_drift(report, "text")
    assert "\x1b" not in text and "\x07" not in text
    assert "unmanaged  AlibabaBgpPeer bgp-\\u001b[31mred on VBR v\\u001b[2J; not declared" in text


def test_duration() -> None:
    assert [duration(s) for s in (0, 59, 60, 3599, 3600, 3 * 3600 + 12 * 60, 86400, 4 * 86400 + 3 * 3600 + 59)] == [
        "0s",
        "59s",
        "1m",
        "59m",
        "1h 0m",
        "3h 12m",
        "1d 0h",
        "4d 3h",
    ]


# ---------------------------------------------------------------------------------------------
# Markdown


def test_markdown_snapshot(snapshot: Callable[[str, str], None]) -> None:
    snapshot("drift-sample.md", render_drift(sample_report(), "markdown"))


def test_clean_markdown_snapshot(snapshot: Callable[[str, str], None]) -> None:
    snapshot("drift-clean.md", render_drift(clean_report(), "markdown"))


def test_markdown_reads_as_an_issue_summary_and_coverage_first_then_how_to_fix() -> None:
    md = render_drift(sample_report(), "markdown")
    lines = md.splitlines()
    assert lines[:7] == [
        MARKDOWN_MARKER,
        "## reconciler drift report",
        "",
        "**Drift found:** 2 changed · 1 missing · 2 unmanaged · 2 unhealthy sessions · 2 ignored",
        "",
        f"**Coverage:** 12 of 14 BGP objects in scope are managed (86%); {MANIFESTS_SCOPE}",
        "",
    ]
    order = [
        md.index(h)
        for h in (
            "### Changed outside reconciler",
            "### Missing (deleted outside reconciler)",
            "### Unmanaged objects in scope",
            "### BGP sessions (2 of 4 unhealthy)",
            "### How to fix",
            "<details><summary>Healthy sessions (2)</summary>",
            "<details><summary>Ignored as accepted drift (2)</summary>",
            "> [!IMPORTANT]",
            "<sub>reconciler `0.1.0`",
        )
    ]
    assert order == sorted(order)
    fix = md.split("### How to fix", 1)[1].split("<details>", 1)[0]
    assert "review `reconciler plan` and run `reconciler apply`" in fix
    assert "list it in the resource's `metadata.driftIgnore`" in fix
    assert "`metadata.driftIgnore: [{unmanaged: <cloud id>, reason: ...}]`" in fix
    assert "| `AlibabaBgpGroup/sg-vbr1` | peerAsn | 65099 | 65010 | 65010 |" in lines
    assert "| `AlibabaBgpGroup/sg-vbr1` | authKey | (sensitive) the live key differs from the manifests | | |" in lines
    assert "| `EquinixBgpPeering/old-ne` | remoteAsn | 45105 | 45104 | (not declared) |" in lines
    assert (
        "| `AlibabaBgpPeer/sg-vbr1-peer3` | Down | 3h 12m (since 2025-01-31T08:48:00Z) | Available | "
        "_not reported_ | :warning: BGP session is Down, not Established |" in lines
    )
    assert (
        "| `AlibabaBgpPeer/sg-vbr1-peer4` | _none reported_ | _not reported_ | Pending | "
        "_not reported_ | :white_check_mark: still provisioning (Pending): not judged yet |" in lines
    )
    assert "- `AlibabaBgpGroup/sg-vbr1` field `description`: NOC keeps notes here (until 2030-01-31)" in lines
    assert (
        f"- unmanaged AlibabaBgpPeer `bgp-lab` on VBR {VBR}: lab peer, removed after the trial (until 2030-06-30)"
        in lines
    )
    assert lines[-9] == (
        f"<sub>reconciler `0.1.0` · drift format `1.3` · state lineage `{LINEAGE}` serial 7 · "
        "`2025-01-31T12:00:00Z`</sub>"
    )
    # It ends with the command that brings the unmanaged objects under management.
    assert lines[-8:] == [
        "",
        "### Bring the unmanaged objects under management",
        "",
        "Generate manifests for them (and for every other BGP object on their routers and devices: keep only "
        "what is new):",
        "",
        "```sh",
        GENERATE_COMMAND,
        "```",
    ]
    assert render_drift(clean_report(), "markdown").rstrip().endswith("</sub>")  # nothing to bring in


def test_markdown_structure_parses_as_intended() -> None:
    tokens = MarkdownIt("commonmark").enable("table").parse(render_drift(sample_report(), "markdown"))
    kinds = [t.type for t in tokens]
    assert kinds.count("table_open") == 4  # changed, unmanaged, unhealthy and (collapsed) healthy sessions
    assert [t.content for t in tokens if t.type == "inline" and tokens[tokens.index(t) - 1].type == "heading_open"] == [
        "reconciler drift report",
        "Changed outside reconciler",
        "Missing (deleted outside reconciler)",
        "Unmanaged objects in scope",
        "BGP sessions (2 of 4 unhealthy)",
        "How to fix",
        "Bring the unmanaged objects under management",
    ]


def test_markdown_puts_healthy_sessions_in_a_collapsed_table() -> None:
    md = render_drift(sample_report(), "markdown")
    healthy = md.split("<details><summary>Healthy sessions (2)</summary>", 1)[1].split("</details>", 1)[0]
    assert [line.split(" | ")[0] for line in healthy.splitlines() if line.startswith("| `")] == [
        "| `AlibabaBgpPeer/sg-vbr1-peer1`",
        "| `AlibabaBgpPeer/sg-vbr1-peer4`",
    ]
    unhealthy = md.split("### BGP sessions", 1)[1].split("### How to fix", 1)[0]
    assert unhealthy.count(":warning:") == 2 and ":white_check_mark:" not in unhealthy


def test_a_huge_report_fits_githubs_limit_and_says_what_it_left_out() -> None:
    rogues = tuple(
        DriftItem(
            "unmanaged",
            ALIBABA_PEER,
            f"bgp-rogue{n:05}",
            None,
            scope=f"VBR {VBR}",
            attrs={"peerIpAddress": f"10.{n // 250}.{n % 250}.1"},
            detail="not declared in any manifest",
        )
        for n in range(3000)
    )
    healthy = tuple(
        HealthItem(f"{ALIBABA_PEER}/p{n:05}", ALIBABA_PEER, f"bgp-{n}", "Established", None, "Available", True)
        for n in range(2000)
    )
    report = sample_report(items=rogues, health=healthy, total_in_scope=5000, managed_in_scope=2000)
    md = render_drift(report, "markdown")
    assert len(md) <= 65_536
    assert md.splitlines()[3] == "**Drift found:** 0 changed · 0 missing · 3000 unmanaged · 0 unhealthy sessions"
    shown_rogues = md.count("| AlibabaBgpPeer | `bgp-rogue")
    assert 100 < shown_rogues < 3000
    assert (
        f"_… and {3000 - shown_rogues} more not shown here: `reconciler drift --format json` lists everything._" in md
    )
    shown_healthy = md.count("| `AlibabaBgpPeer/p")
    assert shown_healthy < 10  # the collapsed healthy sessions get what room is left, after the findings
    assert f"_… and {2000 - shown_healthy} more not shown here" in md
    assert "### How to fix" in md and md.rstrip().endswith(f"{GENERATE_COMMAND}\n```")  # the command is never cut
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    assert [t.type for t in tokens].count("table_open") == 2  # the "more" lines do not join the tables
    # With room to spare, nothing is left out.
    assert "more not shown" not in render_drift(sample_report(), "markdown")


def test_markdown_max_chars_is_respected_exactly() -> None:
    from reconciler.render.drift import render_markdown

    rogues = tuple(
        DriftItem("unmanaged", ALIBABA_PEER, f"bgp-{n}", None, scope="VBR v", attrs={}, detail="x") for n in range(200)
    )
    for limit in (4000, 5000, 8000):
        md = render_markdown(sample_report(items=rogues), max_chars=limit)
        assert limit - 200 <= len(md) <= limit


def test_markdown_require_established_says_health_counts() -> None:
    md = render_drift(sample_report(items=(), require_established=True), "markdown")
    assert "**Unhealthy BGP sessions found:** 0 changed · 0 missing · 0 unmanaged · 2 unhealthy sessions" in md
    assert "_`--require-established`: an unhealthy session counts as drift._" in md
    assert "reconciler plan" not in md  # nothing for plan/apply to fix


def test_user_strings_cannot_break_the_issue_structure() -> None:
    evil = "a | b ` c ``` </details> <script>alert(1)</script> [x](https://evil.example)\n# heading"
    changed = DriftItem(
        "changed",
        ALIBABA_GROUP,
        "bgpg-1",
        f"{ALIBABA_GROUP}/sg-vbr1",
        fields=(
            DriftField("description", live=evil, state="ok", desired="ok"),
            DriftField("routeQuota", live=1, state=2, desired=2, ignored=True, ignore_reason=evil),
        ),
        detail="changed outside reconciler",
    )
    odd = DriftItem(
        "unmanaged",
        ALIBABA_PEER,
        "bgp-`|`</code>",
        None,
        scope=f"VBR {evil}",
        attrs={"peerIpAddress": evil},
        detail=evil,
    )
    health = (HealthItem(f"{ALIBABA_PEER}/p", ALIBABA_PEER, "bgp-1", evil, evil, evil, False, evil),)
    command = f"reconciler generate --out generated --alibaba {shlex.quote(evil)}"  # an id from the cloud
    report = sample_report(
        items=(changed, odd), health=health, warnings=(evil,), lineage="l`</sub>", generate_command=command
    )
    md = render_drift(report, "markdown")
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    kinds = [t.type for t in tokens]
    # title, changed, unmanaged, health, how to fix, bring under management: none injected
    assert kinds.count("heading_open") == 6
    (fence,) = [t for t in tokens if t.type == "fence"]  # the generate command's, whole
    assert fence.content == command.replace("\n", "\\u000a") + "\n"
    assert tokens[-1] is fence
    assert kinds.count("table_open") == 3
    # Every table row keeps its cells (five, six in the sessions table), whatever the strings hold.
    for table_start in [i for i, t in enumerate(tokens) if t.type == "table_open"]:
        table_end = next(i for i in range(table_start, len(tokens)) if tokens[i].type == "table_close")
        cells = []
        for start in [i for i in range(table_start, table_end) if tokens[i].type == "tr_open"]:
            end = next(i for i in range(start, len(tokens)) if tokens[i].type == "tr_close")
            cells.append(sum(t.type in ("td_open", "th_open") for t in tokens[start:end]))
        assert cells[0] in (5, 6) and set(cells) == {cells[0]}, cells
    html_blocks = [t.content.strip() for t in tokens if t.type == "html_block"]
    assert html_blocks == [MARKDOWN_MARKER, "<details><summary>Ignored as accepted drift (1)</summary>", "</details>"]
    inline = [c for t in tokens if t.type == "inline" for c in t.children or []]
    assert {c.content for c in inline if c.type == "html_inline"} == {"<sub>", "</sub>"}
    assert not [c for c in inline if c.type == "link_open"]
    assert "<script>" not in md.rpartition("### Bring")[0]  # in the command's code block it is text, not HTML
    # Escaped wherever it went: live value, ignore reason, scope, looks-like, note, the four health
    # cells (session, since, provisioning, detail) and the warning.
    assert md.count("&lt;script&gt;") == 10
    # The value survives, escaped, in its cell.
    assert '| `AlibabaBgpGroup/sg-vbr1` | description | "a \\| b \\` c \\`\\`\\` &lt;/details&gt;' in md


def test_health_cells_from_the_cloud_are_escaped_in_markdown() -> None:
    evil = "Idle | x | y <img src=x onerror=alert(1)>"
    health = (HealthItem(f"{ALIBABA_PEER}/p", ALIBABA_PEER, "bgp-1", evil, evil, evil, False, "not Established"),)
    md = render_drift(DriftReport((), health, managed_in_scope=1, total_in_scope=1), "markdown")
    row = next(line for line in md.splitlines() if line.startswith("| `AlibabaBgpPeer/p`"))
    assert "<img" not in md
    assert row.count("&lt;img") == 3  # session, since, provisioning
    body_cells = [t.type for t in MarkdownIt("commonmark").enable("table").parse(md)].count("td_open")
    assert body_cells == 6  # the strings' pipes do not split the row


def test_markdown_lists_the_warnings() -> None:
    warning = "AlibabaBgpPeer/p: an apply is running or was interrupted during create; the next apply resolves it"
    md = render_drift(DriftReport((), (), managed_in_scope=0, total_in_scope=0, warnings=(warning,)), "markdown")
    assert f"> - {warning}" in md.splitlines()


# ---------------------------------------------------------------------------------------------
# JSON


def test_json_snapshot(snapshot: Callable[[str, str], None]) -> None:
    snapshot("drift-sample.json", render_drift(sample_report(), "json"))


def test_every_json_output_matches_the_schema(
    drift_validator: Draft202012Validator, strict_validator: Draft202012Validator
) -> None:
    for report in _all_reports():
        document = json.loads(render_drift(report, "json"))
        assert _errors(drift_validator, document) == []
        assert _errors(strict_validator, document) == []  # and the schema describes every key


def test_schema_rejects_values_in_a_sensitive_field(drift_validator: Draft202012Validator) -> None:
    document = drift_to_dict(sample_report())
    secret_field = document["items"][0]["fields"][2]
    assert secret_field == {"name": "authKey", "sensitive": True, "ignored": False, "secret_change": "changed"}
    secret_field["live"] = "leaked"
    assert _errors(drift_validator, document) == [
        "$.items[0].fields[2]: {'name': 'authKey', 'sensitive': True, 'ignored': False, 'secret_change': 'changed', "
        "'live': 'leaked'} should not be valid under {'anyOf': [{'required': ['live']}, {'required': ['state']}, "
        "{'required': ['desired']}]}"
    ]


def test_schema_takes_the_kinds_of_a_cloud_it_has_never_heard_of(strict_validator: Draft202012Validator) -> None:
    kind = "ExampleBgpSession"  # registered by no cloud: the schema must not list kinds
    report = DriftReport(
        items=(
            DriftItem("changed", kind, "s-1", f"{kind}/s1", fields=(DriftField("sharedAuthKey", sensitive=True),)),
            DriftItem("unmanaged", kind, "s-2", scope="router r-1", attrs={"peerAsn": 65010}),
        ),
        health=(HealthItem(f"{kind}/s1", kind, "s-1", "Established", None, "UP", True),),
        managed_in_scope=1,
        total_in_scope=2,
    )
    assert _errors(strict_validator, drift_to_dict(report)) == []


def test_json_keeps_ignored_items_and_counts() -> None:
    document = drift_to_dict(sample_report())
    assert document["summary"] == {
        "changed": 2,
        "missing": 1,
        "unmanaged": 2,
        "unhealthy": 2,
        "unhealthy_sessions": 2,
        "ignored": 2,
        "managed_in_scope": 12,
        "total_in_scope": 14,
        "coverage_percent": 86,
        "coverage": "12 of 14 BGP objects in scope are managed (86%)",
        "scope": "manifests",
    }
    assert document["generate_command"] == GENERATE_COMMAND
    assert (document["drifted"], document["exit_code"]) == (True, 2)
    lab = next(i for i in document["items"] if i["cloud_id"] == "bgp-lab")
    assert (lab["ignored"], lab["ignore_reason"], lab["ignore_expires"]) == (
        True,
        "lab peer, removed after the trial",
        "2030-06-30",
    )
    description = document["items"][0]["fields"][1]
    assert description == {
        "name": "description",
        "sensitive": False,
        "ignored": True,
        "live": "edited by NOC",
        "state": "Singapore VBR 1",
        "desired": "Singapore VBR 1",
        "ignore_reason": "NOC keeps notes here",
        "ignore_expires": "2030-01-31",
    }
    down = document["health"][1]
    assert (down["session"], down["since"], down["seconds_in_state"], down["healthy"]) == (
        "Down",
        "2025-01-31T08:48:00Z",
        11520,
        False,
    )


def test_clean_json_exit_code_0() -> None:
    document = drift_to_dict(clean_report())
    assert (document["drifted"], document["exit_code"], document["items"]) == (False, 0, [])


# ---------------------------------------------------------------------------------------------
# Secrets


def test_a_live_secret_never_appears_in_any_format() -> None:
    e = equinix(key="wanted-key-1")
    g = group(ignore=(DriftIgnore(field="authKey", reason="rotating"),))
    state = state_of((e, "eq-1", {}), (g, "bgpg-1", {}))
    live = [live_of(e, "eq-1", key=FAKE_KEY, session="Idle"), live_of(g, "bgpg-1", key=FAKE_KEY + "-2")]
    report = run([e, g], state, live)
    assert {(f.name, f.ignored) for i in report.items for f in i.fields} == {
        ("authenticationKey", False),
        ("authKey", True),
    }
    for fmt in FORMATS:
        for verbose in (False, True):
            out = render_drift(report, fmt, verbose=verbose)
            assert FAKE_KEY not in out, fmt
            assert "wanted-key-1" not in out, fmt
            assert "(sensitive)" in out or fmt == "json"
    assert "~ authKey: (sensitive) a key is set live, the manifests set none" in render_drift(
        report, "text", verbose=True
    )
