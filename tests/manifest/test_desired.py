"""Documents -> `Resource` (`reconciler.manifest.desired`)."""

from __future__ import annotations

import pytest

from reconciler.manifest import checked, load_manifests
from reconciler.model import NO_ENTRIES, DriftIgnore, SecretRef, SourcePos, address_of
from tests.manifest.builders import CONNECTION, equinix, group, peer
from tests.manifest.conftest import WriteDocs


def test_each_kind_becomes_a_normalised_resource(write_docs: WriteDocs) -> None:
    path = write_docs(
        "a.yaml",
        group(
            "sg-vbr1",
            ipVersion="ipv6",
            authKey={"fromFile": "../secrets/sg.key"},
            labels={"team": "neteng"},
        ),
        peer("p1", "sg-vbr1", peerIpAddress="2001:DB8::0001", enableBfd=True, bfdMultiHop=1),
        peer("p2", None, bgpGroupId="bgpg-t4nexample0000000001", regionId="cn-hongkong", peerIpAddress="10.9.0.1"),
        equinix(
            connectionUuid=CONNECTION.upper(),
            localIpAddress="10.0.0.1/255.255.255.252",
            authenticationKey={"fromEnv": "SG_BGP_KEY"},
        ),
    )
    manifests = load_manifests([path])
    assert manifests.ok, manifests.diagnostics
    grp, p1, p2, eq = manifests.resources
    file = path.as_posix()

    assert grp.address == "AlibabaBgpGroup/sg-vbr1"
    assert dict(grp.attrs) == {
        "regionId": "ap-southeast-1",
        "virtualBorderRouterId": "vbr-t4nexample0000000001",
        "peerAsn": 65010,
        "ipVersion": "IPv6",
        "name": "sg-vbr1",
        "description": "",
        "routeQuota": 110,
        "isFakeAsn": False,
        "localAsn": 45104,
    }
    # fromFile is relative to the manifest's folder; kept relative to the working folder.
    secrets_dir = (path.parent.parent / "secrets" / "sg.key").as_posix()
    assert dict(grp.secret_refs) == {"authKey": SecretRef("file", secrets_dir)}
    assert dict(grp.labels) == {"team": "neteng"}
    assert grp.source == SourcePos(file, 1, 1)
    assert dict(grp.secrets) == {}

    # A peer of a managed group: a reference, no bgpGroupId/regionId (the planner resolves them).
    assert dict(p1.attrs) == {"peerIpAddress": "2001:db8::1", "enableBfd": True, "bfdMultiHop": 1, "ipVersion": "IPv6"}
    assert dict(p1.refs) == {"bgpGroup": "AlibabaBgpGroup/sg-vbr1"}
    # A peer of an unmanaged group: its id and region, no reference; BFD off drops the hop count.
    assert dict(p2.attrs) == {
        "bgpGroupId": "bgpg-t4nexample0000000001",
        "regionId": "cn-hongkong",
        "peerIpAddress": "10.9.0.1",
        "enableBfd": False,
        "ipVersion": "IPv4",
    }
    assert dict(p2.refs) == {}

    assert dict(eq.attrs) == {
        "connectionUuid": CONNECTION,
        "localIpAddress": "10.0.0.1/30",
        "localAsn": 65010,
        "remoteIpAddress": "10.0.0.2",
        "remoteAsn": 45104,
    }
    assert dict(eq.secret_refs) == {"authenticationKey": SecretRef("env", "SG_BGP_KEY")}
    assert "authenticationKey" not in eq.attrs


def test_drift_ignore_items_map_to_value_objects(write_docs: WriteDocs) -> None:
    doc = group()
    doc["metadata"]["driftIgnore"] = [
        "description",
        {"field": "routeQuota", "reason": "NOC raises it during migrations", "expires": "2030-01-31"},
        {"unmanaged": "bgp-t4nexample0000000009", "reason": "legacy peer"},
    ]
    manifests = load_manifests([write_docs("a.yaml", doc)])
    assert manifests.ok, manifests.diagnostics
    assert manifests.resources[0].drift_ignore == (
        DriftIgnore(field="description"),
        DriftIgnore(field="routeQuota", reason="NOC raises it during migrations", expires="2030-01-31"),
        DriftIgnore(unmanaged="bgp-t4nexample0000000009", reason="legacy peer"),
    )


def test_no_resources_at_all_when_anything_is_invalid(write_docs: WriteDocs) -> None:
    path = write_docs("a.yaml", group(), peer(bfdMultiHop=0, enableBfd=True))
    manifests = load_manifests([path])
    assert not manifests.ok
    assert manifests.resources == ()
    assert [d.path for d in manifests.diagnostics] == ["spec.bfdMultiHop"]


def test_resources_without_labels_references_or_secrets_share_one_read_only_empty_mapping(
    write_docs: WriteDocs,
) -> None:
    path = write_docs("a.yaml", equinix(), group("sg-vbr1", labels={"team": "neteng"}))
    manifests = load_manifests([path])
    assert manifests.ok, manifests.diagnostics
    eq, grp = manifests.resources
    assert eq.labels is NO_ENTRIES and eq.refs is NO_ENTRIES and eq.secret_refs is NO_ENTRIES
    assert dict(grp.labels) == {"team": "neteng"}
    with pytest.raises(TypeError):
        eq.labels["team"] = "x"  # type: ignore[index]
    assert eq.address is address_of(eq.kind, eq.name)


def test_the_addresses_parsed_for_the_checks_are_not_kept_after_the_load(write_docs: WriteDocs) -> None:
    # Kept, they would hold an address object for every session while the plan runs.
    manifests = load_manifests([write_docs("a.yaml", equinix(), group("sg-vbr1"), peer("p1", "sg-vbr1"))])
    assert manifests.ok, manifests.diagnostics
    assert checked.parse_interface("10.0.0.1/30") is not None  # the cache works between loads...
    assert checked._parse_peer_interface.cache_info().currsize > 0
    load_manifests([write_docs("b.yaml", equinix())])
    cached = (checked._parse_ip, checked._parse_peer_ip, checked._parse_interface, checked._parse_peer_interface)
    assert [parse.cache_info().currsize for parse in cached] == [0, 0, 0, 0]  # ...and is emptied after one
