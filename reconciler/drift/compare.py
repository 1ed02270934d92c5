"""Compare live objects with the state and the manifests (pure, read-only): `detect`.

`detect` runs four comparisons over one shared `Comparison` and assembles the report:
`managed_drift` (changed and missing managed objects), `unmanaged_drift` (objects in scope that
no state entry owns, the coverage, and the `reconciler generate` command that takes them),
`session_health` (each verdict with its link, so the two ends of a session pair up) and
`drift_warnings` (with each session near its route limit).
"""

from __future__ import annotations

import functools
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any, NamedTuple

from reconciler.clouds import CLOUDS, KINDS
from reconciler.clouds.base import UnmanagedLevel
from reconciler.drift.health import health_of
from reconciler.drift.ignores import acceptance, active_ignores, expiry_warnings, field_ignores
from reconciler.drift.model import DriftField, DriftItem, DriftReport, HealthItem
from reconciler.drift.sessions import pair_sessions
from reconciler.graph.build import items_from_state
from reconciler.manifest.links import LINK_LABEL
from reconciler.model import DriftIgnore, LiveObject, Resource, SecretValue, StateDoc, StateResource
from reconciler.plan.ambiguous import find_ambiguities
from reconciler.plan.model import SecretChange
from reconciler.plan.resolve import dependency_order, resolve_against_state
from reconciler.plan.secrets import compare_secret, desired_secrets


@dataclass(frozen=True, slots=True)
class DriftOptions:
    """How to compare, and what the report records beside its findings."""

    require_established: bool = False  # an unhealthy session counts as drift (exit 2)
    refreshed_kinds: frozenset[str] | None = None  # the kinds the refresh covered (None: every kind)
    api_calls: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # per provider, per operation
    check_secrets: bool = True  # False: the manifests' keys could not be read, so keys are not compared
    now: datetime | None = None  # stamps the report and measures time in state (None: the clock)
    today: date | None = None  # decides which ignore entries expired (None: `now`'s date)
    unmanaged_level: UnmanagedLevel = UnmanagedLevel.MANIFESTS  # how far unmanaged objects are looked for
    scope_args: Mapping[str, Sequence[str]] = field(default_factory=dict)  # per cloud (`drift --<cloud> ARG`)


@dataclass(frozen=True)
class Comparison:
    """What every comparison reads, indexed once."""

    desired: Sequence[Resource]
    state: StateDoc
    live_by_id: Mapping[str, LiveObject]
    desired_by_address: Mapping[str, Resource]
    ignores: Mapping[str, tuple[DriftIgnore, ...]]  # address -> its active driftIgnore entries
    refreshed_kinds: frozenset[str] | None
    unmanaged_level: UnmanagedLevel
    scope_args: Mapping[str, Sequence[str]]
    check_secrets: bool
    now: datetime
    today: date

    @classmethod
    def of(
        cls, desired: Sequence[Resource], state: StateDoc, live_objects: Iterable[LiveObject], options: DriftOptions
    ) -> Comparison:
        now = (options.now or datetime.now(UTC)).astimezone(UTC)
        today = options.today or now.date()
        return cls(
            desired=desired,
            state=state,
            live_by_id={o.cloud_id: o for o in live_objects},
            desired_by_address={r.address: r for r in desired},
            ignores={r.address: active_ignores(r, today) for r in desired},
            refreshed_kinds=options.refreshed_kinds,
            unmanaged_level=options.unmanaged_level,
            scope_args=options.scope_args,
            check_secrets=options.check_secrets,
            now=now,
            today=today,
        )

    def resolved_attrs_of(self, address: str) -> Mapping[str, Any]:
        return self.resolved_attrs.get(address, {})

    @cached_property
    def resolved_attrs(self) -> Mapping[str, Mapping[str, Any]]:
        """The desired attributes, with ids from state. Worked out when first asked for: only a
        changed field (its desired value) or an unmanaged object needs them."""
        return {a: r.attrs for a, r in resolve_against_state(self.desired, self.state).items()}

    def refreshed(self, kind: str) -> bool:
        """Whether the refresh covered `kind`: only then can its objects be missing or counted."""
        return self.refreshed_kinds is None or kind in self.refreshed_kinds

    def present(self, recorded: StateResource) -> LiveObject | None:
        """The live object a state entry records, unless it is gone or being deleted."""
        obj = self.live_by_id.get(recorded.cloud_id)
        if obj is None or obj.kind != recorded.kind or obj.status == "deleting":
            return None
        return obj

    def managed(self) -> list[tuple[str, StateResource]]:
        """The state entries of refreshed kinds, in address order."""
        return [(a, r) for a, r in sorted(self.state.resources.items()) if self.refreshed(r.kind)]


# ---------------------------------------------------------------------------------------------
# Managed objects: changed and missing


def managed_drift(c: Comparison) -> list[DriftItem]:
    """Managed objects gone from the cloud (missing) or changed outside reconciler, in address order."""
    items: list[DriftItem] = []
    for address, recorded in c.managed():
        declared = address in c.desired_by_address
        obj = c.present(recorded)
        if obj is None:
            items.append(_missing(address, recorded, declared, c.live_by_id.get(recorded.cloud_id)))
            continue
        resource = c.desired_by_address.get(address)
        wanted_secrets = desired_secrets(resource) if c.check_secrets and resource is not None else None
        fields = _changed_fields(
            recorded.kind,
            recorded.attributes,
            obj,
            functools.partial(c.resolved_attrs_of, address),
            wanted_secrets,
            field_ignores(recorded.kind, c.ignores.get(address, ())),
        )
        if fields:
            items.append(_changed(address, recorded, obj, fields, declared))
    return items


def _missing(address: str, recorded: StateResource, declared: bool, seen: LiveObject | None) -> DriftItem:
    being = "being deleted" if seen is not None and seen.status == "deleting" else "deleted"
    return DriftItem(
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


def _changed(
    address: str, recorded: StateResource, obj: LiveObject, fields: list[DriftField], declared: bool
) -> DriftItem:
    return DriftItem(
        "changed",
        recorded.kind,
        recorded.cloud_id,
        address,
        obj.region,
        fields=tuple(fields),
        detail="changed outside reconciler"
        if declared
        else f"changed outside reconciler (no longer in the manifests: {_removal(recorded.kind)})",
        ignored=all(f.ignored for f in fields),
        ignore_reason="; ".join(sorted({f.ignore_reason for f in fields if f.ignore_reason})),
        declared=declared,
    )


def _changed_fields(
    kind: str,
    last_applied: Mapping[str, Any],
    obj: LiveObject,
    want: Callable[[], Mapping[str, Any]],
    wanted_secrets: Mapping[str, SecretValue | None] | None,
    ignores: Mapping[str, DriftIgnore],
) -> list[DriftField]:
    """The fields where live differs from what reconciler last applied (each with the value the
    manifests want, from `want`); secret fields compare the live key with the manifests' key
    (state holds no keys), only when `wanted_secrets` is given."""
    info = KINDS[kind]
    # State records normalised values, and normalising is idempotent: when they already equal the
    # live ones (the usual case), normalising them again could not make them differ.
    same = all(last_applied.get(f) == obj.attrs.get(f) for f in info.fields)
    last = last_applied if same else info.normalise(last_applied)
    fields: list[DriftField] = []
    for name in info.fields:
        if (name in last or name in obj.attrs) and last.get(name) != obj.attrs.get(name):
            accepted = acceptance(ignores.get(name))
            fields.append(
                DriftField(
                    name,
                    live=obj.attrs.get(name),
                    state=last.get(name),
                    desired=want().get(name),
                    ignored=accepted.ignored,
                    ignore_reason=accepted.reason,
                    ignore_expires=accepted.expires,
                )
            )
    for name in info.secret_fields:
        if wanted_secrets is None or name not in obj.secrets:
            continue  # keys not available, or the API did not tell
        verdict = compare_secret(wanted_secrets.get(name), obj.secrets[name])
        if verdict is not SecretChange.UNCHANGED:
            accepted = acceptance(ignores.get(name))
            fields.append(
                DriftField(
                    name,
                    sensitive=True,
                    secret_change=verdict,
                    ignored=accepted.ignored,
                    ignore_reason=accepted.reason,
                    ignore_expires=accepted.expires,
                )
            )
    return fields


def _removal(kind: str) -> str:
    """What apply does to a resource removed from the manifests."""
    if KINDS[kind].deletable:
        return "apply will delete it"
    return "apply will forget it, as the API has no delete"


# ---------------------------------------------------------------------------------------------
# Unmanaged objects in scope, and coverage


# Where `reconciler generate` writes, in the command the report suggests.
GENERATE_OUT = "generated"


class InScope(NamedTuple):
    """The unmanaged objects in scope, how many objects in scope there are and are managed, and
    the command that writes manifests for the unmanaged findings."""

    unmanaged: list[DriftItem]
    managed: int
    total: int
    generate_command: str | None = None


def unmanaged_drift(c: Comparison) -> InScope:
    """Objects in scope at the requested level (as each cloud defines it: `Cloud.unmanaged_scope`)
    that no state entry owns, by kind and cloud id."""
    live_now = {cid: o for cid, o in c.live_by_id.items() if o.status != "deleting"}  # on its way out: ignored
    scopes = {
        name: cloud.unmanaged_scope(c.desired, live_now.values(), c.unmanaged_level, c.scope_args.get(name, ()))
        for name, cloud in CLOUDS.items()
    }
    to_generate: dict[str, list[LiveObject]] = {}  # cloud -> its unmanaged findings
    declared_keys: dict[tuple[str, tuple[Any, ...]], str] | None = None  # made for the first unmanaged object
    ids_in_state = {s.cloud_id for s in c.state.resources.values()}
    accepting = {i.unmanaged: (address, i) for address, items in c.ignores.items() for i in items if i.unmanaged}
    items: list[DriftItem] = []
    managed = total = 0
    for obj in sorted(live_now.values(), key=lambda o: (o.kind, o.cloud_id)):
        if not c.refreshed(obj.kind):
            continue
        where = scopes[KINDS[obj.kind].cloud].where(obj)
        if where is None:
            continue
        total += 1
        if obj.cloud_id in ids_in_state:
            managed += 1
            continue
        if declared_keys is None:
            declared_keys = _declared_keys(c, live_now)
        declared_as = declared_keys.get((obj.kind, KINDS[obj.kind].key_of(obj.attrs)))
        owner, entry = accepting.get(obj.cloud_id, (None, None))
        accepted = acceptance(entry, f"accepted in {owner}")
        items.append(
            DriftItem(
                "unmanaged",
                obj.kind,
                obj.cloud_id,
                declared_as,
                obj.region,
                scope=where,
                attrs=dict(obj.attrs),
                detail=_unmanaged_detail(obj, declared_as, c.state, live_now),
                ignored=accepted.ignored,
                ignore_reason=accepted.reason,
                ignore_expires=accepted.expires,
            )
        )
        if not accepted.ignored:
            to_generate.setdefault(KINDS[obj.kind].cloud, []).append(obj)
    args = [
        (name, value)
        for name in scopes
        if name in to_generate
        for value in scopes[name].generate_args(to_generate[name])
    ]
    return InScope(items, managed, total, generate_command(args) if args else None)


def generate_command(args: Iterable[tuple[str, str]]) -> str:
    """`reconciler generate --out DIR --<cloud> VALUE...`, shell-quoted, clouds in registry order."""
    words = ["reconciler", "generate", "--out", GENERATE_OUT]
    for cloud, value in args:
        words += [f"--{cloud}", value]
    return shlex.join(words)


def _declared_keys(c: Comparison, live: Mapping[str, LiveObject]) -> dict[tuple[str, tuple[Any, ...]], str]:
    """(kind, natural key) -> address, for every declared resource.

    A reference is resolved to the object the referenced resource has, or will have once `apply`
    adopts it (one that exists but is not in state yet), so that the resources referencing it
    match too.
    """
    by_key = {(o.kind, KINDS[o.kind].key_of(o.attrs)): o for o in sorted(live.values(), key=lambda o: o.cloud_id)}
    cloud_ids: dict[str, str] = {}  # address -> id of the object it has or will adopt
    out: dict[tuple[str, tuple[Any, ...]], str] = {}
    for resource in dependency_order(c.desired):
        info = KINDS[resource.kind]
        attrs = dict(c.resolved_attrs[resource.address])
        for ref_field, ref in info.ref_fields.items():
            target = resource.refs.get(ref_field)
            if target in cloud_ids:
                attrs[ref.id_attr] = cloud_ids[target]
        key = (resource.kind, info.key_of(attrs))
        out.setdefault(key, resource.address)
        recorded = c.state.resources.get(resource.address)
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


# ---------------------------------------------------------------------------------------------
# Session health and warnings


def session_health(c: Comparison) -> list[HealthItem]:
    """The session of every managed object that exists and whose kind carries one, in address order,
    each with its link as the state records it (so the ends of a link pair up)."""
    return [
        health_of(address, obj, c.now, recorded.labels.get(LINK_LABEL))
        for address, recorded in c.managed()
        if KINDS[recorded.kind].has_session and (obj := c.present(recorded)) is not None
    ]


def drift_warnings(c: Comparison, health: Sequence[HealthItem] = ()) -> list[str]:
    """What the report must say that is not drift: an unfinished apply, expired ignore entries,
    keys that were not compared, sessions near their route limit."""
    warnings = [
        f"{e.address}: an apply is running or was interrupted during {e.action}; the next apply resolves it"
        for e in c.state.pending
    ]
    warnings += expiry_warnings(c.desired, c.today)
    if not c.check_secrets:
        warnings.append("keys (BGP MD5 secrets) were not compared: the manifests' secrets could not be read")
    warnings += [s.headroom_warning for s in pair_sessions(health) if s.headroom_warning]
    return warnings


# ---------------------------------------------------------------------------------------------
# The report


def detect(
    desired: Sequence[Resource],
    state: StateDoc,
    live_objects: Iterable[LiveObject],
    options: DriftOptions | None = None,
) -> DriftReport:
    """Compare live objects with the state and the manifests (see `DriftOptions` for the knobs)."""
    options = options or DriftOptions()
    live_objects = tuple(live_objects)
    c = Comparison.of(desired, state, live_objects, options)
    in_scope = unmanaged_drift(c)
    health = tuple(session_health(c))
    report = DriftReport(
        items=(*managed_drift(c), *in_scope.unmanaged),
        health=health,
        managed_in_scope=in_scope.managed,
        total_in_scope=in_scope.total,
        lineage=state.lineage,
        serial=state.serial,
        created_at=c.now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        api_calls=options.api_calls,
        warnings=tuple(drift_warnings(c, health)),
        errors=tuple(a.describe() for a in find_ambiguities(desired, state, live_objects)),
        require_established=options.require_established,
        unmanaged_level=options.unmanaged_level,
        generate_command=in_scope.generate_command,
    )
    if not report.affected_addresses:
        return report  # the picture is only drawn around findings: none, no picture to build
    return replace(report, topology=items_from_state(state, desired, live_objects))
