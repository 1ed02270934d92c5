"""What every manifest rule works on: a document that passed the envelope check (`Checked`), and
the address helpers several rules share, with the one rule of which addresses can peer
(docs/cloud-apis.md, "Addresses that cannot peer"). The rules themselves are in
`manifest.rules` (rules of every kind), `manifest.links` (the two ends of one session) and each
cloud package (its own)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from reconciler.manifest import jsonpath
from reconciler.manifest.diagnostics import Diagnostic
from reconciler.manifest.load import Document
from reconciler.model import address_of

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

__all__ = [
    "Checked",
    "Diagnostic",
    "IPAddress",
    "IPInterface",
    "IPNetwork",
    "address_with_prefix",
    "cannot_peer",
    "first_by_name",
    "parse_interface",
    "parse_ip",
    "plain_ip",
]


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
        """The value at `path`, None where it is missing (or a parent is not a mapping)."""
        value: Any = self.doc.data
        try:  # the rules make about 20 reads per document, most of them of values that are there
            for key in _keys(path):
                value = value[key]
        except (KeyError, TypeError):  # missing, or indexing a list, a string, a number or None
            return None
        return value

    def has(self, path: str) -> bool:
        return self.ok(path) and self.get(path) is not None

    def diag(self, path: str, message: str, code: str) -> Diagnostic:
        line, col = self.doc.position(path)
        return Diagnostic(self.doc.file, line, col, path, message, code=code)

    def at(self, path: str) -> str:
        line, col = self.doc.position(path)
        return f"{self.doc.file}:{line}:{col}"

    def without_data(self) -> Checked:
        """This document as messages quote it (its address, where each value is written), without
        its values, which take about 1 KB a document: what a plan's session ends keep of their
        own document once the manifests let theirs go (`LinkEnd.detached`). `get` finds nothing."""
        doc = self.doc  # made directly, which is quicker than `dataclasses.replace`
        bare = Document(doc.file, doc.index, None, doc.positions, doc.unreadable, doc.plain_numbers)
        return Checked(bare, self.kind, self.failed, self.name)


@lru_cache(maxsize=256)
def _keys(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def first_by_name(docs: Iterable[Checked]) -> dict[str, Checked]:
    """The first document of each name (duplicates are reported by the common rules)."""
    out: dict[str, Checked] = {}
    for checked in docs:
        if checked.name is not None:
            out.setdefault(checked.name, checked)
    return out


# --- addresses -------------------------------------------------------------------------------

# Addresses that cannot peer, and the shortest prefixes a peering subnet may have: the reasons
# are in docs/cloud-apis.md, "Addresses that cannot peer". Every address field of every kind is
# checked against this one rule, through `parse_ip`, `parse_interface` and their messages.
MIN_PREFIX = {4: 8, 6: 64}
_LIMITED_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


def cannot_peer(address: IPAddress) -> str | None:
    """Why `address` can never be a BGP session's address (what it is), or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        mapped = cannot_peer(address.ipv4_mapped)
        return f"{mapped} written as an IPv4-mapped IPv6 address" if mapped else None
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address == _LIMITED_BROADCAST:
        return "the limited broadcast address"
    return None


def parse_ip(text: Any) -> IPAddress | None:
    """A plain IP address that can peer, or None (for anything else: an address with a prefix or a
    %zone, or one that cannot peer; `plain_ip` says which)."""
    return _parse_peer_ip(text) if isinstance(text, str) else None


def parse_interface(text: Any) -> IPInterface | None:
    """An `address/prefix` whose address can peer and whose prefix is long enough, or None (for
    anything else, including a plain address; `interface_problem` says why)."""
    return _parse_peer_interface(text) if isinstance(text, str) and "/" in text else None


@lru_cache(maxsize=65536)  # several rules look at the same address
def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def _parse_peer_ip(text: str) -> IPAddress | None:
    address = _parse_ip(text)
    return address if address is not None and "%" not in text and cannot_peer(address) is None else None


@lru_cache(maxsize=65536)
def _parse_interface(text: str) -> IPInterface | None:
    try:
        return ipaddress.ip_interface(text)
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def _parse_peer_interface(text: str) -> IPInterface | None:
    interface = _parse_interface(text)
    if interface is None or "%" in text or cannot_peer(interface.ip) is not None:
        return None
    return interface if interface.network.prefixlen >= MIN_PREFIX[interface.version] else None


def forget_parsed_addresses() -> None:
    """Empty the caches of parsed addresses. They serve the checks of one load, where several
    rules read the same address; kept, they would hold an address object for every session of the
    manifests while the plan runs (about 24 MB for 50,000 peers)."""
    for cached in (_parse_ip, _parse_peer_ip, _parse_interface, _parse_peer_interface):
        cached.cache_clear()


def _zone_problem(text: str) -> str | None:
    """A `%zone` names an interface of one host (RFC 4007): it means nothing to the other end."""
    address, percent, rest = text.partition("%")
    if not percent or _parse_ip(address) is None:
        return None
    zone, slash, prefix = rest.partition("/")
    return (
        f"{text!r} has a zone (%{zone}), which names an interface of one host and means nothing to a "
        f"peer: write the address without it, e.g. {address}{slash}{prefix}"
    )


def ip_problem(text: Any, example: str) -> tuple[str, str] | None:
    """(message, rule id) when `text` is not a plain IP address that can peer, or None."""
    if parse_ip(text) is not None:
        return None
    text = str(text)
    if (zone := _zone_problem(text)) is not None:
        return zone, "ip-unusable"
    address = _parse_ip(text)
    if address is not None and (what := cannot_peer(address)) is not None:
        return _unusable(text, what, example), "ip-unusable"
    head = text.split("/", 1)[0]
    if "/" in text and _parse_ip(head) is not None:
        return f"{text!r} has a prefix length: write the plain address, e.g. {head}", "ip-syntax"
    message = f"{text!r} is not a valid IP address: expected a plain IPv4 or IPv6 address such as {example}"
    return message, "ip-syntax"


def interface_problem(text: Any, example: str) -> tuple[str, str] | None:
    """(message, rule id) when `text` is not an `address/prefix` that can peer, or None."""
    if parse_interface(text) is not None:
        return None
    text = str(text)
    if (zone := _zone_problem(text)) is not None:
        return zone, "ip-unusable"
    interface = _parse_interface(text) if "/" in text else None
    if interface is None:
        address = _parse_ip(text)
        if address is None:
            return f"{text!r} is not a valid address/prefix: expected e.g. {example}", "cidr-syntax"
        subnet = f"{text}/30" if address.version == 4 else f"{text}/126"
        return f"{text!r} has no prefix length: write the address with its subnet, e.g. {subnet}", "cidr-syntax"
    if (what := cannot_peer(interface.ip)) is not None:
        return _unusable(text, what, example), "ip-unusable"
    shortest = MIN_PREFIX[interface.version]
    return (
        f"{text!r} has a /{interface.network.prefixlen} prefix, shorter than a peering subnet can be: "
        f"use a prefix of /{shortest} or longer for IPv{interface.version} (e.g. {example})",
        "cidr-prefix",
    )


def _unusable(text: str, what: str, example: str) -> str:
    return f"{text!r} is {what}, which cannot be a BGP peer's address: use a unicast address such as {example}"


def plain_ip(checked: Checked, path: str, example: str) -> Iterator[Diagnostic]:
    """A plain IP address that can peer: say precisely what is wrong with anything else."""
    problem = ip_problem(checked.get(path), example)
    if problem is not None:
        yield checked.diag(path, *problem)


def address_with_prefix(checked: Checked, path: str, example: str) -> Iterator[Diagnostic]:
    """An `address/prefix` that can peer: say precisely what is wrong with anything else."""
    problem = interface_problem(checked.get(path), example)
    if problem is not None:
        yield checked.diag(path, *problem)


def host_range(network: IPNetwork) -> str:
    if network.version == 4 and network.prefixlen < 31:
        return f"{network.network_address + 1}-{network.broadcast_address - 1}"
    return f"{network.network_address}-{network.broadcast_address}"


def special_address(address: IPAddress, network: IPNetwork) -> str | None:
    """`network`/`broadcast` when `address` is one of those in an IPv4 subnet shorter than /31."""
    if network.version != 4 or network.prefixlen >= 31:
        return None
    if address == network.network_address:
        return "network"
    if address == network.broadcast_address:
        return "broadcast"
    return None
