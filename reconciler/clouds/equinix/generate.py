"""`reconciler generate --equinix all|DEVICE_UUID`: Network Edge BGP configs as drafts.

Every config the credentials can list is read by pages (`GET /ne/v1/bgp`); one device is taken
by filtering on the `virtualDeviceUuid` each config reports. One file per device. Names come
from the device's name (one read per device, `GET /ne/v1/devices/{uuid}`; its uuid when the
read is refused) and the config's local address: a connection's name would cost one read per
config.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.clouds.base import Provider
from reconciler.clouds.counters import map_bounded
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING, KEY_FIELD
from reconciler.clouds.equinix.scope import EquinixScope
from reconciler.errors import ProviderError, UsageError
from reconciler.generate.draft import Draft, address_order
from reconciler.log import get_logger
from reconciler.model import LiveObject

ALL = "all"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
DEVICE_OP = "GET /ne/v1/devices/{uuid}"

log = get_logger("reconciler.clouds.equinix")


def parse_args(args: Sequence[str]) -> frozenset[str] | None:
    """The devices to take (lowercase uuids), or None for every config."""
    devices: set[str] = set()
    every = False
    for arg in args:
        value = arg.strip().lower()
        if value == ALL:
            every = True
        elif _UUID.fullmatch(value):
            devices.add(value)
        else:
            raise UsageError(
                f"--equinix {arg!r} is neither `all` nor a device uuid",
                hint="give `all` (every BGP config the credentials can list) or a virtual device's uuid, "
                "e.g. 5f1e8a52-3c1d-4d6e-9a7b-0c2f4e6a8b10",
            )
    return None if every else frozenset(devices)


def generate_scope(args: Sequence[str]) -> EquinixScope:
    parse_args(args)
    return EquinixScope(kinds=frozenset({EQUINIX_PEERING}))  # no connection named: every page


def device_of(obj: LiveObject) -> str:
    return str(obj.info.get("virtualDeviceUuid") or "").lower()


def taken(args: Sequence[str], live: Sequence[LiveObject]) -> list[LiveObject]:
    """The configs `args` name (every config, or those of the devices named)."""
    devices = parse_args(args)
    return [
        o
        for o in live
        if o.kind == EQUINIX_PEERING and o.status != "deleting" and (devices is None or device_of(o) in devices)
    ]


def drafts(args: Sequence[str], live: Sequence[LiveObject], provider: Provider) -> list[Draft]:
    configs = taken(args, live)
    return drafts_of(configs, device_names(provider, sorted({device_of(o) for o in configs if device_of(o)})))


def drafts_of(configs: Sequence[LiveObject], names: Mapping[str, str]) -> list[Draft]:
    """`configs` as drafts, given the names of their devices (uuid -> name)."""
    return [_draft(o, names) for o in configs]


def device_names(provider: Provider, devices: Sequence[str]) -> Mapping[str, str]:
    """device uuid -> its name, read once per device; a device whose read fails is left out."""
    get_json = getattr(provider, "_get_json", None)  # the Equinix client's own request plumbing
    if get_json is None or not devices:
        return {}

    def read(device: str) -> tuple[str, str]:
        try:
            body = get_json(f"/ne/v1/devices/{device}", DEVICE_OP)
        except ProviderError as error:
            log.info("device name not readable: its uuid names its configs", device=device, error=error.message)
            return device, ""
        name = body.get("name") if isinstance(body, Mapping) else None
        return device, str(name) if name else ""

    return {device: name for device, name in map_bounded(read, devices, 8) if name}


def _draft(obj: LiveObject, device_names: Mapping[str, str]) -> Draft:
    attrs = obj.attrs
    device = device_of(obj)
    device_name = device_names.get(device, "")
    local = str(attrs.get("localIpAddress") or "")
    address = local.partition("/")[0]
    label = device_name or (f"ne-{device[:8]}" if device else "ne")
    stem = device or "no-device"
    if device and device_name:
        stem = f"{_FILE_NAME.sub('-', device_name)}-{device[:8]}"
    spec: dict[str, Any] = {
        field: attrs[field]
        for field in ("connectionUuid", "localIpAddress", "localAsn", "remoteIpAddress", "remoteAsn")
        if attrs.get(field) is not None
    }
    return Draft(
        live=obj,
        names=(f"{label}-{address}",),
        spec=spec,
        file=f"equinix/{stem}.yaml",
        order=(address_order(attrs.get("remoteIpAddress")), obj.cloud_id),
        key_field=KEY_FIELD,
        describe=f"{local} on connection {attrs.get('connectionUuid')}",
    )
