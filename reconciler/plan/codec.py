"""The plan as a JSON document and back: `--format json` output and, byte for byte, the saved plan file.

Shape inspired by Terraform's `show -json` and described by `schemas/plan.schema.json`.
`format_version` is `major.minor`: a minor bump only adds keys (readers ignore keys they do not
know), a major bump breaks readers. 1.1 added `manifest_paths` and a saved plan's optional
`signature` (`reconciler.plan.signing`; it is no part of the `Plan` value); 1.2 the `footprint`
(`reconciler.plan.staleness`). Secret values never appear: secret fields are listed in
`before_sensitive` / `after_sensitive` (always `true`) and their field changes carry no values.

`plan_from_dict(plan_to_dict(p)) == p` for every well-formed plan (JSON attribute values, no
values on sensitive field changes); `reconciler.plan.planfile` adds file handling and validation
(docs/architecture.md, "Plan").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reconciler.plan.model import Action, Change, FieldChange, Plan, PlanMode, SecretChange, SecretDigest, Seen
from reconciler.plan.redact import redact_change, scrub, secret_fields_of
from reconciler.state.codec import metadata_from_json, metadata_to_json

# Actions whose `before` / `after` side exists.
_HAS_BEFORE = frozenset(set(Action) - {Action.CREATE})
_HAS_AFTER = frozenset(set(Action) - {Action.DELETE, Action.FORGET})
_BEFORE_SIDE = frozenset({SecretChange.REMOVED, SecretChange.CHANGED, SecretChange.UNCHANGED})
_AFTER_SIDE = frozenset({SecretChange.ADDED, SecretChange.CHANGED, SecretChange.UNCHANGED})


def _sensitive_sides(change: Change) -> tuple[dict[str, bool], dict[str, bool]]:
    """Which secret fields hold a value before and after the change (Terraform's
    `before_sensitive` / `after_sensitive`, flat because our attributes are flat)."""
    before: set[str] = set()
    after: set[str] = set()
    for f in change.fields:
        if f.sensitive:
            side = f.secret_change or SecretChange.CHANGED
            if side in _BEFORE_SIDE:
                before.add(f.name)
            if side in _AFTER_SIDE:
                after.add(f.name)
    listed = {f.name for f in change.fields}
    for name in change.secret_refs:
        if name not in listed:  # a referenced secret with no field change is unchanged
            after.add(name)
            if change.action in (Action.UPDATE, Action.NOOP):
                before.add(name)
    secrets = secret_fields_of(change)
    before.update(k for k in (change.before or {}) if k in secrets)
    after.update(k for k in (change.after or {}) if k in secrets)
    return (
        dict.fromkeys(sorted(before), True) if change.action in _HAS_BEFORE else {},
        dict.fromkeys(sorted(after), True) if change.action in _HAS_AFTER else {},
    )


def field_to_dict(field: FieldChange) -> dict[str, Any]:
    return {
        "name": field.name,
        "before": None if field.sensitive else field.before,
        "after": None if field.sensitive else field.after,
        "sensitive": field.sensitive,
        "secret_change": field.secret_change.value if field.secret_change else None,
        "forces_replacement": field.forces_replacement,
        "after_unknown": field.after_unknown,
    }


def change_to_dict(change: Change) -> dict[str, Any]:
    """One `resource_changes[]` entry (secrets redacted first)."""
    change = redact_change(change)
    before_sensitive, after_sensitive = _sensitive_sides(change)
    return {
        "address": change.address,
        "kind": change.kind,
        "name": change.name,
        "provider": change.provider,
        "action": change.action.value,
        "destructive": change.destructive,
        "reason": change.reason,
        "cloud_id": change.cloud_id,
        "region": change.region,
        "before": None if change.before is None else dict(change.before),
        "after": None if change.after is None else dict(change.after),
        "after_unknown": list(change.after_unknown),
        "before_sensitive": before_sensitive,
        "after_sensitive": after_sensitive,
        "fields": [field_to_dict(f) for f in change.fields],
        "replace_fields": list(change.replace_fields),
        "refs": dict(change.refs),
        "secret_refs": dict(change.secret_refs),
        "depends_on": list(change.depends_on),
        "previous_address": change.previous_address,
        "outside_change": change.outside_change,
        "settling": change.settling,
        # Written only when set: a plan without a failed object reads as before this field existed.
        **({"reapply": True} if change.reapply else {}),
        **({"metadata": metadata_to_json(change.metadata)} if change.metadata is not None else {}),
        **({"records_metadata": True} if change.records_metadata else {}),
        **({"outside_paths": True} if change.outside_paths else {}),
    }


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The plan as a JSON-ready dict (see `schemas/plan.schema.json`)."""
    return {
        "format_version": plan.format_version,
        "tool_version": plan.tool_version,
        "created_at": plan.created_at,
        "mode": PlanMode(plan.mode).value,
        "lineage": plan.lineage,
        "serial": plan.serial,
        "manifests_digest": plan.manifests_digest,
        "manifest_paths": None if plan.manifest_paths is None else list(plan.manifest_paths),
        "secret_digests": {ref: {"salt": d.salt, "digest": d.digest} for ref, d in sorted(plan.secret_digests.items())},
        "targets": list(plan.targets),
        "warnings": list(plan.warnings),
        "api_calls": {provider: dict(sorted(calls.items())) for provider, calls in sorted(plan.api_calls.items())},
        "summary": plan.summary(),
        "resource_changes": [change_to_dict(c) for c in plan.changes],
        "extra": scrub(dict(plan.extra)),
        # Written only when recorded: a plan without it is held to the strict check of format 1.1.
        **({"footprint": footprint_to_dict(plan.footprint)} if plan.footprint is not None else {}),
    }


def footprint_to_dict(footprint: Mapping[str, Seen]) -> dict[str, dict[str, str | None]]:
    return {address: {"state": seen.state, "desired": seen.desired} for address, seen in sorted(footprint.items())}


def plan_to_json(plan: Plan) -> str:
    """The JSON document, indented, ending with a newline."""
    return json.dumps(plan_to_dict(plan), indent=2, ensure_ascii=False, default=str) + "\n"


def field_from_dict(data: Mapping[str, Any]) -> FieldChange:
    secret_change = data.get("secret_change")
    return FieldChange(
        name=data["name"],
        before=data.get("before"),
        after=data.get("after"),
        sensitive=bool(data.get("sensitive", False)),
        secret_change=SecretChange(secret_change) if secret_change is not None else None,
        forces_replacement=bool(data.get("forces_replacement", False)),
        after_unknown=bool(data.get("after_unknown", False)),
    )


def change_from_dict(data: Mapping[str, Any]) -> Change:
    """Inverse of `change_to_dict` (derived keys such as `destructive` are ignored)."""
    before, after = data.get("before"), data.get("after")
    return Change(
        address=data["address"],
        kind=data["kind"],
        action=Action(data["action"]),
        provider=data["provider"],
        reason=data.get("reason", ""),
        cloud_id=data.get("cloud_id"),
        region=data.get("region"),
        before=None if before is None else dict(before),
        after=None if after is None else dict(after),
        fields=tuple(field_from_dict(f) for f in data.get("fields", ())),
        replace_fields=tuple(data.get("replace_fields", ())),
        after_unknown=tuple(data.get("after_unknown", ())),
        refs=dict(data.get("refs", {})),
        secret_refs=dict(data.get("secret_refs", {})),
        depends_on=tuple(data.get("depends_on", ())),
        previous_address=data.get("previous_address"),
        outside_change=bool(data.get("outside_change", False)),
        settling=bool(data.get("settling", False)),
        reapply=bool(data.get("reapply", False)),
        name=data.get("name", ""),
        metadata=metadata_from_json(data["metadata"]) if data.get("metadata") is not None else None,
        records_metadata=bool(data.get("records_metadata", False)),
        outside_paths=bool(data.get("outside_paths", False)),
    )


def plan_from_dict(data: Mapping[str, Any]) -> Plan:
    """Inverse of `plan_to_dict`, for a document valid against the schema.

    Derived keys (`summary`, `destructive`, `*_sensitive`) are recomputed, not read; unknown keys
    (a `signature` among them) are ignored. Raises KeyError / ValueError / TypeError on a malformed document.
    """
    manifest_paths = data.get("manifest_paths")
    return Plan(
        changes=tuple(change_from_dict(c) for c in data["resource_changes"]),
        lineage=data.get("lineage"),
        serial=int(data["serial"]),
        manifests_digest=data.get("manifests_digest", ""),
        manifest_paths=None if manifest_paths is None else tuple(manifest_paths),
        secret_digests={
            ref: SecretDigest(salt=d["salt"], digest=d["digest"]) for ref, d in data.get("secret_digests", {}).items()
        },
        mode=PlanMode(data.get("mode", PlanMode.NORMAL.value)),
        targets=tuple(data.get("targets", ())),
        created_at=data.get("created_at", ""),
        tool_version=data.get("tool_version", ""),
        api_calls={p: dict(calls) for p, calls in data.get("api_calls", {}).items()},
        warnings=tuple(data.get("warnings", ())),
        footprint=(
            None
            if data.get("footprint") is None
            else {a: Seen(state=s.get("state"), desired=s.get("desired")) for a, s in data["footprint"].items()}
        ),
        format_version=data["format_version"],
        extra=dict(data.get("extra", {})),
    )


__all__ = [
    "change_from_dict",
    "change_to_dict",
    "field_from_dict",
    "field_to_dict",
    "footprint_to_dict",
    "plan_from_dict",
    "plan_to_dict",
    "plan_to_json",
]
