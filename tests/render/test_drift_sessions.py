"""Rendering sessions: a linked session as one row with both ends, routes against the route limit,
and the prefix-limit headroom warning, in text, markdown and JSON (schema-checked)."""

from __future__ import annotations

import copy
from collections.abc import Callable

from jsonschema import Draft202012Validator
from markdown_it import MarkdownIt
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from reconciler.clouds.alibaba.kinds import ALIBABA_PEER
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.drift import DriftReport, HealthItem
from reconciler.drift.sessions import pair_sessions
from reconciler.package_data import load_schema
from reconciler.render.drift import drift_to_dict, render_drift, render_markdown
from tests.render.test_drift import _closed, _errors

SG_ALI = f"{ALIBABA_PEER}/sg-vbr1-ne1"
SG_EQ = f"{EQUINIX_PEERING}/sg-ne1-to-alibaba"
HK_ALI = f"{ALIBABA_PEER}/hk-vbr1-ne1"
HK_EQ = f"{EQUINIX_PEERING}/hk-ne1-to-alibaba"
LAB = f"{ALIBABA_PEER}/lab"
HEADROOM = (
    f"prefix-limit headroom: sg-ne1-alibaba: the Alibaba end ({SG_ALI}) receives 90 of 110 routes allowed (82%); "
    "beyond 110 routes the cloud drops the session"
)


def sessions_report(**over: object) -> DriftReport:
    """Two linked sessions (Singapore up, near its route limit; Hong Kong down on both ends) and an
    unlinked peer, as `detect` makes them (warnings from the sessions)."""
    health = (
        HealthItem(
            HK_ALI,
            ALIBABA_PEER,
            "bgp-hk",
            "Active",
            "2025-01-31T11:58:00Z",
            "Available",
            False,
            "BGP session is Active, not Established",
            120,
            link="hk-ne1-alibaba",
            cloud="Alibaba",
            received_routes=0,
            route_limit=110,
        ),
        HealthItem(
            LAB, ALIBABA_PEER, "bgp-lab", "Established", None, "Available", True, received_routes=5, route_limit=110
        ),
        HealthItem(
            SG_ALI,
            ALIBABA_PEER,
            "bgp-sg",
            "Established",
            "2025-01-31T11:00:00Z",
            "Available",
            True,
            seconds_in_state=3600,
            link="sg-ne1-alibaba",
            cloud="Alibaba",
            received_routes=90,
            route_limit=110,
        ),
        HealthItem(
            HK_EQ,
            EQUINIX_PEERING,
            "uuid-hk",
            "Idle",
            None,
            "PROVISIONED",
            False,
            "BGP session is Idle, not Established",
            link="hk-ne1-alibaba",
            cloud="Equinix",
        ),
        HealthItem(
            SG_EQ,
            EQUINIX_PEERING,
            "uuid-sg",
            "Established",
            None,
            "PROVISIONED",
            True,
            link="sg-ne1-alibaba",
            cloud="Equinix",
        ),
    )
    fields: dict[str, object] = {
        "items": (),
        "health": health,
        "managed_in_scope": 7,
        "total_in_scope": 7,
        "lineage": "lin-1",
        "serial": 3,
        "created_at": "2025-01-31T12:00:00Z",
        "tool_version": "0.1.0",
        "warnings": tuple(s.headroom_warning for s in pair_sessions(health) if s.headroom_warning),
    }
    fields.update(over)
    return DriftReport(**fields)  # type: ignore[arg-type]


def test_text_shows_a_linked_session_as_one_row_with_both_ends(snapshot: Callable[[str, str], None]) -> None:
    text = render_drift(sessions_report(), "text")
    block = text.split("Session health:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert block == [
        "  !! hk-ne1-alibaba: Alibaba end Active for 2m (since 2025-01-31T11:58:00Z) - BGP session is Active, "
        f"not Established [{HK_ALI}]; Equinix end Idle (time in state not reported) - BGP session is Idle, "
        f"not Established [{HK_EQ}]; received routes 0 of 110 allowed (0%)",
        f"  ok {LAB}: Established; received routes 5 of 110 allowed (5%)",
        "  ok sg-ne1-alibaba: Alibaba end Established for 1h 0m (since 2025-01-31T11:00:00Z) "
        f"[{SG_ALI}]; Equinix end Established (time in state not reported) [{SG_EQ}]; "
        "received routes 90 of 110 allowed (82%)",
        f"       warning: {HEADROOM}",
        "  (time in state: not reported by the cloud API)",  # the unlinked lab peer's
    ]
    assert f"warning: {HEADROOM}" in text.splitlines()  # also among the report's warnings
    # Two objects down, one session: the summary counts sessions.
    assert "0 unmanaged, 1 unhealthy session." in text
    snapshot("drift-sessions.txt", text)


def test_markdown_has_one_row_per_session(snapshot: Callable[[str, str], None]) -> None:
    md = render_drift(sessions_report(), "markdown")
    lines = md.splitlines()
    assert "### BGP sessions (1 of 3 unhealthy)" in lines
    assert "<details><summary>Healthy sessions (2)</summary>" in lines
    (hk,) = [line for line in lines if line.startswith("| `hk-ne1-alibaba`")]
    assert hk == (
        f"| `hk-ne1-alibaba`<br>Alibaba end: `{HK_ALI}`<br>Equinix end: `{HK_EQ}` "
        "| Alibaba end: Active<br>Equinix end: Idle "
        "| Alibaba end: 2m (since 2025-01-31T11:58:00Z)<br>Equinix end: _not reported_ "
        "| Alibaba end: Available<br>Equinix end: PROVISIONED "
        "| 0 of 110 allowed (0%) "
        "| :warning: Alibaba end: BGP session is Active, not Established<br>Equinix end: BGP session is Idle, "
        "not Established |"
    )
    (sg,) = [line for line in lines if line.startswith("| `sg-ne1-alibaba`")]
    assert sg.endswith(f"| 90 of 110 allowed (82%) | :white_check_mark: **{HEADROOM}** |")
    assert f"> - {HEADROOM}" in lines
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    rows = [i for i, t in enumerate(tokens) if t.type == "tr_open"]
    for start in rows:  # every row keeps its six cells
        end = next(i for i in range(start, len(tokens)) if tokens[i].type == "tr_close")
        assert sum(t.type in ("td_open", "th_open") for t in tokens[start:end]) == 6
    assert not [t for t in tokens if t.type == "html_block" and "<br>" in t.content]  # inline breaks only
    snapshot("drift-sessions.md", md)


def test_markdown_still_fits_and_says_what_it_left_out() -> None:
    base = sessions_report().health
    many = tuple(
        HealthItem(
            f"{h.address}-{n}",
            h.kind,
            f"{h.cloud_id}-{n}",
            h.session,
            h.since,
            h.provisioning,
            h.healthy,
            h.detail,
            h.seconds_in_state,
            link=f"{h.link}-{n}" if h.link else None,
            cloud=h.cloud,
            received_routes=h.received_routes,
            route_limit=h.route_limit,
        )
        for n in range(400)
        for h in base
    )
    report = sessions_report(health=many, warnings=())
    assert len(report.sessions) == 1200
    md = render_markdown(report, max_chars=20_000)
    assert len(md) <= 20_000
    assert "### BGP sessions (400 of 1200 unhealthy)" in md
    assert "more not shown here: `reconciler drift --format json` lists everything._" in md


def test_json_adds_sessions_and_keeps_health() -> None:
    document = drift_to_dict(sessions_report())
    assert document["format_version"] == "1.3"
    assert [h["address"] for h in document["health"]] == [HK_ALI, LAB, SG_ALI, HK_EQ, SG_EQ]
    assert set(document["health"][0]) == {
        "address",
        "kind",
        "cloud_id",
        "session",
        "since",
        "seconds_in_state",
        "provisioning",
        "healthy",
        "detail",
    }
    assert (document["summary"]["unhealthy"], document["summary"]["unhealthy_sessions"]) == (2, 1)
    assert document["warnings"] == [HEADROOM]
    assert document["exit_code"] == 0  # a warning never changes it
    hk, lab, sg = document["sessions"]
    assert {k: sg[k] for k in sg if k != "ends"} == {
        "name": "sg-ne1-alibaba",
        "link": "sg-ne1-alibaba",
        "healthy": True,
        "received_routes": 90,
        "route_limit": 110,
        "route_usage_percent": 82,
        "headroom_warning": HEADROOM,
    }
    assert sg["ends"] == [
        {
            "address": SG_ALI,
            "cloud": "Alibaba",
            "kind": ALIBABA_PEER,
            "cloud_id": "bgp-sg",
            "session": "Established",
            "since": "2025-01-31T11:00:00Z",
            "seconds_in_state": 3600,
            "provisioning": "Available",
            "healthy": True,
            "detail": "",
            "received_routes": 90,
            "route_limit": 110,
        },
        {
            "address": SG_EQ,
            "cloud": "Equinix",
            "kind": EQUINIX_PEERING,
            "cloud_id": "uuid-sg",
            "session": "Established",
            "since": None,
            "seconds_in_state": None,
            "provisioning": "PROVISIONED",
            "healthy": True,
            "detail": "",
            "received_routes": None,
            "route_limit": None,
        },
    ]
    assert (hk["name"], hk["healthy"], [e["healthy"] for e in hk["ends"]]) == ("hk-ne1-alibaba", False, [False, False])
    assert (lab["name"], lab["link"], len(lab["ends"]), lab["headroom_warning"]) == (LAB, None, 1, None)


def test_json_with_sessions_matches_the_schema_exactly() -> None:
    schema = load_schema("drift.schema.json")
    Draft202012Validator.check_schema(schema)
    strict = Draft202012Validator(_closed(copy.deepcopy(schema)))
    for report in (sessions_report(), sessions_report(health=())):
        assert _errors(strict, drift_to_dict(report)) == []
    bad = drift_to_dict(sessions_report())
    bad["sessions"][0]["ends"] = []
    assert _errors(strict, bad)  # a session has at least one end


def test_openmetrics_exposes_routes_where_reported() -> None:
    text = render_drift(sessions_report(), "openmetrics")
    found = {
        (s.name, s.labels["address"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name in ("reconciler_bgp_received_routes", "reconciler_bgp_route_limit")
    }
    assert found == {
        ("reconciler_bgp_received_routes", HK_ALI): 0.0,
        ("reconciler_bgp_route_limit", HK_ALI): 110.0,
        ("reconciler_bgp_received_routes", LAB): 5.0,
        ("reconciler_bgp_route_limit", LAB): 110.0,
        ("reconciler_bgp_received_routes", SG_ALI): 90.0,
        ("reconciler_bgp_route_limit", SG_ALI): 110.0,
    }  # the Equinix ends report neither
