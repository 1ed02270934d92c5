"""Render a drift report as OpenMetrics text, for node_exporter's textfile collector.

Pure: a `DriftReport` in, the exposition out, written by `prometheus_client` (names, escaping of
label values, `# EOF`). Every metric is a gauge describing the run that wrote the file, since the
file is replaced by each run: a per-run count exposed as a counter would never increase.

- `reconciler_bgp_session_up{address,cloud,kind}`: 1 when the session of a managed object is
  Established, else 0 (still provisioning included: the session is not up yet);
- `reconciler_bgp_received_routes{address,cloud,kind}` and `reconciler_bgp_route_limit{...}`: the
  routes a managed object receives and the limit beyond which its cloud drops the session, for the
  objects whose API reports them (alert on their ratio for prefix-limit headroom);
- `reconciler_drift_items{category}`: findings by category (changed, missing, unmanaged);
  accepted drift (`metadata.driftIgnore`) is not counted there but in
  `reconciler_drift_accepted_items`;
- `reconciler_drift_detected`: 1 when the run found drift (exit 2), else 0;
- `reconciler_managed_resources{scope}`, `reconciler_in_scope_resources{scope}` and
  `reconciler_coverage_ratio{scope}`: the coverage, for the `--unmanaged-scope` level it counts;
- `reconciler_drift_errors`: what no plan can fix (the run exits 1);
- `reconciler_api_calls{cloud,operation}`: the requests the run made;
- `reconciler_last_success_timestamp_seconds`: the run's time, only when it had no error, so that
  an alert on its age notices runs that keep failing.

Labels hold addresses, cloud names, kinds and operation names only: never a key or a value read
from the cloud's configuration.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from reconciler.clouds import KINDS
from reconciler.drift import DriftReport
from reconciler.drift.health import HEALTHY_SESSION
from reconciler.drift.model import Category

PREFIX = "reconciler"
CATEGORIES: tuple[Category, ...] = ("changed", "missing", "unmanaged")


def _gauge(name: str, documentation: str, labels: tuple[str, ...] = (), unit: str = "") -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=list(labels), unit=unit)


def _timestamp(created_at: str) -> float | None:
    """Seconds since the epoch of the report's ISO 8601 time, or None when it has none."""
    try:
        return datetime.fromisoformat(created_at).timestamp() if created_at else None
    except ValueError:
        return None


def metric_families(report: DriftReport) -> Iterator[Metric]:
    """The report's metrics, in a stable order."""
    sessions = _gauge(
        "bgp_session_up",
        f"1 when the BGP session of a managed object is {HEALTHY_SESSION}, else 0",
        ("address", "cloud", "kind"),
    )
    labels = ("address", "cloud", "kind")
    received = _gauge("bgp_received_routes", "Routes the BGP session of a managed object receives", labels)
    limit = _gauge("bgp_route_limit", "Routes a managed object's cloud accepts before it drops the session", labels)
    for h in sorted(report.health, key=lambda h: h.address):
        info = KINDS.get(h.kind)
        cloud = info.cloud if info is not None else ""
        sessions.add_metric([h.address, cloud, h.kind], 1.0 if h.session == HEALTHY_SESSION else 0.0)
        if h.received_routes is not None:
            received.add_metric([h.address, cloud, h.kind], float(h.received_routes))
        if h.route_limit is not None:
            limit.add_metric([h.address, cloud, h.kind], float(h.route_limit))
    yield sessions
    yield received
    yield limit

    items = _gauge("drift_items", "Drift findings by category (accepted drift not included)", ("category",))
    for category in CATEGORIES:
        items.add_metric([category], float(report.count(category)))
    yield items
    accepted = _gauge("drift_accepted_items", "Accepted drift (metadata.driftIgnore) found, still listed")
    accepted.add_metric([], float(len(report.ignored)))
    yield accepted
    detected = _gauge("drift_detected", "1 when the run found drift (exit code 2), else 0")
    detected.add_metric([], 1.0 if report.drifted else 0.0)
    yield detected
    errors = _gauge("drift_errors", "Problems no plan can fix on its own (the run exits 1)")
    errors.add_metric([], float(len(report.errors)))
    yield errors

    scope = [report.unmanaged_level.value]
    managed = _gauge("managed_resources", "BGP objects in scope that reconciler manages", ("scope",))
    managed.add_metric(scope, float(report.managed_in_scope))
    yield managed
    total = _gauge("in_scope_resources", "BGP objects in the scope unmanaged objects are looked for in", ("scope",))
    total.add_metric(scope, float(report.total_in_scope))
    yield total
    ratio = _gauge("coverage_ratio", "Managed share of the BGP objects in scope (1 when there are none)", ("scope",))
    in_scope = report.total_in_scope
    ratio.add_metric(scope, report.managed_in_scope / in_scope if in_scope else 1.0)
    yield ratio

    calls = _gauge("api_calls", "API requests the run made, retries included", ("cloud", "operation"))
    for cloud, by_operation in sorted(report.api_calls.items()):
        for operation, count in sorted(by_operation.items()):
            calls.add_metric([cloud, operation], float(count))
    yield calls

    when = _timestamp(report.created_at)
    if when is not None and not report.errors:
        last = _gauge("last_success", "When the last drift run without an error ran", unit="timestamp_seconds")
        last.add_metric([], when)
        yield last


class _ReportCollector(Collector):
    def __init__(self, report: DriftReport) -> None:
        self.report = report

    def collect(self) -> Iterator[Metric]:
        return metric_families(self.report)


def render_openmetrics(report: DriftReport) -> str:
    """The OpenMetrics exposition of `report`, ending with `# EOF`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ReportCollector(report))
    exposition: bytes = generate_latest(registry)  # type: ignore[no-untyped-call]  # untyped in the library
    return exposition.decode("utf-8")
