"""The seed file (docs/sandbox.md, Seed): parsing, defaults, errors that name file:line:col and the path."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.sandbox import Sandbox, SandboxError, Seed, SeedConnection, SeedDevice, SeedVbr, load_seed
from reconciler.sandbox import server as sandbox_server
from reconciler.sandbox.seed import parse_seed_text

DOCUMENTED_SEED = """\
equinix:
  devices:     [{uuid: dev-1, name: sg-ne1, status: PROVISIONED, licenseStatus: REGISTERED, asn: 65010}]
  connections: [{uuid: conn-1, deviceUuid: dev-1, state: PROVISIONED}]
alibaba:
  regions: [ap-southeast-1, cn-hongkong]
  vbrs: [{vbrId: vbr-1, regionId: ap-southeast-1, status: active, enableIpv6: false,
          localGatewayIp: 10.0.0.2, peerGatewayIp: 10.0.0.1, peeringSubnetMask: 255.255.255.252}]
"""


def test_the_documented_seed_parses(tmp_path: Path) -> None:
    """docs/sandbox.md (Seed): the documented seed format, optional fields left out."""
    path = tmp_path / "seed.yaml"
    path.write_text(DOCUMENTED_SEED)
    seed = load_seed(path)
    assert seed.devices == (SeedDevice("dev-1", "sg-ne1", "PROVISIONED", "REGISTERED", "EQUINIX-CONFIGURED", 65010),)
    assert seed.connections == (SeedConnection("conn-1", "dev-1", "PROVISIONED"),)
    assert [r.region_id for r in seed.regions] == ["ap-southeast-1", "cn-hongkong"]
    assert all(r.ipv6_supported for r in seed.regions)
    assert seed.vbrs == (
        SeedVbr("vbr-1", "ap-southeast-1", "active", False, "10.0.0.2", "10.0.0.1", "255.255.255.252"),
    )
    assert Seed.from_mapping(seed.to_mapping()) == seed


def test_empty_seed_and_sections() -> None:
    """docs/sandbox.md (Seed): an empty file or empty sections are an empty seed."""
    assert parse_seed_text("", "empty.yaml") == Seed()
    assert parse_seed_text("equinix:\nalibaba: {vbrs: []}\n", "s.yaml") == Seed()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("equinix:\n  devices:\n    - {name: x}\n", "s.yaml:3:7: equinix.devices[0]: missing 'uuid'"),
        ("aws: {}\n", "s.yaml:1:6: aws: unknown section; valid sections: equinix, alibaba"),
        ("equinix:\n  routers: []\n", "s.yaml:2:12: equinix.routers: unknown list"),
        ("equinix:\n  devices: [{uuid: d, asn: 0}]\n", "s.yaml:2:28: equinix.devices[0].asn: 0 is not an ASN"),
        (
            "alibaba:\n  vbrs: [{vbrId: v, regionId: r, localGatewayIp: 10.0.0.300}]\n",
            "alibaba.vbrs[0].localGatewayIp: '10.0.0.300' is not an IPv4 address",
        ),
        ("alibaba:\n  vbrs: [{vbrId: v, regionId: r, peeringSubnetMask: 255.0.255.0}]\n", "is not a subnet mask"),
        ("alibaba:\n  vbrs: [{vbrId: v, regionId: r, enableIpv6: 'no'}]\n", "expected true or false"),
        ("equinix:\n  devices: [{uuid: a}, {uuid: a}]\n", "equinix.devices[1]: duplicate uuid 'a'"),
        ("alibaba:\n  regions: [{regionId: x, ipv6: false}]\n", "unknown field 'ipv6'"),
        ("equinix: [1, 2]\n", "equinix: expected a mapping"),
        ("equinix:\n  devices: {uuid: a}\n", "equinix.devices: expected a list"),
        ("equinix:\n  devices: [{uuid: a\n", "s.yaml:3:1: not valid YAML"),
        ("- 1\n", "(top level): expected a mapping"),
        ("alibaba:\n  vbrs: [{vbrId: v, regionId: r, bfdEnabled: 1}]\n", "vbrs[0].bfdEnabled: expected true or false"),
        ("alibaba:\n  vbrs: [{vbrId: v, regionId: r, bfdSessionQuota: -1}]\n", "bfdSessionQuota: expected a number"),
        ("alibaba:\n  vbrs: [{vbrId: v, regionId: r, physicalConnections: pc-1}]\n", "expected a list of physical"),
        ("alibaba:\n  vbrs: [{vbrId: v, regionId: r, physicalConnections: [pc-1, '']}]\n", "physicalConnections[1]"),
        ("alibaba:\n  vbrs: [{vbrId: v, regionId: r, hostedConnection: yes please}]\n", "hostedConnection: expected"),
    ],
)
def test_seed_errors_name_where(text: str, message: str) -> None:
    """docs/sandbox.md (Seed): bad input names file:line:col, the path and what would be valid."""
    with pytest.raises(SandboxError) as info:
        parse_seed_text(text, "s.yaml")
    assert message in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    """docs/sandbox.md (Running it: --seed FILE): an unreadable file is a clear error."""
    with pytest.raises(SandboxError, match="cannot read the seed file"):
        load_seed(tmp_path / "nope.yaml")


def test_extra_fields_reach_the_api_shapes() -> None:
    """docs/sandbox.md (Seed); docs/cloud-apis.md, Equinix §9 and Alibaba §14: other seed fields are shown
    by the API (vlanId -> VlanId)."""
    seed = parse_seed_text(
        "equinix:\n  devices: [{uuid: d, metroCode: SG}]\n  connections: [{uuid: c, deviceUuid: d, bandwidth: 50}]\n"
        "alibaba:\n  vbrs: [{vbrId: v, regionId: r, vlanId: 100, physicalConnectionId: pc-1}]\n",
        "s.yaml",
    )
    with Sandbox(seed) as sandbox:
        objects = sandbox.objects()
        assert objects.devices["d"]["metroCode"] == "SG"
        assert objects.connections["c"]["bandwidth"] == 50
        assert objects.vbrs["v"]["VlanId"] == 100 and objects.vbrs["v"]["PhysicalConnectionId"] == "pc-1"
        assert objects.regions == ("r",)  # a VBR's region exists even when not listed


def test_connection_must_name_a_known_device() -> None:
    """docs/cloud-apis.md, Equinix §2 (virtualDeviceUuid comes from the connection): connections need a device."""
    seed = parse_seed_text("equinix:\n  connections: [{uuid: c, deviceUuid: ghost}]\n", "s.yaml")
    with pytest.raises(SandboxError, match="connection c names device ghost"):
        Sandbox(seed).start()


def test_default_seed_falls_back_to_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/sandbox.md (Running it): without a seed the examples' seed is used; without that file, an empty one."""

    def missing(name: str) -> Path:
        raise FileNotFoundError(name)

    monkeypatch.setattr(sandbox_server, "example_path", missing)
    with Sandbox() as sandbox:
        assert sandbox.objects().devices == {}


def test_default_seed_is_the_examples_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/sandbox.md (Running it): without a seed, examples/sandbox-seed.yaml is used."""
    path = tmp_path / "sandbox-seed.yaml"
    path.write_text(DOCUMENTED_SEED)
    monkeypatch.setattr(sandbox_server, "example_path", lambda name: path)
    with Sandbox() as sandbox:
        assert list(sandbox.objects().devices) == ["dev-1"]


def test_account_facts_of_a_vbr() -> None:
    """docs/sandbox.md (Seed): the optional account facts of a VBR, their defaults, and that they are
    not shown by the API (but for the physical connections)."""
    seed = parse_seed_text(
        "alibaba:\n  vbrs:\n    - {vbrId: v, regionId: r}\n"
        "    - {vbrId: w, regionId: r, bfdEnabled: false, bfdSessionQuota: 4, pconnTrafficEnabled: false,\n"
        "       hostedConnection: true, accessDeviceMissing: true, nqaQuotaExceeded: true,\n"
        "       bgpNetworkQuotaExceeded: true, physicalConnections: [pc-1, pc-2]}\n",
        "s.yaml",
    )
    plain, full = seed.vbrs
    assert (plain.bfd_enabled, plain.bfd_session_quota, plain.pconn_traffic_enabled, plain.physical_connections) == (
        None,
        None,
        True,
        (),
    )
    assert (full.bfd_enabled, full.bfd_session_quota, full.hosted_connection, full.physical_connections) == (
        False,
        4,
        True,
        ("pc-1", "pc-2"),
    )
    assert full.access_device_missing and full.nqa_quota_exceeded and full.bgp_network_quota_exceeded
    assert not full.pconn_traffic_enabled and full.extra == {}
    assert Seed.from_mapping(seed.to_mapping()) == seed
    assert "bfdEnabled" not in seed.to_mapping()["alibaba"]["vbrs"][0]  # defaults are left out
    with Sandbox(seed) as sandbox:
        shown = sandbox.objects().vbrs["w"]
        assert "BfdEnabled" not in shown and "HostedConnection" not in shown
        pconns = shown["AssociatedPhysicalConnections"]["AssociatedPhysicalConnection"]
        assert pconns == [{"PhysicalConnectionId": "pc-1"}, {"PhysicalConnectionId": "pc-2"}]
