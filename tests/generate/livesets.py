"""Random live sets for the generate tests: Alibaba groups and peers and Equinix configs as their
providers read them (the same converters over API-shaped items), some mirroring each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from reconciler.clouds.alibaba.provider import group_object, peer_object
from reconciler.clouds.equinix.configs import live_object
from reconciler.model import LiveObject

REGIONS = ("ap-southeast-1", "cn-hongkong")
# Group names: valid, invalid as manifest names, invalid in Alibaba, and repeated (collisions).
GROUP_NAMES = ("core", "core", "Core Router", "sg_vbr.1", "1st-group", "x", "a" * 70, "edge-1", "", "peer-GROUP")
DEVICE_NAMES = ("sg-ne1", "sg-ne1", "HK NE 1", "", "ne_2", "z" * 70)
KEYS = (None, "KeyAlpha123", "KeyBravo456", "KeyAlpha123")


@dataclass
class LiveSet:
    objects: list[LiveObject] = field(default_factory=list)
    device_names: dict[str, str] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)


def _id(prefix: str, n: int) -> str:
    return f"{prefix}-{n:020d}"


@st.composite
def live_sets(draw: st.DrawFn, max_vbrs: int = 6) -> LiveSet:
    out = LiveSet()
    vbrs = draw(st.integers(1, max_vbrs))
    config = 0
    for v in range(vbrs):
        region = REGIONS[v % len(REGIONS)]
        router = _id("vbr", v)
        peers_left = 8  # Alibaba's quota per VBR
        for g in range(draw(st.integers(1, 2))):
            group_id = _id("bgpg", v * 10 + g)
            peer_asn = draw(st.integers(64512, 65534).filter(lambda a: a != 65025))
            local_asn = draw(st.sampled_from((45104, 45104, 65001)))
            key = draw(st.sampled_from(KEYS))
            if key:
                out.keys.add(key)
            item: dict[str, Any] = {
                "BgpGroupId": group_id,
                "RouterId": router,
                "RegionId": region,
                "Name": draw(st.sampled_from(GROUP_NAMES)),
                "PeerAsn": peer_asn,
                "LocalAsn": local_asn,
                "Description": draw(st.sampled_from(("", "Core routers", "Edge to the colo"))),
                "IpVersion": "IPv4",
                "RouteLimit": draw(st.sampled_from((110, 100))),
                "IsFake": draw(st.booleans()),
                "AuthKey": key or "",
                "Status": "Available",
            }
            out.objects.append(group_object(item, region))
            for p in range(draw(st.integers(0, min(peers_left, 4)))):
                peers_left -= 1
                address = f"10.{v}.{g * 16 + p}.1"
                bfd = draw(st.booleans())
                peer = {
                    "BgpPeerId": _id("bgp", v * 100 + g * 10 + p),
                    "BgpGroupId": group_id,
                    "RegionId": region,
                    "PeerIpAddress": address,
                    "IpVersion": "IPv4",
                    "EnableBfd": bfd,
                    "BfdMultiHop": draw(st.integers(1, 255)) if bfd else 255,
                    "Status": "Available",
                }
                out.objects.append(peer_object(peer, region))
                if draw(st.booleans()):  # the Equinix end of this session
                    device = f"00000000-0000-4000-8000-{draw(st.integers(0, 3)):012d}"
                    out.device_names.setdefault(device, draw(st.sampled_from(DEVICE_NAMES)))
                    config += 1
                    mirrored_key = key if draw(st.integers(0, 4)) else "KeyOther789"
                    if mirrored_key:
                        out.keys.add(mirrored_key)
                    out.objects.append(
                        equinix_config(
                            config, device, f"{address}/30", peer_asn, address[:-1] + "2", local_asn, mirrored_key
                        )
                    )
    return out


def equinix_config(
    n: int, device: str, local: str, local_asn: int, remote: str, remote_asn: int, key: str | None
) -> LiveObject:
    item: dict[str, Any] = {
        "uuid": f"c0000000-0000-4000-8000-{n:012d}",
        "connectionUuid": f"00000000-1111-4000-8000-{n:012d}",
        "virtualDeviceUuid": device,
        "localIpAddress": local,
        "localAsn": local_asn,
        "remoteIpAddress": remote,
        "remoteAsn": remote_asn,
        "provisioningStatus": "PROVISIONED",
    }
    if key:
        item["authenticationKey"] = key
    found = live_object(item)
    assert found is not None
    return found
