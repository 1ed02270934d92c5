"""What Alibaba BGP objects hang from, for `reconciler graph`: a group hangs from its VBR; a peer
hangs from its group, a resource the core joins through the peer's reference."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER, CLOUD_NAME
from reconciler.clouds.base import GraphNode


def graph_chain(kind: str, address: str, attrs: Mapping[str, Any], info: Mapping[str, Any]) -> tuple[GraphNode, ...]:
    """The VBR then the group, or the peer alone. Labels take named fields only, so a key can
    never reach one."""
    if kind == ALIBABA_GROUP:
        region, vbr = attrs.get("regionId"), attrs.get("virtualBorderRouterId")
        chain: list[GraphNode] = []
        if vbr:
            where = f" ({region})" if region else ""
            chain.append(GraphNode(f"{CLOUD_NAME}/vbr/{region}/{vbr}", f"VBR {vbr}{where}", "router"))
        peer_asn = attrs.get("peerAsn")
        label = f"{address}\npeer AS{peer_asn}" if peer_asn is not None else address
        chain.append(GraphNode(address, label, "group"))
        return tuple(chain)
    if kind == ALIBABA_PEER:
        peer_ip = attrs.get("peerIpAddress")
        return (GraphNode(address, f"{address}\n{peer_ip}" if peer_ip else address, "session"),)
    return (GraphNode(address, address, "resource"),)
