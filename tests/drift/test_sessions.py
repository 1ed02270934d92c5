"""Sessions as people see them: the managed ends of a link joined into one, routes against the
route limit, and the prefix-limit headroom warning."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from reconciler.clouds.alibaba.kinds import ALIBABA_PEER
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.drift import HEADROOM_PERCENT, BgpSession, DriftReport, HealthItem
from reconciler.drift.sessions import pair_sessions, route_count, usage_percent
from reconciler.manifest.links import LINK_LABEL
from reconciler.model import LiveObject, Resource, StateDoc
from tests.builders import equinix, group, live_of, live_peer, peer, state_of
from tests.drift.test_compare import run

EQ = f"{EQUINIX_PEERING}/sg-ne1"
ALI = f"{ALIBABA_PEER}/sg-vbr1-p1"
ALI2 = f"{ALIBABA_PEER}/p2"


def linked_project(
    *, eq_session: str = "Established", routes: dict[str, Any] | None = None, links: dict[str, str] | None = None
) -> tuple[list[Resource], StateDoc, list[LiveObject]]:
    """An Equinix peering linked to an Alibaba peer (`sg-link`), and a second Alibaba peer with no link."""
    e, g, p1, p2 = equinix(), group(), peer(), peer("p2", ip="10.0.0.5")
    state = state_of(
        (e, "eq-1", {}),
        (g, "bgpg-1", {}),
        (p1, "bgp-1", {"bgpGroupId": "bgpg-1", "regionId": "ap-southeast-1"}),
        (p2, "bgp-2", {"bgpGroupId": "bgpg-1", "regionId": "ap-southeast-1"}),
    )
    labelled = links if links is not None else {EQ: "sg-link", ALI: "sg-link"}
    resources = {
        address: dataclasses.replace(r, labels={LINK_LABEL: labelled[address]}) if address in labelled else r
        for address, r in state.resources.items()
    }
    state = dataclasses.replace(state, resources=resources)
    p1_live = live_peer(p1, "bgp-1", "bgpg-1", raw_status="Available", since="2025-01-31T11:00:00Z")
    live = [
        live_of(e, "eq-1", session=eq_session, raw_status="PROVISIONED"),
        live_of(g, "bgpg-1"),
        dataclasses.replace(p1_live, info=routes or {}),
        live_peer(p2, "bgp-2", "bgpg-1", raw_status="Available"),
    ]
    return [e, g, p1, p2], state, live


def sessions_by_name(report: DriftReport) -> dict[str, BgpSession]:
    return {s.name: s for s in report.sessions}


def test_both_managed_ends_of_a_link_are_one_session() -> None:
    report = run(*linked_project())

    sessions = sessions_by_name(report)
    assert list(sessions) == [ALI2, "sg-link"]  # in the order of their first end (address order)
    linked = sessions["sg-link"]
    assert linked.linked and linked.link == "sg-link" and linked.healthy
    assert [(e.address, e.cloud, e.session) for e in linked.ends] == [
        (ALI, "Alibaba", "Established"),
        (EQ, "Equinix", "Established"),
    ]
    assert [e.seconds_in_state for e in linked.ends] == [3600, None]  # Equinix reports no time here
    unlinked = sessions[ALI2]
    assert not unlinked.linked and unlinked.link is None and [e.address for e in unlinked.ends] == [ALI2]
    assert len(report.health) == 3  # the per-object list is unchanged


def test_a_linked_session_is_healthy_only_when_both_ends_are() -> None:
    report = run(*linked_project(eq_session="Idle"))

    linked = sessions_by_name(report)["sg-link"]
    assert not linked.healthy
    assert [e.healthy for e in linked.ends] == [True, False]
    assert [s.name for s in report.unhealthy_sessions] == ["sg-link"]
    assert "1 unhealthy session" in report.summary_line()


def test_both_ends_down_count_as_one_unhealthy_session() -> None:
    desired, state, live = linked_project(eq_session="Idle")
    live[2] = dataclasses.replace(live[2], session="Active")
    report = run(desired, state, live)
    assert len(report.health_findings) == 2  # two objects...
    assert report.counts()[3] == "1 unhealthy session"  # ...one session


def test_a_link_with_one_managed_end_stays_one_row_per_object() -> None:
    report = run(*linked_project(links={EQ: "sg-link", ALI: "other-link"}))

    sessions = sessions_by_name(report)
    assert set(sessions) == {EQ, ALI, ALI2}
    assert sessions[EQ].link == "sg-link" and not sessions[EQ].linked
    assert sessions[ALI].link == "other-link" and not sessions[ALI].linked


def test_routes_are_read_from_the_generic_info_keys_even_as_text() -> None:
    report = run(*linked_project(routes={"receivedRouteCount": "12", "routeLimit": "110"}))

    health = {h.address: h for h in report.health}
    assert (health[ALI].received_routes, health[ALI].route_limit) == (12, 110)
    assert (health[EQ].received_routes, health[EQ].route_limit) == (None, None)  # reports neither
    linked = sessions_by_name(report)["sg-link"]
    assert (linked.received_routes, linked.route_limit, linked.route_usage_percent) == (12, 110, 11)
    assert linked.headroom_warning is None
    assert report.warnings == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [(90, 90), ("90", 90), (" 7 ", 7), (0, 0), (-1, None), (True, None), ("n/a", None), ("", None), (None, None)],
)
def test_route_counts_are_parsed_defensively(value: object, expected: int | None) -> None:
    assert route_count(value) == expected


def test_a_route_limit_of_zero_is_not_a_limit() -> None:
    report = run(*linked_project(routes={"receivedRouteCount": 5, "routeLimit": 0}))
    linked = sessions_by_name(report)["sg-link"]
    assert linked.route_limit is None and linked.route_usage_percent is None and linked.headroom_warning is None


def test_headroom_warning_from_80_percent_of_the_limit_never_changes_the_exit_code() -> None:
    report = run(*linked_project(routes={"receivedRouteCount": 90, "routeLimit": 110}))

    linked = sessions_by_name(report)["sg-link"]
    warning = (
        f"prefix-limit headroom: sg-link: the Alibaba end ({ALI}) receives 90 of 110 routes allowed (82%); "
        "beyond 110 routes the cloud drops the session"
    )
    assert linked.route_usage_percent == 82
    assert linked.headroom_warning == warning
    assert report.warnings == (warning,)
    assert report.exit_code() == 0 and not report.drifted
    strict = run(*linked_project(routes={"receivedRouteCount": 90, "routeLimit": 110}), require_established=True)
    assert strict.exit_code() == 0


@pytest.mark.parametrize(("received", "warns"), [(87, False), (88, True), (110, True), (130, True)])
def test_the_threshold_is_exact_not_rounded(received: int, warns: bool) -> None:
    # 87 of 110 is 79.1% (rounds to 79), 88 of 110 is exactly 80%.
    assert HEADROOM_PERCENT == 80
    report = run(*linked_project(routes={"receivedRouteCount": received, "routeLimit": 110}))
    assert (sessions_by_name(report)["sg-link"].headroom_warning is not None) is warns


def test_an_unlinked_session_warns_by_its_address() -> None:
    report = run(*linked_project(links={}, routes={"receivedRouteCount": 100, "routeLimit": 110}))
    assert report.warnings == (
        f"prefix-limit headroom: {ALI} receives 100 of 110 routes allowed (91%); "
        "beyond 110 routes the cloud drops the session",
    )


def _end(address: str, link: str | None, received: int | None = None, limit: int | None = None) -> HealthItem:
    kind = address.partition("/")[0]
    return HealthItem(
        address, kind, address, "Established", None, "ok", True, link=link, received_routes=received, route_limit=limit
    )


def test_pairing_keeps_first_appearance_order_and_picks_the_end_nearest_its_limit() -> None:
    items = [
        _end("A/1", None),
        _end("B/1", "l", received=10, limit=100),
        _end("C/1", None),
        _end("D/1", "l", received=50, limit=60),
    ]
    sessions = pair_sessions(items)
    assert [s.name for s in sessions] == ["A/1", "l", "C/1"]
    assert (sessions[1].received_routes, sessions[1].route_limit, sessions[1].route_usage_percent) == (50, 60, 83)


@pytest.mark.parametrize(("received", "limit", "percent"), [(90, 110, 82), (1, 200, 1), (1, 400, 0), (0, 1, 0)])
def test_usage_percent_rounds_half_up(received: int, limit: int, percent: int) -> None:
    assert usage_percent(received, limit) == percent
