"""The drift report: what `reconciler.drift.detect` found, as plain values the renderers read.

`DriftItem` is one drifted object (changed, missing or unmanaged), `DriftField` one differing field
of a changed object, `HealthItem` the BGP session of one managed object, and `BgpSession` what
people see of a session: both ends of a link where both are managed, else one object
(`reconciler.drift.sessions`). Accepted drift is kept and marked `ignored`; `DriftReport` says
what counts (findings, exit code, coverage and the scope it counts, unhealthy sessions, and the
`reconciler generate` command that takes the unmanaged objects).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from reconciler import __version__
from reconciler.clouds.base import UnmanagedLevel
from reconciler.drift.sessions import BgpSession, pair_sessions
from reconciler.plan.model import SecretChange

if TYPE_CHECKING:  # the graph code is imported only by reports that draw
    from reconciler.graph.build import GraphItem

# 1.1: `errors`; 1.2: `summary.scope`, `generate_command`; 1.3: `sessions`, `summary.unhealthy_sessions`
DRIFT_FORMAT_VERSION = "1.3"
Category = Literal["changed", "missing", "unmanaged"]
# What each `--unmanaged-scope` level counts, in words (each cloud decides the details).
SCOPE_WORDS = {
    UnmanagedLevel.MANIFESTS: "the routers and connections the manifests name",
    UnmanagedLevel.REGIONS: "everything in the regions and on the devices the manifests use",
    UnmanagedLevel.ACCOUNT: "everything the credentials can list, in the regions given",
}


@dataclass(frozen=True, slots=True)
class DriftField:
    name: str
    live: Any = None
    state: Any = None  # what reconciler last applied
    desired: Any = None  # what the manifests say now (None when the resource is no longer declared)
    sensitive: bool = False
    secret_change: SecretChange | None = None  # live key compared with the manifests' key
    ignored: bool = False
    ignore_reason: str = ""
    ignore_expires: str | None = None


@dataclass(frozen=True, slots=True)
class DriftItem:
    category: Category
    kind: str
    cloud_id: str
    address: str | None = None  # managed: its address; unmanaged: the declared resource it matches
    region: str | None = None
    scope: str = ""
    fields: tuple[DriftField, ...] = ()
    attrs: Mapping[str, Any] = field(default_factory=dict)  # unmanaged: what the object looks like
    detail: str = ""
    ignored: bool = False
    ignore_reason: str = ""
    ignore_expires: str | None = None
    declared: bool = True  # changed / missing: the address is still in the manifests


@dataclass(frozen=True, slots=True)
class HealthItem:
    address: str
    kind: str
    cloud_id: str
    session: str | None
    since: str | None  # when the session entered its state, as the API reports it (None: not reported)
    provisioning: str
    healthy: bool
    detail: str = ""
    seconds_in_state: int | None = None  # from `since` to the report's time
    link: str | None = None  # `metadata.labels.link` as the state records it
    cloud: str = ""  # what people call the object's cloud ("Example"), "" when unknown
    received_routes: int | None = None  # routes the end receives from its peer (None: not reported)
    route_limit: int | None = None  # routes the cloud accepts before it drops the session (None: not reported)


class IgnoredEntry(NamedTuple):
    """One accepted-drift entry: an ignored field of a changed item, or a whole unmanaged item."""

    item: DriftItem
    field: DriftField | None


@dataclass(frozen=True, slots=True)
class DriftReport:
    items: tuple[DriftItem, ...]
    health: tuple[HealthItem, ...]
    managed_in_scope: int
    total_in_scope: int
    lineage: str | None = None
    serial: int = 0
    created_at: str = ""
    tool_version: str = __version__
    api_calls: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()  # what no plan can fix on its own, e.g. two objects where one belongs
    require_established: bool = False
    unmanaged_level: UnmanagedLevel = UnmanagedLevel.MANIFESTS  # the scope coverage counts
    # The command that writes manifests for the unmanaged findings (None when there are none).
    generate_command: str | None = None
    # Every managed resource, coloured by its session's health: the markdown draws the findings'
    # part of it (a picture, never compared or exported as JSON).
    topology: tuple[GraphItem, ...] = ()
    format_version: str = DRIFT_FORMAT_VERSION

    @property
    def findings(self) -> tuple[DriftItem, ...]:
        return tuple(i for i in self.items if not i.ignored)

    @property
    def ignored(self) -> tuple[IgnoredEntry, ...]:
        """Every silenced field and unmanaged object, each with the item it belongs to."""
        out: list[IgnoredEntry] = []
        for item in self.items:
            out += [IgnoredEntry(item, f) for f in item.fields if f.ignored]
            if item.ignored and not item.fields:
                out.append(IgnoredEntry(item, None))
        return tuple(out)

    @property
    def health_findings(self) -> tuple[HealthItem, ...]:
        return tuple(h for h in self.health if not h.healthy)

    @property
    def affected_addresses(self) -> tuple[str, ...]:
        """The managed addresses with a finding: drifted or missing objects, and unhealthy sessions."""
        found = [i.address for i in self.findings if i.address and i.category != "unmanaged"]
        found += [h.address for h in self.health_findings]
        return tuple(dict.fromkeys(found))

    @property
    def sessions(self) -> tuple[BgpSession, ...]:
        """The sessions as people see them: a linked session whose ends are both managed is one."""
        return pair_sessions(self.health)

    @property
    def unhealthy_sessions(self) -> tuple[BgpSession, ...]:
        return tuple(s for s in self.sessions if not s.healthy)

    def count(self, category: Category) -> int:
        return sum(1 for i in self.findings if i.category == category)

    @property
    def coverage_percent(self) -> int:
        """Managed share of the objects in scope, rounded, but never 100 while one is unmanaged
        (nor 0 while one is managed)."""
        managed, total = self.managed_in_scope, self.total_in_scope
        if total == 0 or managed >= total:
            return 100
        return min(99, max(1 if managed else 0, round(100 * managed / total)))

    @property
    def coverage(self) -> str:
        return (
            f"{self.managed_in_scope} of {self.total_in_scope} BGP objects in scope are managed "
            f"({self.coverage_percent}%)"
        )

    @property
    def scope(self) -> str:
        """`scope: regions (everything in the regions ...)`: what the coverage counts."""
        return f"scope: {self.unmanaged_level.value} ({SCOPE_WORDS[self.unmanaged_level]})"

    @property
    def drifted(self) -> bool:
        return bool(self.findings) or (self.require_established and bool(self.health_findings))

    def exit_code(self) -> int:
        """1 for an error (the nightly job must fail loudly), 2 for drift, 0 for none."""
        if self.errors:
            return 1
        return 2 if self.drifted else 0

    @property
    def headline(self) -> str:
        """`Drift found`, `Unhealthy BGP sessions found`, `No configuration drift` or `No drift`."""
        if self.findings:
            return "Drift found"
        if self.health_findings:
            return "Unhealthy BGP sessions found" if self.require_established else "No configuration drift"
        return "No drift"

    def counts(self) -> list[str]:
        """`["1 changed", "0 missing", "2 unmanaged", "1 unhealthy session", "2 ignored"]` (a linked
        session counts once, however many of its ends are down)."""
        unhealthy = len(self.unhealthy_sessions)
        parts = [
            f"{self.count('changed')} changed",
            f"{self.count('missing')} missing",
            f"{self.count('unmanaged')} unmanaged",
            f"{unhealthy} unhealthy session{'' if unhealthy == 1 else 's'}",
        ]
        if self.ignored:
            parts.append(f"{len(self.ignored)} ignored")
        return parts

    def summary_line(self) -> str:
        return f"{self.headline}: {', '.join(self.counts())}. {self.coverage}; {self.scope}."
