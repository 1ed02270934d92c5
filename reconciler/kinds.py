"""What the planner and the apply engine need to know about each resource kind.

This is the only place that knows, per kind: which provider serves it, which fields are managed,
which are secret, which can only change by replacement, its natural key, its defaults and how to
normalise values so that spelling differences never show up as changes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.model import ALIBABA_GROUP, ALIBABA_PEER, EQUINIX_PEERING

ALIBABA_ASN = 45104


# Dotted-quad IPv4 with no leading zeros (and an optional /0-32) is already canonical: most
# addresses take this fast path, which matters when a plan compares tens of thousands of them.
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_CANONICAL_V4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_CANONICAL_V4_INTERFACE = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}/(?:3[0-2]|[12]?\d)")


def canonical_ip(value: Any) -> Any:
    """`10.0.0.1`, `fe80::0001` -> canonical spelling; anything unparsable is returned as is."""
    if isinstance(value, str) and _CANONICAL_V4.fullmatch(value):
        return value
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        return value


def canonical_interface(value: Any) -> Any:
    """`10.0.0.1/30`, `2001:DB8::1/126` -> canonical `address/prefix` spelling."""
    if isinstance(value, str) and _CANONICAL_V4_INTERFACE.fullmatch(value):
        return value
    try:
        return str(ipaddress.ip_interface(str(value).strip()))
    except ValueError:
        return value


def as_int(value: Any) -> Any:
    """String ASNs ("65010") become ints; anything else is returned as is."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def as_bool(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def ip_version(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("ipv4", "ipv6"):
        return "IPv" + value[-1]
    return value


Normaliser = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class KindInfo:
    kind: str
    provider: str
    fields: tuple[str, ...]  # managed non-secret attributes, compared by the diff
    secret_fields: tuple[str, ...]
    replace_only: frozenset[str]
    natural_key: tuple[str, ...]  # attribute names that identify the object in the cloud
    defaults: Mapping[str, Any]
    normalisers: Mapping[str, Normaliser]
    region_field: str | None
    deletable: bool  # False: the API has no delete, removal means `forget`
    no_delete_reason: str = ""
    ref_fields: Mapping[str, tuple[str, str]] | None = None  # spec field -> (kind, resolved attr)
    # Attributes that are derived from the referenced resource (copied at plan time).
    inherited: Mapping[str, str] | None = None  # attr -> attr of the referenced resource
    # When the natural key includes the name (Alibaba groups: Name = metadata.name), a rename is
    # recognised within this scope and done in place instead of recreating the object.
    rename_scope: tuple[str, ...] = ()

    def normalise(self, attrs: Mapping[str, Any]) -> dict[str, Any]:
        """Canonical form of an attribute map, with defaults filled in."""
        out: dict[str, Any] = dict(self.defaults)
        for key, value in attrs.items():
            if value is None:
                continue
            fn = self.normalisers.get(key)
            out[key] = fn(value) if fn else value
        if self.kind == ALIBABA_PEER and not out.get("enableBfd"):
            # The hop count means nothing while BFD is off; Alibaba reports 0 or 255 then.
            out.pop("bfdMultiHop", None)
        return out

    def key_of(self, attrs: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(attrs.get(f) for f in self.natural_key)

    def region_of(self, attrs: Mapping[str, Any]) -> str | None:
        return attrs.get(self.region_field) if self.region_field else None


KINDS: dict[str, KindInfo] = {
    EQUINIX_PEERING: KindInfo(
        kind=EQUINIX_PEERING,
        provider="equinix",
        fields=("connectionUuid", "localIpAddress", "localAsn", "remoteIpAddress", "remoteAsn"),
        secret_fields=("authenticationKey",),
        replace_only=frozenset({"connectionUuid"}),
        natural_key=("connectionUuid",),
        defaults={},
        normalisers={
            "connectionUuid": lambda v: str(v).lower(),
            "localIpAddress": canonical_interface,
            "remoteIpAddress": canonical_ip,
            "localAsn": as_int,
            "remoteAsn": as_int,
        },
        region_field=None,
        deletable=False,
        no_delete_reason=(
            "the Equinix Network Edge API has no delete for BGP configs: reconciler stops managing "
            "it and the config stays on the connection"
        ),
    ),
    ALIBABA_GROUP: KindInfo(
        kind=ALIBABA_GROUP,
        provider="alibaba",
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
        secret_fields=("authKey",),
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
    ),
    ALIBABA_PEER: KindInfo(
        kind=ALIBABA_PEER,
        provider="alibaba",
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
        ref_fields={"bgpGroup": (ALIBABA_GROUP, "bgpGroupId")},
        inherited={"regionId": "regionId", "ipVersion": "ipVersion"},
    ),
}
