"""`equinix_network_bgp` instances of a Terraform state, read as the Equinix provider reports them.

The attributes are those of the Equinix Terraform provider's `equinix_network_bgp` resource
(registry.terraform.io/providers/equinix/equinix, docs/resources/network_bgp.md): arguments
`connection_id`, `local_ip_address`, `local_asn`, `remote_ip_address`, `remote_asn`,
`authentication_key`; attributes `uuid`, `device_id`, `state`, `provisioning_status`. They are
renamed to the fields of the API's `BgpInfo` and go through the provider's own reader
(`configs.live_object`), so normalisation and statuses are exactly the provider's
(docs/migrating-from-terraform.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.model import LiveObject

NETWORK_BGP = "equinix_network_bgp"

# Terraform attribute -> `BgpInfo` field.
BGP_INFO_FIELDS: Mapping[str, str] = {
    "connection_id": "connectionUuid",
    "local_ip_address": "localIpAddress",
    "local_asn": "localAsn",
    "remote_ip_address": "remoteIpAddress",
    "remote_asn": "remoteAsn",
    "authentication_key": "authenticationKey",
    "device_id": "virtualDeviceUuid",
    "provisioning_status": "provisioningStatus",
    "state": "state",
}


def network_bgp(attributes: Mapping[str, Any]) -> LiveObject | None:
    """An `equinix_network_bgp` instance as the provider's refresh would report it; None for a
    deprovisioned config (the provider treats it as gone)."""
    from reconciler.clouds.equinix.configs import live_object

    uuid = attributes.get("uuid") or attributes.get("id")
    if not isinstance(uuid, str) or not uuid:
        raise ValueError("the attribute `uuid` (or `id`) is missing or not a string")
    if not attributes.get("connection_id"):
        raise ValueError("the attribute `connection_id` is missing")
    item = {field: attributes.get(name) for name, field in BGP_INFO_FIELDS.items()}
    # Terraform keeps "" for an attribute the API left out; the API itself would omit it.
    item = {field: value for field, value in item.items() if value not in (None, "")}
    return live_object({"uuid": uuid, **item})


TERRAFORM_TYPES = {NETWORK_BGP: network_bgp}
