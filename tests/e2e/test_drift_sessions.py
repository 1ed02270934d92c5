"""`reconciler drift` shows BGP sessions as people see them, through the real CLI against the
sandbox: each linked session (both ends managed) as one row with both ends' state, the routes the
Alibaba end receives against its group's route limit, and a prefix-limit headroom warning near it.

The project keeps only the linked pairs of the examples (Singapore and Hong Kong, Equinix to
Alibaba); the Singapore group takes Alibaba's default route limit, 110."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from reconciler.package_data import load_schema
from reconciler.sandbox import Sandbox
from reconciler.sandbox.admin import ADMIN_TOKEN_HEADER
from tests.e2e.conftest import cli
from tests.e2e.test_wait_established import force_session, keep_linked_pairs, sg_ends

SG_ALI = "AlibabaBgpPeer/sg-vbr1-ne1"
SG_EQ = "EquinixBgpPeering/sg-ne1-to-alibaba"
HK_ALI = "AlibabaBgpPeer/hk-vbr1-ne1"
HK_EQ = "EquinixBgpPeering/hk-ne1-to-alibaba"
HEADROOM = (
    f"prefix-limit headroom: sg-ne1-alibaba: the Alibaba end ({SG_ALI}) receives 90 of 110 routes allowed (82%); "
    "beyond 110 routes the cloud drops the session"
)


def set_received_routes(box: Sandbox, cloud_id: str, count: int) -> None:
    """What the other end advertises to an Alibaba peer, through the sandbox's control route."""
    with httpx.Client(base_url=f"http://{box.alibaba_endpoint}", timeout=10) as admin:
        response = admin.post(
            "/_sandbox/received-routes",
            json={"cloudId": cloud_id, "count": count},
            headers={ADMIN_TOKEN_HEADER: box.admin_token},
        )
    assert response.status_code == 200, response.text


def session_rows(out: str) -> list[str]:
    """The rows of the text report's "Session health" block (continuation lines included)."""
    block = out.split("Session health:\n", 1)[1].split("\n\n", 1)[0]
    return block.splitlines()


def drift_json(*args: str) -> dict[str, Any]:
    result = cli("drift", "bgp", "--format", "json", *args)
    assert result.code == 0, result.both
    document: dict[str, Any] = json.loads(result.out)
    schema = load_schema("drift.schema.json")
    errors = [f"{e.json_path}: {e.message}" for e in Draft202012Validator(schema).iter_errors(document)]
    assert errors == []
    return document


def applied_pairs(project: Path) -> None:
    keep_linked_pairs(project / "bgp")
    applied = cli("apply", "--auto-approve", "--wait-established=60", "bgp")
    assert applied.code == 0, applied.both


def test_each_linked_session_is_one_row_with_both_ends_established(project: Path) -> None:
    applied_pairs(project)

    result = cli("drift", "bgp")

    assert result.code == 0, result.both
    rows = session_rows(result.out)
    assert len(rows) == 2, rows  # two sessions, not four objects
    for row, (link, alibaba, equinix) in zip(
        rows, (("hk-ne1-alibaba", HK_ALI, HK_EQ), ("sg-ne1-alibaba", SG_ALI, SG_EQ)), strict=True
    ):
        assert row.startswith(f"  ok {link}: Alibaba end Established "), row
        assert f"[{alibaba}]; Equinix end Established " in row and f"[{equinix}]" in row, row
        assert "received routes 0 of" in row, row  # the Alibaba end reports its routes, Equinix none
    assert "prefix-limit headroom" not in result.out
    assert "0 unhealthy sessions" in result.out

    document = drift_json()
    assert document["format_version"] == "1.3"
    sessions = {s["name"]: s for s in document["sessions"]}
    assert set(sessions) == {"hk-ne1-alibaba", "sg-ne1-alibaba"}
    sg = sessions["sg-ne1-alibaba"]
    assert [(e["address"], e["cloud"], e["session"], e["healthy"]) for e in sg["ends"]] == [
        (SG_ALI, "Alibaba", "Established", True),
        (SG_EQ, "Equinix", "Established", True),
    ]
    assert (sg["received_routes"], sg["route_limit"], sg["headroom_warning"]) == (0, 110, None)
    assert len(document["health"]) == 4  # still one entry per object


def test_routes_near_the_limit_warn_without_changing_the_exit_code(project: Path, sandbox: Sandbox) -> None:
    applied_pairs(project)
    _, alibaba = sg_ends(sandbox)
    set_received_routes(sandbox, alibaba, 90)

    result = cli("drift", "bgp")

    assert result.code == 0, result.both  # a warning, not drift
    rows = session_rows(result.out)
    (sg,) = [row for row in rows if row.startswith("  ok sg-ne1-alibaba:")]
    assert sg.endswith("; received routes 90 of 110 allowed (82%)"), sg
    assert rows[rows.index(sg) + 1] == f"       warning: {HEADROOM}"
    assert f"warning: {HEADROOM}" in result.out.splitlines()  # among the report's warnings too

    document = drift_json()
    assert document["exit_code"] == 0 and document["warnings"] == [HEADROOM]
    sessions = {s["name"]: s for s in document["sessions"]}
    sg_session = sessions["sg-ne1-alibaba"]
    assert (sg_session["received_routes"], sg_session["route_limit"], sg_session["route_usage_percent"]) == (
        90,
        110,
        82,
    )
    assert sg_session["headroom_warning"] == HEADROOM
    assert sessions["hk-ne1-alibaba"]["headroom_warning"] is None

    markdown = cli("drift", "bgp", "--format", "markdown")
    assert markdown.code == 0, markdown.both
    assert f"**{HEADROOM}**" in markdown.out


def test_a_session_down_on_one_end_is_one_unhealthy_row_and_receives_no_routes(project: Path, sandbox: Sandbox) -> None:
    applied_pairs(project)
    _, alibaba = sg_ends(sandbox)
    set_received_routes(sandbox, alibaba, 90)
    force_session(sandbox, alibaba, "Idle")

    result = cli("drift", "bgp", "--require-established")

    assert result.code == 2, result.both
    (sg,) = [row for row in session_rows(result.out) if "sg-ne1-alibaba:" in row]
    assert sg.startswith("  !! sg-ne1-alibaba: Alibaba end Idle "), sg
    assert "Equinix end Established" in sg, sg
    assert sg.endswith("; received routes 0 of 110 allowed (0%)"), sg  # a down session receives none
    assert "prefix-limit headroom" not in result.out
    assert "1 unhealthy session." in result.out
    assert "Traceback" not in result.both
