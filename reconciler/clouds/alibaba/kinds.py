"""The Alibaba kinds: BGP groups on an Express Connect VBR and the BGP peers in them
(docs/cloud-apis.md, Alibaba)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.kinds import KindInfo, RefField, as_bool, as_int, canonical_ip, ip_version

CLOUD_NAME = "alibaba"
ALIBABA_GROUP = "AlibabaBgpGroup"
ALIBABA_PEER = "AlibabaBgpPeer"
ALIBABA_ASN = 45104  # Alibaba Cloud's own ASN: a group's local ASN unless it sets another
KEY_FIELD = "authKey"


def _peer_ip_version(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """A peer's IP version is its address's (validation checks it is its group's too)."""
    from reconciler.manifest.checked import parse_ip

    address = parse_ip(spec.get("peerIpAddress"))
    return {"ipVersion": f"IPv{address.version}" if address else "IPv4"}


def _drop_hop_count_without_bfd(attrs: dict[str, Any]) -> None:
    # The hop count means nothing while BFD is off; Alibaba reports 0 or 255 then.
    if not attrs.get("enableBfd"):
        attrs.pop("bfdMultiHop", None)


GROUP = KindInfo(
    kind=ALIBABA_GROUP,
    cloud=CLOUD_NAME,
    title="a BGP group on an Express Connect VBR (peer ASN, key, route quota)",
    fields=(
        "regionId",
        "virtualBorderRouterId",
        "name",
        "peerAsn",
        "localAsn",
        "description",
        "ipVersion",
        "routeQuota",
        "isFakeAsn",
    ),
    secret_fields=(KEY_FIELD,),
    replace_only=frozenset({"regionId", "virtualBorderRouterId", "ipVersion"}),
    natural_key=("regionId", "virtualBorderRouterId", "name"),
    defaults={
        "description": "",
        "ipVersion": "IPv4",
        "routeQuota": 110,
        "isFakeAsn": False,
        "localAsn": ALIBABA_ASN,
    },
    normalisers={
        "peerAsn": as_int,
        "localAsn": as_int,
        "routeQuota": as_int,
        "isFakeAsn": as_bool,
        "ipVersion": ip_version,
        "description": str,
    },
    region_field="regionId",
    deletable=True,
    rename_scope=("regionId", "virtualBorderRouterId"),
    name_attr="name",  # the group's Name in Alibaba Cloud, part of its natural key
    summary_fields=("name", "peerAsn"),
)

PEER = KindInfo(
    kind=ALIBABA_PEER,
    cloud=CLOUD_NAME,
    title="one BGP peer (neighbour IP, BFD) in a group",
    fields=("regionId", "bgpGroupId", "peerIpAddress", "ipVersion", "enableBfd", "bfdMultiHop"),
    secret_fields=(),
    replace_only=frozenset({"regionId", "bgpGroupId", "ipVersion"}),
    natural_key=("bgpGroupId", "peerIpAddress"),
    defaults={"enableBfd": False, "ipVersion": "IPv4"},
    normalisers={
        "peerIpAddress": canonical_ip,
        "enableBfd": as_bool,
        "bfdMultiHop": as_int,
        "ipVersion": ip_version,
    },
    region_field="regionId",
    deletable=True,
    ref_fields={"bgpGroup": RefField(ALIBABA_GROUP, "bgpGroupId")},
    inherited={"regionId": "regionId", "ipVersion": "ipVersion"},
    derive=_peer_ip_version,
    tidy=_drop_hop_count_without_bfd,
    has_session=True,
    summary_fields=("peerIpAddress",),
)
