"""The cloud registry: every cloud package, and every kind they serve.

A cloud is one package here that exposes a `Cloud` object (see `reconciler.clouds.base`); adding
one is a new package plus one line in `CLOUDS` (docs/architecture.md, "Adding a cloud"). The core
looks kinds and clouds up here and never names one. The packages import only light modules at
import time; each imports its API client (and SDK) when a provider is first made.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reconciler.clouds.alibaba import CLOUD as ALIBABA
from reconciler.clouds.base import Cloud, Presupposed, Provider, ProviderOptions, RefreshScope, UnmanagedLevel
from reconciler.clouds.equinix import CLOUD as EQUINIX
from reconciler.errors import ReconcilerError
from reconciler.kinds import KindInfo
from reconciler.model import Resource, StateDoc

CLOUDS: dict[str, Cloud] = {cloud.name: cloud for cloud in (EQUINIX, ALIBABA)}
KINDS: dict[str, KindInfo] = {}


def _index_kinds() -> None:
    KINDS.clear()
    for cloud in CLOUDS.values():
        for info in cloud.kinds:
            if info.cloud != cloud.name:
                raise ReconcilerError(f"kind {info.kind} says it belongs to {info.cloud!r}, not {cloud.name!r}")
            KINDS[info.kind] = info


_index_kinds()


def register(cloud: Cloud) -> None:
    """Add (or replace) a cloud and its kinds."""
    CLOUDS[cloud.name] = cloud
    _index_kinds()


def unregister(name: str) -> None:
    CLOUDS.pop(name, None)
    _index_kinds()


def cloud_of(kind: str) -> Cloud:
    """The cloud that serves `kind`."""
    return CLOUDS[KINDS[kind].cloud]


def clouds_involved(desired: Iterable[Resource], state: StateDoc) -> list[Cloud]:
    """The clouds whose kinds the manifests, the state or an unfinished apply mention."""
    kinds = {r.kind for r in desired} | {r.kind for r in state.resources.values()} | {e.kind for e in state.pending}
    names = {KINDS[k].cloud for k in kinds if k in KINDS}
    return [cloud for name, cloud in CLOUDS.items() if name in names]


def refresh_scopes(
    desired: Sequence[Resource],
    state: StateDoc,
    level: UnmanagedLevel = UnmanagedLevel.MANIFESTS,
    args: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, RefreshScope]:
    """What each involved cloud's provider must list (its own, opaque scope): the clouds the
    manifests or the state involve, plus those given scope `args`, at unmanaged-scope `level`."""
    args = args or {}
    involved = {cloud.name for cloud in clouds_involved(desired, state)} | set(args)
    return {
        name: cloud.refresh_scope(desired, state, level, tuple(args.get(name, ())))
        for name, cloud in CLOUDS.items()
        if name in involved
    }


def sandbox_seed(presupposed: Iterable[Presupposed]) -> dict[str, Mapping[str, object]]:
    """An embedded-sandbox seed: each cloud's part, under the cloud's name, with the sessions the
    manifests link joined across the parts (`_join_linked_sessions`)."""
    items = list(presupposed)
    parts = {name: cloud.sandbox_seed(items) for name, cloud in CLOUDS.items()}
    _join_linked_sessions(parts, items)
    return {name: part for name, part in parts.items() if part}


def _join_linked_sessions(parts: Mapping[str, Mapping[str, Any]], items: Sequence[Presupposed]) -> None:
    """Each cloud seeds only its own objects, but a session needs both ends to meet
    (docs/sandbox.md, Sessions): for each `metadata.labels.link` joining one Equinix peering and
    one Alibaba peer, the peering's connection reaches the peer's VBR (`vbrId`), and the VBR's
    gateway addresses are the ones the two ends name (its own: Equinix's remote IP; its peer's:
    the Alibaba peer IP; the mask: the prefix of Equinix's local address). The first link of a
    VBR sets its addresses; an ambiguous link (more ends than two) joins nothing."""
    from reconciler.clouds.alibaba.kinds import ALIBABA_PEER
    from reconciler.clouds.equinix.kinds import EQUINIX_PEERING

    connections = {str(c["uuid"]): c for c in parts.get(EQUINIX.name, {}).get("connections", [])}
    vbrs = {str(v["vbrId"]): v for v in parts.get(ALIBABA.name, {}).get("vbrs", [])}
    by_address = {item.address: item for item in items if item.address}
    by_link: dict[str, list[Presupposed]] = {}
    for item in items:
        if item.labels.get("link"):
            by_link.setdefault(item.labels["link"], []).append(item)
    for ends in by_link.values():
        peering = [e for e in ends if e.kind == EQUINIX_PEERING]
        peer = [e for e in ends if e.kind == ALIBABA_PEER]
        if len(ends) != 2 or len(peering) != 1 or len(peer) != 1:
            continue
        group = by_address.get(peer[0].refs.get("bgpGroup", ""))
        connection = connections.get(str(peering[0].attrs.get("connectionUuid", "")).lower())
        vbr = vbrs.get(str(group.attrs.get("virtualBorderRouterId", ""))) if group is not None else None
        if connection is None or vbr is None:
            continue
        connection["vbrId"] = vbr["vbrId"]
        _gateway_addresses(vbr, peering[0].attrs, peer[0].attrs)


def _gateway_addresses(vbr: dict[str, Any], peering: Mapping[str, Any], peer: Mapping[str, Any]) -> None:
    """The VBR addresses that let the two ends meet, unless an earlier link set them."""
    import ipaddress

    try:
        local = ipaddress.ip_interface(str(peering.get("localIpAddress", "")))
        remote = ipaddress.ip_address(str(peering.get("remoteIpAddress", "")))
        peer_ip = ipaddress.ip_address(str(peer.get("peerIpAddress", "")))
    except ValueError:
        return  # validation reports it; nothing to derive from
    if remote.version == 6:
        if not vbr.get("localIpv6GatewayIp"):
            vbr.update(
                localIpv6GatewayIp=str(remote),
                peerIpv6GatewayIp=str(peer_ip),
                peeringIpv6SubnetMask=str(local.network.prefixlen),
                enableIpv6=True,
            )
    elif not vbr.get("localGatewayIp"):
        vbr.update(localGatewayIp=str(remote), peerGatewayIp=str(peer_ip), peeringSubnetMask=str(local.netmask))


def make_provider(name: str, env: Mapping[str, str], options: ProviderOptions) -> Provider:
    return CLOUDS[name].make_provider(env, options)


__all__ = [
    "CLOUDS",
    "KINDS",
    "Cloud",
    "cloud_of",
    "clouds_involved",
    "make_provider",
    "refresh_scopes",
    "register",
    "sandbox_seed",
    "unregister",
]
