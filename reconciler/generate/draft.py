"""A live object as a cloud proposes it for a manifest: the value `Cloud.generate` returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.model import LiveObject


@dataclass(frozen=True, slots=True)
class Draft:
    """One manifest document to be, before names, keys and links are decided.

    `names` are the names the cloud would prefer, best first, as the cloud spells them (the core
    makes them valid and unique). `spec` holds every managed field that is not at its cloud
    default, without the key and without references. `key_field` is the spec field of the BGP key
    (its value is `live.secrets[key_field]`; no key means no field). `refs` maps a spec field to
    the cloud id of the object it names: once that object's manifest name is known it goes
    there; when the object is not generated, `unresolved` is merged into the spec instead.
    `file` is the path, relative to the output folder, of the file it goes in, and `order` its
    place there. `describe` tells people which object it is (`10.0.0.1 on vbr-1`).
    """

    live: LiveObject
    names: tuple[str, ...]
    spec: Mapping[str, Any]
    file: str
    order: tuple[str, ...]
    key_field: str | None = None
    refs: Mapping[str, str] = field(default_factory=dict)
    unresolved: Mapping[str, Any] = field(default_factory=dict)
    describe: str = ""
    # The attribute that takes metadata.name in the cloud (a group's Name): when the name chosen
    # differs from the live value, the first apply renames the object, and the output says so.
    name_attr: str | None = None


def address_order(text: object) -> str:
    """A sort key that orders IP addresses numerically (IPv4 before IPv6, anything else last)."""
    import ipaddress

    try:
        address = ipaddress.ip_address(str(text))
    except ValueError:
        return f"9{text}"
    return f"{address.version}{int(address):040d}"
