"""Drift: what changed outside reconciler, and how the BGP sessions are doing (pure, read-only).

Three categories, driftctl style, plus session health, which no peer tool reports:
- changed: a managed object whose live configuration differs from what reconciler last applied
  (field by field, with the manifests' value beside it; secrets only as "(sensitive)");
- missing: in state, gone from the cloud (deleted outside reconciler);
- unmanaged: an object in scope that nothing manages. Scope is what the manifests mention, as each
  cloud defines it (`Cloud.unmanaged_scope`: the VBRs of the groups, the connections of the
  peerings...);
- health: the live BGP session state of every managed object that has a session; anything but
  Established is a finding, kept apart from configuration drift (exit 2 only with
  `require_established`).
Accepted drift (`metadata.driftIgnore`) is still listed, marked ignored: nothing is dropped silently.
An ignore entry holds through its `expires` date; from the day after, the drift is reported again
and a warning says the entry expired.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, NamedTuple

from reconciler import __version__
from reconciler.clouds import CLOUDS, KINDS
from reconciler.model import DriftIgnore, LiveObject, Resource, SecretValue, StateDoc
from reconciler.plan.diff import compare_secret, dependency_order, desired_secrets, resolve_against_state
from reconciler.plan.model import SecretChange

DRIFT_FORMAT_VERSION = "1.0"
Category = Literal["changed", "missing", "unmanaged"]
HEALTHY_SESSION = "Established"


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
    require_established: bool = False
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
    def drifted(self) -> bool:
        return bool(self.findings) or (self.require_established and bool(self.health_findings))

    def exit_code(self) -> int:
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
        """`["1 changed", "0 missing", "2 unmanaged", "1 unhealthy session", "2 ignored"]`."""
        unhealthy = len(self.health_findings)
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
        return f"{self.headline}: {', '.join(self.counts())}. {self.coverage}."


def _expired(ignore: DriftIgnore, today: date) -> bool:
    """Past its `expires` date (the date itself still counts). An unreadable date counts as
    expired, so a typo cannot silence drift forever (validation rejects it anyway)."""
    if not ignore.expires:
        return False
    try:
        return date.fromisoformat(ignore.expires) < today
    except ValueError:
        return True


def _ignore_warnings(desired: Sequence[Resource], today: date) -> list[str]:
    out = []
    for resource in desired:
        for ignore in resource.drift_ignore:
            if _expired(ignore, today):
                what = f"field {ignore.field}" if ignore.field else f"unmanaged {ignore.unmanaged}"
                out.append(
                    f"{resource.address}: metadata.driftIgnore entry for {what} expired on {ignore.expires}; "
                    "that drift is reported again (renew or remove the entry)"
                )
    return out


def _drift_fields_of(kind: str, spec_field: str) -> set[str]:
    """The drift fields a `driftIgnore` spec field covers (`bgpGroup` covers `bgpGroupId`)."""
    names = {spec_field}
    for ref_field, ref in KINDS[kind].ref_fields.items():
        if ref_field == spec_field:
            names.add(ref.id_attr)
    return names


def _field_ignores(kind: str, ignores: Iterable[DriftIgnore]) -> dict[str, DriftIgnore]:
    """Drift field name -> the active ignore entry that covers it."""
    out: dict[str, DriftIgnore] = {}
    for entry in ignores:
        if entry.field:
            out.update(dict.fromkeys(_drift_fields_of(kind, entry.field), entry))
    return out


def _accepted(ignore: DriftIgnore | None, default_reason: str = "") -> dict[str, Any]:
    """The `ignored`, `ignore_reason` and `ignore_expires` arguments of a DriftField / DriftItem."""
    if ignore is None:
        return {"ignored": False, "ignore_reason": "", "ignore_expires": None}
    return {"ignored": True, "ignore_reason": ignore.reason or default_reason, "ignore_expires": ignore.expires}


def _changed_fields(
    kind: str,
    last_applied: Mapping[str, Any],
    obj: LiveObject,
    want: Mapping[str, Any],
    wanted_secrets: Mapping[str, SecretValue | None] | None,
    field_ignores: Mapping[str, DriftIgnore],
) -> list[DriftField]:
    """The fields where live differs from what reconciler last applied; secret fields compare the
    live key with the manifests' key (state holds no keys), only when `wanted_secrets` is given."""
    info = KINDS[kind]
    last = info.normalise(last_applied)
    fields = [
        DriftField(
            name,
            live=obj.attrs.get(name),
            state=last.get(name),
            desired=want.get(name),
            **_accepted(field_ignores.get(name)),
        )
        for name in info.fields
        if (name in last or name in obj.attrs) and last.get(name) != obj.attrs.get(name)
    ]
    for name in info.secret_fields:
        if wanted_secrets is None or name not in obj.secrets:
            continue  # keys not available, or the API did not tell
        verdict = compare_secret(wanted_secrets.get(name), obj.secrets[name])
        if verdict is not SecretChange.UNCHANGED:
            fields.append(DriftField(name, sensitive=True, secret_change=verdict, **_accepted(field_ignores.get(name))))
    return fields


def _removal(kind: str) -> str:
    """What apply does to a resource removed from the manifests."""
    if KINDS[kind].deletable:
        return "apply will delete it"
    return "apply will forget it, as the API has no delete"


def _since_seconds(since: str | None, now: datetime) -> int | None:
    if not since:
        return None
    try:
        then = datetime.fromisoformat(since)
    except ValueError:
        return None
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return max(0, int((now - then).total_seconds()))


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
    now: datetime | None = None,
) -> DriftReport:
    """Compare live objects with state and manifests. `now` (default: the clock) stamps the report
    and measures time in state; `today` (default: `now`'s date) decides which ignores expired."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    today = today or now.date()
    live_by_id = {o.cloud_id: o for o in live_objects}
    desired_by_address = {r.address: r for r in desired}
    ids_in_state = {s.cloud_id for s in state.resources.values()}
    active = {r.address: [i for i in r.drift_ignore if not _expired(i, today)] for r in desired}
    unmanaged_ignores = {i.unmanaged: (addr, i) for addr, items in active.items() for i in items if i.unmanaged}

    # Desired attributes with ids from state (the peer's group id...).
    resolved_attrs = {a: r.attrs for a, r in resolve_against_state(desired, state).items()}

    items: list[DriftItem] = []
    health: list[HealthItem] = []
    for address, recorded in sorted(state.resources.items()):
        if refreshed_kinds is not None and recorded.kind not in refreshed_kinds:
            continue
        declared = address in desired_by_address
        obj = live_by_id.get(recorded.cloud_id)
        if obj is None or obj.kind != recorded.kind or obj.status == "deleting":
            being = "being deleted" if obj is not None and obj.status == "deleting" else "deleted"
            items.append(
                DriftItem(
                    "missing",
                    recorded.kind,
                    recorded.cloud_id,
                    address,
                    recorded.region,
                    detail=f"{being} outside reconciler: apply will create it again"
                    if declared
                    else f"{being} outside reconciler and no longer in the manifests: apply drops it from state",
                    declared=declared,
                )
            )
            continue
        resource = desired_by_address.get(address)
        wanted_secrets = desired_secrets(resource) if check_secrets and resource is not None else None
        fields = _changed_fields(
            recorded.kind,
            recorded.attributes,
            obj,
            resolved_attrs.get(address, {}),
            wanted_secrets,
            _field_ignores(recorded.kind, active.get(address, [])),
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
                    detail="changed outside reconciler"
                    if declared
                    else f"changed outside reconciler (no longer in the manifests: {_removal(recorded.kind)})",
                    ignored=all_ignored,
                    ignore_reason="; ".join(sorted({f.ignore_reason for f in fields if f.ignore_reason})),
                    declared=declared,
                )
            )
        if KINDS[recorded.kind].has_session:
            health.append(_health(address, obj, now))

    # Unmanaged: objects in the scope of what the manifests mention that no state entry owns.
    live_now = {cid: o for cid, o in live_by_id.items() if o.status != "deleting"}  # on its way out: ignored
    scopes = {name: cloud.unmanaged_scope(desired, live_now.values()) for name, cloud in CLOUDS.items()}
    declared_keys = _declared_keys(desired, state, resolved_attrs, live_now)
    managed_in_scope = 0
    total_in_scope = 0
    for obj in sorted(live_now.values(), key=lambda o: (o.kind, o.cloud_id)):
        if refreshed_kinds is not None and obj.kind not in refreshed_kinds:
            continue
        where = scopes[KINDS[obj.kind].cloud](obj)
        if where is None:
            continue
        total_in_scope += 1
        if obj.cloud_id in ids_in_state:
            managed_in_scope += 1
            continue
        declared_as = declared_keys.get((obj.kind, KINDS[obj.kind].key_of(obj.attrs)))
        owner, accepted = unmanaged_ignores.get(obj.cloud_id, (None, None))
        items.append(
            DriftItem(
                "unmanaged",
                obj.kind,
                obj.cloud_id,
                declared_as,
                obj.region,
                scope=where,
                attrs=dict(obj.attrs),
                detail=_unmanaged_detail(obj, declared_as, state, live_now),
                **_accepted(accepted, f"accepted in {owner}"),
            )
        )
    warnings = [
        f"{e.address}: an apply is running or was interrupted during {e.action}; the next apply resolves it"
        for e in state.pending
    ]
    warnings += _ignore_warnings(desired, today)
    if not check_secrets:
        warnings.append("keys (BGP MD5 secrets) were not compared: the manifests' secrets could not be read")
    return DriftReport(
        items=tuple(items),
        health=tuple(health),
        managed_in_scope=managed_in_scope,
        total_in_scope=total_in_scope,
        lineage=state.lineage,
        serial=state.serial,
        created_at=now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        api_calls=api_calls or {},
        warnings=tuple(warnings),
        require_established=require_established,
    )


def _declared_keys(
    desired: Sequence[Resource],
    state: StateDoc,
    resolved_attrs: Mapping[str, Mapping[str, Any]],
    live: Mapping[str, LiveObject],
) -> dict[tuple[str, tuple[Any, ...]], str]:
    """(kind, natural key) -> address, for every declared resource.

    A reference is resolved to the object the referenced resource has, or will have once `apply`
    adopts it (a group that exists but is not in state yet), so that its peers match too.
    """
    by_key = {(o.kind, KINDS[o.kind].key_of(o.attrs)): o for o in sorted(live.values(), key=lambda o: o.cloud_id)}
    cloud_ids: dict[str, str] = {}  # address -> id of the object it has or will adopt
    out: dict[tuple[str, tuple[Any, ...]], str] = {}
    for resource in dependency_order(desired):
        info = KINDS[resource.kind]
        attrs = dict(resolved_attrs[resource.address])
        for ref_field, ref in info.ref_fields.items():
            target = resource.refs.get(ref_field)
            if target in cloud_ids:
                attrs[ref.id_attr] = cloud_ids[target]
        key = (resource.kind, info.key_of(attrs))
        out.setdefault(key, resource.address)
        recorded = state.resources.get(resource.address)
        if recorded is not None and recorded.cloud_id in live:
            cloud_ids[resource.address] = recorded.cloud_id
        elif key in by_key:
            cloud_ids[resource.address] = by_key[key].cloud_id
    return out


def _unmanaged_detail(obj: LiveObject, declared_as: str | None, state: StateDoc, live: Mapping[str, LiveObject]) -> str:
    if declared_as is None:
        return "not declared in any manifest"
    recorded = state.resources.get(declared_as)
    if recorded is not None and recorded.cloud_id in live:
        key = KINDS[obj.kind].key_words
        return (
            f"same {key} as {declared_as}, which reconciler manages as {recorded.cloud_id}: "
            "a duplicate made outside reconciler"
        )
    return f"matches {declared_as} in the manifests: apply will adopt it"


def _health(address: str, obj: LiveObject, now: datetime) -> HealthItem:
    provisioning = obj.raw_status or obj.status
    seconds = _since_seconds(obj.session_since, now)

    def item(healthy: bool, detail: str) -> HealthItem:
        return HealthItem(
            address, obj.kind, obj.cloud_id, obj.session, obj.session_since, provisioning, healthy, detail, seconds
        )

    if obj.status == "failed":
        return item(False, f"provisioning ended {provisioning}: the next apply provisions it again")
    if obj.status == "pending":
        return item(True, f"still provisioning ({provisioning}): not judged yet")
    if obj.session == HEALTHY_SESSION:
        return item(True, "")
    if not obj.session:
        return item(False, f"the API reports no BGP session state, not {HEALTHY_SESSION}")
    return item(False, f"BGP session is {obj.session}, not {HEALTHY_SESSION}")
