"""What a BGP config needs before it can be created: a provisioned Fabric connection whose A-side
virtual device is PROVISIONED, Equinix-configured and licensed (docs/cloud-apis.md, Equinix §9).

These reads are advice, not authority. Credentials that may manage Network Edge but not read
Fabric connections or devices get a 403: that is warned about once, and the POST's own answer
decides. Every documented Fabric connection state is understood: a connection on its way by itself
(PROVISIONING, REPROVISIONING...) answers `Busy`, so the create is tried again once it is ready; one
that waits for someone (PENDING approval, a DRAFT order) or is gone is an error that says so; an
undocumented state is warned about and left to the POST.

Creates on one virtual device share their reads: once a connection has passed, one search of the
device's connections (`POST /fabric/v4/connections/search`, 100 a page) answers the checks of the
device's other connections, instead of one GET each. The search is only a shortcut: a connection
it shows as not ready yet is read on its own when its create comes, and when the search is refused
or fails, each connection is read on its own as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from reconciler.clouds.base import Busy
from reconciler.clouds.equinix.kinds import CLOUD_NAME
from reconciler.errors import ProviderError, ResourceNotFound
from reconciler.log import get_logger

READY_LICENSES = frozenset({"REGISTERED", "APPLIED", "N/A"})
# Fabric v4 connection `state` and `operation.equinixStatus` values (docs/cloud-apis.md, Equinix §9).
READY_STATES = frozenset({"PROVISIONED", "ACTIVE"})
READY_EQUINIX_STATUSES = frozenset({"PROVISIONED", "PENDING_BGP_PEERING"})
# On their way by themselves: the create waits for them.
COMING_STATES = frozenset({"PROVISIONING", "REPROVISIONING", "PENDING_INTERFACE_CONFIGURATION"})
COMING_EQUINIX_STATUSES = frozenset({"PROVISIONING", "PENDING_INTERFACE_CONFIGURATION"})
# Waiting for someone (an approval, the other side's VLAN, an order not submitted yet).
STALLED_STATES = frozenset({"DRAFT", "PENDING"})
STALLED_EQUINIX_STATUSES = frozenset({"PENDING_APPROVAL", "PENDING_PROVIDER_VLAN"})
GONE_STATES = frozenset({"CANCELLED", "DEPROVISIONED", "DEPROVISIONING", "FAILED"})
GONE_EQUINIX_STATUSES = frozenset({"NOT_PROVISIONED", "DEPROVISIONED", "DEPROVISIONING", "FAILED"})
CONNECTION_RETRY_AFTER = 30.0  # seconds: a Fabric connection takes minutes to provision
SEARCH_PATH = "/fabric/v4/connections/search"
SEARCH_OP = f"POST {SEARCH_PATH}"
SEARCH_PAGE = 100  # the most a Fabric search page may hold (PaginationRequest.limit: 1 to 100)
DEVICE_PROPERTY = "/aSide/accessPoint/virtualDevice/uuid"

# GET of a path, counted under an operation name -> the JSON reply (404: ResourceNotFound).
GetJson = Callable[[str, str], Any]
# POST of a JSON body to a path, counted under an operation name -> the JSON reply.
PostJson = Callable[[str, str, Mapping[str, Any]], Any]

log = get_logger("reconciler.clouds.equinix")


class Prerequisites:
    """Checks a connection and its device before a create. Passing checks are cached for the life
    of this object (one run), with the device each ready connection is on; failures are not, so a
    fixed connection is seen at once."""

    def __init__(self, get_json: GetJson, post_json: PostJson) -> None:
        self._get_json = get_json
        self._post_json = post_json
        self._lock = threading.Lock()
        self._ready_connections: dict[str, str] = {}  # connection uuid -> its A-side device
        self._ready_devices: set[str] = set()
        self._refused: set[str] = set()  # reads refused with a 403: warned about once
        self._searched_devices: set[str] = set()  # devices whose connections were searched (or are)
        self._search_served = True  # False once a search failed: each connection is read on its own

    def check(self, connection_uuid: str) -> Busy | None:
        """None when the create may go on (BGP can go on the connection, or the reads are not
        allowed and the POST decides), `Busy` while the connection is still being provisioned;
        a ProviderError naming the object and its status when it can never take BGP."""
        with self._lock:
            if connection_uuid in self._ready_connections:
                return None
        connection = self._read(
            f"/fabric/v4/connections/{connection_uuid}",
            "GET /fabric/v4/connections/{uuid}",
            f"Fabric connection {connection_uuid}",
            "check spec.connectionUuid",
        )
        if connection is None:
            return None
        state, equinix_status = statuses(connection)
        shown = state or equinix_status or "in an unknown state"
        if state not in READY_STATES and equinix_status not in READY_EQUINIX_STATUSES:
            if state in COMING_STATES or equinix_status in COMING_EQUINIX_STATUSES:
                return Busy(
                    f"Fabric connection {connection_uuid} is {shown}: BGP waits until it is provisioned",
                    retry_after=CONNECTION_RETRY_AFTER,
                )
            stalled = state in STALLED_STATES or equinix_status in STALLED_EQUINIX_STATUSES
            if stalled or state in GONE_STATES or equinix_status in GONE_EQUINIX_STATUSES:
                raise ProviderError(
                    f"Fabric connection {connection_uuid} is {shown}; BGP can be configured only on a "
                    "PROVISIONED connection",
                    cloud=CLOUD_NAME,
                    hint="the connection waits for an approval or for its other side: finish that, then apply again"
                    if stalled
                    else "check spec.connectionUuid: this connection cannot take a BGP peering",
                )
            log.warning(
                "the Fabric connection is in a state reconciler does not know: the create goes on",
                connection=connection_uuid,
                state=shown,
            )
            return None
        device_uuid = device_of(connection)
        if not device_uuid:
            raise ProviderError(
                f"Fabric connection {connection_uuid} has no Network Edge virtual device on its A side",
                cloud=CLOUD_NAME,
            )
        self._check_device(device_uuid)
        with self._lock:
            self._ready_connections[connection_uuid] = device_uuid
        self._search_device(device_uuid)
        return None

    def device(self, connection_uuid: str) -> str | None:
        """The virtual device of a connection that passed `check`; None when the check could not
        read it (not allowed, or a state reconciler does not know)."""
        with self._lock:
            return self._ready_connections.get(connection_uuid)

    def _read(self, path: str, op: str, what: str, hint: str) -> Mapping[str, Any] | None:
        """The object at `path`, or None when the credentials may not read it (warned once)."""
        try:
            found = self._get_json(path, op)
        except ResourceNotFound:
            raise ProviderError(f"{what} was not found", cloud=CLOUD_NAME, status=404, hint=hint) from None
        except ProviderError as error:
            if error.status != 403:
                raise
            with self._lock:
                first = op not in self._refused
                self._refused.add(op)
            if first:
                log.warning(
                    "not allowed to read this before creating: the create goes on and its answer decides",
                    operation=op,
                    error=error.message,
                )
            return None
        return found if isinstance(found, Mapping) else {}

    def _search_device(self, device_uuid: str) -> None:
        """Learn which other connections of a ready device are ready, one search page per 100
        connections. Once per device and run; a failed search only turns the shortcut off."""
        with self._lock:
            if not self._search_served or device_uuid in self._searched_devices:
                return
            self._searched_devices.add(device_uuid)
        listed: dict[str, Mapping[str, Any]] = {}  # connection uuid (as manifests hold it: lower case) -> connection
        offset = 0
        try:
            while True:
                reply = self._post_json(SEARCH_PATH, SEARCH_OP, search_body(device_uuid, offset, SEARCH_PAGE))
                page, total = search_page(reply)
                before = len(listed)
                listed.update((str(c["uuid"]).lower(), c) for c in page)
                offset += len(page)  # a server may cap the page below what was asked
                if not page or offset >= total or len(listed) == before:  # or a server that ignores the offset
                    break
        except ProviderError as error:
            with self._lock:
                self._search_served = False
            log.info(
                "the Fabric connection search failed: each connection is read on its own",
                device=device_uuid,
                error=error.message,
            )
            return
        ready = {uuid: device_uuid for uuid, c in listed.items() if is_ready(c) and device_of(c) == device_uuid}
        with self._lock:
            self._ready_connections.update(ready)

    def _check_device(self, device_uuid: str) -> None:
        with self._lock:
            if device_uuid in self._ready_devices:
                return
        device = self._read(
            f"/ne/v1/devices/{device_uuid}", "GET /ne/v1/devices/{uuid}", f"virtual device {device_uuid}", ""
        )
        if device is None:
            return
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


def statuses(connection: Mapping[str, Any]) -> tuple[str, str]:
    """A Fabric connection's `state` and `operation.equinixStatus` ("" when absent)."""
    operation = connection.get("operation") or {}
    equinix_status = str(operation.get("equinixStatus") or "") if isinstance(operation, dict) else ""
    return str(connection.get("state") or ""), equinix_status


def is_ready(connection: Mapping[str, Any]) -> bool:
    """Whether BGP can go on a Fabric connection (docs/cloud-apis.md, Equinix §9)."""
    state, equinix_status = statuses(connection)
    return state in READY_STATES or equinix_status in READY_EQUINIX_STATUSES


def search_body(device_uuid: str, offset: int, limit: int) -> dict[str, Any]:
    """The search for the connections of one virtual device, one page of them."""
    return {
        "filter": {"and": [{"property": DEVICE_PROPERTY, "operator": "=", "values": [device_uuid]}]},
        "pagination": {"offset": offset, "limit": limit},
    }


def search_page(reply: Any) -> tuple[list[Mapping[str, Any]], int]:
    """The connections of one search reply and the total it reports; a reply of another shape
    is an error (the search is then left alone)."""
    data = reply.get("data") if isinstance(reply, Mapping) else None
    pagination = reply.get("pagination") if isinstance(reply, Mapping) else None
    total = pagination.get("total") if isinstance(pagination, Mapping) else None
    if not isinstance(data, list) or not isinstance(total, int) or isinstance(total, bool):
        raise ProviderError(f"Equinix {SEARCH_OP} returned a reply of an unknown shape", cloud=CLOUD_NAME)
    return [c for c in data if isinstance(c, Mapping) and isinstance(c.get("uuid"), str)], total


def device_of(connection: Mapping[str, Any]) -> str:
    """The A-side virtual device of a Fabric v4 connection."""
    a_side = connection.get("aSide") or {}
    access_point = a_side.get("accessPoint") or {} if isinstance(a_side, dict) else {}
    device = access_point.get("virtualDevice") or {} if isinstance(access_point, dict) else {}
    if isinstance(device, dict) and device.get("uuid"):
        return str(device["uuid"])
    return str(connection.get("virtualDeviceUuid") or connection.get("deviceUuid") or "")
