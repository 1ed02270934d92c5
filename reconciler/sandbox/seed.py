"""The sandbox seed: what exists before any BGP peering (docs/sandbox.md, Seed).

```yaml
equinix:
  devices:     [{uuid: ..., name: sg-ne1, status: PROVISIONED, licenseStatus: REGISTERED, asn: 65010}]
  connections: [{uuid: ..., deviceUuid: ..., state: PROVISIONED, vbrId: vbr-...}]  # vbrId: the VBR it reaches
alibaba:
  regions: [ap-southeast-1, {regionId: cn-hongkong, ipv6Supported: false}]
  vbrs: [{vbrId: vbr-..., regionId: ap-southeast-1, status: active, enableIpv6: false,
          localGatewayIp: 10.0.0.2, peerGatewayIp: 10.0.0.1, peeringSubnetMask: 255.255.255.252,
          bfdEnabled: true}]     # and the other optional account facts of docs/sandbox.md, Seed
```

Item fields not listed below are kept as given and shown in the device / connection / VBR
responses (a VBR's `vlanId: 100` is returned as `VlanId: 100`). Seed text is read within the
bounds of `bounded.read_yaml` (nesting, values once aliases are expanded, number length), since
`POST /_sandbox/seed` takes it from any local client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.sandbox.bounded import InputError, read_yaml, shown
from reconciler.sandbox.config import SandboxError

MAX_ASN = 4294967295


@dataclass(frozen=True)
class SeedDevice:
    """An Equinix Network Edge virtual device (`GET /ne/v1/devices/{uuid}`)."""

    uuid: str
    name: str = ""
    status: str = "PROVISIONED"
    license_status: str = "REGISTERED"
    management_type: str = "EQUINIX-CONFIGURED"
    asn: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.uuid


@dataclass(frozen=True)
class SeedConnection:
    """An Equinix Fabric connection from a device (`GET /fabric/v4/connections/{id}`)."""

    uuid: str
    device_uuid: str
    state: str = "PROVISIONED"
    name: str = ""
    equinix_status: str | None = None  # operation.equinixStatus; derived from `state` when absent
    vbr_id: str = ""  # the Alibaba VBR the connection reaches (docs/sandbox.md, Sessions); "": none
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.uuid


@dataclass(frozen=True)
class SeedRegion:
    """An Alibaba Cloud region the VPC API answers for."""

    region_id: str
    ipv6_supported: bool = True

    @property
    def key(self) -> str:
        return self.region_id


@dataclass(frozen=True)
class SeedVbr:
    """An Alibaba Express Connect virtual border router."""

    vbr_id: str
    region_id: str
    status: str = "active"
    enable_ipv6: bool = False
    local_gateway_ip: str = ""
    peer_gateway_ip: str = ""
    peering_subnet_mask: str = ""
    local_ipv6_gateway_ip: str = ""
    peer_ipv6_gateway_ip: str = ""
    peering_ipv6_subnet_mask: str = ""
    name: str = ""
    description: str = ""
    # What the API does not show but the account has (docs/sandbox.md, Seed): each can make a
    # create fail with its documented code.
    bfd_enabled: bool | None = None  # None: the configured default (alibaba_bfd_default)
    bfd_session_quota: int | None = None  # BFD peers the VBR's device takes (None: no limit)
    pconn_traffic_enabled: bool = True
    hosted_connection: bool = False
    access_device_missing: bool = False
    nqa_quota_exceeded: bool = False
    bgp_network_quota_exceeded: bool = False
    physical_connections: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.vbr_id


@dataclass(frozen=True)
class Seed:
    devices: tuple[SeedDevice, ...] = ()
    connections: tuple[SeedConnection, ...] = ()
    regions: tuple[SeedRegion, ...] = ()
    vbrs: tuple[SeedVbr, ...] = ()

    @classmethod
    def from_mapping(cls, data: Any, source: str = "seed", *, node: yaml.Node | None = None) -> Seed:
        """Parse the seed format (docs/sandbox.md, Seed); errors name the source, line (from `node`) and path."""
        return _Parser(source, node).seed(data)

    def to_mapping(self) -> dict[str, Any]:
        """The seed in its YAML/JSON form (what `from_mapping` reads)."""
        return {
            "equinix": {
                "devices": [_device_out(d) for d in self.devices],
                "connections": [_connection_out(c) for c in self.connections],
            },
            "alibaba": {
                "regions": [{"regionId": r.region_id, "ipv6Supported": r.ipv6_supported} for r in self.regions],
                "vbrs": [_vbr_out(v) for v in self.vbrs],
            },
        }


def load_seed(path: Path | str) -> Seed:
    """Read a seed YAML file. Raises SandboxError with file:line:col and what would be valid."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SandboxError(f"{path}: cannot read the seed file ({exc.strerror or exc})") from None
    return parse_seed_text(text, str(path))


def parse_seed_text(text: str, source: str) -> Seed:
    """Parse seed YAML (or JSON) within the bounds of `bounded.read_yaml` (nesting, aliases, numbers)."""
    try:
        data, node = read_yaml(text)
    except InputError as exc:
        raise SandboxError(f"{exc.where(source)}: {exc.message}") from None
    return Seed.from_mapping({} if data is None else data, source, node=node)


# -- parsing ---------------------------------------------------------------------------------

_DEVICE_FIELDS = {
    "uuid": "uuid",
    "name": "name",
    "status": "status",
    "licenseStatus": "license_status",
    "deviceManagementType": "management_type",
    "asn": "asn",
}
_CONNECTION_FIELDS = {
    "uuid": "uuid",
    "deviceUuid": "device_uuid",
    "state": "state",
    "name": "name",
    "equinixStatus": "equinix_status",
    "vbrId": "vbr_id",
}
_VBR_FIELDS = {
    "vbrId": "vbr_id",
    "regionId": "region_id",
    "status": "status",
    "enableIpv6": "enable_ipv6",
    "localGatewayIp": "local_gateway_ip",
    "peerGatewayIp": "peer_gateway_ip",
    "peeringSubnetMask": "peering_subnet_mask",
    "localIpv6GatewayIp": "local_ipv6_gateway_ip",
    "peerIpv6GatewayIp": "peer_ipv6_gateway_ip",
    "peeringIpv6SubnetMask": "peering_ipv6_subnet_mask",
    "name": "name",
    "description": "description",
    "bfdEnabled": "bfd_enabled",
    "bfdSessionQuota": "bfd_session_quota",
    "pconnTrafficEnabled": "pconn_traffic_enabled",
    "hostedConnection": "hosted_connection",
    "accessDeviceMissing": "access_device_missing",
    "nqaQuotaExceeded": "nqa_quota_exceeded",
    "bgpNetworkQuotaExceeded": "bgp_network_quota_exceeded",
    "physicalConnections": "physical_connections",
}
_VBR_FLAGS = frozenset(
    {
        "enable_ipv6",
        "bfd_enabled",
        "pconn_traffic_enabled",
        "hosted_connection",
        "access_device_missing",
        "nqa_quota_exceeded",
        "bgp_network_quota_exceeded",
    }
)
# Left out of `to_mapping` while they have their default (they are optional and newer).
_VBR_OPTIONAL_DEFAULTS: dict[str, Any] = {
    "bfdEnabled": None,
    "bfdSessionQuota": None,
    "pconnTrafficEnabled": True,
    "hostedConnection": False,
    "accessDeviceMissing": False,
    "nqaQuotaExceeded": False,
    "bgpNetworkQuotaExceeded": False,
    "physicalConnections": [],
}
_SECTIONS = {"equinix": ("devices", "connections"), "alibaba": ("regions", "vbrs")}


class _Parser:
    def __init__(self, source: str, node: yaml.Node | None) -> None:
        self.source = source
        self.node = node

    def fail(self, path: tuple[str | int, ...], message: str) -> SandboxError:
        where = self.source
        mark = _mark_of(self.node, path) if self.node is not None else None
        if mark is not None:
            where += f":{mark.line + 1}:{mark.column + 1}"
        return SandboxError(f"{where}: {_path_text(path) or '(top level)'}: {message}")

    def seed(self, data: Any) -> Seed:
        if not isinstance(data, Mapping):
            raise self.fail((), "expected a mapping with 'equinix' and/or 'alibaba'")
        lists: dict[str, list[Any]] = {}
        for section, value in data.items():
            if section not in _SECTIONS:
                raise self.fail((section,), "unknown section; valid sections: equinix, alibaba")
            if value is None:
                continue
            if not isinstance(value, Mapping):
                raise self.fail((section,), f"expected a mapping with {' and/or '.join(_SECTIONS[section])}")
            for name, items in value.items():
                if name not in _SECTIONS[section]:
                    valid = ", ".join(_SECTIONS[section])
                    raise self.fail((section, name), f"unknown list; valid lists under {section}: {valid}")
                if items is None:
                    continue
                if not isinstance(items, list):
                    raise self.fail((section, name), "expected a list")
                lists[name] = items
        seed = Seed(
            devices=tuple(self.device(i, item) for i, item in enumerate(lists.get("devices", []))),
            connections=tuple(self.connection(i, item) for i, item in enumerate(lists.get("connections", []))),
            regions=tuple(self.region(i, item) for i, item in enumerate(lists.get("regions", []))),
            vbrs=tuple(self.vbr(i, item) for i, item in enumerate(lists.get("vbrs", []))),
        )
        self.unique(seed.devices, ("equinix", "devices"), "uuid")
        self.unique(seed.connections, ("equinix", "connections"), "uuid")
        self.unique(seed.regions, ("alibaba", "regions"), "regionId")
        self.unique(seed.vbrs, ("alibaba", "vbrs"), "vbrId")
        return seed

    def unique(self, items: tuple[Any, ...], path: tuple[str, ...], label: str) -> None:
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.key in seen:
                raise self.fail((*path, i), f"duplicate {label} {shown(item.key)}")
            seen.add(item.key)

    def fields(
        self, path: tuple[str | int, ...], item: Any, known: Mapping[str, str], required: tuple[str, ...]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        if not isinstance(item, Mapping):
            raise self.fail(path, "expected a mapping")
        for name in required:
            if name not in item:
                raise self.fail(path, f"missing {shown(name)}")
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for name, value in item.items():
            if not isinstance(name, str):
                raise self.fail(path, f"field names must be strings, got {shown(name)}")
            if name in known:
                values[known[name]] = value
            else:
                extra[name] = value
        return values, extra

    def text(self, path: tuple[str | int, ...], value: Any, *, allow_empty: bool = False) -> str:
        if not isinstance(value, str) or (not value and not allow_empty):
            raise self.fail(path, f"expected a non-empty string, got {shown(value)}")
        return value

    def flag(self, path: tuple[str | int, ...], value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {shown(value)}")
        return value

    def device(self, i: int, item: Any) -> SeedDevice:
        path: tuple[str | int, ...] = ("equinix", "devices", i)
        values, extra = self.fields(path, item, _DEVICE_FIELDS, ("uuid",))
        for name in ("uuid", "name", "status", "license_status", "management_type"):
            if name in values:
                values[name] = self.text(
                    (*path, _camel(name, _DEVICE_FIELDS)), values[name], allow_empty=name == "name"
                )
        asn = values.get("asn")
        if asn is not None and (isinstance(asn, bool) or not isinstance(asn, int) or not 1 <= asn <= MAX_ASN):
            raise self.fail((*path, "asn"), f"{shown(asn)} is not an ASN (an integer 1..{MAX_ASN})")
        return SeedDevice(**values, extra=extra)

    def connection(self, i: int, item: Any) -> SeedConnection:
        path: tuple[str | int, ...] = ("equinix", "connections", i)
        values, extra = self.fields(path, item, _CONNECTION_FIELDS, ("uuid", "deviceUuid"))
        for name, value in values.items():
            values[name] = self.text(
                (*path, _camel(name, _CONNECTION_FIELDS)), value, allow_empty=name in ("name", "vbr_id")
            )
        return SeedConnection(**values, extra=extra)

    def region(self, i: int, item: Any) -> SeedRegion:
        path: tuple[str | int, ...] = ("alibaba", "regions", i)
        if isinstance(item, str):
            return SeedRegion(self.text(path, item))
        values, extra = self.fields(
            path, item, {"regionId": "region_id", "ipv6Supported": "ipv6_supported"}, ("regionId",)
        )
        if extra:
            raise self.fail(path, f"unknown field {shown(next(iter(extra)))}; valid: regionId, ipv6Supported")
        region_id = self.text((*path, "regionId"), values["region_id"])
        ipv6 = self.flag((*path, "ipv6Supported"), values.get("ipv6_supported", True))
        return SeedRegion(region_id, ipv6)

    def vbr(self, i: int, item: Any) -> SeedVbr:
        path: tuple[str | int, ...] = ("alibaba", "vbrs", i)
        values, extra = self.fields(path, item, _VBR_FIELDS, ("vbrId", "regionId"))
        for name, value in values.items():
            where = (*path, _camel(name, _VBR_FIELDS))
            if name in _VBR_FLAGS:
                values[name] = self.flag(where, value)
            elif name == "bfd_session_quota":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise self.fail(
                        where, f"expected a number of BFD sessions (an integer 0 or more), got {shown(value)}"
                    )
            elif name == "physical_connections":
                if not isinstance(value, list):
                    raise self.fail(where, f"expected a list of physical connection ids, got {shown(value)}")
                values[name] = tuple(self.text((*where, j), item) for j, item in enumerate(value))
            else:
                values[name] = self.text(where, value, allow_empty=name not in ("vbr_id", "region_id"))
        for name, check in _VBR_ADDRESS_CHECKS.items():
            if values.get(name):
                problem = check(values[name])
                if problem:
                    raise self.fail((*path, _camel(name, _VBR_FIELDS)), problem)
        return SeedVbr(**values, extra=extra)


def _check_ipv4(value: str) -> str | None:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return f"{shown(value)} is not an IPv4 address"
    return None


def _check_ipv6(value: str) -> str | None:
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return f"{shown(value)} is not an IPv6 address"
    return None


def _check_mask(value: str) -> str | None:
    try:
        ipaddress.IPv4Network(f"0.0.0.0/{value}")
    except ValueError:
        return f"{shown(value)} is not a subnet mask (like 255.255.255.252)"
    return None


def _check_ipv6_mask(value: str) -> str | None:
    try:
        ipaddress.IPv6Network(f"::/{value.lstrip('/')}")
    except ValueError:
        return f"{shown(value)} is not an IPv6 prefix length (like 126)"
    return None


_VBR_ADDRESS_CHECKS: dict[str, Callable[[str], str | None]] = {
    "local_gateway_ip": _check_ipv4,
    "peer_gateway_ip": _check_ipv4,
    "peering_subnet_mask": _check_mask,
    "local_ipv6_gateway_ip": _check_ipv6,
    "peer_ipv6_gateway_ip": _check_ipv6,
    "peering_ipv6_subnet_mask": _check_ipv6_mask,
}


def _camel(attr: str, table: Mapping[str, str]) -> str:
    return next(k for k, v in table.items() if v == attr)


def _path_text(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        name = part if isinstance(part, int) or len(part) <= 60 else shown(part)  # a key may be huge
        out += f"[{name}]" if isinstance(name, int) else (f".{name}" if out else name)
    return out


def _mark_of(node: yaml.Node | None, path: tuple[str | int, ...]) -> yaml.Mark | None:
    """The position of `path` in a composed YAML tree (the deepest node found)."""
    found = node
    for part in path:
        if isinstance(found, yaml.MappingNode):
            child = next((v for k, v in found.value if getattr(k, "value", None) == part), None)
        elif isinstance(found, yaml.SequenceNode) and isinstance(part, int) and part < len(found.value):
            child = found.value[part]
        else:
            child = None
        if child is None:
            break
        found = child
    return found.start_mark if found is not None else None


# -- output (to_mapping) ------------------------------------------------------------------------


def _out(obj: Any, table: Mapping[str, str]) -> dict[str, Any]:
    out = {camel: getattr(obj, attr) for camel, attr in table.items()}
    out.update(obj.extra)
    return {k: v for k, v in out.items() if v is not None}


def _device_out(device: SeedDevice) -> dict[str, Any]:
    return _out(device, _DEVICE_FIELDS)


def _connection_out(connection: SeedConnection) -> dict[str, Any]:
    out = _out(connection, _CONNECTION_FIELDS)
    if not out.get("vbrId"):
        out.pop("vbrId", None)  # optional: left out when the connection reaches no VBR
    return out


def _vbr_out(vbr: SeedVbr) -> dict[str, Any]:
    out = _out(vbr, _VBR_FIELDS)
    if "physicalConnections" in out:
        out["physicalConnections"] = list(out["physicalConnections"])
    return {k: v for k, v in out.items() if k not in _VBR_OPTIONAL_DEFAULTS or v != _VBR_OPTIONAL_DEFAULTS[k]}
