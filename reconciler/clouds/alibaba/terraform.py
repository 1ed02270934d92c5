"""`alicloud_vpc_bgp_group` and `alicloud_vpc_bgp_peer` instances of a Terraform state, read as the
Alibaba provider reports them.

The attributes are those of the Alibaba Cloud Terraform provider (registry.terraform.io/providers/
aliyun/alicloud; website/docs/r/vpc_bgp_group.html.markdown and vpc_bgp_peer.html.markdown):

- a group: `id`, `router_id`, `bgp_group_name`, `peer_asn`, `local_asn`, `description`,
  `is_fake_asn`, `auth_key`, `status`, and since provider 1.261.0 `ip_version`, `route_limit`
  and `region_id`;
- a peer: `id`, `bgp_group_id`, `peer_ip_address`, `ip_version`, `enable_bfd`, `bfd_multi_hop`,
  `bgp_peer_name`, `status`.

They are renamed to the fields of the `DescribeBgpGroups` / `DescribeBgpPeers` items and go
through the provider's own readers (`group_object`, `peer_object`), so normalisation and statuses
are exactly the provider's. Only a group of a recent provider names its region (`region_id`); any
other object comes back without one (`region` None, no `regionId`), to be placed by a lookup
(reconciler.terraform.placement; docs/migrating-from-terraform.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from reconciler.clouds.alibaba.kinds import GROUP
from reconciler.model import LiveObject

BGP_GROUP = "alicloud_vpc_bgp_group"
BGP_PEER = "alicloud_vpc_bgp_peer"

# Terraform attribute -> Describe item field.
GROUP_ITEM_FIELDS: Mapping[str, str] = {
    "id": "BgpGroupId",
    "region_id": "RegionId",
    "router_id": "RouterId",
    "bgp_group_name": "Name",
    "peer_asn": "PeerAsn",
    "local_asn": "LocalAsn",
    "description": "Description",
    "ip_version": "IpVersion",
    "route_limit": "RouteLimit",
    "is_fake_asn": "IsFake",
    "auth_key": "AuthKey",
    "status": "Status",
}
PEER_ITEM_FIELDS: Mapping[str, str] = {
    "id": "BgpPeerId",
    "bgp_group_id": "BgpGroupId",
    "peer_ip_address": "PeerIpAddress",
    "ip_version": "IpVersion",
    "enable_bfd": "EnableBfd",
    "bfd_multi_hop": "BfdMultiHop",
    "bgp_peer_name": "Name",
    "status": "Status",
}
REQUIRED_GROUP = ("id", "router_id", "peer_asn")
REQUIRED_PEER = ("id", "bgp_group_id", "peer_ip_address")


def bgp_group(attributes: Mapping[str, Any]) -> LiveObject | None:
    """An `alicloud_vpc_bgp_group` instance as `DescribeBgpGroups` would report it."""
    from reconciler.clouds.alibaba.provider import group_object

    _require(attributes, REQUIRED_GROUP)
    return _without_unknown_region(group_object(_item(attributes, GROUP_ITEM_FIELDS), ""))


def bgp_peer(attributes: Mapping[str, Any]) -> LiveObject | None:
    """An `alicloud_vpc_bgp_peer` instance as `DescribeBgpPeers` would report it."""
    from reconciler.clouds.alibaba.provider import peer_object

    _require(attributes, REQUIRED_PEER)
    return _without_unknown_region(peer_object(_item(attributes, PEER_ITEM_FIELDS), ""))


def _require(attributes: Mapping[str, Any], names: tuple[str, ...]) -> None:
    missing = [name for name in names if attributes.get(name) in (None, "")]
    if missing:
        listed = "`, `".join(missing)
        raise ValueError(
            f"the attribute `{listed}` is missing" if len(missing) == 1 else f"the attributes `{listed}` are missing"
        )


def _item(attributes: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
    # Terraform keeps "" for an attribute the provider did not set; the API leaves it out.
    return {field: attributes[name] for name, field in fields.items() if attributes.get(name) not in (None, "")}


def _without_unknown_region(obj: LiveObject) -> LiveObject:
    """The readers fill `regionId` from the region listed; with none, leave it unknown."""
    region = obj.attrs.get(GROUP.region_field or "")
    if region:
        return dataclasses.replace(obj, region=str(region))
    attrs = {name: value for name, value in obj.attrs.items() if name != GROUP.region_field}
    return dataclasses.replace(obj, region=None, attrs=attrs)


TERRAFORM_TYPES = {BGP_GROUP: bgp_group, BGP_PEER: bgp_peer}
