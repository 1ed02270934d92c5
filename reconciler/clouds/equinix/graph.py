"""What an Equinix BGP config hangs from, for `reconciler graph`: the virtual device (known only
from a refresh: a manifest names the connection, not the device) and the Fabric connection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.clouds.base import GraphNode
from reconciler.clouds.equinix.kinds import CLOUD_NAME, EQUINIX_PEERING


def graph_chain(kind: str, address: str, attrs: Mapping[str, Any], info: Mapping[str, Any]) -> tuple[GraphNode, ...]:
    """Device (when a refresh told it), connection, then the BGP config itself. Labels take named
    fields only, so a key can never reach one."""
    chain: list[GraphNode] = []
    device = info.get("virtualDeviceUuid")
    if device:
        chain.append(GraphNode(f"{CLOUD_NAME}/device/{device}", f"Network Edge device\n{device}", "device"))
    connection = attrs.get("connectionUuid")
    if connection:
        key = f"{CLOUD_NAME}/connection/{str(connection).lower()}"
        chain.append(GraphNode(key, f"Fabric connection\n{connection}", "connection"))
    role = "session" if kind == EQUINIX_PEERING else "resource"
    chain.append(GraphNode(address, _session_label(address, attrs), role))
    return tuple(chain)


def _session_label(address: str, attrs: Mapping[str, Any]) -> str:
    local, remote = attrs.get("localAsn"), attrs.get("remoteAsn")
    if local is None or remote is None:
        return address
    return f"{address}\nAS{local} ↔ AS{remote}"
