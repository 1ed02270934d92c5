"""What a BGP config needs before it can be created: a provisioned Fabric connection whose A-side
virtual device is PROVISIONED, Equinix-configured and licensed (docs/cloud-apis.md, Equinix §9)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from reconciler.clouds.equinix.kinds import CLOUD_NAME
from reconciler.errors import ProviderError, ResourceNotFound

READY_LICENSES = frozenset({"REGISTERED", "APPLIED", "N/A"})
READY_CONNECTION_STATES = frozenset({"PROVISIONED", "ACTIVE"})
READY_CONNECTION_EQUINIX_STATUSES = frozenset({"PROVISIONED", "PENDING_BGP_PEERING"})

# GET of a path, counted under an operation name -> the JSON reply (404: ResourceNotFound).
GetJson = Callable[[str, str], Any]


class Prerequisites:
    """Checks a connection and its device before a create. Passing checks are cached for the life
    of this object (one run); failures are not, so a fixed connection is seen at once."""

    def __init__(self, get_json: GetJson) -> None:
        self._get_json = get_json
        self._lock = threading.Lock()
        self._ready_connections: set[str] = set()
        self._ready_devices: set[str] = set()

    def check(self, connection_uuid: str) -> None:
        """Raise a ProviderError naming the object and its status unless BGP can go on the connection."""
        with self._lock:
            if connection_uuid in self._ready_connections:
                return
        try:
            connection = self._get_json(
                f"/fabric/v4/connections/{connection_uuid}", "GET /fabric/v4/connections/{uuid}"
            )
        except ResourceNotFound:
            raise ProviderError(
                f"Fabric connection {connection_uuid} was not found",
                cloud=CLOUD_NAME,
                status=404,
                hint="check spec.connectionUuid",
            ) from None
        state = str(connection.get("state") or "")
        operation = connection.get("operation") or {}
        equinix_status = str(operation.get("equinixStatus") or "") if isinstance(operation, dict) else ""
        if state not in READY_CONNECTION_STATES and equinix_status not in READY_CONNECTION_EQUINIX_STATUSES:
            raise ProviderError(
                f"Fabric connection {connection_uuid} is {state or equinix_status or 'in an unknown state'}; "
                "BGP can be configured only on a PROVISIONED connection",
                cloud=CLOUD_NAME,
                hint="wait until the connection is provisioned, then apply again",
            )
        device_uuid = device_of(connection)
        if not device_uuid:
            raise ProviderError(
                f"Fabric connection {connection_uuid} has no Network Edge virtual device on its A side",
                cloud=CLOUD_NAME,
            )
        self._check_device(device_uuid)
        with self._lock:
            self._ready_connections.add(connection_uuid)

    def _check_device(self, device_uuid: str) -> None:
        with self._lock:
            if device_uuid in self._ready_devices:
                return
        try:
            device = self._get_json(f"/ne/v1/devices/{device_uuid}", "GET /ne/v1/devices/{uuid}")
        except ResourceNotFound:
            raise ProviderError(f"virtual device {device_uuid} was not found", cloud=CLOUD_NAME, status=404) from None
        label = f"virtual device {device.get('name') or device_uuid} ({device_uuid})"
        status = str(device.get("status") or "")
        if status != "PROVISIONED":
            raise ProviderError(
                f"{label} is {status or 'in an unknown state'}; it must be PROVISIONED",
                cloud=CLOUD_NAME,
                hint="wait until the device is provisioned, then apply again",
            )
        license_status = str(device.get("licenseStatus") or "")
        if license_status not in READY_LICENSES:
            raise ProviderError(
                f"{label} has license status {license_status or 'unknown'}; it must be "
                f"{', '.join(sorted(READY_LICENSES))}",
                cloud=CLOUD_NAME,
            )
        if str(device.get("deviceManagementType") or "").upper() == "SELF-CONFIGURED":
            raise ProviderError(
                f"{label} is SELF-CONFIGURED; BGP peering through the API needs an Equinix-configured device",
                cloud=CLOUD_NAME,
            )
        with self._lock:
            self._ready_devices.add(device_uuid)


def device_of(connection: Mapping[str, Any]) -> str:
    """The A-side virtual device of a Fabric v4 connection."""
    a_side = connection.get("aSide") or {}
    access_point = a_side.get("accessPoint") or {} if isinstance(a_side, dict) else {}
    device = access_point.get("virtualDevice") or {} if isinstance(access_point, dict) else {}
    if isinstance(device, dict) and device.get("uuid"):
        return str(device["uuid"])
    return str(connection.get("virtualDeviceUuid") or connection.get("deviceUuid") or "")
