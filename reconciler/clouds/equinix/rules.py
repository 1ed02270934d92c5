"""Equinix's manifest rules: the device's address and its peer's, one peering per connection, the
key format, and what a peering exposes as one end of a linked session (docs/cloud-apis.md,
Equinix)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from reconciler.clouds.equinix.kinds import EQUINIX_PEERING, KEY_FIELD
from reconciler.manifest.checked import (
    Checked,
    Diagnostic,
    IPInterface,
    address_with_prefix,
    host_range,
    parse_interface,
    parse_ip,
    plain_ip,
    special_address,
)
from reconciler.manifest.links import EndKey, EndValue, LinkEnd, valid_value
from reconciler.manifest.secrets import secret_ref

# What the evidence supports about a BGP key: 6 to 60 characters (docs/cloud-apis.md, Equinix §10).
# Which characters the API accepts is unconfirmed: the API's own answer decides.
KEY_LENGTHS = range(6, 61)


def addresses(checked: Checked) -> Iterator[Diagnostic]:
    """The device's address has a prefix and is a host address; the remote address is another
    host address in the same subnet. Both can peer (docs/cloud-apis.md, "Addresses that cannot
    peer": the rule every cloud shares, in `manifest.checked`)."""
    local_path, remote_path = "spec.localIpAddress", "spec.remoteIpAddress"
    local: IPInterface | None = None
    if checked.has(local_path):
        local = parse_interface(checked.get(local_path))
        if local is None:
            yield from address_with_prefix(checked, local_path, "10.0.0.1/30")
        elif (kind := special_address(local.ip, local.network)) is not None:
            yield checked.diag(
                local_path,
                f"{local.ip} is the {kind} address of {local.network}: the device needs a host "
                f"address ({host_range(local.network)})",
                "cidr-syntax",
            )
            local = None
    if not checked.has(remote_path):
        return
    remote = parse_ip(checked.get(remote_path))
    if remote is None:
        yield from plain_ip(checked, remote_path, "10.0.0.2")
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
            f"{network} ({host_range(network)})",
            "remote-ip-subnet",
        )
    elif remote == local.ip:
        yield checked.diag(
            remote_path,
            f"{remote} is the device's own address (localIpAddress {local}): the remote peer needs "
            f"another address in {network}",
            "remote-ip-subnet",
        )
    elif (kind := special_address(remote, network)) is not None:
        yield checked.diag(
            remote_path,
            f"{remote} is the {kind} address of {network}: use a host address ({host_range(network)})",
            "remote-ip-subnet",
        )


def one_peering_per_connection(docs: Sequence[Checked], complete: bool) -> Iterator[Diagnostic]:
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


def key_problem(value: str) -> str | None:
    """Why Equinix would refuse this key (never quoting it), or None."""
    if len(value) in KEY_LENGTHS:
        return None
    reason = "it is shorter than 6 characters" if len(value) < 6 else "it is longer than 60 characters"
    return f"Equinix needs a key of 6-60 characters; {reason}"


# Where a peering keeps what it exposes as one end of a session.
_LOCAL_ASN, _REMOTE_ASN = "spec.localAsn", "spec.remoteAsn"
_LOCAL_ADDRESS, _REMOTE_ADDRESS = "spec.localIpAddress", "spec.remoteIpAddress"
_KEY_PATH = f"spec.{KEY_FIELD}"


def link_end(doc: Checked) -> LinkEnd:
    """A peering as one end of a session. Its ASNs and key follow the other end (a cloud's ASN
    and a group's peer ASN are fixed on that side); its local address leads (the other end's
    peer address is the device's address)."""
    return LinkEnd(
        doc,
        local_asn=_asn(doc, _LOCAL_ASN, "the device's localAsn"),
        remote_asn=_asn(doc, _REMOTE_ASN, "the device's remoteAsn"),
        local_address=_local_address(doc),
        remote_address=_remote_address(doc),
        key=_key(doc),
    )


def _asn(doc: Checked, path: str, called: str) -> EndValue | None:
    value = valid_value(doc, path)
    return None if value is None else EndValue(value, doc, path, called, True)


def _local_address(doc: Checked) -> EndValue | None:
    local = parse_interface(valid_value(doc, _LOCAL_ADDRESS))
    if local is None:
        return None
    return EndValue(local.ip, doc, _LOCAL_ADDRESS, "the device's address", False, shown=local)


def _remote_address(doc: Checked) -> EndValue | None:
    remote = parse_ip(valid_value(doc, _REMOTE_ADDRESS))
    return None if remote is None else EndValue(remote, doc, _REMOTE_ADDRESS, "the device's remoteIpAddress", True)


def _key(doc: Checked) -> EndKey | None:
    if not doc.ok(_KEY_PATH):
        return None
    raw = doc.get(_KEY_PATH)
    return EndKey(secret_ref(doc.doc.file, raw) if raw is not None else None, doc, _KEY_PATH, True)
