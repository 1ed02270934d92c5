"""What Alibaba refresh lists, what counts as in scope for unmanaged reports (and how `generate`
takes such objects), and what the embedded sandbox must presuppose: all derived from the regions
and VBRs the manifests name, and for `drift --unmanaged-scope account` the regions given with
`--alibaba REGION`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER
from reconciler.clouds.base import Presupposed, RefreshScope, UnmanagedLevel, UnmanagedScope
from reconciler.errors import UsageError
from reconciler.model import LiveObject, Resource, StateDoc
from reconciler.plan.model import Change

KINDS = frozenset({ALIBABA_GROUP, ALIBABA_PEER})
# A region id as Alibaba spells them: cn-hongkong, ap-southeast-1, us-east-1, cn-shanghai-finance-1.
REGION_ID = re.compile(r"[a-z]{2}(-[a-z0-9]+)+")


@dataclass(frozen=True, slots=True)
class AlibabaScope(RefreshScope):
    """The regions whose groups and peers are listed completely."""

    regions: frozenset[str] = frozenset()


def refresh_scope(
    desired: Sequence[Resource],
    state: StateDoc,
    level: UnmanagedLevel = UnmanagedLevel.MANIFESTS,
    args: Sequence[str] = (),
) -> AlibabaScope:
    """The regions of the manifests and the state, listed completely (so every VBR of a region the
    manifests use is seen at every level), plus the regions of `args` at `ACCOUNT`."""
    regions = set(regions_used(desired))
    if level is UnmanagedLevel.ACCOUNT:
        regions |= account_regions(args)
    ids: set[str] = set()
    for recorded in state.resources.values():
        if recorded.kind in KINDS:
            ids.add(recorded.cloud_id)
            if recorded.region:
                regions.add(recorded.region)
    regions |= {e.region for e in state.pending if e.kind in KINDS and e.region}
    return AlibabaScope(kinds=KINDS, ids=frozenset(ids), regions=frozenset(regions))


def regions_used(desired: Sequence[Resource]) -> frozenset[str]:
    """The regions the manifests' groups and peers name."""
    return frozenset(str(r.attrs["regionId"]) for r in desired if r.kind in KINDS and r.attrs.get("regionId"))


def account_regions(args: Sequence[str]) -> frozenset[str]:
    """The regions of `drift --alibaba REGION`, checked."""
    for arg in args:
        if not REGION_ID.fullmatch(arg):
            raise UsageError(
                f"--alibaba {arg!r} is not an Alibaba region id: give a region such as cn-hongkong or "
                "ap-southeast-1 (drift lists every VBR of the region)"
            )
    return frozenset(args)


def unmanaged_scope(
    desired: Sequence[Resource],
    live: Iterable[LiveObject],
    level: UnmanagedLevel = UnmanagedLevel.MANIFESTS,
    args: Sequence[str] = (),
) -> UnmanagedScope:
    """`MANIFESTS`: groups and peers on the VBRs of the manifests' groups, and the peers of the
    groups that the manifests' peers name by id (`bgpGroupId`: only their peers are in scope).
    `REGIONS`: every group and peer in the regions the manifests use. `ACCOUNT`: those and every
    group and peer in the regions of `args`."""
    vbrs = frozenset(str(r.attrs["virtualBorderRouterId"]) for r in desired if r.kind == ALIBABA_GROUP)
    groups = frozenset(
        str(r.attrs["bgpGroupId"]) for r in desired if r.kind == ALIBABA_PEER and r.attrs.get("bgpGroupId")
    )
    vbr_of_group = {o.cloud_id: str(o.attrs.get("virtualBorderRouterId")) for o in live if o.kind == ALIBABA_GROUP}
    regions = regions_used(desired)
    if level is UnmanagedLevel.ACCOUNT:
        regions |= account_regions(args)

    def vbr_of(obj: LiveObject) -> str:
        if obj.kind == ALIBABA_GROUP:
            return str(obj.attrs.get("virtualBorderRouterId") or "")
        return vbr_of_group.get(str(obj.attrs.get("bgpGroupId")), "")

    def where(obj: LiveObject) -> str | None:
        if obj.kind not in KINDS:
            return None
        vbr = vbr_of(obj)
        if vbr in vbrs:
            return f"VBR {vbr}"
        group_id = str(obj.attrs.get("bgpGroupId"))
        if obj.kind == ALIBABA_PEER and group_id in groups:
            return f"BGP group {group_id}"
        if level is UnmanagedLevel.MANIFESTS or obj.region not in regions:
            return None
        return f"VBR {vbr}" if vbr else f"region {obj.region}"

    def generate_args(objects: Sequence[LiveObject]) -> tuple[str, ...]:
        """`REGION:VBR` for each VBR the objects are on; `REGION` when a VBR is not known."""
        whole = {str(o.region) for o in objects if o.kind in KINDS and o.region and not vbr_of(o)}
        one_vbr = {f"{o.region}:{vbr_of(o)}" for o in objects if o.kind in KINDS and o.region and vbr_of(o)}
        return tuple(sorted(whole | {arg for arg in one_vbr if arg.partition(":")[0] not in whole}))

    return UnmanagedScope(where, generate_args)


def sandbox_seed(presupposed: Iterable[Presupposed]) -> Mapping[str, Any]:
    """Every region and VBR a group names exists and is active, with BFD available (and IPv6 when a
    group asks for IPv6), and every region a peer names exists."""
    regions: set[str] = set()
    vbrs: dict[str, dict[str, Any]] = {}
    for kind, attrs, *_ in presupposed:
        if kind == ALIBABA_GROUP and attrs.get("regionId") and attrs.get("virtualBorderRouterId"):
            region, vbr = str(attrs["regionId"]), str(attrs["virtualBorderRouterId"])
            regions.add(region)
            # BFD on too: it is off on real VBRs until Alibaba enables it, which a try-out cannot ask for.
            entry = vbrs.setdefault(
                vbr, {"vbrId": vbr, "regionId": region, "status": "active", "enableIpv6": False, "bfdEnabled": True}
            )
            if str(attrs.get("ipVersion", "IPv4")).lower() == "ipv6":
                entry["enableIpv6"] = True
        elif kind == ALIBABA_PEER and attrs.get("regionId"):
            regions.add(str(attrs["regionId"]))
    if not regions:
        return {}
    return {"regions": sorted(regions), "vbrs": list(vbrs.values())}


def serial_scope(change: Change, changes: Mapping[str, Change]) -> str | None:
    """Alibaba may refuse a mutation on a VBR while another object on it is still changing
    (`OperationConflict`, docs/cloud-apis.md, Alibaba §7): one mutation at a time per VBR. A peer's
    VBR is its group's: the group it references in the manifests, or the group with its id in the
    plan; a peer of a group the plan does not know is serialised per group."""
    if change.kind == ALIBABA_GROUP:
        return _vbr_scope(change)
    if change.kind != ALIBABA_PEER:
        return None
    group = changes.get(change.refs.get("bgpGroup", ""))
    attrs = change.after or change.before or {}
    group_id = attrs.get("bgpGroupId")
    if group is None and group_id:
        group = next((c for c in changes.values() if c.kind == ALIBABA_GROUP and c.cloud_id == group_id), None)
    if group is not None:
        return _vbr_scope(group)
    return f"BGP group {group_id}" if group_id else None


def _vbr_scope(group: Change) -> str | None:
    attrs = group.after or group.before or {}
    vbr = attrs.get("virtualBorderRouterId")
    return f"VBR {vbr}" if vbr else None
