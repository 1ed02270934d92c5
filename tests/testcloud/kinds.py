"""The test cloud's two kinds: a router's BGP process (its ASNs and key) and the neighbours it
peers with. Between them they use every `KindInfo` feature the core acts on: a reference with an
inherited attribute, a secret field, replace-only fields, defaults, normalisers, a name that is
part of the natural key, and a kind with a BGP session."""

from __future__ import annotations

from reconciler.kinds import KindInfo, RefField, as_bool, as_int, canonical_ip, lower_text

CLOUD_NAME = "memcloud"
ROUTER_BGP = "MemRouterBgp"
NEIGHBOR = "MemBgpNeighbor"
KEY_FIELD = "md5Key"
DEFAULT_LOCAL_ASN = 64512

ROUTER = KindInfo(
    kind=ROUTER_BGP,
    cloud=CLOUD_NAME,
    title="a BGP process on a router (local and peer ASN, key)",
    fields=("routerId", "name", "localAsn", "peerAsn", "description"),
    secret_fields=(KEY_FIELD,),
    replace_only=frozenset({"routerId"}),
    natural_key=("routerId", "name"),
    defaults={"localAsn": DEFAULT_LOCAL_ASN, "description": ""},
    normalisers={"routerId": lower_text, "localAsn": as_int, "peerAsn": as_int, "description": str},
    region_field=None,
    deletable=True,
    name_attr="name",  # metadata.name is the process's name on the router
)

NEIGHBOUR = KindInfo(
    kind=NEIGHBOR,
    cloud=CLOUD_NAME,
    title="one BGP neighbour of a router's BGP process",
    fields=("routerId", "groupId", "peerIp", "enabled"),
    secret_fields=(),
    replace_only=frozenset({"routerId", "groupId", "peerIp"}),
    natural_key=("groupId", "peerIp"),
    defaults={"enabled": True},
    normalisers={"routerId": lower_text, "peerIp": canonical_ip, "enabled": as_bool},
    region_field=None,
    deletable=True,
    ref_fields={"group": RefField(ROUTER_BGP, "groupId")},
    inherited={"routerId": "routerId"},
    has_session=True,
)

KIND_INFO = {info.kind: info for info in (ROUTER, NEIGHBOUR)}
