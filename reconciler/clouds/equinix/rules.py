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
from reconciler.manifest.links import EndKey, EndValue, LinkEnd
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


def link_end(doc: Checked) -> LinkEnd:
    """A peering as one end of a session. Its ASNs and key follow the other end (a cloud's ASN
    and a group's peer ASN are fixed on that side); its local address leads (the other end's
    peer address is the device's address)."""

    def asn(path: str, called: str) -> EndValue | None:
        if not doc.has(path):
            return None
        value = doc.get(path)
        return EndValue(value, doc, path, called, True)

    local_path = "spec.localIpAddress"
    local = parse_interface(doc.get(local_path)) if doc.has(local_path) else None
    local_address = None
    if local is not None:
        local_address = EndValue(local.ip, doc, local_path, "the device's address", False, shown=local)
    remote_path = "spec.remoteIpAddress"
    remote = parse_ip(doc.get(remote_path)) if doc.has(remote_path) else None
    remote_address = None
    if remote is not None:
        remote_address = EndValue(remote, doc, remote_path, "the device's remoteIpAddress", True)
    key_path = f"spec.{KEY_FIELD}"
    key = None
    if doc.ok(key_path):
        raw = doc.get(key_path)
        key = EndKey(secret_ref(doc.doc.file, raw) if raw is not None else None, doc, key_path, True)
    return LinkEnd(
        doc,
        local_asn=asn("spec.localAsn", "the device's localAsn"),
        remote_asn=asn("spec.remoteAsn", "the device's remoteAsn"),
        local_address=local_address,
        remote_address=remote_address,
        key=key,
    )
