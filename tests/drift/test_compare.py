"""Drift analysis over plain data: changed / missing / unmanaged, coverage, session health, ignores."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.drift import DriftOptions, DriftReport, IgnoredEntry, detect
from reconciler.model import DriftIgnore, JournalEntry, LiveObject, Resource, StateDoc
from reconciler.plan.model import SecretChange
from tests.builders import CONN, CONN_OTHER, VBR, VBR_OTHER, equinix, group, live_of, live_peer, peer, state_of

NOW = datetime(2025, 1, 31, 12, 0, 0, tzinfo=UTC)
TODAY = NOW.date()
# A key no report may ever contain, in any field, message or repr.
FAKE_KEY = "Zq9-FAKE-DRIFT-KEY-do-not-print"


def managed_trio(
    key: str | None = None,
) -> tuple[list[Resource], StateDoc, list[LiveObject]]:
    """An Equinix peering and an Alibaba group + peer, all applied and unchanged."""
    e, g, p = equinix(key=key), group(), peer()
    state = state_of(
        (e, "eq-1", {}), (g, "bgpg-1", {}), (p, "bgp-1", {"bgpGroupId": "bgpg-1", "regionId": "ap-southeast-1"})
    )
    live = [live_of(e, "eq-1", key=key), live_of(g, "bgpg-1"), live_peer(p, "bgp-1", "bgpg-1")]
    return [e, g, p], state, live


def run(desired: list[Resource], state: StateDoc, live: list[LiveObject], **options: Any) -> DriftReport:
    options.setdefault("now", NOW)
    return detect(desired, state, live, DriftOptions(**options))


def by_category(report: DriftReport, category: str) -> dict[str, Any]:
    return {i.address or i.cloud_id: i for i in report.items if i.category == category}


# ---------------------------------------------------------------------------------------------
# Clean


def test_clean_report_exits_0_and_says_so() -> None:
    report = run(*managed_trio())
    assert report.items == ()
    assert report.exit_code() == 0
    assert not report.drifted
    assert report.summary_line() == (
        "No drift: 0 changed, 0 missing, 0 unmanaged, 0 unhealthy sessions. "
        "3 of 3 BGP objects in scope are managed (100%); "
        "scope: manifests (the routers and connections the manifests name)."
    )
    assert report.lineage == "lin-1" and report.serial == 7
    assert report.created_at == "2025-01-31T12:00:00Z"


# ---------------------------------------------------------------------------------------------
# Changed


def test_changed_field_carries_live_state_and_desired_values() -> None:
    desired, state, live = managed_trio()
    desired[1] = group(peerAsn=65020, description="Singapore")  # the manifests moved on too
    live[1] = live_of(group(), "bgpg-1", peerAsn=65099)  # someone changed it by hand
    report = run(desired, state, live)
    (item,) = report.findings
    assert (item.category, item.address, item.cloud_id, item.region) == (
        "changed",
        "AlibabaBgpGroup/sg-vbr1",
        "bgpg-1",
        "ap-southeast-1",
    )
    assert [(f.name, f.live, f.state, f.desired, f.sensitive) for f in item.fields] == [
        ("peerAsn", 65099, 65010, 65020, False)
    ]  # description differs only between state and manifests: a plan change, not drift
    assert item.detail == "changed outside reconciler"
    assert item.declared
    assert report.count("changed") == 1
    assert report.exit_code() == 2
    assert report.summary_line().startswith("Drift found: 1 changed, 0 missing, 0 unmanaged, 0 unhealthy sessions.")


def test_the_picture_of_the_estate_is_built_only_around_findings() -> None:
    assert run(*managed_trio()).topology == ()  # nothing to draw
    desired, state, live = managed_trio()
    live[1] = live_of(group(), "bgpg-1", peerAsn=65099)
    report = run(desired, state, live)
    assert report.affected_addresses == ("AlibabaBgpGroup/sg-vbr1",)
    assert {item.address for item in report.topology} == {r.address for r in desired}  # drawn with its context


def test_spelling_differences_are_not_drift() -> None:
    desired, state, live = managed_trio()
    live[0] = live_of(desired[0], "eq-1", localAsn="65010", localIpAddress=" 10.0.0.1/30")
    live[2] = live_peer(desired[2], "bgp-1", "bgpg-1", bfdMultiHop="1", enableBfd="true")
    assert run(desired, state, live).items == ()


def test_a_state_record_spelt_otherwise_is_compared_normalised() -> None:
    desired, _, live = managed_trio()
    respelt = {"localIpAddress": " 10.0.0.1/30", "localAsn": "65010", "connectionUuid": CONN.upper()}
    assert run(desired, state_of((desired[0], "eq-1", respelt)), live[:1]).items == ()
    # A recorded value that differs even when normalised is what reconciler last applied: drift.
    (item,) = run(desired, state_of((desired[0], "eq-1", {**respelt, "localAsn": "65099"})), live[:1]).findings
    assert [(f.name, f.live, f.state) for f in item.fields] == [("localAsn", 65010, 65099)]


def test_changed_resource_no_longer_in_the_manifests_has_no_desired_value() -> None:
    desired, state, live = managed_trio()
    live[0] = live_of(desired[0], "eq-1", remoteAsn=45105)
    report = run(desired[1:], state, live)  # the Equinix peering was removed from the manifests
    (item,) = report.findings
    assert item.address == "EquinixBgpPeering/sg-ne1"
    assert not item.declared
    assert [(f.name, f.live, f.state, f.desired) for f in item.fields] == [("remoteAsn", 45105, 45104, None)]
    assert (
        item.detail
        == "changed outside reconciler (no longer in the manifests: apply will forget it, as the API has no delete)"
    )


def test_secret_drift_is_a_sensitive_verdict_without_values() -> None:
    desired, state, live = managed_trio(key="wanted-key-1")
    live[0] = live_of(desired[0], "eq-1", key=FAKE_KEY)
    report = run(desired, state, live)
    (item,) = report.findings
    (f,) = item.fields
    assert (f.name, f.sensitive, f.secret_change) == ("authenticationKey", True, SecretChange.CHANGED)
    assert (f.live, f.state, f.desired) == (None, None, None)
    assert FAKE_KEY not in repr(report)
    assert "wanted-key-1" not in repr(report)


def test_secret_added_and_removed_verdicts() -> None:
    desired, state, live = managed_trio(key="wanted-key-1")
    live[0] = live_of(desired[0], "eq-1", key=None)  # key removed by hand
    (f,) = run(desired, state, live).findings[0].fields
    assert f.secret_change is SecretChange.ADDED  # apply would add it back

    desired, state, live = managed_trio()
    live[0] = live_of(desired[0], "eq-1", key=FAKE_KEY)  # key set by hand, manifests have none
    (f,) = run(desired, state, live).findings[0].fields
    assert f.secret_change is SecretChange.REMOVED


def test_secrets_not_compared_when_unavailable_and_a_warning_says_so() -> None:
    desired, state, live = managed_trio(key="wanted-key-1")
    live[0] = live_of(desired[0], "eq-1", key=FAKE_KEY)
    report = run(desired, state, live, check_secrets=False)
    assert report.items == ()
    assert report.warnings == ("keys (BGP MD5 secrets) were not compared: the manifests' secrets could not be read",)


# ---------------------------------------------------------------------------------------------
# Missing


def test_missing_declared_and_undeclared() -> None:
    desired, state, live = managed_trio()
    report = run(desired[1:], state, live[1:])  # Equinix config gone, and no longer declared
    (item,) = report.findings
    assert (item.category, item.address, item.cloud_id, item.declared) == (
        "missing",
        "EquinixBgpPeering/sg-ne1",
        "eq-1",
        False,
    )
    assert item.detail == "deleted outside reconciler and no longer in the manifests: apply drops it from state"

    report = run(desired, state, [live[0], live[1]])  # the peer is gone but still declared
    (item,) = report.findings
    assert (item.category, item.address) == ("missing", "AlibabaBgpPeer/sg-vbr1-p1")
    assert item.detail == "deleted outside reconciler: apply will create it again"
    assert report.exit_code() == 2
    assert [h.address for h in report.health] == ["EquinixBgpPeering/sg-ne1"]  # no health for a missing peer


def test_object_being_deleted_is_missing_and_out_of_coverage() -> None:
    desired, state, live = managed_trio()
    live[2] = live_peer(desired[2], "bgp-1", "bgpg-1", status="deleting", raw_status="Deleting")
    report = run(desired, state, live)
    (item,) = report.findings
    assert (item.category, item.detail) == ("missing", "being deleted outside reconciler: apply will create it again")
    assert (report.managed_in_scope, report.total_in_scope) == (2, 2)


# ---------------------------------------------------------------------------------------------
# Unmanaged and coverage


def test_unmanaged_in_scope_is_reported_and_out_of_scope_is_not() -> None:
    desired, state, live = managed_trio()
    rogue_peer = live_peer(peer("x", ip="10.0.0.5"), "bgp-rogue", "bgpg-1")  # on the managed VBR
    other_group = live_of(group("elsewhere", vbr=VBR_OTHER), "bgpg-9")  # another VBR
    other_peer = live_peer(peer("y", ip="10.9.0.5"), "bgp-9", "bgpg-9")
    other_conn = live_of(equinix("z", conn=CONN_OTHER), "eq-9")  # another connection
    report = run(desired, state, [*live, rogue_peer, other_group, other_peer, other_conn])
    (item,) = report.findings
    assert (item.category, item.kind, item.cloud_id, item.address, item.scope) == (
        "unmanaged",
        ALIBABA_PEER,
        "bgp-rogue",
        None,
        f"VBR {VBR}",
    )
    assert item.detail == "not declared in any manifest"
    assert item.attrs["peerIpAddress"] == "10.0.0.5"
    assert (report.managed_in_scope, report.total_in_scope) == (3, 4)
    assert report.coverage == "3 of 4 BGP objects in scope are managed (75%)"
    assert report.exit_code() == 2


def test_unmanaged_equinix_config_on_a_declared_connection() -> None:
    e = equinix(conn=CONN)
    report = run([e], StateDoc(), [live_of(e, "eq-new")])
    (item,) = report.findings
    assert (item.category, item.scope, item.address) == ("unmanaged", f"connection {CONN}", "EquinixBgpPeering/sg-ne1")
    assert item.detail == "matches EquinixBgpPeering/sg-ne1 in the manifests: apply will adopt it"


def test_declared_group_and_peer_not_in_state_are_unmanaged_and_will_be_adopted() -> None:
    g, p = group(), peer()
    live = [live_of(g, "bgpg-1"), live_peer(p, "bgp-1", "bgpg-1")]
    report = run([g, p], StateDoc(), live)
    found = by_category(report, "unmanaged")
    assert set(found) == {"AlibabaBgpGroup/sg-vbr1", "AlibabaBgpPeer/sg-vbr1-p1"}
    assert (
        found["AlibabaBgpGroup/sg-vbr1"].detail
        == "matches AlibabaBgpGroup/sg-vbr1 in the manifests: apply will adopt it"
    )
    # The peer's group id is known only once its group is adopted: it still matches.
    assert found["AlibabaBgpPeer/sg-vbr1-p1"].detail == (
        "matches AlibabaBgpPeer/sg-vbr1-p1 in the manifests: apply will adopt it"
    )
    assert report.coverage == "0 of 2 BGP objects in scope are managed (0%)"


def test_duplicate_of_a_managed_object_is_not_called_adoptable() -> None:
    desired, state, live = managed_trio()
    twin = live_of(desired[1], "bgpg-twin")  # same region + VBR + name as the managed group
    report = run(desired, state, [*live, twin])
    (item,) = report.findings
    assert (item.cloud_id, item.address) == ("bgpg-twin", "AlibabaBgpGroup/sg-vbr1")
    assert item.detail == (
        "same regionId + virtualBorderRouterId + name as AlibabaBgpGroup/sg-vbr1, which reconciler manages as "
        "bgpg-1: a duplicate made outside reconciler"
    )


def test_peers_of_a_group_named_by_id_are_in_scope() -> None:
    external = live_of(group("shared", vbr=VBR_OTHER), "bgpg-ext")  # managed elsewhere
    p = peer("mine", grp=None, bgpGroupId="bgpg-ext")
    state = state_of((p, "bgp-1", {"regionId": "ap-southeast-1"}))
    stranger = live_peer(peer("x", ip="10.0.0.9"), "bgp-stranger", "bgpg-ext")
    report = run([p], state, [external, live_peer(p, "bgp-1", "bgpg-ext"), stranger])
    (item,) = report.findings
    assert (item.cloud_id, item.scope) == ("bgp-stranger", "BGP group bgpg-ext")
    assert (report.managed_in_scope, report.total_in_scope) == (1, 2)  # the external group itself is not in scope


def test_deleting_unmanaged_object_is_not_reported() -> None:
    desired, state, live = managed_trio()
    leaving = live_peer(peer("x", ip="10.0.0.5"), "bgp-gone", "bgpg-1", status="deleting")
    report = run(desired, state, [*live, leaving])
    assert report.items == ()
    assert (report.managed_in_scope, report.total_in_scope) == (3, 3)


def test_coverage_text_and_rounding() -> None:
    def coverage(managed: int, total: int) -> str:
        return DriftReport((), (), managed_in_scope=managed, total_in_scope=total).coverage

    assert coverage(12, 14) == "12 of 14 BGP objects in scope are managed (86%)"  # the example
    assert coverage(199, 200) == "199 of 200 BGP objects in scope are managed (99%)"  # never 100% with one out
    assert coverage(1, 300) == "1 of 300 BGP objects in scope are managed (1%)"
    assert coverage(0, 0) == "0 of 0 BGP objects in scope are managed (100%)"
    assert DriftReport((), (), managed_in_scope=199, total_in_scope=200).coverage_percent == 99


# ---------------------------------------------------------------------------------------------
# Session health


def test_health_states() -> None:
    e, g, p1, p2, p3, p4 = (
        equinix(),
        group(),
        peer(),
        peer("p2", ip="10.0.0.5"),
        peer("p3", ip="10.0.0.6"),
        peer("p4", ip="10.0.0.7"),
    )
    state = state_of(
        (e, "eq-1", {}),
        (g, "bgpg-1", {}),
        *(
            (p, f"bgp-{n}", {"bgpGroupId": "bgpg-1", "regionId": "ap-southeast-1"})
            for n, p in enumerate((p1, p2, p3, p4), 1)
        ),
    )
    live = [
        live_of(e, "eq-1", session="Idle", raw_status="PROVISIONED"),
        live_of(g, "bgpg-1"),
        live_peer(p1, "bgp-1", "bgpg-1", session="Established", raw_status="Available"),
        live_peer(p2, "bgp-2", "bgpg-1", session="Down", raw_status="Available"),
        live_peer(p3, "bgp-3", "bgpg-1", session=None, raw_status="Available"),  # BgpStatus ""
        live_peer(p4, "bgp-4", "bgpg-1", session="Idle", status="pending", raw_status="Pending"),
    ]
    report = run([e, g, p1, p2, p3, p4], state, live)
    health = {h.address: h for h in report.health}
    assert ALIBABA_GROUP + "/sg-vbr1" not in health  # groups have no session
    assert [(a, h.session, h.healthy, h.detail) for a, h in health.items()] == [
        ("AlibabaBgpPeer/p2", "Down", False, "BGP session is Down, not Established"),
        ("AlibabaBgpPeer/p3", None, False, "the API reports no BGP session state, not Established"),
        ("AlibabaBgpPeer/p4", "Idle", True, "still provisioning (Pending): not judged yet"),
        ("AlibabaBgpPeer/sg-vbr1-p1", "Established", True, ""),
        ("EquinixBgpPeering/sg-ne1", "Idle", False, "BGP session is Idle, not Established"),
    ]
    assert health["EquinixBgpPeering/sg-ne1"].provisioning == "PROVISIONED"
    assert len(report.health_findings) == 3
    # Health is not configuration drift...
    assert report.items == ()
    assert report.exit_code() == 0
    assert report.summary_line().startswith("No configuration drift: 0 changed, 0 missing, 0 unmanaged, 3 unhealthy")
    # ...unless asked for.
    strict = run([e, g, p1, p2, p3, p4], state, live, require_established=True)
    assert strict.exit_code() == 2
    assert strict.drifted


def test_require_established_headline_does_not_say_no_drift_when_exiting_2() -> None:
    desired, state, live = managed_trio()
    live[2] = live_peer(desired[2], "bgp-1", "bgpg-1", session="Down")
    report = run(desired, state, live, require_established=True)
    assert report.exit_code() == 2
    assert report.summary_line() == (
        "Unhealthy BGP sessions found: 0 changed, 0 missing, 0 unmanaged, 1 unhealthy session. "
        "3 of 3 BGP objects in scope are managed (100%); "
        "scope: manifests (the routers and connections the manifests name)."
    )


def test_failed_provisioning_is_unhealthy_even_if_established() -> None:
    desired, state, live = managed_trio()
    live[0] = live_of(desired[0], "eq-1", session="Established", status="failed", raw_status="FAILED")
    report = run(desired, state, live, require_established=True)
    (h,) = report.health_findings
    assert (h.address, h.provisioning, h.detail) == (
        "EquinixBgpPeering/sg-ne1",
        "FAILED",
        "provisioning ended FAILED: the next apply provisions it again",
    )
    assert report.exit_code() == 2


def test_require_established_with_healthy_sessions_exits_0() -> None:
    report = run(*managed_trio(), require_established=True)
    assert report.health_findings == ()
    assert report.exit_code() == 0


def test_time_in_state_when_the_api_tells() -> None:
    desired, state, live = managed_trio()
    live[2] = live_peer(desired[2], "bgp-1", "bgpg-1", session="Idle", since="2025-01-31T08:48:00Z")
    report = run(desired, state, live)
    peer_health = next(h for h in report.health if h.cloud_id == "bgp-1")
    assert (peer_health.since, peer_health.seconds_in_state) == ("2025-01-31T08:48:00Z", 3 * 3600 + 12 * 60)
    equinix_health = next(h for h in report.health if h.cloud_id == "eq-1")
    assert (equinix_health.since, equinix_health.seconds_in_state) == (None, None)  # not reported: not invented


# ---------------------------------------------------------------------------------------------
# Accepted drift (metadata.driftIgnore)


def test_ignored_field_is_listed_not_counted() -> None:
    g = group(ignore=(DriftIgnore(field="description", reason="NOC edits it", expires="2025-01-31"),))
    desired, state, live = managed_trio()
    desired[1] = g
    live[1] = live_of(g, "bgpg-1", description="edited by NOC")
    report = run(desired, state, live)
    (item,) = report.items
    assert item.ignored
    assert report.findings == ()
    assert report.exit_code() == 0
    (entry,) = report.ignored
    assert entry == IgnoredEntry(item, item.fields[0])
    assert entry.field is not None
    assert (entry.field.name, entry.field.live, entry.field.ignore_reason, entry.field.ignore_expires) == (
        "description",
        "edited by NOC",
        "NOC edits it",
        "2025-01-31",  # the expiry day itself is still covered
    )
    assert report.summary_line() == (
        "No drift: 0 changed, 0 missing, 0 unmanaged, 0 unhealthy sessions, 1 ignored. "
        "3 of 3 BGP objects in scope are managed (100%); "
        "scope: manifests (the routers and connections the manifests name)."
    )


def test_partly_ignored_item_is_a_finding_with_its_ignored_field_still_listed() -> None:
    g = group(ignore=(DriftIgnore(field="description"),))
    desired, state, live = managed_trio()
    desired[1] = g
    live[1] = live_of(g, "bgpg-1", description="x", peerAsn=65099)
    report = run(desired, state, live)
    (item,) = report.findings
    assert [(f.name, f.ignored) for f in item.fields] == [("peerAsn", False), ("description", True)]
    assert [(e.item.address, e.field.name if e.field else None) for e in report.ignored] == [
        ("AlibabaBgpGroup/sg-vbr1", "description")
    ]
    assert report.exit_code() == 2


def test_every_ignored_field_is_its_own_entry_with_its_resource() -> None:
    g = group(ignore=(DriftIgnore(field="description", reason="r1"), DriftIgnore(field="routeQuota", reason="r2")))
    desired, state, live = managed_trio()
    desired[1] = g
    live[1] = live_of(g, "bgpg-1", description="x", routeQuota=200)
    report = run(desired, state, live)
    assert [(e.item.address, e.field.name if e.field else None) for e in report.ignored] == [
        ("AlibabaBgpGroup/sg-vbr1", "description"),
        ("AlibabaBgpGroup/sg-vbr1", "routeQuota"),
    ]
    assert "2 ignored" in report.summary_line()


def test_ignoring_the_spec_field_bgp_group_covers_the_group_id() -> None:
    p = peer(ignore=(DriftIgnore(field="bgpGroup", reason="moved by the cloud team"),))
    desired, state, live = managed_trio()
    desired[2] = p
    live[2] = live_peer(p, "bgp-1", "bgpg-other")
    report = run(desired, state, live)
    (item,) = report.items
    assert [(f.name, f.ignored, f.ignore_reason) for f in item.fields] == [
        ("bgpGroupId", True, "moved by the cloud team")
    ]
    assert report.findings == ()


def test_ignored_secret_field() -> None:
    e = equinix(key="wanted-key-1", ignore=(DriftIgnore(field="authenticationKey", reason="rotating"),))
    desired, state, live = managed_trio(key="wanted-key-1")
    desired[0] = e
    live[0] = live_of(e, "eq-1", key=FAKE_KEY)
    report = run(desired, state, live)
    (entry,) = report.ignored
    assert entry.field is not None
    assert (entry.field.name, entry.field.sensitive, entry.field.live) == ("authenticationKey", True, None)
    assert report.exit_code() == 0


def test_expired_ignore_is_reported_again_with_a_warning() -> None:
    g = group(ignore=(DriftIgnore(field="description", reason="NOC edits it", expires="2025-01-30"),))
    desired, state, live = managed_trio()
    desired[1] = g
    live[1] = live_of(g, "bgpg-1", description="edited by NOC")
    report = run(desired, state, live)
    (item,) = report.findings
    assert [(f.name, f.ignored) for f in item.fields] == [("description", False)]
    assert report.exit_code() == 2
    assert report.warnings == (
        "AlibabaBgpGroup/sg-vbr1: metadata.driftIgnore entry for field description expired on 2025-01-30; "
        "that drift is reported again (renew or remove the entry)",
    )
    # `today` overrides the clock: the day before, it still applied.
    assert run(desired, state, live, today=date(2025, 1, 29)).exit_code() == 0


def test_unmanaged_object_ignored_by_cloud_id() -> None:
    g = group(ignore=(DriftIgnore(unmanaged="bgp-rogue", reason="lab peer"),))
    desired, state, live = managed_trio()
    desired[1] = g
    rogue = live_peer(peer("x", ip="10.0.0.5"), "bgp-rogue", "bgpg-1")
    report = run(desired, state, [*live, rogue])
    (item,) = report.items
    assert (item.category, item.ignored, item.ignore_reason) == ("unmanaged", True, "lab peer")
    assert report.ignored == (IgnoredEntry(item, None),)
    assert report.exit_code() == 0
    assert report.coverage == "3 of 4 BGP objects in scope are managed (75%)"  # still not managed

    unexplained = group(ignore=(DriftIgnore(unmanaged="bgp-rogue"),))
    (item,) = run([desired[0], unexplained, desired[2]], state, [*live, rogue]).items
    assert item.ignore_reason == "accepted in AlibabaBgpGroup/sg-vbr1"


# ---------------------------------------------------------------------------------------------
# Refresh scope, warnings


def test_kinds_not_refreshed_are_neither_missing_nor_counted() -> None:
    desired, state, live = managed_trio()
    only_equinix = [live[0]]  # the Alibaba provider was not asked
    report = run(desired, state, only_equinix, refreshed_kinds=frozenset({EQUINIX_PEERING}))
    assert report.items == ()
    assert [h.address for h in report.health] == ["EquinixBgpPeering/sg-ne1"]
    assert (report.managed_in_scope, report.total_in_scope) == (1, 1)
    assert report.exit_code() == 0
    # Without the limit, the same live list means the Alibaba objects are gone.
    assert [i.category for i in run(desired, state, only_equinix).items] == ["missing", "missing"]


def test_interrupted_apply_is_a_warning() -> None:
    desired, state, live = managed_trio()
    entry = JournalEntry("j1", "AlibabaBgpPeer/sg-vbr1-p1", ALIBABA_PEER, "create", "intent", "2025-01-31T11:00:00Z")
    state = StateDoc(state.lineage, state.serial, state.resources, pending=(entry,))
    report = run(desired, state, live)
    assert report.warnings == (
        "AlibabaBgpPeer/sg-vbr1-p1: an apply is running or was interrupted during create; the next apply resolves it",
    )


def test_without_options_the_clock_stamps_the_report_and_nothing_is_required() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    report = detect(*managed_trio())
    assert before <= datetime.fromisoformat(report.created_at.replace("Z", "+00:00")) <= datetime.now(UTC)
    assert (report.require_established, report.api_calls, report.warnings) == (False, {}, ())
