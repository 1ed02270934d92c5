"""The rules JSON Schema cannot express (DESIGN section 3): addresses and subnets, Alibaba's ASN
and naming rules, unique names and natural keys, references, the 8-peers-per-VBR quota and the
two ends of one session. Each rule skips a field whose schema check failed (it was reported).
"""

from __future__ import annotations

import datetime
import difflib
import ipaddress
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from reconciler.kinds import ALIBABA_ASN
from reconciler.manifest import jsonpath
from reconciler.manifest.diagnostics import Diagnostic
from reconciler.manifest.load import Document
from reconciler.manifest.secrets import LINK_LABEL, secret_ref
from reconciler.model import ALIBABA_GROUP, ALIBABA_PEER, EQUINIX_PEERING, address_of

MAX_PEERS_PER_VBR = 8
RESERVED_LOCAL_ASN = 65025
LOCAL_ASN_RULE = "45104 (the default), 64512-65534 or 4200000000-4294967294, never 65025"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


@dataclass(frozen=True, slots=True, eq=False)
class Checked:
    """A document that passed the envelope check, with the paths whose schema check failed."""

    doc: Document
    kind: str
    failed: tuple[str, ...]
    name: str | None  # metadata.name when it is valid

    @classmethod
    def of(cls, doc: Document, kind: str, failed: tuple[str, ...]) -> Checked:
        checked = cls(doc, kind, failed, None)
        name = checked.get("metadata.name")
        valid = isinstance(name, str) and checked.ok("metadata.name")
        return cls(doc, kind, failed, name if valid else None)

    @property
    def address(self) -> str:
        return address_of(self.kind, self.name or "?")

    @property
    def where(self) -> str:
        return f"{self.doc.file}:{self.doc.line}:{self.doc.col}"

    def ok(self, *paths: str) -> bool:
        """True when none of `paths` (nor anything containing them) failed the schema."""
        if not self.failed:
            return True
        return not any(jsonpath.is_within(path, bad) for path in paths for bad in self.failed)

    def get(self, path: str) -> Any:
        value: Any = self.doc.data
        for key in _keys(path):
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    def has(self, path: str) -> bool:
        return self.ok(path) and self.get(path) is not None

    def diag(self, path: str, message: str, code: str) -> Diagnostic:
        line, col = self.doc.position(path)
        return Diagnostic(self.doc.file, line, col, path, message, code=code)

    def at(self, path: str) -> str:
        line, col = self.doc.position(path)
        return f"{self.doc.file}:{line}:{col}"


@lru_cache(maxsize=256)
def _keys(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def semantic_diagnostics(docs: list[Checked], complete: bool) -> list[Diagnostic]:
    """Every semantic problem. `complete` is False when some documents could not be read: then
    the checks that report something *missing* (a reference, the other end of a link) are
    skipped, since the missing thing may be in a document we could not read."""
    diags: list[Diagnostic] = []
    for checked in docs:
        for rule in _PER_DOCUMENT[checked.kind]:
            diags.extend(rule(checked))
        diags.extend(_drift_ignore(checked))
    diags.extend(_duplicate_names(docs))
    diags.extend(_duplicate_connections(docs))
    groups = _first_by_name(d for d in docs if d.kind == ALIBABA_GROUP)
    peers = [d for d in docs if d.kind == ALIBABA_PEER]
    diags.extend(_peer_groups(peers, groups, complete))
    diags.extend(_duplicate_peers(peers))
    diags.extend(_peers_per_vbr(peers, groups))
    diags.extend(_links(docs, groups, complete))
    return diags


# --- addresses -------------------------------------------------------------------------------


def parse_ip(text: Any) -> IPAddress | None:
    """A plain IP address, or None (for anything else, including an address with a prefix)."""
    return _parse_ip(text) if isinstance(text, str) else None


def parse_interface(text: Any) -> IPInterface | None:
    """An `address/prefix`, or None (for anything else, including a plain address)."""
    return _parse_interface(text) if isinstance(text, str) and "/" in text else None


@lru_cache(maxsize=65536)  # several rules look at the same address
def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def _parse_interface(text: str) -> IPInterface | None:
    try:
        return ipaddress.ip_interface(text)
    except ValueError:
        return None


def _plain_ip(checked: Checked, path: str, example: str) -> Iterator[Diagnostic]:
    """A plain IP address: say precisely what is wrong with anything else."""
    text = checked.get(path)
    if parse_ip(text) is not None:
        return
    head = str(text).split("/", 1)[0]
    if "/" in str(text) and parse_ip(head) is not None:
        message = f"{text!r} has a prefix length: write the plain address, e.g. {head}"
    else:
        message = f"{text!r} is not a valid IP address: expected a plain IPv4 or IPv6 address such as {example}"
    yield checked.diag(path, message, "ip-syntax")


def _host_range(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    if network.version == 4 and network.prefixlen < 31:
        return f"{network.network_address + 1}-{network.broadcast_address - 1}"
    return f"{network.network_address}-{network.broadcast_address}"


def _special_address(address: IPAddress, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str | None:
    """`network`/`broadcast` when `address` is one of those in an IPv4 subnet shorter than /31."""
    if network.version != 4 or network.prefixlen >= 31:
        return None
    if address == network.network_address:
        return "network"
    if address == network.broadcast_address:
        return "broadcast"
    return None


def _equinix_addresses(checked: Checked) -> Iterator[Diagnostic]:
    local_path, remote_path = "spec.localIpAddress", "spec.remoteIpAddress"
    local: IPInterface | None = None
    if checked.has(local_path):
        text = checked.get(local_path)
        local = parse_interface(text)
        if local is None:
            if parse_ip(text) is not None:
                message = f"{text!r} has no prefix length: write the device's address with its subnet, e.g. {text}/30"
            else:
                message = f"{text!r} is not a valid address/prefix: expected e.g. 10.0.0.1/30"
            yield checked.diag(local_path, message, "cidr-syntax")
        elif (kind := _special_address(local.ip, local.network)) is not None:
            yield checked.diag(
                local_path,
                f"{local.ip} is the {kind} address of {local.network}: the device needs a host "
                f"address ({_host_range(local.network)})",
                "cidr-syntax",
            )
            local = None
    if not checked.has(remote_path):
        return
    remote = parse_ip(checked.get(remote_path))
    if remote is None:
        yield from _plain_ip(checked, remote_path, "10.0.0.2")
        return
    if local is None:
        return
    network = local.network
    if remote.version != local.version:
        yield checked.diag(
            remote_path,
            f"{remote} is IPv{remote.version} but localIpAddress {local} is IPv{local.version}: "
            "both addresses of a session use the same IP version",
            "remote-ip-subnet",
        )
    elif remote not in network:
        yield checked.diag(
            remote_path,
            f"{remote} is outside localIpAddress's subnet {network}: the remote address must be in "
            f"{network} ({_host_range(network)})",
            "remote-ip-subnet",
        )
    elif remote == local.ip:
        yield checked.diag(
            remote_path,
            f"{remote} is the device's own address (localIpAddress {local}): the remote peer needs "
            f"another address in {network}",
            "remote-ip-subnet",
        )
    elif (kind := _special_address(remote, network)) is not None:
        yield checked.diag(
            remote_path,
            f"{remote} is the {kind} address of {network}: use a host address ({_host_range(network)})",
            "remote-ip-subnet",
        )


# --- Alibaba rules ---------------------------------------------------------------------------


def local_asn_allowed(asn: int) -> bool:
    return asn != RESERVED_LOCAL_ASN and (
        asn == ALIBABA_ASN or 64512 <= asn <= 65534 or 4200000000 <= asn <= 4294967294
    )


def _group_rules(checked: Checked) -> Iterator[Diagnostic]:
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
        problem = _alibaba_text_problem(checked.get("spec.description"), 2, 256, allow_empty=True)
        if problem:
            yield checked.diag(
                "spec.description",
                f"{problem}: Alibaba wants a description of 2-256 characters that starts with a letter "
                "and not with http:// or https:// (or an empty one)",
                "alibaba-description",
            )
    name = checked.name
    if name is not None:
        problem = _alibaba_text_problem(name, 2, 128)
        if problem:
            yield checked.diag(
                "metadata.name",
                f"{problem}: reconciler uses metadata.name as the group's Name in Alibaba Cloud, which "
                "must be 2-128 characters and start with a letter (e.g. sg-vbr1)",
                "alibaba-name",
            )


def _alibaba_text_problem(text: str, shortest: int, longest: int, allow_empty: bool = False) -> str | None:
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


def _peer_rules(checked: Checked) -> Iterator[Diagnostic]:
    if checked.has("spec.peerIpAddress"):
        yield from _plain_ip(checked, "spec.peerIpAddress", "10.0.0.1")


_PER_DOCUMENT: dict[str, tuple[Callable[[Checked], Iterator[Diagnostic]], ...]] = {
    EQUINIX_PEERING: (_equinix_addresses,),
    ALIBABA_GROUP: (_group_rules,),
    ALIBABA_PEER: (_peer_rules,),
}


# --- driftIgnore -----------------------------------------------------------------------------


@cache
def spec_fields(kind: str) -> tuple[str, ...]:
    """The spec field names of a kind, from the schema (the one list of them)."""
    from reconciler.resources import load_schema

    return tuple(load_schema("manifest.schema.json")["$defs"][f"{kind}Spec"]["properties"])


def _drift_ignore(checked: Checked) -> Iterator[Diagnostic]:
    items = checked.get("metadata.driftIgnore")
    if not isinstance(items, list) or not checked.ok("metadata.driftIgnore"):
        return
    fields = spec_fields(checked.kind)
    for index, item in enumerate(items):
        item_path = jsonpath.child("metadata.driftIgnore", index)
        if not checked.ok(item_path):
            continue
        name, name_path = (item, item_path) if isinstance(item, str) else (item.get("field"), f"{item_path}.field")
        if isinstance(name, str) and name not in fields:
            guess = difflib.get_close_matches(name, fields, n=1, cutoff=0.6)
            did_you_mean = f"; did you mean {guess[0]}?" if guess else ""
            yield checked.diag(
                name_path,
                f"{name!r} is not a spec field of {checked.kind}{did_you_mean} (fields: {', '.join(fields)})",
                "drift-ignore",
            )
        expires = item.get("expires") if isinstance(item, dict) else None
        if isinstance(expires, str):
            try:
                datetime.date.fromisoformat(expires)
            except ValueError:
                yield checked.diag(
                    f"{item_path}.expires", f"{expires!r} is not a real date (YYYY-MM-DD)", "drift-ignore"
                )


# --- across documents ------------------------------------------------------------------------


def _first_by_name(docs: Iterable[Checked]) -> dict[str, Checked]:
    out: dict[str, Checked] = {}
    for checked in docs:
        if checked.name is not None:
            out.setdefault(checked.name, checked)
    return out


def _duplicate_names(docs: list[Checked]) -> Iterator[Diagnostic]:
    first: dict[tuple[str, str], Checked] = {}
    for checked in docs:
        if checked.name is None:
            continue
        key = (checked.kind, checked.name)
        if key in first:
            yield checked.diag(
                "metadata.name",
                f"{checked.address} is already defined at {first[key].where}: names are unique per kind",
                "duplicate-name",
            )
        else:
            first[key] = checked


def _duplicate_connections(docs: list[Checked]) -> Iterator[Diagnostic]:
    first: dict[str, Checked] = {}
    for checked in docs:
        if checked.kind != EQUINIX_PEERING or not checked.has("spec.connectionUuid"):
            continue
        uuid = str(checked.get("spec.connectionUuid")).lower()
        if uuid in first:
            yield checked.diag(
                "spec.connectionUuid",
                f"connection {uuid} already has a BGP peering, {first[uuid].address} "
                f"({first[uuid].where}): Equinix allows one BGP peering per connection",
                "duplicate-key",
            )
        else:
            first[uuid] = checked


def _group_of(peer: Checked, groups: dict[str, Checked]) -> Checked | None:
    name = peer.get("spec.bgpGroup")
    return groups.get(name) if isinstance(name, str) and peer.ok("spec.bgpGroup") else None


def _peer_groups(peers: list[Checked], groups: dict[str, Checked], complete: bool) -> Iterator[Diagnostic]:
    """References resolve, and a peer's address has its group's IP version."""
    for peer in peers:
        if not peer.has("spec.bgpGroup"):
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


def _duplicate_peers(peers: list[Checked]) -> Iterator[Diagnostic]:
    first: dict[tuple[tuple[str, str], IPAddress], Checked] = {}
    for peer in peers:
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


def _peers_per_vbr(peers: list[Checked], groups: dict[str, Checked]) -> Iterator[Diagnostic]:
    """Alibaba's quota: at most 8 BGP peers per VBR, counted across all groups on the VBR."""
    on_vbr: dict[tuple[str, str], list[Checked]] = {}
    for peer in peers:
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


# --- both ends of one session ----------------------------------------------------------------


def _links(docs: list[Checked], groups: dict[str, Checked], complete: bool) -> Iterator[Diagnostic]:
    by_link: dict[str, dict[str, list[Checked]]] = {}
    for checked in docs:
        link = checked.get(f"metadata.labels.{LINK_LABEL}")
        if isinstance(link, str) and checked.ok(f"metadata.labels.{LINK_LABEL}"):
            by_link.setdefault(link, {}).setdefault(checked.kind, []).append(checked)
    for link, kinds in by_link.items():
        yield from _link(link, kinds, groups, complete)


def _link(
    link: str, kinds: dict[str, list[Checked]], groups: dict[str, Checked], complete: bool
) -> Iterator[Diagnostic]:
    label = f"metadata.labels.{LINK_LABEL}"
    equinix, peers, linked_groups = (kinds.get(k, []) for k in (EQUINIX_PEERING, ALIBABA_PEER, ALIBABA_GROUP))
    rule = "a link joins exactly one EquinixBgpPeering and one AlibabaBgpPeer"
    for extra in (*equinix[1:], *peers[1:]):
        first = equinix[0] if extra.kind == EQUINIX_PEERING else peers[0]
        yield extra.diag(label, f"link {link!r} is already used by {first.address} ({first.where}): {rule}", "mirror")
    if complete and (not equinix or not peers):
        present = (equinix or peers or linked_groups)[0]
        missing = "AlibabaBgpPeer" if not peers else "EquinixBgpPeering"
        yield present.diag(
            label,
            f"link {link!r} has no other end: no {missing} has {LINK_LABEL}: {link} ({rule})",
            "mirror",
        )
    if not equinix or not peers:
        return
    eq, peer = equinix[0], peers[0]
    group = _group_of(peer, groups)
    for other in linked_groups:
        if group is not None and other is not group:
            yield other.diag(
                label,
                f"{other.address} has link {link!r} but the linked peer {peer.address} belongs to "
                f"{group.address}: label the peer's group, or neither",
                "mirror",
            )
    yield from _mirror_addresses(link, eq, peer)
    if group is not None:
        yield from _mirror_asns(link, eq, group)
        yield from _mirror_keys(link, eq, group)


def _mirror_addresses(link: str, eq: Checked, peer: Checked) -> Iterator[Diagnostic]:
    if not (eq.has("spec.localIpAddress") and peer.has("spec.peerIpAddress")):
        return
    local = parse_interface(eq.get("spec.localIpAddress"))
    peer_ip = parse_ip(peer.get("spec.peerIpAddress"))
    if local is not None and peer_ip is not None and peer_ip != local.ip:
        yield peer.diag(
            "spec.peerIpAddress",
            f"{peer_ip} does not match the other end of link {link!r}: {eq.address} has localIpAddress "
            f"{local} ({eq.at('spec.localIpAddress')}), so Alibaba's peer address is {local.ip}",
            "mirror",
        )


def _mirror_asns(link: str, eq: Checked, group: Checked) -> Iterator[Diagnostic]:
    if eq.has("spec.localAsn") and group.has("spec.peerAsn"):
        mine, theirs = eq.get("spec.localAsn"), group.get("spec.peerAsn")
        if mine != theirs:
            yield eq.diag(
                "spec.localAsn",
                f"{mine} does not match the other end of link {link!r}: {group.address} has peerAsn "
                f"{theirs} ({group.at('spec.peerAsn')}); the device's localAsn is the group's peerAsn",
                "mirror",
            )
    if eq.has("spec.remoteAsn") and group.ok("spec.localAsn"):
        mine = eq.get("spec.remoteAsn")
        theirs = group.get("spec.localAsn")
        alibaba = ALIBABA_ASN if theirs is None else theirs
        if mine != alibaba:
            source = (
                f"{group.address} sets localAsn {alibaba} ({group.at('spec.localAsn')})"
                if theirs is not None
                else f"{group.address} does not set localAsn, so Alibaba uses {ALIBABA_ASN}"
            )
            yield eq.diag(
                "spec.remoteAsn",
                f"{mine} does not match the other end of link {link!r}: {source}",
                "mirror",
            )


def _mirror_keys(link: str, eq: Checked, group: Checked) -> Iterator[Diagnostic]:
    """Both ends need a key, or neither. Different references are compared by value later
    (`resolve_secrets`), since two references may hold the same key."""
    eq_path, group_path = "spec.authenticationKey", "spec.authKey"
    if not (eq.ok(eq_path) and group.ok(group_path)):
        return
    eq_ref, group_ref = eq.get(eq_path), group.get(group_path)
    if (eq_ref is None) == (group_ref is None):
        return
    if eq_ref is None:
        yield eq.diag(
            "spec",
            f"no authenticationKey, but the other end of link {link!r}, {group.address}, sets authKey "
            f"({group.at(group_path)}): both ends of one session use the same key",
            "mirror",
        )
    else:
        # Where the key is declared, name its reference (never a value).
        ref = secret_ref(eq.doc.file, eq_ref)
        yield eq.diag(
            eq_path,
            f"{ref} is set here but the other end of link {link!r}, {group.address} "
            f"({group.at('spec')}), has no authKey: both ends of one session use the same key",
            "mirror",
        )
