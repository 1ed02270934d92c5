"""`reconciler generate --alibaba REGION[:VBR_ID]`: Alibaba's BGP groups and peers as drafts.

A region is listed whole (`DescribeBgpGroups`/`DescribeBgpPeers` pages); one VBR is taken by
filtering the listing. One file per region. A group keeps its Alibaba `Name` when that is a
valid manifest name (it is also the group's name in the manifests); otherwise, and for peers,
names come from the VBR and the peer address. A peer names its group (`bgpGroup`), or, when its
group is not listed, gives the group's id and region.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER, GROUP, KEY_FIELD
from reconciler.clouds.alibaba.scope import KINDS, AlibabaScope
from reconciler.errors import UsageError
from reconciler.generate.draft import Draft, address_order
from reconciler.model import LiveObject

# REGION or REGION:VBR_ID (Alibaba's spellings: cn-hongkong, ap-southeast-1; vbr-...).
_ARG = re.compile(r"(?P<region>[a-z]{2,}(?:-[a-z0-9]+)+)(?::(?P<vbr>vbr-[a-z0-9]+))?")
_VALID = "REGION or REGION:VBR_ID, e.g. cn-hongkong or cn-hongkong:vbr-j6nexample0000000001"


def parse_args(args: Sequence[str]) -> dict[str, frozenset[str] | None]:
    """region -> the VBRs to take (None: every VBR of the region)."""
    wanted: dict[str, set[str] | None] = {}
    for arg in args:
        match = _ARG.fullmatch(arg.strip())
        if match is None:
            raise UsageError(f"--alibaba {arg!r} is not a region or region:VBR", hint=f"give {_VALID}")
        region, vbr = match["region"], match["vbr"]
        if vbr is None:
            wanted[region] = None
        elif region not in wanted or wanted[region] is not None:
            vbrs = wanted.setdefault(region, set())
            assert vbrs is not None
            vbrs.add(vbr)
    return {region: None if vbrs is None else frozenset(vbrs) for region, vbrs in wanted.items()}


def generate_scope(args: Sequence[str]) -> AlibabaScope:
    return AlibabaScope(kinds=KINDS, regions=frozenset(parse_args(args)))


def drafts(args: Sequence[str], live: Sequence[LiveObject]) -> list[Draft]:
    wanted = parse_args(args)
    groups = {o.cloud_id: o for o in live if o.kind == ALIBABA_GROUP and o.status != "deleting"}

    def taken(region: str | None, vbr: str) -> bool:
        if region not in wanted:
            return False
        vbrs = wanted[region]
        return vbrs is None or vbr in vbrs

    peers_of: dict[str, list[LiveObject]] = {}
    out: list[Draft] = []
    for peer in live:
        if peer.kind != ALIBABA_PEER or peer.status == "deleting":
            continue
        group_id = str(peer.attrs.get("bgpGroupId"))
        group = groups.get(group_id)
        vbr = str(group.attrs.get("virtualBorderRouterId")) if group else str(peer.info.get("routerId") or "")
        if not taken(peer.region, vbr):
            continue
        peers_of.setdefault(group_id, []).append(peer)
        out.append(_peer(peer, vbr))
    for group in groups.values():
        vbr = str(group.attrs.get("virtualBorderRouterId"))
        if taken(group.region, vbr):
            first_peer = min((str(p.attrs.get("peerIpAddress")) for p in peers_of.get(group.cloud_id, ())), default="")
            out.append(_group(group, vbr, first_peer))
    return out


def _without_defaults(defaults: Mapping[str, Any], attrs: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {f: attrs[f] for f in fields if f in attrs and attrs[f] is not None and attrs[f] != defaults.get(f, ...)}


def _group(group: LiveObject, vbr: str, first_peer: str) -> Draft:
    attrs = group.attrs
    fields = ("regionId", "virtualBorderRouterId", "peerAsn", "localAsn", "description", "ipVersion")
    spec = _without_defaults(GROUP.defaults, attrs, (*fields, "routeQuota", "isFakeAsn"))
    spec.setdefault("regionId", group.region)
    name = str(attrs.get("name") or "")
    # The Name is kept only when it is also a name Alibaba accepts (it starts with a letter).
    candidates = (name,) if name[:1].isalpha() and len(name) >= 2 else ()
    fallback = f"{vbr}-{first_peer}" if first_peer else vbr
    return Draft(
        live=group,
        names=(*candidates, fallback),
        spec=spec,
        file=f"alibaba/{group.region}.yaml",
        order=(vbr, group.cloud_id, "0"),
        key_field=KEY_FIELD,
        describe=f"BGP group {group.cloud_id} on {vbr}",
        name_attr="name",
    )


def _peer(peer: LiveObject, vbr: str) -> Draft:
    attrs = peer.attrs
    spec: dict[str, Any] = {"peerIpAddress": attrs.get("peerIpAddress")}
    if attrs.get("enableBfd"):
        spec["enableBfd"] = True
        if attrs.get("bfdMultiHop") is not None:
            spec["bfdMultiHop"] = attrs["bfdMultiHop"]
    group_id = str(attrs.get("bgpGroupId"))
    ip = str(attrs.get("peerIpAddress"))
    return Draft(
        live=peer,
        names=(f"{vbr}-{ip}" if vbr else f"{group_id}-{ip}",),
        spec=spec,
        file=f"alibaba/{peer.region}.yaml",
        order=(vbr, group_id, "1", address_order(ip)),
        refs={"bgpGroup": group_id},
        unresolved={"bgpGroupId": group_id, "regionId": peer.region},
        describe=f"peer {ip} on {vbr or group_id}",
    )
