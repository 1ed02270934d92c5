"""Alibaba's manifest rules: its ASN, Name and Description rules, a peer's group and address, one
peer per group and address, the 8-peers-per-VBR quota, the AuthKey format, and what a peer (with
its group) exposes as one end of a linked session (docs/cloud-apis.md, Alibaba)."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterator, Mapping, Sequence

from reconciler.clouds.alibaba.kinds import ALIBABA_ASN, ALIBABA_GROUP, ALIBABA_PEER, KEY_FIELD
from reconciler.clouds.base import KeyHolder
from reconciler.manifest.checked import Checked, Diagnostic, IPAddress, first_by_name, parse_ip, plain_ip
from reconciler.manifest.links import EndKey, EndValue, LinkEnd, valid_value
from reconciler.manifest.secrets import secret_ref
from reconciler.model import Resource

MAX_PEERS_PER_VBR = 8
RESERVED_LOCAL_ASN = 65025
LOCAL_ASN_RULE = "45104 (the default), 64512-65534 or 4200000000-4294967294, never 65025"
# The AuthKey rule reconciler uses: Alibaba documents none; this is the sandbox's, 1-64 printable
# ASCII characters without spaces (docs/cloud-apis.md, Alibaba §15 and U-A5).
KEY_LENGTHS = range(1, 65)
KEY_RULE = "an AuthKey of 1-64 printable ASCII characters without spaces"


def local_asn_allowed(asn: int) -> bool:
    return asn != RESERVED_LOCAL_ASN and (
        asn == ALIBABA_ASN or 64512 <= asn <= 65534 or 4200000000 <= asn <= 4294967294
    )


def group_rules(checked: Checked) -> Iterator[Diagnostic]:
    if checked.has("spec.peerAsn") and checked.get("spec.peerAsn") == ALIBABA_ASN:
        yield checked.diag(
            "spec.peerAsn",
            f"{ALIBABA_ASN} is Alibaba Cloud's own ASN, so it cannot be the peer ASN: peerAsn is your "
            "side's ASN (e.g. the Equinix device's localAsn)",
            "alibaba-asn",
        )
    if checked.has("spec.localAsn"):
        asn = checked.get("spec.localAsn")
        if not local_asn_allowed(asn):
            why = "65025 is reserved by Alibaba Cloud" if asn == RESERVED_LOCAL_ASN else f"{asn} is not allowed"
            yield checked.diag("spec.localAsn", f"{why}: Alibaba's local ASN is {LOCAL_ASN_RULE}", "alibaba-asn")
    if checked.has("spec.description"):
        problem = _text_problem(checked.get("spec.description"), 2, 256, allow_empty=True)
        if problem:
            yield checked.diag(
                "spec.description",
                f"{problem}: Alibaba wants a description of 2-256 characters that starts with a letter "
                "and not with http:// or https:// (or an empty one)",
                "alibaba-description",
            )
    name = checked.name
    if name is not None:
        problem = _text_problem(name, 2, 128)
        if problem:
            yield checked.diag(
                "metadata.name",
                f"{problem}: reconciler uses metadata.name as the group's Name in Alibaba Cloud, which "
                "must be 2-128 characters and start with a letter (e.g. sg-vbr1)",
                "alibaba-name",
            )


def _text_problem(text: str, shortest: int, longest: int, allow_empty: bool = False) -> str | None:
    """Alibaba's rule for a group's Name and Description (None when `text` follows it)."""
    if text == "" and allow_empty:
        return None
    if len(text) < shortest:
        return f"{text!r} is too short"
    if len(text) > longest:
        return f"too long ({len(text)} characters)"
    if not text[0].isalpha():
        return f"{text!r} does not start with a letter"
    if text.lower().startswith(("http://", "https://")):
        return f"{text!r} starts with http:// or https://"
    return None


def key_problem(value: str) -> str | None:
    """Why the AuthKey `value` breaks the rule reconciler uses (never quoting it), or None."""
    if len(value) not in KEY_LENGTHS:
        reason = "it is empty" if not value else f"it is longer than {KEY_LENGTHS[-1]} characters"
    elif " " in value:
        reason = "it contains a space"
    elif not all("!" <= char <= "~" for char in value):
        reason = "it contains a character that is not printable ASCII (a control character, or a letter outside ASCII)"
    else:
        return None
    return f"Alibaba needs {KEY_RULE}; {reason}"


def peer_rules(checked: Checked) -> Iterator[Diagnostic]:
    # A plain address that can peer (docs/cloud-apis.md, "Addresses that cannot peer": the rule
    # every cloud shares, in `manifest.checked`).
    if checked.has("spec.peerIpAddress"):
        yield from plain_ip(checked, "spec.peerIpAddress", "10.0.0.1")


# --- across documents ------------------------------------------------------------------------


def _groups(docs: Sequence[Checked]) -> dict[str, Checked]:
    return first_by_name(d for d in docs if d.kind == ALIBABA_GROUP)


def _group_of(peer: Checked, groups: Mapping[str, Checked]) -> Checked | None:
    name = peer.get("spec.bgpGroup")
    return groups.get(name) if isinstance(name, str) and peer.ok("spec.bgpGroup") else None


def peer_groups(docs: Sequence[Checked], complete: bool) -> Iterator[Diagnostic]:
    """References resolve, and a peer's address has its group's IP version."""
    groups = _groups(docs)
    for peer in docs:
        if peer.kind != ALIBABA_PEER or not peer.has("spec.bgpGroup"):
            continue
        name = peer.get("spec.bgpGroup")
        group = groups.get(name)
        if group is None:
            if complete:
                guess = difflib.get_close_matches(name, list(groups), n=1, cutoff=0.6)
                did_you_mean = f"did you mean {guess[0]}? " if guess else ""
                known = ", ".join(sorted(groups)[:10]) or "none"
                yield peer.diag(
                    "spec.bgpGroup",
                    f"no AlibabaBgpGroup named {name!r} in the manifests ({did_you_mean}groups: {known}); "
                    "for a group managed elsewhere, write bgpGroupId: bgpg-... and regionId",
                    "unresolved-ref",
                )
            continue
        address = parse_ip(peer.get("spec.peerIpAddress")) if peer.has("spec.peerIpAddress") else None
        if address is None or not group.ok("spec.ipVersion"):
            continue
        version = str(group.get("spec.ipVersion") or "IPv4")
        if version.lower() != f"ipv{address.version}":
            canonical = "IPv" + version[-1]
            yield peer.diag(
                "spec.peerIpAddress",
                f"{address} is an IPv{address.version} address but {group.address} has ipVersion "
                f"{canonical}: a peer's address has its group's IP version",
                "ip-version",
            )


def _peer_key(peer: Checked) -> tuple[str, str] | None:
    if peer.has("spec.bgpGroup"):
        return ("group", str(peer.get("spec.bgpGroup")))
    if peer.has("spec.bgpGroupId"):
        return ("id", str(peer.get("spec.bgpGroupId")))
    return None


def one_peer_per_address(docs: Sequence[Checked], complete: bool) -> Iterator[Diagnostic]:
    first: dict[tuple[tuple[str, str], IPAddress], Checked] = {}
    for peer in docs:
        if peer.kind != ALIBABA_PEER:
            continue
        group_key = _peer_key(peer)
        address = parse_ip(peer.get("spec.peerIpAddress")) if peer.has("spec.peerIpAddress") else None
        if group_key is None or address is None:
            continue
        key = (group_key, address)
        if key in first:
            yield peer.diag(
                "spec.peerIpAddress",
                f"{first[key].address} ({first[key].where}) already peers with {address} in group "
                f"{group_key[1]}: Alibaba allows one peer per group and address",
                "duplicate-key",
            )
        else:
            first[key] = peer


def peers_per_vbr(docs: Sequence[Checked], complete: bool) -> Iterator[Diagnostic]:
    """Alibaba's quota: at most 8 BGP peers per VBR, counted across all groups on the VBR."""
    groups = _groups(docs)
    on_vbr: dict[tuple[str, str], list[Checked]] = {}
    for peer in docs:
        if peer.kind != ALIBABA_PEER:
            continue
        group = _group_of(peer, groups)
        if group is None or not group.has("spec.regionId") or not group.has("spec.virtualBorderRouterId"):
            continue
        key = (str(group.get("spec.regionId")), str(group.get("spec.virtualBorderRouterId")))
        on_vbr.setdefault(key, []).append(peer)
    for (region, vbr), members in on_vbr.items():
        for peer in members[MAX_PEERS_PER_VBR:]:
            yield peer.diag(
                "spec.bgpGroup",
                f"VBR {vbr} ({region}) would have {len(members)} BGP peers: Alibaba allows at most "
                f"{MAX_PEERS_PER_VBR} per VBR (first: {', '.join(p.name or '?' for p in members[:3])}, ...)",
                "vbr-peer-limit",
            )


# --- one end of a linked session -------------------------------------------------------------


_UNSET_LOCAL_ASN = f"does not set localAsn (Alibaba then uses {ALIBABA_ASN})"
# Where a peer and its group keep what they expose as one end of a session.
_PEER_ADDRESS, _GROUP_NAME = "spec.peerIpAddress", "spec.bgpGroup"
_LOCAL_ASN, _PEER_ASN = "spec.localAsn", "spec.peerAsn"
_KEY_PATH = f"spec.{KEY_FIELD}"


def link_end(peer: Checked, by_name: Mapping[tuple[str, str], Checked]) -> LinkEnd:
    """A peer and its group as one end of a session. The peer's address follows the other end
    (it is the other device's address); the group's ASNs and key lead (Alibaba's ASN and the
    peer ASN are fixed on this side)."""
    peer_ip = parse_ip(valid_value(peer, _PEER_ADDRESS))
    remote_address = None
    if peer_ip is not None:
        remote_address = EndValue(peer_ip, peer, _PEER_ADDRESS, "Alibaba's peer address", True)
    name = peer.get(_GROUP_NAME)
    group = by_name.get((ALIBABA_GROUP, name)) if isinstance(name, str) and peer.ok(_GROUP_NAME) else None
    if group is None:  # a group managed elsewhere (bgpGroupId), or an unresolved name: ASNs unknown
        return LinkEnd(peer, remote_address=remote_address)
    local_asn, remote_asn, key = _group_end(group)
    return LinkEnd(
        peer,
        members=(group,),
        local_asn=local_asn,
        remote_asn=remote_asn,
        remote_address=remote_address,
        key=key,
    )


@functools.lru_cache(maxsize=4096)
def _group_end(group: Checked) -> tuple[EndValue | None, EndValue | None, EndKey | None]:
    """What a group exposes for each of its peers' ends (its ASNs and key), made once per group
    document: a plan makes an end of every peer, and a group holds up to 8 of them."""
    peer_asn = valid_value(group, _PEER_ASN)
    remote_asn = None if peer_asn is None else EndValue(peer_asn, group, _PEER_ASN, "the group's peerAsn", False)
    return _local_asn(group), remote_asn, _key(group)


def _local_asn(group: Checked) -> EndValue | None:
    """The group's localAsn, Alibaba's own ASN where it sets none (unknown where it is invalid)."""
    if not group.ok(_LOCAL_ASN):
        return None
    value = group.get(_LOCAL_ASN)
    if value is None:
        return EndValue(ALIBABA_ASN, group, _LOCAL_ASN, "the group's localAsn", False, unset=_UNSET_LOCAL_ASN)
    return EndValue(value, group, _LOCAL_ASN, "the group's localAsn", False, verb="sets")


def _key(group: Checked) -> EndKey | None:
    if not group.ok(_KEY_PATH):
        return None
    raw = group.get(_KEY_PATH)
    return EndKey(secret_ref(group.doc.file, raw) if raw is not None else None, group, _KEY_PATH, False)


def key_holder(resource: Resource, by_address: Mapping[str, Resource]) -> KeyHolder | None:
    """A peer's key is its group's (a group managed elsewhere: unknown)."""
    group = by_address.get(resource.refs.get("bgpGroup", ""))
    if resource.kind != ALIBABA_PEER or group is None or group.kind != ALIBABA_GROUP:
        return None
    return KeyHolder(group, KEY_FIELD, follows=False)
