"""Valid documents -> `reconciler.model.Resource`, the desired state the planner works from."""

from __future__ import annotations

from typing import Any

from reconciler.clouds import KINDS
from reconciler.manifest.checked import Checked
from reconciler.manifest.secrets import secret_ref
from reconciler.model import (
    NO_ENTRIES,
    DeletionPolicy,
    DriftIgnore,
    Resource,
    SecretRef,
    SourcePos,
    address_of,
    entries_of,
)


def to_resource(checked: Checked) -> Resource:
    """A resource from a document that passed every check."""
    data = checked.doc.data
    kind, name = checked.kind, str(data["metadata"]["name"])
    info = KINDS[kind]
    spec: dict[str, Any] = dict(data["spec"])
    secret_refs: dict[str, SecretRef] = {
        field: secret_ref(checked.doc.file, spec.pop(field)) for field in info.secret_fields if field in spec
    }
    if info.name_attr is not None:
        spec[info.name_attr] = name
    refs: dict[str, str] = {}
    for ref_field, target in info.ref_fields.items():
        value = spec.pop(ref_field, None)
        if value is not None:
            # The planner fills the id (and inherited attributes) in once the target exists.
            refs[ref_field] = address_of(target.kind, str(value))
    if info.derive is not None:
        spec.update(info.derive(spec))
    metadata = data["metadata"]
    return Resource(
        kind=kind,
        name=name,
        attrs=info.normalise(spec),
        secret_refs=secret_refs or NO_ENTRIES,
        refs=refs or NO_ENTRIES,
        labels=entries_of(metadata.get("labels")),
        source=SourcePos(checked.doc.file, checked.doc.line, checked.doc.col),
        drift_ignore=tuple(_drift_ignore(item) for item in metadata.get("driftIgnore") or ()),
        deletion_policy=DeletionPolicy(metadata.get("deletionPolicy", DeletionPolicy.DELETE)),
        prevent_destroy=bool(metadata.get("preventDestroy", False)),
    )


def _drift_ignore(item: str | dict[str, Any]) -> DriftIgnore:
    if isinstance(item, str):
        return DriftIgnore(field=item)
    return DriftIgnore(
        field=item.get("field"),
        unmanaged=item.get("unmanaged"),
        reason=item.get("reason") or "",
        expires=item.get("expires"),
    )
