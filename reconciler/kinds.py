"""What the planner and the apply engine need to know about a resource kind, and the normalisers
kinds share.

Each cloud package declares its kinds as `KindInfo` values (see `reconciler.clouds`): which cloud
serves them, which fields are managed, which are secret, which can only change by replacement,
the natural key, the defaults, and how to normalise values so that spelling differences never
show up as changes. Nothing here names a cloud.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Dotted-quad IPv4 with no leading zeros (and an optional /0-32) is already canonical: most
# addresses take this fast path, which matters when a plan compares tens of thousands of them.
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_CANONICAL_V4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_CANONICAL_V4_INTERFACE = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}/(?:3[0-2]|[12]?\d)")


def canonical_ip(value: Any) -> Any:
    """`10.0.0.1`, `fe80::0001` -> canonical spelling; anything unparsable is returned as is."""
    if isinstance(value, str) and _CANONICAL_V4.fullmatch(value):
        return value
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        return value


def canonical_interface(value: Any) -> Any:
    """`10.0.0.1/30`, `2001:DB8::1/126` -> canonical `address/prefix` spelling."""
    if isinstance(value, str) and _CANONICAL_V4_INTERFACE.fullmatch(value):
        return value
    try:
        return str(ipaddress.ip_interface(str(value).strip()))
    except ValueError:
        return value


def as_int(value: Any) -> Any:
    """String numbers ("65010") become ints; anything else is returned as is."""
    if isinstance(value, str):
        digits = value.strip()
        # isdecimal, not isdigit: "²" is a digit that int() refuses.
        return int(digits) if digits.isdecimal() else value
    return value


def as_bool(value: Any) -> Any:
    if isinstance(value, str):
        word = value.lower()
        if word in ("true", "false"):
            return word == "true"
    return value


# One string object per spelling, not one per resource: a plan of 50,000 peers holds each value
# in its manifests, its state and its live objects.
_IP_VERSIONS = {"ipv4": "IPv4", "ipv6": "IPv6"}


def ip_version(value: Any) -> Any:
    if isinstance(value, str):
        return _IP_VERSIONS.get(value.lower(), value)
    return value


def lower_text(value: Any) -> str:
    text = str(value)
    lowered = text.lower()
    return text if lowered == text else lowered  # already lower case: the same object is kept


Normaliser = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class RefField:
    """A spec field that names another declared resource (`group: edge1`): once that resource
    exists, its cloud id fills `id_attr` (and its attributes fill the kind's `inherited` ones)."""

    kind: str  # the referenced kind
    id_attr: str  # the attribute that takes the referenced object's cloud id


@dataclass(frozen=True, slots=True)
class KindInfo:
    kind: str
    cloud: str  # the name of the cloud package that serves it (its provider's name)
    fields: tuple[str, ...]  # managed non-secret attributes, compared by the diff
    secret_fields: tuple[str, ...]
    replace_only: frozenset[str]
    natural_key: tuple[str, ...]  # attribute names that identify the object in the cloud
    defaults: Mapping[str, Any]
    normalisers: Mapping[str, Normaliser]
    region_field: str | None
    deletable: bool  # False: the API has no delete, removal means `forget`
    no_delete_reason: str = ""
    ref_fields: Mapping[str, RefField] = field(default_factory=dict)  # spec field -> what it references
    # Attributes that are derived from the referenced resource (copied at plan time).
    inherited: Mapping[str, str] = field(default_factory=dict)  # attr -> attr of the referenced resource
    # When the natural key includes the name (Name = metadata.name), a rename is recognised within
    # this scope and done in place instead of recreating the object.
    rename_scope: tuple[str, ...] = ()
    name_attr: str | None = None  # the attribute that takes `metadata.name`, if the cloud stores it
    # Attributes the cloud derives from others (an IP version from an address), filled in from a spec.
    derive: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None
    # Drops attributes that mean nothing in context (a BFD hop count while BFD is off), so an
    # arbitrary value the cloud reports for them is never a difference.
    tidy: Callable[[dict[str, Any]], None] | None = None
    has_session: bool = False  # the object carries a BGP session (drift reports its health)
    # The attributes that tell people which object this is, in reports (an unmanaged object).
    summary_fields: tuple[str, ...] = ()
    title: str = ""  # one line for people: what an object of this kind is

    def normalise(self, attrs: Mapping[str, Any]) -> dict[str, Any]:
        """Canonical form of an attribute map, with defaults filled in."""
        out: dict[str, Any] = dict(self.defaults)
        normaliser_of = self.normalisers.get  # once: this runs for every attribute of every object
        for key, value in attrs.items():
            if value is not None:
                fn = normaliser_of(key)
                normal = fn(value) if fn else value
                # Text is interned: the manifests, the state and the live objects of a plan hold
                # the same ids and addresses, once each instead of three times (no secret is an
                # attribute: secrets never reach here).
                out[key] = sys.intern(normal) if type(normal) is str else normal
        if self.tidy is not None:
            self.tidy(out)
        return out

    def key_of(self, attrs: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(attrs.get(f) for f in self.natural_key)

    def region_of(self, attrs: Mapping[str, Any]) -> str | None:
        return attrs.get(self.region_field) if self.region_field else None

    @property
    def key_words(self) -> str:
        """The natural key for people: `circuitId`, `groupId + peerIpAddress`."""
        return " + ".join(self.natural_key)
