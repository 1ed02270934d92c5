"""What every manifest rule works on: a document that passed the envelope check (`Checked`), and
the address helpers several rules share. The rules themselves are in `manifest.rules` (rules of
every kind), `manifest.links` (the two ends of one session) and each cloud package (its own)."""

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

__all__ = ["Checked", "Diagnostic", "IPAddress", "IPInterface", "IPNetwork", "first_by_name", "parse_ip"]


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


def first_by_name(docs: Iterable[Checked]) -> dict[str, Checked]:
    """The first document of each name (duplicates are reported by the common rules)."""
    out: dict[str, Checked] = {}
    for checked in docs:
        if checked.name is not None:
            out.setdefault(checked.name, checked)
    return out


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


def plain_ip(checked: Checked, path: str, example: str) -> Iterator[Diagnostic]:
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
