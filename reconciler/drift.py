"""Drift: what changed outside reconciler, and how the BGP sessions are doing (pure, read-only).

Three categories, driftctl style, plus session health, which no peer tool reports:
- changed: a managed object whose live configuration differs from what reconciler last applied
  (field by field, with the manifests' value beside it; secrets only as "(sensitive)");
- missing: in state, gone from the cloud (deleted outside reconciler);
- unmanaged: an object in scope (a VBR or Equinix connection the manifests mention) that
  nothing manages;
- health: the live BGP session state of every managed peering; anything but Established is a
  finding, kept apart from configuration drift.
Accepted drift (`metadata.driftIgnore`) is still listed, marked ignored: nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from reconciler import __version__
from reconciler.kinds import KINDS
from reconciler.model import (
    ALIBABA_GROUP,
    ALIBABA_PEER,
    EQUINIX_PEERING,
    DriftIgnore,
    LiveObject,
    Resource,
    StateDoc,
)
from reconciler.plan.diff import compare_secret, desired_secrets, resolve_against_state
from reconciler.plan.model import SecretChange

DRIFT_FORMAT_VERSION = "1.0"
Category = Literal["changed", "missing", "unmanaged"]
HEALTHY_SESSION = "Established"


@dataclass(frozen=True, slots=True)
class DriftField:
    name: str
    live: Any = None
    state: Any = None  # what reconciler last applied
    desired: Any = None  # what the manifests say now
    sensitive: bool = False
    secret_change: SecretChange | None = None  # live key compared with the manifests' key
    ignored: bool = False
    ignore_reason: str = ""


@dataclass(frozen=True, slots=True)
class DriftItem:
    category: Category
    kind: str
    cloud_id: str
    address: str | None = None
    region: str | None = None
    scope: str = ""
    fields: tuple[DriftField, ...] = ()
    attrs: Mapping[str, Any] = field(default_factory=dict)  # unmanaged: what the object looks like
    detail: str = ""
    ignored: bool = False
    ignore_reason: str = ""


@dataclass(frozen=True, slots=True)
class HealthItem:
    address: str
    kind: str
    cloud_id: str
    session: str | None
    since: str | None
    provisioning: str
    healthy: bool
    detail: str = ""


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
    require_established: bool = False
    format_version: str = DRIFT_FORMAT_VERSION

    @property
    def findings(self) -> tuple[DriftItem, ...]:
        return tuple(i for i in self.items if not i.ignored)

    @property
    def ignored(self) -> tuple[DriftItem | DriftField, ...]:
        out: list[DriftItem | DriftField] = [i for i in self.items if i.ignored]
        out += [f for i in self.items if not i.ignored for f in i.fields if f.ignored]
        return tuple(out)

    @property
    def health_findings(self) -> tuple[HealthItem, ...]:
        return tuple(h for h in self.health if not h.healthy)

    def count(self, category: Category) -> int:
        return sum(1 for i in self.findings if i.category == category)

    @property
    def coverage(self) -> str:
        total = self.total_in_scope
        pct = 100 if total == 0 else round(100 * self.managed_in_scope / total)
        return f"{self.managed_in_scope} of {total} BGP objects in scope are managed ({pct}%)"

    @property
    def drifted(self) -> bool:
        return bool(self.findings) or (self.require_established and bool(self.health_findings))

    def exit_code(self) -> int:
        return 2 if self.drifted else 0

    def summary_line(self) -> str:
        parts = [
            f"{self.count('changed')} changed",
            f"{self.count('missing')} missing",
            f"{self.count('unmanaged')} unmanaged",
            f"{len(self.health_findings)} unhealthy sessions",
        ]
        if self.ignored:
            parts.append(f"{len(self.ignored)} ignored")
        head = "Drift found" if self.findings else "No drift"
        return f"{head}: {', '.join(parts)}. {self.coverage}."


def _active(ignores: Iterable[DriftIgnore], today: date) -> list[DriftIgnore]:
    """Ignore entries that have not expired (an expired entry is reported again)."""
    out = []
    for ignore in ignores:
        if ignore.expires:
            try:
                if date.fromisoformat(ignore.expires) < today:
                    continue
            except ValueError:
                continue
        out.append(ignore)
    return out


def detect(
    desired: Sequence[Resource],
    state: StateDoc,
    live_objects: Iterable[LiveObject],
    *,
    require_established: bool = False,
    refreshed_kinds: frozenset[str] | None = None,
    api_calls: Mapping[str, Mapping[str, int]] | None = None,
    today: date | None = None,
    check_secrets: bool = True,
) -> DriftReport:
    today = today or datetime.now(UTC).date()
    live_by_id = {o.cloud_id: o for o in live_objects}
    desired_by_address = {r.address: r for r in desired}
    ids_in_state = {s.cloud_id for s in state.resources.values()}
    ignores = {r.address: _active(r.drift_ignore, today) for r in desired}
    unmanaged_ignores = {i.unmanaged: (addr, i) for addr, items in ignores.items() for i in items if i.unmanaged}

    # Desired attributes with ids from state (the peer's group id...).
    resolved_attrs = {a: r.attrs for a, r in resolve_against_state(desired, state).items()}

    items: list[DriftItem] = []
    health: list[HealthItem] = []
    for address, recorded in sorted(state.resources.items()):
        info = KINDS[recorded.kind]
        if refreshed_kinds is not None and recorded.kind not in refreshed_kinds:
            continue
        obj = live_by_id.get(recorded.cloud_id)
        if obj is None or obj.kind != recorded.kind or obj.status == "deleting":
            items.append(
                DriftItem(
                    "missing",
                    recorded.kind,
                    recorded.cloud_id,
                    address,
                    recorded.region,
                    detail="deleted outside reconciler: `apply` will create it again"
                    if address in desired_by_address
                    else "deleted outside reconciler (no longer in the manifests either)",
                )
            )
            continue
        resource = desired_by_address.get(address)
        field_ignores = {i.field: i for i in ignores.get(address, []) if i.field}
        last = info.normalise(recorded.attributes)
        want = resolved_attrs.get(address, {})
        fields: list[DriftField] = []
        for name in info.fields:
            if name not in last and name not in obj.attrs:
                continue
            if last.get(name) == obj.attrs.get(name):
                continue
            ignore = field_ignores.get(name)
            fields.append(
                DriftField(
                    name,
                    live=obj.attrs.get(name),
                    state=last.get(name),
                    desired=want.get(name),
                    ignored=ignore is not None,
                    ignore_reason=ignore.reason if ignore else "",
                )
            )
        if check_secrets and resource is not None:
            wanted_secrets = desired_secrets(resource)
            for name in info.secret_fields:
                if name not in obj.secrets:
                    continue
                verdict = compare_secret(wanted_secrets.get(name), obj.secrets[name])
                if verdict is not SecretChange.UNCHANGED:
                    ignore = field_ignores.get(name)
                    fields.append(
                        DriftField(
                            name,
                            sensitive=True,
                            secret_change=verdict,
                            ignored=ignore is not None,
                            ignore_reason=ignore.reason if ignore else "",
                        )
                    )
        if fields:
            all_ignored = all(f.ignored for f in fields)
            items.append(
                DriftItem(
                    "changed",
                    recorded.kind,
                    recorded.cloud_id,
                    address,
                    obj.region,
                    fields=tuple(fields),
                    detail="changed outside reconciler",
                    ignored=all_ignored,
                    ignore_reason="; ".join(sorted({f.ignore_reason for f in fields if f.ignore_reason})),
                )
            )
        if recorded.kind != ALIBABA_GROUP:
            health.append(_health(address, obj))

    # Unmanaged: objects in the scope of what the manifests mention that no state entry owns.
    scope_vbrs = {str(r.attrs["virtualBorderRouterId"]) for r in desired if r.kind == ALIBABA_GROUP}
    scope_conns = {str(r.attrs["connectionUuid"]) for r in desired if r.kind == EQUINIX_PEERING}
    groups_vbr = {
        o.cloud_id: str(o.attrs.get("virtualBorderRouterId")) for o in live_by_id.values() if o.kind == ALIBABA_GROUP
    }
    managed_in_scope = 0
    total_in_scope = 0
    declared_keys = {(r.kind, KINDS[r.kind].key_of(resolved_attrs[r.address])): r.address for r in desired}
    for obj in sorted(live_by_id.values(), key=lambda o: (o.kind, o.cloud_id)):
        if refreshed_kinds is not None and obj.kind not in refreshed_kinds:
            continue
        scope = _scope_of(obj, groups_vbr, scope_vbrs, scope_conns)
        if scope is None:
            continue
        total_in_scope += 1
        if obj.cloud_id in ids_in_state:
            managed_in_scope += 1
            continue
        declared_as = declared_keys.get((obj.kind, KINDS[obj.kind].key_of(obj.attrs)))
        owner, ignore = unmanaged_ignores.get(obj.cloud_id, (None, None))
        detail = (
            f"matches {declared_as} in the manifests: `apply` will adopt it"
            if declared_as
            else "not declared in any manifest"
        )
        items.append(
            DriftItem(
                "unmanaged",
                obj.kind,
                obj.cloud_id,
                declared_as,
                obj.region,
                scope=scope,
                attrs=dict(obj.attrs),
                detail=detail,
                ignored=ignore is not None,
                ignore_reason=(ignore.reason or f"accepted in {owner}") if ignore else "",
            )
        )
    return DriftReport(
        items=tuple(items),
        health=tuple(health),
        managed_in_scope=managed_in_scope,
        total_in_scope=total_in_scope,
        lineage=state.lineage,
        serial=state.serial,
        created_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        api_calls=api_calls or {},
        warnings=tuple(
            f"{e.address}: an apply was interrupted during {e.action}; the next plan or apply resolves it"
            for e in state.pending
        ),
        require_established=require_established,
    )


def _scope_of(
    obj: LiveObject, groups_vbr: Mapping[str, str], scope_vbrs: set[str], scope_conns: set[str]
) -> str | None:
    if obj.kind == EQUINIX_PEERING:
        conn = str(obj.attrs.get("connectionUuid"))
        return f"connection {conn}" if conn in scope_conns else None
    if obj.kind == ALIBABA_GROUP:
        vbr = str(obj.attrs.get("virtualBorderRouterId"))
    elif obj.kind == ALIBABA_PEER:
        vbr = groups_vbr.get(str(obj.attrs.get("bgpGroupId")), "")
    else:
        return None
    return f"VBR {vbr}" if vbr in scope_vbrs else None


def _health(address: str, obj: LiveObject) -> HealthItem:
    provisioning = obj.raw_status or obj.status
    if obj.status == "failed":
        return HealthItem(
            address, obj.kind, obj.cloud_id, obj.session, obj.session_since, provisioning, False,
            f"provisioning {provisioning}",
        )
    if obj.status == "pending":
        return HealthItem(
            address, obj.kind, obj.cloud_id, obj.session, obj.session_since, provisioning, True, "still provisioning"
        )
    healthy = obj.session == HEALTHY_SESSION
    detail = "" if healthy else f"BGP session is {obj.session or 'unknown'}, not {HEALTHY_SESSION}"
    return HealthItem(address, obj.kind, obj.cloud_id, obj.session, obj.session_since, provisioning, healthy, detail)
