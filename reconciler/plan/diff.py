"""Three-way diff: desired (manifests) x state (identities) x live (refresh) -> one Change per address.

Pure functions over plain data. What a kind means (fields, natural key, replace-only fields,
whether it can be deleted) comes from its `KindInfo` in the registry; nothing here knows a cloud.
References are resolved by `reconciler.plan.resolve`, secret fields compared by
`reconciler.plan.secrets` (docs/architecture.md, "Plan").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from reconciler.clouds import KINDS
from reconciler.kinds import KindInfo
from reconciler.model import (
    NO_ENTRIES,
    Address,
    DeletionPolicy,
    LiveObject,
    Resource,
    ResourceMetadata,
    SecretValue,
    StateDoc,
    StateResource,
    entries_of,
)
from reconciler.plan.keys import key_after, key_before
from reconciler.plan.model import Action, Change, FieldChange, SecretChange
from reconciler.plan.resolve import ReferencedObject, Resolved, dependency_order, resolve
from reconciler.plan.secrets import compare_secret, desired_secrets

GONE_REASON = "deleted outside reconciler"
ORPHAN_REASON = "deletionPolicy: Orphan: the object stays in the cloud, only the state entry goes"
ORPHAN_REPLACE_REASON = "deletionPolicy: Orphan: the old object is left in the cloud, only forgotten"
REPLACE_OPTION = "--replace"
DESTROY_OPTION = "--destroy"


@dataclass(frozen=True, slots=True)
class LiveIndex:
    """Live objects by cloud id and by (kind, natural key)."""

    by_id: Mapping[str, LiveObject]
    by_key: Mapping[tuple[str, tuple[Any, ...]], LiveObject]

    @classmethod
    def build(cls, objects: Iterable[LiveObject]) -> LiveIndex:
        by_id: dict[str, LiveObject] = {}
        by_key: dict[tuple[str, tuple[Any, ...]], LiveObject] = {}
        for obj in objects:
            if obj.status == "deleting":
                continue  # on its way out: neither a match nor a conflict
            by_id[obj.cloud_id] = obj
            by_key.setdefault((obj.kind, KINDS[obj.kind].key_of(obj.attrs)), obj)
        return cls(by_id, by_key)

    def get(self, kind: str, cloud_id: str) -> LiveObject | None:
        obj = self.by_id.get(cloud_id)
        return obj if obj is not None and obj.kind == kind else None


# ---------------------------------------------------------------- field comparison


def _diff_keys(before: Mapping[str, Any], after: Mapping[str, Any]) -> set[str]:
    """Top-level fields that really differ, per deepdiff (list order and int/float spelling ignored)."""
    if before == after:
        return set()
    from deepdiff import DeepDiff  # imported only when something differs: it is slow to import

    delta = DeepDiff(dict(before), dict(after), ignore_order=True, ignore_numeric_type_changes=True)
    return {str(key) for key in delta.affected_root_keys}


def field_changes(
    info: KindInfo,
    desired_attrs: Mapping[str, Any],
    desired_secrets: Mapping[str, SecretValue | None],
    live: LiveObject,
    unknown: frozenset[str] = frozenset(),
) -> tuple[FieldChange, ...]:
    """The managed fields whose live value differs from the desired one."""
    managed = [f for f in info.fields if f in desired_attrs or f in unknown]
    out: list[FieldChange] = []
    if unknown or any(live.attrs.get(f) != desired_attrs.get(f) for f in managed):  # else nothing differs
        before = {f: live.attrs.get(f) for f in managed if f not in unknown}
        after = {f: desired_attrs.get(f) for f in managed if f not in unknown}
        changed = _diff_keys(before, after)
        out += [
            FieldChange(f, before=before.get(f), after=after.get(f), forces_replacement=f in info.replace_only)
            for f in managed
            if f in changed
        ]
        out += [
            FieldChange(f, before=live.attrs.get(f), after_unknown=True, forces_replacement=f in info.replace_only)
            for f in managed
            if f in unknown
        ]
    for secret_field in info.secret_fields:
        if secret_field not in live.secrets:
            continue  # the API did not tell us: nothing to compare
        verdict = compare_secret(desired_secrets.get(secret_field), live.secrets[secret_field])
        if verdict is not SecretChange.UNCHANGED:
            out.append(FieldChange(secret_field, sensitive=True, secret_change=verdict))
    return tuple(out)


def creation_fields(resolved: Resolved) -> tuple[FieldChange, ...]:
    info = KINDS[resolved.resource.kind]
    out = [FieldChange(f, after=resolved.attrs[f]) for f in info.fields if f in resolved.attrs]
    out += [FieldChange(f, after_unknown=True) for f in info.fields if f in resolved.unknown]
    out += [
        FieldChange(f, sensitive=True, secret_change=SecretChange.ADDED)
        for f in info.secret_fields
        if f in resolved.resource.secret_refs
    ]
    return tuple(out)


def secret_ref_ids(resource: Resource) -> Mapping[str, str]:
    """Each secret field's reference id (`env:NAME`), as a change shows it for review."""
    if not resource.secret_refs:
        return NO_ENTRIES
    return {field: ref.id for field, ref in resource.secret_refs.items()}


# ---------------------------------------------------------------- the diff


def metadata_of(resource: Resource, manifest_files: Mapping[str, str]) -> ResourceMetadata:
    """What the state records of what the manifests say of `resource`."""
    return ResourceMetadata(
        manifest_file=manifest_files.get(resource.address),
        deletion_policy=resource.deletion_policy,
        prevent_destroy=resource.prevent_destroy,
        labels=entries_of(resource.labels),
    )


def diff(
    desired: Sequence[Resource],
    state: StateDoc,
    live: LiveIndex,
    *,
    refreshed_kinds: frozenset[str] | None = None,
    manifest_files: Mapping[str, str] | None = None,
    outside_paths: Mapping[str, str] | None = None,
    replace_addresses: frozenset[str] = frozenset(),
) -> list[Change]:
    """One Change per address: every desired resource, plus state resources no longer desired.

    `refreshed_kinds` limits "gone from the cloud" conclusions to kinds that were actually
    refreshed (all kinds when None). `manifest_files` gives each desired address the file the
    state records for it. `outside_paths` maps state addresses that the manifests do not declare
    but that lie outside the paths given to plan to why: they are left alone (no-op), not
    deleted. `replace_addresses` are replaced even if nothing differs (`--replace`).
    """
    manifest_files = manifest_files or {}
    outside_paths = outside_paths or {}
    changes: list[Change] = []
    referenced: dict[str, ReferencedObject] = {}
    claimed_ids = {r.cloud_id: a for a, r in state.resources.items()}
    renamed_from: set[str] = set()
    desired_addresses = {r.address for r in desired}
    renames = _renames(desired, state, live, desired_addresses)
    # What other resources reference: only these are remembered once planned (`referenced`).
    targets = {target for r in desired for target in r.refs.values()}

    for resource in dependency_order(desired):
        info = KINDS[resource.kind]
        resolved = resolve(resource, referenced)
        recorded = state.resources.get(resource.address)
        live_obj = live.get(resource.kind, recorded.cloud_id) if recorded else None
        secrets = desired_secrets(resource)
        refreshed = refreshed_kinds is None or resource.kind in refreshed_kinds
        recorded_as = _recorded_as(recorded, metadata_of(resource, manifest_files))

        if recorded is not None and (live_obj is not None or not refreshed):
            if live_obj is None:  # not refreshed: trust state
                change = Change(
                    address=resource.address,
                    kind=resource.kind,
                    action=Action.NOOP,
                    provider=info.cloud,
                    cloud_id=recorded.cloud_id,
                    region=recorded.region,
                    before=recorded.attributes,
                    after=resolved.attrs,
                    depends_on=resolved.depends_on,
                    name=resource.name,
                    **recorded_as,
                )
            else:
                change = _change_existing(resource, resolved, recorded, live_obj, secrets, recorded_as)
        else:
            renamed = renames.get(resource.address)
            change = _change_new(
                resource, resolved, recorded, live, claimed_ids, desired_addresses, secrets, recorded_as, renamed
            )
            if change.previous_address:
                renamed_from.add(change.previous_address)
        if resource.address in replace_addresses:
            change = _forced_replace(change)
        if change.action is Action.REPLACE and resource.deletion_policy is DeletionPolicy.ORPHAN:
            change = replace(change, reason=f"{change.reason}; {ORPHAN_REPLACE_REASON}")
        changes.append(change)
        if resource.address in targets:
            keeps_id = change.action in (Action.NOOP, Action.UPDATE, Action.ADOPT)
            referenced[resource.address] = ReferencedObject(change.cloud_id if keeps_id else None, resolved.attrs)

    declared_owner = {r.cloud_id: a for a, r in state.resources.items() if a in desired_addresses}
    for address, recorded in sorted(state.resources.items()):
        if address in desired_addresses or address in renamed_from:
            continue
        owner = declared_owner.get(recorded.cloud_id)
        if owner is None and address in outside_paths:
            changes.append(_change_outside_paths(recorded, outside_paths[address]))
            continue
        changes.append(_change_removed(recorded, live, refreshed_kinds, managed_by=owner))
    return _untangle_key_swaps(changes)


def destroy_changes(
    desired: Sequence[Resource],
    state: StateDoc,
    live: LiveIndex,
    *,
    refreshed_kinds: frozenset[str] | None = None,
    manifest_files: Mapping[str, str] | None = None,
) -> list[Change]:
    """`plan --destroy`: every state resource deleted, or forgotten (a kind the API cannot delete,
    or deletionPolicy Orphan). The manifests' metadata governs what they declare, the state's
    record the rest."""
    declared = {r.address: metadata_of(r, manifest_files or {}) for r in desired}
    changes = []
    for address, recorded in sorted(state.resources.items()):
        metadata = declared.get(address)
        policy = metadata.deletion_policy if metadata is not None else recorded.deletion_policy
        change = _change_removed(recorded, live, refreshed_kinds, policy=policy, why=DESTROY_OPTION)
        changes.append(replace(change, metadata=metadata))
    return changes


def _forced_replace(change: Change) -> Change:
    """`--replace ADDRESS`: an object that exists is replaced, even if nothing differs."""
    if change.action not in (Action.NOOP, Action.UPDATE) or change.cloud_id is None:
        return change  # created (or adopted) anyway
    info = KINDS[change.kind]
    reason = REPLACE_OPTION
    if not info.deletable:
        # A create may then find the same object by its natural key and take it over again (a
        # cloud that allows one such object per key): what is honest to say is that it is resent.
        reason += (
            f"; the old object is forgotten, not deleted ({info.no_delete_reason}); the create may find it by "
            f"its {info.key_words} and take it over again, sending every field"
        )
    return replace(change, action=Action.REPLACE, reason=reason, settling=False, reapply=False)


def _change_outside_paths(recorded: StateResource, why: str) -> Change:
    return Change(
        address=recorded.address,
        kind=recorded.kind,
        action=Action.NOOP,
        provider=KINDS[recorded.kind].cloud,
        reason=f"not in the given paths ({why}): left alone; --prune deletes it",
        cloud_id=recorded.cloud_id,
        region=recorded.region,
        before=recorded.attributes,
        after=recorded.attributes,
        depends_on=recorded.dependencies,
        name=Address.parse(recorded.address).name,
        outside_paths=True,
    )


def _untangle_key_swaps(changes: list[Change]) -> list[Change]:
    """Two in-place updates that trade natural keys (say two peers swapping IP addresses) would
    collide whatever the order. The first of such a pair is replaced instead: its delete frees the
    key, the other update waits for it, and its create waits for the other update (apply.steps)."""
    if not any(c.action is Action.UPDATE and key_after(c) != key_before(c) for c in changes):
        return changes  # no update moves a key (every no-change plan): nothing to untangle
    holders = {(c.kind, key): c for c in changes if (key := key_before(c)) is not None}
    has_dependents = {dep for c in changes for dep in c.depends_on}
    replaced: set[str] = set()
    out: list[Change] = []
    for change in changes:
        new_key = key_after(change)
        holder = holders.get((change.kind, new_key)) if new_key is not None else None
        if (
            change.action is Action.UPDATE
            and new_key != key_before(change)
            and holder is not None
            and holder.address != change.address
            and holder.action is Action.UPDATE
            and holder.address not in replaced
            and change.address not in has_dependents
        ):
            out.append(_replace_to_untangle(change, holder.address))
            replaced.add(change.address)
        else:
            out.append(change)
    return out


def _replace_to_untangle(change: Change, holder: str) -> Change:
    before, after = change.before or {}, change.after or {}
    moved = tuple(f for f in KINDS[change.kind].natural_key if before.get(f) != after.get(f))
    fields = tuple(replace(f, forces_replacement=f.forces_replacement or f.name in moved) for f in change.fields)
    return replace(
        change,
        action=Action.REPLACE,
        replace_fields=moved,
        fields=fields,
        reason=f"{' + '.join(moved)} moves onto {holder}'s, which moves too: "
        "replaced, so the two never hold the same address at once",
    )


def _renames(
    desired: Sequence[Resource], state: StateDoc, live: LiveIndex, desired_addresses: set[str]
) -> dict[str, StateResource]:
    """New address -> the state entry it renames, for kinds whose name is part of the natural key.

    Only unambiguous cases: within one `KindInfo.rename_scope`, exactly one recorded object
    lost its address and exactly one declared resource has neither a state entry nor a live match.
    """
    lost: dict[tuple[str, tuple[Any, ...]], list[StateResource]] = {}
    for address, recorded in state.resources.items():
        scope = KINDS[recorded.kind].rename_scope
        if scope and address not in desired_addresses and live.get(recorded.kind, recorded.cloud_id):
            lost.setdefault((recorded.kind, tuple(recorded.attributes.get(f) for f in scope)), []).append(recorded)
    new: dict[tuple[str, tuple[Any, ...]], list[Resource]] = {}
    for resource in desired:
        info = KINDS[resource.kind]
        if not info.rename_scope or resource.address in state.resources or resource.refs:
            continue
        if (resource.kind, info.key_of(resource.attrs)) in live.by_key:
            continue
        new.setdefault((resource.kind, tuple(resource.attrs.get(f) for f in info.rename_scope)), []).append(resource)
    return {
        found[0].address: lost[scope][0]
        for scope, found in new.items()
        if len(found) == 1 and len(lost.get(scope, [])) == 1
    }


def _recorded_as(recorded: StateResource | None, metadata: ResourceMetadata) -> dict[str, Any]:
    """A declared resource's Change fields for what the state is to record of it: what the
    manifests say (`metadata`), and whether that differs from what the state records."""
    return {
        "metadata": metadata,
        "records_metadata": recorded is not None and not metadata.recorded_by(recorded),
    }


def _change_existing(
    resource: Resource,
    resolved: Resolved,
    recorded: StateResource,
    live_obj: LiveObject,
    secrets: Mapping[str, SecretValue | None],
    recorded_as: Mapping[str, Any],
) -> Change:
    info = KINDS[resource.kind]
    fields = field_changes(info, resolved.attrs, secrets, live_obj, resolved.unknown)
    replace_fields = tuple(f.name for f in fields if f.forces_replacement)
    outside = _changed_outside(info, recorded, live_obj)
    reason = ""
    if replace_fields:
        action = Action.REPLACE
        reason = f"{', '.join(replace_fields)} cannot be changed in place"
        if not info.deletable:
            reason += f"; the old object is forgotten, not deleted ({info.no_delete_reason})"
    elif live_obj.status == "failed":
        action = Action.UPDATE
        reason = f"{_failed_reason(live_obj)}: it will be applied again"
        fields = fields or reapplied_fields(info, resolved, live_obj)
    elif fields:
        action = Action.UPDATE
        if outside:
            reason = _outside_reason(info, recorded, resolved, fields)
    else:
        action = Action.NOOP
    return Change(
        address=resource.address,
        kind=resource.kind,
        action=action,
        provider=info.cloud,
        reason=reason,
        cloud_id=recorded.cloud_id,
        region=live_obj.region or recorded.region,
        before=live_obj.attrs,  # not copied: a live object is not changed once read
        after=_after(resource, resolved, live_obj, action),
        fields=fields,
        replace_fields=replace_fields,
        after_unknown=tuple(sorted(resolved.unknown)),
        refs=resource.refs,
        secret_refs=secret_ref_ids(resource),
        depends_on=resolved.depends_on,
        outside_change=outside,
        name=resource.name,
        settling=live_obj.status == "pending" and action is Action.NOOP,
        reapply=live_obj.status == "failed" and action is Action.UPDATE,
        **recorded_as,
    )


def _after(resource: Resource, resolved: Resolved, live_obj: LiveObject, action: Action) -> Mapping[str, Any]:
    """The desired attributes of an existing object's change. A resource with references gets a
    new mapping when they are resolved; when nothing changes and it equals the live object's, the
    change holds that one instead, so that a large no-change plan does not keep both."""
    if action is Action.NOOP and resolved.attrs is not resource.attrs and resolved.attrs == live_obj.attrs:
        return live_obj.attrs
    return resolved.attrs


def reapplied_fields(info: KindInfo, resolved: Resolved, live_obj: LiveObject) -> tuple[FieldChange, ...]:
    """What applying a failed object again sends: every field that can change in place, as the
    manifests want it. A field that only changes by replacement is left out: it already has the
    desired value, and a cloud refuses an update that names it."""
    return tuple(
        FieldChange(f, before=live_obj.attrs.get(f), after=resolved.attrs.get(f))
        for f in info.fields
        if f not in info.replace_only and f not in resolved.unknown
    )


def _failed_reason(live_obj: LiveObject) -> str:
    return f"last provisioning ended {live_obj.raw_status or 'FAILED'}"


def _change_new(
    resource: Resource,
    resolved: Resolved,
    recorded: StateResource | None,
    live: LiveIndex,
    claimed_ids: Mapping[str, str],
    desired_addresses: set[str],
    secrets: Mapping[str, SecretValue | None],
    recorded_as: Mapping[str, Any],
    renamed: StateResource | None = None,
) -> Change:
    """Not in state, or in state but gone from the cloud: adopt a natural-key match (or, for a
    rename, the object the old name recorded), else create."""
    info = KINDS[resource.kind]
    common: dict[str, Any] = {
        "address": resource.address,
        "kind": resource.kind,
        "provider": info.cloud,
        "after": resolved.attrs,
        "after_unknown": tuple(sorted(resolved.unknown)),
        "refs": resource.refs,
        "secret_refs": secret_ref_ids(resource),
        "depends_on": resolved.depends_on,
        "name": resource.name,
        **recorded_as,
    }
    match = None
    if not resolved.unknown:
        match = live.by_key.get((resource.kind, info.key_of(resolved.attrs)))
    if match is None and renamed is not None:
        match = live.get(renamed.kind, renamed.cloud_id)
    owner = claimed_ids.get(match.cloud_id) if match is not None else None
    fields: tuple[FieldChange, ...] = ()
    replace_fields: tuple[str, ...] = ()
    if match is not None:
        fields = field_changes(info, resolved.attrs, secrets, match, resolved.unknown)
        replace_fields = tuple(f.name for f in fields if f.forces_replacement)
        if replace_fields and owner not in (None, resource.address):
            # Taking over another address's object only to replace it is no rename: the old
            # address is deleted as removed, and this one is created.
            match = owner = None
    if match is not None and (owner is None or owner == resource.address or owner not in desired_addresses):
        if renamed is not None and owner == renamed.address:
            reason = f"renamed from {owner}: renamed in place, not recreated"
        elif owner and owner != resource.address:
            reason = f"renamed from {owner}: the same {info.key_words} is taken over, not recreated"
        elif recorded is not None:
            reason = f"the recorded object is gone; an object with the same {info.key_words} exists"
        else:
            reason = f"exists in the cloud with the same {info.key_words} but is not in state"
        if match.status == "failed" and not replace_fields:
            fields = fields or reapplied_fields(info, resolved, match)
            reason += f"; {_failed_reason(match)}: it will be applied again"
        elif fields:
            reason += "; it will be updated to match the manifests"
        return Change(
            **common,
            action=Action.REPLACE if replace_fields else Action.ADOPT,
            reason=reason,
            cloud_id=match.cloud_id,
            region=match.region,
            before=dict(match.attrs),
            fields=fields,
            replace_fields=replace_fields,
            previous_address=owner if owner and owner != resource.address else None,
            outside_change=recorded is not None,
            settling=match.status == "pending",
            reapply=match.status == "failed" and not replace_fields,
        )
    gone = recorded is not None
    return Change(
        **common,
        action=Action.CREATE,
        reason=f"{GONE_REASON} (was {recorded.cloud_id})" if recorded is not None else "",
        region=info.region_of(resolved.attrs),
        fields=creation_fields(resolved),
        outside_change=gone,
    )


def _change_removed(
    recorded: StateResource,
    live: LiveIndex,
    refreshed_kinds: frozenset[str] | None,
    managed_by: str | None = None,
    *,
    policy: DeletionPolicy | None = None,
    why: str = "removed from the manifests",
) -> Change:
    """A state resource that the manifests no longer declare (or that `--destroy` removes, `why`).

    If a declared address records the same cloud object (a rename was interrupted), the old
    entry is only forgotten: deleting it would delete the object the new address manages. Its
    deletion policy (`policy`, else the state's record) Orphan forgets it too.
    """
    info = KINDS[recorded.kind]
    live_obj = live.get(recorded.kind, recorded.cloud_id)
    refreshed = refreshed_kinds is None or recorded.kind in refreshed_kinds
    common: dict[str, Any] = {
        "address": recorded.address,
        "kind": recorded.kind,
        "provider": info.cloud,
        "cloud_id": recorded.cloud_id,
        "region": recorded.region,
        "before": dict(live_obj.attrs) if live_obj else recorded.attributes,
        "depends_on": recorded.dependencies,
        "name": Address.parse(recorded.address).name,
    }
    if managed_by is not None:
        return Change(**common, action=Action.FORGET, reason=f"the object is managed as {managed_by} now")
    if not info.deletable:
        return Change(**common, action=Action.FORGET, reason=f"{why}; {info.no_delete_reason}")
    if live_obj is None and refreshed:
        return Change(
            **common,
            action=Action.FORGET,
            reason=f"{why} and already {GONE_REASON}: only the state entry goes",
            outside_change=True,
        )
    if (policy or recorded.deletion_policy) is DeletionPolicy.ORPHAN:
        return Change(**common, action=Action.FORGET, reason=f"{why}; {ORPHAN_REASON}")
    return Change(**common, action=Action.DELETE, reason=why)


def _outside_reason(info: KindInfo, recorded: StateResource, resolved: Resolved, fields: Sequence[FieldChange]) -> str:
    """Why live differs from what reconciler last applied. When the manifests still want exactly
    that, the cloud may have rolled reconciler's own change back: the plan cannot tell, so it says
    both."""
    last = info.normalise(recorded.attributes)
    wanted = {f.name for f in fields if f.secret_change is None}
    if wanted and not _diff_keys({f: last.get(f) for f in wanted}, {f: resolved.attrs.get(f) for f in wanted}):
        return "the cloud does not show what reconciler last applied (rolled back, or changed outside reconciler)"
    return "changed outside reconciler"


def _changed_outside(info: KindInfo, recorded: StateResource, live_obj: LiveObject) -> bool:
    """Whether live differs from what reconciler last applied (someone changed it by hand)."""
    recorded_attrs, live_attrs = recorded.attributes, live_obj.attrs
    # State records normalised values, and normalising is idempotent: when they already equal the
    # live ones (the usual case), normalising them again could not make them differ.
    if all(recorded_attrs.get(f) == live_attrs.get(f) for f in info.fields):
        return False
    last = info.normalise(recorded_attrs)
    if all(last.get(f) == live_attrs.get(f) for f in info.fields):
        return False  # the usual answer, without building the two mappings `_diff_keys` compares
    return bool(_diff_keys({f: last.get(f) for f in info.fields}, {f: live_obj.attrs.get(f) for f in info.fields}))


# ---------------------------------------------------------------- refresh-only


def refresh_only_changes(state: StateDoc, live: LiveIndex, refreshed_kinds: frozenset[str] | None) -> list[Change]:
    """Differences between live and state only: what `apply --refresh-only` would accept into state."""
    changes: list[Change] = []
    for address, recorded in sorted(state.resources.items()):
        info = KINDS[recorded.kind]
        if refreshed_kinds is not None and recorded.kind not in refreshed_kinds:
            continue
        live_obj = live.get(recorded.kind, recorded.cloud_id)
        common: dict[str, Any] = {
            "address": address,
            "kind": recorded.kind,
            "provider": info.cloud,
            "cloud_id": recorded.cloud_id,
            "region": recorded.region,
            "before": recorded.attributes,
            "depends_on": recorded.dependencies,
            "outside_change": True,
            "name": Address.parse(address).name,
        }
        if live_obj is None:
            changes.append(
                Change(**common, action=Action.FORGET, reason=f"{GONE_REASON}: it will be removed from state")
            )
            continue
        last = info.normalise(recorded.attributes)
        before = {f: last.get(f) for f in info.fields if f in last or f in live_obj.attrs}
        after = {f: live_obj.attrs.get(f) for f in before}
        changed = _diff_keys(before, after)
        if changed:
            fields = tuple(FieldChange(f, before=before.get(f), after=after.get(f)) for f in before if f in changed)
            changes.append(
                Change(
                    **{**common, "after": dict(live_obj.attrs)},
                    action=Action.UPDATE,
                    reason="changed outside reconciler: state will record the live values",
                    fields=fields,
                )
            )
        else:
            changes.append(Change(**{**common, "after": recorded.attributes}, action=Action.NOOP))
    return changes
