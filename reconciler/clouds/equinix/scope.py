"""What Equinix refresh lists, what counts as in scope for unmanaged reports, and what the
embedded sandbox must presuppose: all derived from the Fabric connections the peerings name."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.clouds.base import Presupposed, RefreshScope, UnmanagedScope
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.model import LiveObject, Resource, StateDoc
from reconciler.plan.model import Change

_NAMESPACE = uuid.UUID("6f1c2b9e-5d0a-4c3e-9a61-2a7de0c1b5f4")


@dataclass(frozen=True, slots=True)
class EquinixScope(RefreshScope):
    """The connections the manifests or the state name (listed one by one when that takes fewer
    calls than paging through every config of the account)."""

    connections: frozenset[str] = frozenset()


def refresh_scope(desired: Sequence[Resource], state: StateDoc) -> EquinixScope:
    """The connections of the declared peerings and of every recorded config. When a recorded
    config's connection is not known, no connection is named: the provider then lists every
    page, since it never reads configs one by one."""
    connections = {str(r.attrs["connectionUuid"]).lower() for r in desired if r.kind == EQUINIX_PEERING}
    ids: set[str] = set()
    every_connection_known = True
    for recorded in state.resources.values():
        if recorded.kind == EQUINIX_PEERING:
            ids.add(recorded.cloud_id)
            if recorded.attributes.get("connectionUuid"):
                connections.add(str(recorded.attributes["connectionUuid"]).lower())
            else:
                every_connection_known = False
    return EquinixScope(
        kinds=frozenset({EQUINIX_PEERING}),
        ids=frozenset(ids),
        connections=frozenset(connections) if every_connection_known else frozenset(),
    )


def unmanaged_scope(desired: Sequence[Resource], live: Iterable[LiveObject]) -> UnmanagedScope:
    """A config is in scope when it is on a connection the manifests mention."""
    connections = frozenset(str(r.attrs["connectionUuid"]) for r in desired if r.kind == EQUINIX_PEERING)

    def where(obj: LiveObject) -> str | None:
        connection = str(obj.attrs.get("connectionUuid"))
        return f"connection {connection}" if obj.kind == EQUINIX_PEERING and connection in connections else None

    return where


def sandbox_seed(presupposed: Iterable[Presupposed]) -> Mapping[str, Any]:
    """Every connection a peering names exists and is provisioned, on a provisioned device of
    its own with a registered license and the peering's local ASN."""
    devices: dict[str, dict[str, Any]] = {}
    connections: dict[str, dict[str, Any]] = {}
    for kind, attrs in presupposed:
        if kind != EQUINIX_PEERING or not attrs.get("connectionUuid"):
            continue
        connection = str(attrs["connectionUuid"]).lower()
        device = str(uuid.uuid5(_NAMESPACE, f"device:{connection}"))
        devices.setdefault(
            device,
            {
                "uuid": device,
                "name": f"ne-{connection[:8]}",
                "status": "PROVISIONED",
                "licenseStatus": "REGISTERED",
                "asn": attrs.get("localAsn"),
            },
        )
        connections.setdefault(connection, {"uuid": connection, "deviceUuid": device, "state": "PROVISIONED"})
    if not devices:
        return {}
    return {"devices": list(devices.values()), "connections": list(connections.values())}


def serial_scope(change: Change) -> str | None:
    """A connection's config takes one change at a time (docs/cloud-apis.md, Equinix §5)."""
    attrs = change.after or change.before or {}
    connection = attrs.get("connectionUuid")
    return f"connection {str(connection).lower()}" if connection else None
