"""Semantic rules across documents and files (`reconciler.manifest.rules`, `manifest.links` and the clouds' rules).

Single-document cases live in the corpus (`test_corpus.py`); these need several files or
check the boundaries of a rule."""

from __future__ import annotations

import pytest

from reconciler.clouds.alibaba.rules import local_asn_allowed
from reconciler.manifest import load_manifests
from tests.manifest.builders import equinix, group, peer
from tests.manifest.conftest import WriteDocs


def diags_of(*paths: object) -> list[tuple[str, int, str, str]]:
    manifests = load_manifests(list(paths))  # type: ignore[arg-type]
    return [(d.file.rsplit("/", 1)[-1], d.line, d.path, d.code) for d in manifests.diagnostics]


@pytest.mark.parametrize(
    ("asn", "allowed"),
    [
        (45104, True),
        (64511, False),
        (64512, True),
        (65025, False),
        (65534, True),
        (65535, False),
        (4199999999, False),
        (4200000000, True),
        (4294967294, True),
        (4294967295, False),
    ],
)
def test_alibaba_local_asn_boundaries(asn: int, allowed: bool) -> None:
    assert local_asn_allowed(asn) is allowed


def test_references_and_links_resolve_across_files(write_docs: WriteDocs) -> None:
    link = {"link": "sg-ne1-alibaba"}
    write_docs("alibaba/groups.yaml", group())
    write_docs("alibaba/peers.yaml", peer(labels=link))
    path = write_docs("equinix/sg-ne1.yaml", equinix(labels=link))
    assert diags_of(path.parent.parent) == []


def test_missing_references_are_not_reported_while_a_file_cannot_be_read(write_docs: WriteDocs) -> None:
    path = write_docs("peers.yaml", peer(labels={"link": "x"}))
    (path.parent / "groups.yaml").write_text("apiVersion: reconciler/v1\nkind: [\n")
    # Only the syntax error: the group and the link's other end may be in the unreadable file.
    assert diags_of(path.parent) == [("groups.yaml", 2, "", "yaml-syntax")]  # where the [ opened


def test_eight_peers_per_vbr_are_allowed_and_the_ninth_is_reported(write_docs: WriteDocs) -> None:
    groups = [group("g1"), group("g2", peerAsn=65020)]  # two groups, one VBR
    peers = [peer(f"p{i}", "g1" if i % 2 else "g2", peerIpAddress=f"10.0.0.{i}") for i in range(1, 9)]
    path = write_docs("a.yaml", *groups, *peers)
    assert diags_of(path) == []
    write_docs("b.yaml", peer("p9", "g2", peerIpAddress="10.0.0.9"))
    assert diags_of(path.parent) == [("b.yaml", 6, "spec.bgpGroup", "vbr-peer-limit")]


def test_peers_on_different_vbrs_are_counted_separately(write_docs: WriteDocs) -> None:
    docs = [group("g1"), group("g2", virtualBorderRouterId="vbr-t4nexample0000000002")]
    docs += [peer(f"a{i}", "g1", peerIpAddress=f"10.0.0.{i}") for i in range(8)]
    docs += [peer(f"b{i}", "g2", peerIpAddress=f"10.0.0.{i}") for i in range(8)]
    assert diags_of(write_docs("a.yaml", *docs)) == []


def test_a_peer_of_an_unmanaged_group_is_only_checked_for_its_address(write_docs: WriteDocs) -> None:
    link = {"link": "l"}
    unmanaged = peer("p", None, bgpGroupId="bgpg-t4nexample0000000001", regionId="cn-hongkong", labels=link)
    ok = write_docs("ok.yaml", unmanaged, equinix(labels=link, localAsn=1, authenticationKey={"fromEnv": "K"}))
    assert diags_of(ok) == []
    unmanaged["spec"]["peerIpAddress"] = "10.0.0.9"
    bad = write_docs("ok.yaml", unmanaged, equinix(labels=link))
    assert diags_of(bad) == [("ok.yaml", 8, "spec.peerIpAddress", "mirror")]


def test_rules_skip_fields_whose_schema_check_failed(write_docs: WriteDocs) -> None:
    link = {"link": "l"}
    path = write_docs(
        "a.yaml",
        group(peerAsn="65010"),
        peer(labels=link),
        equinix(labels=link, localIpAddress=["10.0.0.1/30"]),
    )
    # Only the two type errors: no mirror, subnet or ASN rule runs on the broken fields.
    assert diags_of(path) == [
        ("a.yaml", 8, "spec.peerAsn", "schema.type"),
        ("a.yaml", 28, "spec.localIpAddress", "schema.type"),
    ]


@pytest.mark.parametrize(
    ("local", "remote"),
    [
        ("10.0.0.0/31", "10.0.0.1"),  # /31: both addresses are usable
        ("10.0.0.1/31", "10.0.0.0"),
        ("192.168.0.1/29", "192.168.0.6"),
        ("2001:db8::1/126", "2001:db8::2"),
        ("2001:db8::/127", "2001:db8::1"),
        ("fd00::a/64", "FD00::B"),
        ("10.0.0.1/8", "10.200.0.1"),  # the shortest prefixes that can peer: /8 and /64
        ("2001:db8::1/64", "2001:db8::ffff"),
        ("169.254.100.1/30", "169.254.100.2"),  # IPv4 link-local peering, as clouds use it
        ("fe80::1/64", "fe80::2"),  # IPv6 link-local without a zone
    ],
)
def test_valid_local_and_remote_address_pairs(write_docs: WriteDocs, local: str, remote: str) -> None:
    assert diags_of(write_docs("a.yaml", equinix(localIpAddress=local, remoteIpAddress=remote))) == []


def test_the_device_address_cannot_be_its_subnets_network_address(write_docs: WriteDocs) -> None:
    path = write_docs("a.yaml", equinix(localIpAddress="10.0.0.0/30", remoteIpAddress="10.0.0.2"))
    assert diags_of(path) == [("a.yaml", 7, "spec.localIpAddress", "cidr-syntax")]


@pytest.mark.parametrize("description", ["", "Singapore VBR 1", "新加坡 VBR", "x" + "y" * 255])
def test_descriptions_alibaba_accepts(write_docs: WriteDocs, description: str) -> None:
    assert diags_of(write_docs("a.yaml", group(description=description))) == []


def test_a_description_longer_than_256_characters_is_refused(write_docs: WriteDocs) -> None:
    found = load_manifests([write_docs("a.yaml", group(description="x" * 257))]).diagnostics
    assert [(d.path, d.code, d.message) for d in found] == [
        (
            "spec.description",
            "schema.maxLength",
            "too long (257 characters): at most 256 (2-256 characters starting with a letter, or empty)",
        )
    ]


def test_a_link_label_on_a_group_must_be_the_linked_peers_group(write_docs: WriteDocs) -> None:
    link = {"link": "l"}
    path = write_docs(
        "a.yaml",
        group("g1"),
        group("g2", virtualBorderRouterId="vbr-t4nexample0000000002", labels=link),
        peer(bgp_group="g1", labels=link),
        equinix(labels=link),
    )
    assert diags_of(path) == [("a.yaml", 15, "metadata.labels.link", "mirror")]


@pytest.mark.parametrize(
    ("local", "remote", "path", "code", "fragment"),
    [
        ("10.0.0.1/7", "10.0.0.2", "spec.localIpAddress", "cidr-prefix", "use a prefix of /8 or longer for IPv4"),
        ("2001:db8::1/63", "2001:db8::2", "spec.localIpAddress", "cidr-prefix", "/64 or longer for IPv6"),
        (
            "fe80::1%eth0/64",
            "fe80::2",
            "spec.localIpAddress",
            "ip-unusable",
            "write the address without it, e.g. fe80::1/64",
        ),
        ("224.0.0.1/30", "10.0.0.2", "spec.localIpAddress", "ip-unusable", "'224.0.0.1/30' is a multicast address"),
        ("ff02::1/64", "2001:db8::2", "spec.localIpAddress", "ip-unusable", "is a multicast address"),
        ("10.0.0.1/30", "fe80::1%eth0", "spec.remoteIpAddress", "ip-unusable", "has a zone (%eth0)"),
        ("10.0.0.1/30", "10.0.0.2%1", "spec.remoteIpAddress", "ip-unusable", "has a zone (%1)"),
        (
            "2001:db8::1/64",
            "::ffff:255.255.255.255",
            "spec.remoteIpAddress",
            "ip-unusable",
            "the limited broadcast address written as an IPv4-mapped IPv6 address",
        ),
    ],
)
def test_addresses_that_cannot_peer_are_refused_in_every_address_field(
    write_docs: WriteDocs, local: str, remote: str, path: str, code: str, fragment: str
) -> None:
    """docs/cloud-apis.md, "Addresses that cannot peer": one rule for every kind's address fields."""
    found = load_manifests([write_docs("a.yaml", equinix(localIpAddress=local, remoteIpAddress=remote))]).diagnostics
    assert [(d.path, d.code) for d in found] == [(path, code)], found
    assert fragment in found[0].message


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "239.1.1.1", "ff05::2", "255.255.255.255", "fe80::1%2"])
def test_a_peer_address_that_cannot_peer_is_refused_once(write_docs: WriteDocs, address: str) -> None:
    """Refused where it is written, and not again by the rules that compare it (IP version, links)."""
    link = {"link": "l"}
    path = write_docs("a.yaml", group(), peer(peerIpAddress=address, labels=link), equinix(labels=link))
    assert diags_of(path) == [("a.yaml", 18, "spec.peerIpAddress", "ip-unusable")]
