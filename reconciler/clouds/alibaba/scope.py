"""What Alibaba refresh lists, what counts as in scope for unmanaged reports, and what the
embedded sandbox must presuppose: all derived from the regions and VBRs the manifests name."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER
from reconciler.clouds.base import Presupposed, RefreshScope, UnmanagedScope
from reconciler.model import LiveObject, Resource, StateDoc

KINDS = frozenset({ALIBABA_GROUP, ALIBABA_PEER})


@dataclass(frozen=True, slots=True)
class AlibabaScope(RefreshScope):
    """The regions whose groups and peers are listed completely."""

    regions: frozenset[str] = frozenset()


def refresh_scope(desired: Sequence[Resource], state: StateDoc) -> AlibabaScope:
    regions: set[str] = set()
    for resource in desired:
        if resource.kind in KINDS and "regionId" in resource.attrs:
            regions.add(str(resource.attrs["regionId"]))
    ids: set[str] = set()
    for recorded in state.resources.values():
        if recorded.kind in KINDS:
            ids.add(recorded.cloud_id)
            if recorded.region:
                regions.add(recorded.region)
    regions |= {e.region for e in state.pending if e.kind in KINDS and e.region}
    return AlibabaScope(kinds=KINDS, ids=frozenset(ids), regions=frozenset(regions))


def unmanaged_scope(desired: Sequence[Resource], live: Iterable[LiveObject]) -> UnmanagedScope:
    """Groups and peers on the VBRs of the manifests' groups, and the peers of the groups that
    the manifests' peers name by id (`bgpGroupId`: only their peers are in scope)."""
    vbrs = frozenset(str(r.attrs["virtualBorderRouterId"]) for r in desired if r.kind == ALIBABA_GROUP)
    groups = frozenset(
        str(r.attrs["bgpGroupId"]) for r in desired if r.kind == ALIBABA_PEER and r.attrs.get("bgpGroupId")
    )
    vbr_of_group = {o.cloud_id: str(o.attrs.get("virtualBorderRouterId")) for o in live if o.kind == ALIBABA_GROUP}

    def where(obj: LiveObject) -> str | None:
        if obj.kind == ALIBABA_GROUP:
            vbr = str(obj.attrs.get("virtualBorderRouterId"))
            return f"VBR {vbr}" if vbr in vbrs else None
        if obj.kind == ALIBABA_PEER:
            group_id = str(obj.attrs.get("bgpGroupId"))
            vbr = vbr_of_group.get(group_id, "")
            if vbr in vbrs:
                return f"VBR {vbr}"
            return f"BGP group {group_id}" if group_id in groups else None
        return None

    return where


def sandbox_seed(presupposed: Iterable[Presupposed]) -> Mapping[str, Any]:
    """Every region and VBR a group names exists and is active (IPv6-enabled when a group asks
    for IPv6), and every region a peer names exists."""
    regions: set[str] = set()
    vbrs: dict[str, dict[str, Any]] = {}
    for kind, attrs in presupposed:
        if kind == ALIBABA_GROUP and attrs.get("regionId") and attrs.get("virtualBorderRouterId"):
            region, vbr = str(attrs["regionId"]), str(attrs["virtualBorderRouterId"])
            regions.add(region)
            entry = vbrs.setdefault(vbr, {"vbrId": vbr, "regionId": region, "status": "active", "enableIpv6": False})
            if str(attrs.get("ipVersion", "IPv4")).lower() == "ipv6":
                entry["enableIpv6"] = True
        elif kind == ALIBABA_PEER and attrs.get("regionId"):
            regions.add(str(attrs["regionId"]))
    if not regions:
        return {}
    return {"regions": sorted(regions), "vbrs": list(vbrs.values())}
