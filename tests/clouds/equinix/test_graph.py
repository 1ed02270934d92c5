"""The Equinix `graph_chain` hook: device (from a refresh), Fabric connection, BGP config."""

from __future__ import annotations

from reconciler.clouds import CLOUDS
from reconciler.clouds.base import GraphNode
from reconciler.clouds.equinix.kinds import CLOUD_NAME, EQUINIX_PEERING

CONN = "80AFC8BE-0ce3-4950-be27-3d3e678e6873"
ATTRS = {"connectionUuid": CONN, "localAsn": 65010, "remoteAsn": 45104, "localIpAddress": "10.0.0.1/30"}
ADDRESS = f"{EQUINIX_PEERING}/sg-ne1"


def chain(attrs: dict[str, object], info: dict[str, object] | None = None) -> tuple[GraphNode, ...]:
    return CLOUDS[CLOUD_NAME].graph_chain(EQUINIX_PEERING, ADDRESS, attrs, info or {})


def test_connection_then_the_config_from_manifests() -> None:
    connection, config = chain(ATTRS)
    assert connection == GraphNode(f"equinix/connection/{CONN.lower()}", f"Fabric connection\n{CONN}", "connection")
    assert config == GraphNode(ADDRESS, f"{ADDRESS}\nAS65010 ↔ AS45104", "session")


def test_the_device_comes_first_when_a_refresh_told_it() -> None:
    device, connection, config = chain(ATTRS, {"virtualDeviceUuid": "dev-1", "provisioningStatus": "PROVISIONED"})
    assert device == GraphNode("equinix/device/dev-1", "Network Edge device\ndev-1", "device")
    assert connection.role == "connection" and config.key == ADDRESS


def test_a_key_among_the_attributes_never_reaches_a_label() -> None:
    nodes = chain({**ATTRS, "authenticationKey": "NeverShownKey1"}, {"authenticationKey": "NeverShownKey1"})
    assert not [n for n in nodes if "NeverShownKey1" in n.label or "NeverShownKey1" in n.key]


def test_without_asns_the_address_alone() -> None:
    (config,) = chain({})
    assert config.label == ADDRESS
