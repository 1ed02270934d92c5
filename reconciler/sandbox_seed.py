"""Derive a sandbox seed from what the manifests presuppose (DESIGN section 8, `--sandbox`).

Every Equinix connection a peering names exists and is provisioned, on a provisioned device of
its own with a registered license and the peering's local ASN; every Alibaba region and VBR a
group names exists and is active (IPv6-enabled when a group asks for IPv6). So any repository
can be tried as it is, with no cloud account.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.model import ALIBABA_GROUP, ALIBABA_PEER, EQUINIX_PEERING
from reconciler.sandbox import Seed

_NAMESPACE = uuid.UUID("6f1c2b9e-5d0a-4c3e-9a61-2a7de0c1b5f4")


def derive_seed(presupposed: Iterable[tuple[str, Mapping[str, Any]]]) -> Seed:
    devices: dict[str, dict[str, Any]] = {}
    connections: dict[str, dict[str, Any]] = {}
    regions: set[str] = set()
    vbrs: dict[str, dict[str, Any]] = {}
    for kind, attrs in presupposed:
        if kind == EQUINIX_PEERING and attrs.get("connectionUuid"):
            conn = str(attrs["connectionUuid"]).lower()
            device = str(uuid.uuid5(_NAMESPACE, f"device:{conn}"))
            devices.setdefault(
                device,
                {
                    "uuid": device,
                    "name": f"ne-{conn[:8]}",
                    "status": "PROVISIONED",
                    "licenseStatus": "REGISTERED",
                    "asn": attrs.get("localAsn"),
                },
            )
            connections.setdefault(conn, {"uuid": conn, "deviceUuid": device, "state": "PROVISIONED"})
        elif kind == ALIBABA_GROUP and attrs.get("regionId") and attrs.get("virtualBorderRouterId"):
            region, vbr = str(attrs["regionId"]), str(attrs["virtualBorderRouterId"])
            regions.add(region)
            entry = vbrs.setdefault(vbr, {"vbrId": vbr, "regionId": region, "status": "active", "enableIpv6": False})
            if str(attrs.get("ipVersion", "IPv4")).lower() == "ipv6":
                entry["enableIpv6"] = True
        elif kind == ALIBABA_PEER and attrs.get("regionId"):
            regions.add(str(attrs["regionId"]))
    return Seed.from_mapping(
        {
            "equinix": {"devices": list(devices.values()), "connections": list(connections.values())},
            "alibaba": {"regions": sorted(regions), "vbrs": list(vbrs.values())},
        },
        "seed derived from the manifests",
    )
