"""Live address checks of Alibaba's session ends (`Cloud.address_checks`), run by `plan` and
`apply PATH...` after the refresh, before anything is sent.

What is read: every VBR that the peers' groups name, once, with `DescribeVirtualBorderRouters`
filtered by VbrId, per region, in pages (`AlibabaProvider.describe_vbrs`, which doctor uses too).
Its `LocalGatewayIp` (Alibaba's side), `PeerGatewayIp` (the customer's side) and
`PeeringSubnetMask`, or their IPv6 counterparts for an IPv6 peer (docs/cloud-apis.md, Alibaba §14).

What cannot form a session (`check`, pure):

- a linked peer whose `peerIpAddress` is not the VBR's peer gateway IP;
- a linked peer whose other end's local address is outside the VBR's peering subnet;
- a linked peer whose other end's remote address is not the VBR's local gateway IP;
- an unlinked peer outside the VBR's peering subnet: a warning only, as a multi-hop peer (BGP
  over several hops, `bfdMultiHop` > 1) legitimately is.

A VBR that cannot be read (a refused or failed call) or does not exist is reported once, as not
checked, at the group that names it. A linked peer whose VBR reports no gateway addresses of its
family, or whose group is managed elsewhere (its VBR is not in the manifests), is reported as not
checked; an unlinked one is then left alone, as there is nothing to hold it against.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP
from reconciler.clouds.base import AddressFinding, Provider, SessionEnds
from reconciler.clouds.counters import map_bounded
from reconciler.errors import ProviderError
from reconciler.manifest.checked import IPAddress, IPNetwork
from reconciler.manifest.links import EndValue

VBR_PATH = "spec.virtualBorderRouterId"

# Where a VBR is: (region, VBR id).
VbrKey = tuple[str, str]
# A DescribeVirtualBorderRouters item, or why there is none (refused, failed, does not exist).
VbrRead = Mapping[str, Any] | str


@dataclass(frozen=True, slots=True)
class Gateways:
    """A VBR's addresses of one family; None where it reports none (or one that cannot be read)."""

    local: IPAddress | None
    peer: IPAddress | None
    subnet: IPNetwork | None

    def describe(self, vbr: VbrKey) -> str:
        parts = [f"peer gateway {self.peer}" if self.peer else "no peer gateway"]
        parts.append(f"local gateway {self.local}" if self.local else "no local gateway")
        parts.append(f"peering subnet {self.subnet}" if self.subnet else "no peering subnet")
        return f"the VBR {vbr[1]} ({vbr[0]}) has {', '.join(parts)}"


def gateways(item: Mapping[str, Any], version: int) -> Gateways:
    """The VBR's gateway addresses and subnet of IP `version` (4 or 6). The IPv4 mask is dotted
    (255.255.255.252) or a prefix length; the IPv6 one a prefix length, with or without '/'."""
    fields = (
        ("LocalGatewayIp", "PeerGatewayIp", "PeeringSubnetMask")
        if version == 4
        else ("LocalIpv6GatewayIp", "PeerIpv6GatewayIp", "PeeringIpv6SubnetMask")
    )
    local, peer = (_address(item.get(name), version) for name in fields[:2])
    mask = str(item.get(fields[2]) or "").strip().lstrip("/")
    subnet = None
    if local is not None and mask:
        try:
            subnet = ipaddress.ip_network(f"{local}/{mask}", strict=False)
        except ValueError:
            subnet = None
    return Gateways(local, peer, subnet)


def _address(value: Any, version: int) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(str(value or "").strip())
    except ValueError:
        return None
    return address if address.version == version else None


def vbr_of(ends: SessionEnds) -> VbrKey | None:
    """The VBR of a peer's group in the manifests (None: its group is managed elsewhere)."""
    group = next((m for m in ends.own.members if m.kind == ALIBABA_GROUP), None)
    if group is None or not group.has("spec.regionId") or not group.has(VBR_PATH):
        return None
    return str(group.get("spec.regionId")), str(group.get(VBR_PATH))


def address_checks(ends: Sequence[SessionEnds], provider: Provider) -> list[AddressFinding]:
    """Read every VBR the peers' groups name, once, then check the ends against them."""
    located = [(end, vbr_of(end)) for end in ends]
    wanted: dict[str, set[str]] = {}
    for end, vbr in located:
        if vbr is not None and end.own.remote_address is not None:
            wanted.setdefault(vbr[0], set()).add(vbr[1])
    return _check(located, read_vbrs(provider, wanted))


def read_vbrs(provider: Provider, wanted: Mapping[str, set[str]]) -> dict[VbrKey, VbrRead]:
    """Each wanted VBR's item, or why it could not be read. Regions are read at once (the
    provider bounds its requests): one region's round trips, not one region after another."""
    from reconciler.clouds.alibaba.provider import VBR_DESCRIBE, AlibabaProvider

    if not isinstance(provider, AlibabaProvider):
        why = f"this provider cannot read VBRs ({type(provider).__name__})"
        return {(region, i): why for region, ids in wanted.items() for i in ids}

    def read_region(region: str) -> dict[str, dict[str, Any]] | ProviderError:
        try:
            return provider.describe_vbrs(region, wanted[region])
        except ProviderError as error:
            return error

    regions = sorted(wanted)
    out: dict[VbrKey, VbrRead] = {}
    for region, found in zip(regions, map_bounded(read_region, regions, len(regions)), strict=True):
        ids = wanted[region]
        if isinstance(found, ProviderError):
            why = f"{VBR_DESCRIBE} failed: {found.message}"
            if found.code in ("Forbidden.RAM", "NoPermission"):
                why += f" (grant the RAM user vpc:{VBR_DESCRIBE} to have the addresses checked)"
            out.update(((region, i), why) for i in ids)
            continue
        for vbr_id in ids:
            out[(region, vbr_id)] = found.get(vbr_id) or f"the VBR does not exist in region {region}"
    return out


def check(ends: Sequence[SessionEnds], vbrs: Mapping[VbrKey, VbrRead]) -> list[AddressFinding]:
    """Every address of `ends` that cannot form its session with its VBR (pure)."""
    return _check([(end, vbr_of(end)) for end in ends], vbrs)


def _check(
    located: Sequence[tuple[SessionEnds, VbrKey | None]], vbrs: Mapping[VbrKey, VbrRead]
) -> list[AddressFinding]:
    """`check`, each end with its VBR (`vbr_of`) already found."""
    findings: list[AddressFinding] = []
    unread: set[VbrKey] = set()
    # Many peers share a VBR: its addresses of each family are parsed and described once.
    known: dict[tuple[VbrKey, int], tuple[Gateways, str]] = {}
    for end, vbr in located:
        peer_ip = end.own.remote_address
        address = peer_ip.value if peer_ip is not None else None
        if peer_ip is None or not isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
            continue
        linked = end.other is not None
        if vbr is None:
            if linked:
                findings.append(
                    _not_checked(peer_ip, "its group is not in the manifests (bgpGroupId), so its VBR is unknown")
                )
            continue
        read = vbrs.get(vbr, "the VBR was not read")
        if isinstance(read, str):
            if vbr not in unread:
                unread.add(vbr)
                group = next(m for m in end.own.members if m.kind == ALIBABA_GROUP)
                findings.append(
                    AddressFinding(
                        group.at(VBR_PATH),
                        VBR_PATH,
                        f"the addresses of the sessions on VBR {vbr[1]} ({vbr[0]}) were not checked: {read}",
                        linked=False,
                        checked=False,
                    )
                )
            continue
        family = (vbr, address.version)
        if family not in known:
            gw = gateways(read, address.version)
            known[family] = gw, gw.describe(vbr)
        findings.extend(_check_end(end, peer_ip, address, *known[family]))
    return findings


def _check_end(
    ends: SessionEnds, peer_ip: EndValue, address: IPAddress, gw: Gateways, context: str
) -> Iterator[AddressFinding]:
    if ends.other is None:
        if gw.subnet is not None and address not in gw.subnet:
            yield _finding(
                peer_ip,
                f"{address} is outside the VBR's peering subnet: {context}. Fine for a multi-hop peer; "
                "a directly connected one cannot come up",
                linked=False,
            )
        return
    if gw.local is None or gw.peer is None or gw.subnet is None:
        yield _not_checked(peer_ip, f"{context}: it reports no complete set of IPv{address.version} gateway addresses")
        return
    cannot = f"so the session of {ends.own.doc.address} and {ends.other.doc.address} cannot come up"
    if address != gw.peer:
        yield _finding(peer_ip, f"{address} is not the VBR's peer gateway IP, {cannot}: {context}", linked=True)
    local = ends.other.local_address
    if local is not None and local.value not in gw.subnet:
        yield _finding(local, f"{local.value} is not in the VBR's peering subnet, {cannot}: {context}", linked=True)
    remote = ends.other.remote_address
    if remote is not None and remote.value != gw.local:
        yield _finding(remote, f"{remote.value} is not the VBR's local gateway IP, {cannot}: {context}", linked=True)


def _finding(value: EndValue, message: str, *, linked: bool) -> AddressFinding:
    return AddressFinding(value.doc.at(value.path), value.path, message, linked=linked)


def _not_checked(value: EndValue, why: str) -> AddressFinding:
    return AddressFinding(
        value.doc.at(value.path), value.path, f"not checked against its VBR: {why}", linked=False, checked=False
    )
