"""The test cloud's manifest rules: eBGP only, a neighbour's address, its process, one neighbour
per process and address, the key format, and what a neighbour (with its process) exposes as one
end of a linked session."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence

from reconciler.clouds.base import KeyHolder
from reconciler.manifest.checked import Checked, Diagnostic, first_by_name, parse_ip, plain_ip
from reconciler.manifest.links import EndKey, EndValue, LinkEnd
from reconciler.manifest.secrets import secret_ref
from reconciler.model import Resource
from tests.testcloud.kinds import DEFAULT_LOCAL_ASN, KEY_FIELD, NEIGHBOR, ROUTER_BGP
from tests.testcloud.store import MAX_KEY_LENGTH


def _local_asn(process: Checked) -> object:
    value = process.get("spec.localAsn")
    return DEFAULT_LOCAL_ASN if value is None else value


def ebgp_only(process: Checked) -> Iterator[Diagnostic]:
    """memcloud peers eBGP only: the peer ASN is not the router's own."""
    if not process.has("spec.peerAsn") or not process.ok("spec.localAsn"):
        return
    if process.get("spec.peerAsn") == _local_asn(process):
        yield process.diag(
            "spec.peerAsn",
            f"{process.get('spec.peerAsn')} is the router's own ASN (localAsn): memcloud peers eBGP only, "
            "so peerAsn is the neighbours' ASN",
            "memcloud-ebgp",
        )


def neighbor_address(neighbor: Checked) -> Iterator[Diagnostic]:
    if neighbor.has("spec.peerIp"):
        yield from plain_ip(neighbor, "spec.peerIp", "192.0.2.1")


def _processes(docs: Sequence[Checked]) -> dict[str, Checked]:
    return first_by_name(d for d in docs if d.kind == ROUTER_BGP)


def neighbor_groups(docs: Sequence[Checked], complete: bool) -> Iterator[Diagnostic]:
    """Every neighbour's `group` is a declared process (checked once every document was read)."""
    if not complete:
        return
    processes = _processes(docs)
    for neighbor in docs:
        name = neighbor.get("spec.group")
        if neighbor.kind != NEIGHBOR or not isinstance(name, str) or not neighbor.ok("spec.group"):
            continue
        if name not in processes:
            guess = difflib.get_close_matches(name, list(processes), n=1, cutoff=0.6)
            did_you_mean = f"did you mean {guess[0]}? " if guess else ""
            yield neighbor.diag(
                "spec.group",
                f"no {ROUTER_BGP} named {name!r} in the manifests ({did_you_mean}processes: "
                f"{', '.join(sorted(processes)) or 'none'})",
                "unresolved-ref",
            )


def one_neighbor_per_address(docs: Sequence[Checked], complete: bool) -> Iterator[Diagnostic]:
    first: dict[tuple[str, object], Checked] = {}
    for neighbor in docs:
        if neighbor.kind != NEIGHBOR or not neighbor.has("spec.group") or not neighbor.has("spec.peerIp"):
            continue
        address = parse_ip(neighbor.get("spec.peerIp"))
        if address is None:
            continue
        key = (str(neighbor.get("spec.group")), address)
        if key in first:
            yield neighbor.diag(
                "spec.peerIp",
                f"{first[key].address} ({first[key].where}) is already the neighbour {address} of {key[0]}: "
                "one neighbour per process and address",
                "duplicate-key",
            )
        else:
            first[key] = neighbor


def key_problem(value: str) -> str | None:
    """Why memcloud would refuse this key (never quoting it), or None."""
    if len(value) > MAX_KEY_LENGTH:
        return f"memcloud takes at most {MAX_KEY_LENGTH} characters; it is longer"
    if any(c.isspace() or not c.isprintable() for c in value):
        return "memcloud takes printable characters without spaces; it has a space or a control character"
    return None


def link_end(neighbor: Checked, by_name: Mapping[tuple[str, str], Checked]) -> LinkEnd:
    """A neighbour and its process as one end of a session. The neighbour's address follows the
    other end (it is the other device's address); the process's ASNs and key lead."""
    remote_address = None
    address = parse_ip(neighbor.get("spec.peerIp")) if neighbor.has("spec.peerIp") else None
    if address is not None:
        remote_address = EndValue(address, neighbor, "spec.peerIp", "the neighbour's peerIp", True)
    name = neighbor.get("spec.group")
    process = by_name.get((ROUTER_BGP, name)) if isinstance(name, str) and neighbor.ok("spec.group") else None
    if process is None:
        return LinkEnd(neighbor, remote_address=remote_address)
    local_asn = None
    if process.ok("spec.localAsn"):
        value = _local_asn(process)
        local_asn = EndValue(value, process, "spec.localAsn", "the process's localAsn", False)
    remote_asn = None
    if process.has("spec.peerAsn"):
        value = process.get("spec.peerAsn")
        remote_asn = EndValue(value, process, "spec.peerAsn", "the process's peerAsn", False)
    key = None
    key_path = f"spec.{KEY_FIELD}"
    if process.ok(key_path):
        raw = process.get(key_path)
        key = EndKey(secret_ref(process.doc.file, raw) if raw is not None else None, process, key_path, False)
    return LinkEnd(
        neighbor,
        members=(process,),
        local_asn=local_asn,
        remote_asn=remote_asn,
        remote_address=remote_address,
        key=key,
    )


def key_holder(resource: Resource, by_address: Mapping[str, Resource]) -> KeyHolder | None:
    """A neighbour's key is its process's."""
    process = by_address.get(resource.refs.get("group", ""))
    if resource.kind != NEIGHBOR or process is None or process.kind != ROUTER_BGP:
        return None
    return KeyHolder(process, KEY_FIELD, follows=False)
