"""Valid documents -> `reconciler.model.Resource`, the desired state the planner works from."""

from __future__ import annotations

from typing import Any

from reconciler.kinds import KINDS
from reconciler.manifest.secrets import secret_ref
from reconciler.manifest.semantic import Checked, parse_ip
from reconciler.model import (
    ALIBABA_GROUP,
    ALIBABA_PEER,
    DriftIgnore,
    Resource,
    SecretRef,
    SourcePos,
    address_of,
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
    refs: dict[str, str] = {}
    if kind == ALIBABA_GROUP:
        spec["name"] = name  # the group's Name in Alibaba Cloud, part of its natural key
    elif kind == ALIBABA_PEER:
        group = spec.pop("bgpGroup", None)
        if group is not None:
            # The planner fills bgpGroupId and regionId in from the group once it exists.
            refs["bgpGroup"] = address_of(ALIBABA_GROUP, str(group))
        address = parse_ip(spec.get("peerIpAddress"))
        spec["ipVersion"] = f"IPv{address.version}" if address else "IPv4"  # validated: same as the group's
    metadata = data["metadata"]
    return Resource(
        kind=kind,
        name=name,
        attrs=info.normalise(spec),
        secret_refs=secret_refs,
        refs=refs,
        labels=dict(metadata.get("labels") or {}),
        source=SourcePos(checked.doc.file, checked.doc.line, checked.doc.col),
        drift_ignore=tuple(_drift_ignore(item) for item in metadata.get("driftIgnore") or ()),
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
