"""BGP sessions that emerge from both ends' configs (docs/sandbox.md, Sessions).

The seed maps an Equinix connection to the Alibaba VBR it reaches (`vbrId`). The two ends of one
session are an Equinix BGP config on such a connection and the Alibaba peer on that VBR whose peer
IP is the config's local address. Like a real BGP speaker, the session is `Established` only when
both ends are provisioned, their addresses fit, their ASNs mirror and their keys are equal;
`Active` when the addresses fit but a key or an ASN does not (the TCP session opens, the OPEN or
the MD5 check fails); `Idle` otherwise. `Established` comes `session_establish_delay` seconds after
the later end became provisioned or last changed (`Connect` until then).

An end on a connection that reaches no VBR (or a peer on a VBR no connection reaches) has no
counterpart the sandbox knows of: it keeps the configured target state once provisioned, as before
sessions were modelled. An admin override (`/_sandbox/session-state`) beats both.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from reconciler.sandbox.records import AlibabaGroup, AlibabaPeer, EquinixBgp, session_state
from reconciler.sandbox.seed import SeedConnection, SeedVbr
from reconciler.sandbox.store import Store

ESTABLISHED = "Established"
ACTIVE = "Active"
IDLE = "Idle"
CONNECTING = "Connect"  # shown during the establish delay
EQUINIX_UP_STATUSES = ("PROVISIONED", "PENDING_UPDATE")
ALIBABA_UP_STATUSES = ("Available", "Modifying")


@dataclass(frozen=True, slots=True)
class EquinixEnd:
    """An Equinix BGP config as one end of a session (addresses without their prefix)."""

    provisioned: bool
    local_ip: str
    local_asn: int
    remote_ip: str
    remote_asn: int
    key: str | None
    ready_at: float  # when it was last provisioned or changed


@dataclass(frozen=True, slots=True)
class AlibabaEnd:
    """An Alibaba BGP peer with its group and VBR as the other end of a session."""

    provisioned: bool
    peer_ip: str
    peer_asn: int  # the group's PeerAsn
    local_asn: int  # the group's LocalAsn (45104 unless set)
    key: str | None
    local_gateway_ip: str  # the VBR's own address of the peer's family
    ready_at: float


def emerged_state(equinix: EquinixEnd | None, alibaba: AlibabaEnd | None) -> str:
    """The session state both ends' configs give (the establish delay aside)."""
    if equinix is None or alibaba is None or not (equinix.provisioned and alibaba.provisioned):
        return IDLE
    fits = _same_ip(alibaba.peer_ip, equinix.local_ip) and _same_ip(equinix.remote_ip, alibaba.local_gateway_ip)
    if not fits:
        return IDLE
    mirrored = equinix.local_asn == alibaba.peer_asn and equinix.remote_asn == alibaba.local_asn
    return ESTABLISHED if mirrored and (equinix.key or None) == (alibaba.key or None) else ACTIVE


def state_at(equinix: EquinixEnd | None, alibaba: AlibabaEnd | None, now: float, delay: float) -> str:
    """`emerged_state`, with `Connect` until `delay` seconds after the later end became ready."""
    state = emerged_state(equinix, alibaba)
    if equinix is None or alibaba is None or state != ESTABLISHED:
        return state
    return CONNECTING if now < max(equinix.ready_at, alibaba.ready_at) + delay else state


def equinix_session(store: Store, record: EquinixBgp, target: str, now: float, delay: float) -> str:
    """The `state` of an Equinix BGP config (called with the store lock held)."""
    if record.session_override is not None:
        return record.session_override
    connection: SeedConnection | None = store.get("connections", record.connection_uuid)
    vbr_id = connection.vbr_id if connection is not None else ""
    if not vbr_id:
        return session_state(record, target, EQUINIX_UP_STATUSES)
    own = equinix_end(record)
    vbr: SeedVbr | None = store.get("vbrs", vbr_id)
    peer = next(
        (
            p
            for p in store.where("alibaba_peers", "router_id", (vbr_id,))
            if p.exists and _same_ip(p.peer_ip_address, own.local_ip)
        ),
        None,
    )
    other = alibaba_end(store, peer, vbr) if peer is not None and vbr is not None else None
    return state_at(own, other, now, delay)


def alibaba_session(store: Store, peer: AlibabaPeer, target: str, now: float, delay: float) -> str:
    """The `BgpStatus` of an Alibaba BGP peer (called with the store lock held)."""
    if peer.session_override is not None:
        return peer.session_override
    reaching = {c.uuid for c in store.where("connections", "vbr_id", (peer.router_id,))}
    vbr: SeedVbr | None = store.get("vbrs", peer.router_id)
    if not reaching or vbr is None:
        return session_state(peer, target, ALIBABA_UP_STATUSES)
    config = next(
        (
            r
            for r in store.where("equinix_bgp", "connection_uuid", reaching)
            if r.exists and _same_ip(_without_prefix(r.local_ip_address), peer.peer_ip_address)
        ),
        None,
    )
    own = alibaba_end(store, peer, vbr)
    return state_at(equinix_end(config) if config is not None else None, own, now, delay)


def equinix_end(record: EquinixBgp) -> EquinixEnd:
    return EquinixEnd(
        provisioned=record.status in EQUINIX_UP_STATUSES and record.up_since is not None,
        local_ip=_without_prefix(record.local_ip_address),
        local_asn=record.local_asn,
        remote_ip=record.remote_ip_address,
        remote_asn=record.remote_asn,
        key=record.authentication_key or None,
        ready_at=max(record.up_since or record.created_at, record.updated_at or 0.0),
    )


def alibaba_end(store: Store, peer: AlibabaPeer, vbr: SeedVbr) -> AlibabaEnd | None:
    """The peer as a session end, or None when its group is gone."""
    group: AlibabaGroup | None = store.get("alibaba_groups", peer.group_id)
    if group is None or not group.exists:
        return None
    ipv6 = peer.ip_version.lower() == "ipv6"
    return AlibabaEnd(
        provisioned=peer.status in ALIBABA_UP_STATUSES
        and peer.up_since is not None
        and group.status in ALIBABA_UP_STATUSES,
        peer_ip=peer.peer_ip_address,
        peer_asn=group.peer_asn,
        local_asn=group.local_asn,
        key=group.auth_key or None,
        local_gateway_ip=vbr.local_ipv6_gateway_ip if ipv6 else vbr.local_gateway_ip,
        ready_at=max(peer.up_since or peer.created_at, peer.modified_at, group.up_since or group.created_at),
    )


def _without_prefix(address: str) -> str:
    return address.partition("/")[0]


def _same_ip(a: str, b: str) -> bool:
    """Equal addresses, whatever their spelling (`2001:db8::1` and `2001:DB8:0::1`)."""
    if not a or not b:
        return False
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b
