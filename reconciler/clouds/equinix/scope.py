"""What Equinix refresh lists, what counts as in scope for unmanaged reports (and how `generate`
takes such objects), and what the embedded sandbox must presuppose: all derived from the Fabric
connections the peerings name, and from the devices those connections are on."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.clouds.base import Presupposed, RefreshScope, UnmanagedLevel, UnmanagedScope
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.errors import UsageError
from reconciler.model import LiveObject, Resource, StateDoc
from reconciler.plan.model import Change

_NAMESPACE = uuid.UUID("6f1c2b9e-5d0a-4c3e-9a61-2a7de0c1b5f4")


@dataclass(frozen=True, slots=True)
class EquinixScope(RefreshScope):
    """The connections the manifests or the state name (listed one by one when that takes fewer
    calls than paging through every config of the account)."""

    connections: frozenset[str] = frozenset()


def refresh_scope(
    desired: Sequence[Resource],
    state: StateDoc,
    level: UnmanagedLevel = UnmanagedLevel.MANIFESTS,
    args: Sequence[str] = (),
) -> EquinixScope:
    """The connections of the declared peerings and of every recorded config. When a recorded
    config's connection is not known, no connection is named: the provider then lists every
    page, since it never reads configs one by one. Beyond `MANIFESTS` no connection is named
    either: the devices' other connections are not known before listing, so every page is read
    (the account's configs, filtered by device in `unmanaged_scope`)."""
    no_scope_args(args)
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
        connections=frozenset(connections)
        if every_connection_known and level is UnmanagedLevel.MANIFESTS
        else frozenset(),
    )


def no_scope_args(args: Sequence[str]) -> None:
    if args:
        raise UsageError(
            f"--equinix {args[0]!r}: Equinix takes no scope argument; "
            "--unmanaged-scope account already covers every BGP config the credentials can list"
        )


def device_of(obj: LiveObject) -> str | None:
    """The Network Edge device a config is on, as the list API reports it (`virtualDeviceUuid`)."""
    device = obj.info.get("virtualDeviceUuid")
    return str(device).lower() if device else None


def unmanaged_scope(
    desired: Sequence[Resource],
    live: Iterable[LiveObject],
    level: UnmanagedLevel = UnmanagedLevel.MANIFESTS,
    args: Sequence[str] = (),
) -> UnmanagedScope:
    """`MANIFESTS`: a config on a connection the manifests mention. `REGIONS`: also every config on
    a device those connections are on (a device is known from the configs listed on its
    connections: a declared connection with no config yet adds none). `ACCOUNT`: every config."""
    no_scope_args(args)
    connections = frozenset(str(r.attrs["connectionUuid"]).lower() for r in desired if r.kind == EQUINIX_PEERING)
    configs = [o for o in live if o.kind == EQUINIX_PEERING]
    devices = frozenset(
        device
        for o in configs
        if str(o.attrs.get("connectionUuid")).lower() in connections and (device := device_of(o)) is not None
    )

    def where(obj: LiveObject) -> str | None:
        if obj.kind != EQUINIX_PEERING:
            return None
        connection = str(obj.attrs.get("connectionUuid"))
        if connection.lower() in connections:
            return f"connection {connection}"
        device = device_of(obj)
        if level is UnmanagedLevel.ACCOUNT or (level is UnmanagedLevel.REGIONS and device in devices):
            return f"device {device}" if device else f"connection {connection}"
        return None

    def generate_args(objects: Sequence[LiveObject]) -> tuple[str, ...]:
        """Each device the configs are on; `all` when one's device is not known."""
        found = [device_of(o) for o in objects if o.kind == EQUINIX_PEERING]
        if None in found:
            return ("all",)
        return tuple(sorted({d for d in found if d is not None}))

    return UnmanagedScope(where, generate_args)


def sandbox_seed(presupposed: Iterable[Presupposed]) -> Mapping[str, Any]:
    """Every connection a peering names exists and is provisioned, on a provisioned device of
    its own with a registered license and the peering's local ASN."""
    devices: dict[str, dict[str, Any]] = {}
    connections: dict[str, dict[str, Any]] = {}
    for kind, attrs, *_ in presupposed:
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
