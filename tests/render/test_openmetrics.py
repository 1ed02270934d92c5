"""Rendering a drift report as OpenMetrics: parsed back with prometheus_client's parsers."""

from __future__ import annotations

from datetime import datetime

from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.parser import text_string_to_metric_families as prometheus_text_families

from reconciler.clouds.alibaba.kinds import ALIBABA_PEER
from reconciler.clouds.base import UnmanagedLevel
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.drift import DriftReport, HealthItem
from reconciler.render.drift import render_drift
from reconciler.render.openmetrics import render_openmetrics
from tests.drift.test_compare import FAKE_KEY, equinix, group, live_of, run, state_of
from tests.render.test_drift import clean_report, sample_report

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def families(text: str) -> dict[str, Metric]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(text: str) -> Samples:
    """Every sample as (name, sorted labels) -> value."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_report_with_drift_and_down_sessions_parses_with_its_values() -> None:
    text = render_drift(sample_report(), "openmetrics")
    assert text.endswith("# EOF\n")
    found = samples(text)
    up = {dict(labels)["address"]: (dict(labels), v) for (n, labels), v in found.items() if n.endswith("session_up")}
    assert {address: value for address, (_, value) in up.items()} == {
        f"{ALIBABA_PEER}/sg-vbr1-peer1": 1.0,  # Established
        f"{ALIBABA_PEER}/sg-vbr1-peer3": 0.0,  # Down
        f"{ALIBABA_PEER}/sg-vbr1-peer4": 0.0,  # still provisioning: not up yet
        f"{EQUINIX_PEERING}/sg-ne1": 0.0,  # Idle
    }
    assert up[f"{EQUINIX_PEERING}/sg-ne1"][0] == {
        "address": f"{EQUINIX_PEERING}/sg-ne1",
        "cloud": "equinix",
        "kind": EQUINIX_PEERING,
    }
    assert up[f"{ALIBABA_PEER}/sg-vbr1-peer1"][0]["cloud"] == "alibaba"
    assert found[("reconciler_drift_items", (("category", "changed"),))] == 2
    assert found[("reconciler_drift_items", (("category", "missing"),))] == 1
    assert found[("reconciler_drift_items", (("category", "unmanaged"),))] == 2  # the ignored one not counted
    assert found[("reconciler_drift_accepted_items", ())] == 2
    assert found[("reconciler_drift_detected", ())] == 1
    assert found[("reconciler_drift_errors", ())] == 0
    assert found[("reconciler_managed_resources", (("scope", "manifests"),))] == 12
    assert found[("reconciler_in_scope_resources", (("scope", "manifests"),))] == 14
    assert abs(found[("reconciler_coverage_ratio", (("scope", "manifests"),))] - 12 / 14) < 1e-9
    assert found[("reconciler_api_calls", (("cloud", "alibaba"), ("operation", "DescribeBgpPeers")))] == 2
    assert found[("reconciler_api_calls", (("cloud", "equinix"), ("operation", "GET /ne/v1/bgp")))] == 1
    when = datetime.fromisoformat("2025-01-31T12:00:00Z").timestamp()
    assert found[("reconciler_last_success_timestamp_seconds", ())] == when


def test_metric_types_units_and_help_follow_the_conventions() -> None:
    parsed = families(render_openmetrics(sample_report()))
    assert all(name.startswith("reconciler_") for name in parsed)
    # Each file describes one run, replaced by the next: gauges, never counters that would reset.
    assert {f.type for f in parsed.values()} == {"gauge"}
    assert all(f.documentation for f in parsed.values())
    assert parsed["reconciler_last_success_timestamp_seconds"].unit == "timestamp_seconds"


def test_the_prometheus_text_parser_reads_it_too() -> None:
    """node_exporter's textfile collector reads the Prometheus text format: the OpenMetrics
    extras (`# UNIT`, `# EOF`) must not stop it."""
    text = render_openmetrics(sample_report())
    names = {f.name for f in prometheus_text_families(text)}
    assert {"reconciler_bgp_session_up", "reconciler_drift_items", "reconciler_api_calls"} <= names


def test_a_clean_report_says_no_drift_and_every_session_up() -> None:
    found = samples(render_openmetrics(clean_report()))
    assert [v for (n, _), v in found.items() if n == "reconciler_bgp_session_up"] == [1.0]
    assert [v for (n, _), v in found.items() if n == "reconciler_drift_items"] == [0.0, 0.0, 0.0]
    assert found[("reconciler_drift_detected", ())] == 0
    assert found[("reconciler_coverage_ratio", (("scope", "manifests"),))] == 1


def test_a_run_with_errors_is_no_success() -> None:
    found = samples(render_openmetrics(sample_report(errors=("two objects hold one natural key",))))
    assert found[("reconciler_drift_errors", ())] == 1
    assert ("reconciler_last_success_timestamp_seconds", ()) not in found


def test_nothing_in_scope_is_full_coverage_of_the_level_counted() -> None:
    report = DriftReport((), (), managed_in_scope=0, total_in_scope=0, unmanaged_level=UnmanagedLevel.ACCOUNT)
    found = samples(render_openmetrics(report))
    assert found[("reconciler_coverage_ratio", (("scope", "account"),))] == 1
    assert ("reconciler_last_success_timestamp_seconds", ()) not in found  # the report has no time


def test_label_values_are_escaped() -> None:
    address = f'{ALIBABA_PEER}/odd"name\\with\nnewline'
    health = (HealthItem(address, ALIBABA_PEER, "bgp-1", "Established", None, "Available", True),)
    report = DriftReport((), health, managed_in_scope=1, total_in_scope=1, api_calls={"x": {'op "a"': 3}})
    found = samples(render_openmetrics(report))
    assert found[("reconciler_bgp_session_up", (("address", address), ("cloud", "alibaba"), ("kind", ALIBABA_PEER)))]
    assert found[("reconciler_api_calls", (("cloud", "x"), ("operation", 'op "a"')))] == 3


def test_a_live_key_never_appears() -> None:
    e = equinix(key="wanted-key-1")
    g = group()
    state = state_of((e, "eq-1", {}), (g, "bgpg-1", {}))
    live = [live_of(e, "eq-1", key=FAKE_KEY, session="Idle"), live_of(g, "bgpg-1", key=FAKE_KEY + "-2")]
    text = render_openmetrics(run([e, g], state, live))
    assert FAKE_KEY not in text
    assert "wanted-key-1" not in text
    assert samples(text)[("reconciler_drift_items", (("category", "changed"),))] >= 1
