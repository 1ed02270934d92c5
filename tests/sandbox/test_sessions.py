"""BGP sessions that emerge from both ends' configs (docs/sandbox.md, Sessions): the rules, table-driven,
then both APIs reporting them over real HTTP (raw Equinix requests, the real Alibaba SDK)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from alibabacloud_vpc20160428 import models as vpc
from alibabacloud_vpc20160428.client import Client

from reconciler.sandbox import Sandbox, SandboxConfig
from reconciler.sandbox.seed import parse_seed_text
from reconciler.sandbox.sessions import AlibabaEnd, EquinixEnd, emerged_state, state_at

from .conftest import SG, Equinix, alibaba_client, create_group, create_peer, describe_peers, wait_until

# -- the rules ---------------------------------------------------------------------------------------

EQ = EquinixEnd(True, "10.0.0.1", 65010, "10.0.0.2", 45104, "k1", ready_at=100.0)
ALI = AlibabaEnd(True, "10.0.0.1", 65010, 45104, "k1", "10.0.0.2", ready_at=90.0)


def _eq(**changes: object) -> EquinixEnd:
    return EquinixEnd(**{**{f: getattr(EQ, f) for f in EquinixEnd.__slots__}, **changes})  # type: ignore[arg-type]


def _ali(**changes: object) -> AlibabaEnd:
    return AlibabaEnd(**{**{f: getattr(ALI, f) for f in AlibabaEnd.__slots__}, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("equinix", "alibaba", "state"),
    [
        pytest.param(EQ, ALI, "Established", id="mirrored"),
        pytest.param(_eq(key=None), _ali(key=None), "Established", id="no key on either end"),
        pytest.param(None, ALI, "Idle", id="no Equinix end"),
        pytest.param(EQ, None, "Idle", id="no Alibaba end"),
        pytest.param(_eq(provisioned=False), ALI, "Idle", id="Equinix end not provisioned"),
        pytest.param(EQ, _ali(provisioned=False), "Idle", id="Alibaba end not provisioned"),
        pytest.param(EQ, _ali(peer_ip="10.0.0.5"), "Idle", id="peer ip is not Equinix's local address"),
        pytest.param(_eq(remote_ip="10.0.0.3"), ALI, "Idle", id="remote ip is not the VBR's gateway"),
        pytest.param(EQ, _ali(local_gateway_ip=""), "Idle", id="VBR without a gateway address"),
        pytest.param(_eq(remote_ip="10.0.0.3"), _ali(key="other"), "Idle", id="addresses first"),
        pytest.param(EQ, _ali(key="other"), "Active", id="keys differ"),
        pytest.param(EQ, _ali(key=None), "Active", id="key on one end only"),
        pytest.param(_eq(key=None), ALI, "Active", id="key on the other end only"),
        pytest.param(EQ, _ali(peer_asn=65011), "Active", id="Equinix local ASN is not the peer ASN"),
        pytest.param(_eq(remote_asn=45105), ALI, "Active", id="Equinix remote ASN is not Alibaba's local ASN"),
        pytest.param(
            _eq(local_ip="2408:4000::1", remote_ip="2408:4000::2"),
            _ali(peer_ip="2408:4000:0::1", local_gateway_ip="2408:4000::0002"),
            "Established",
            id="IPv6 in another spelling",
        ),
    ],
)
def test_the_state_emerges_from_both_ends(equinix: EquinixEnd | None, alibaba: AlibabaEnd | None, state: str) -> None:
    assert emerged_state(equinix, alibaba) == state


@pytest.mark.parametrize(
    ("now", "delay", "state"),
    [
        (100.0, 0.0, "Established"),
        (100.5, 1.0, "Connect"),  # counted from the later end (Equinix, 100), not the earlier (90)
        (101.0, 1.0, "Established"),
    ],
)
def test_established_comes_after_the_delay(now: float, delay: float, state: str) -> None:
    assert state_at(EQ, ALI, now, delay) == state
    assert state_at(EQ, _ali(key="other"), now, delay) == "Active"  # the delay only holds back Established


# -- both APIs ---------------------------------------------------------------------------------------

DEVICE = "5f1e8a52-3c1d-4d6e-9a7b-0c2f4e6a8b10"
LINKED = "80afc8be-0ce3-4950-be27-3d3e678e6873"  # reaches VBR
UNMAPPED = "3b6d2c1e-8f4a-4e7b-9c5d-1a2b3c4d5e6f"  # reaches no VBR the sandbox knows
VBR = "vbr-t4nsgequinix000000001"
SEED = f"""
equinix:
  devices: [{{uuid: {DEVICE}, name: sg-ne1, asn: 65010}}]
  connections:
    - {{uuid: {LINKED}, deviceUuid: {DEVICE}, vbrId: {VBR}}}
    - {{uuid: {UNMAPPED}, deviceUuid: {DEVICE}}}
alibaba:
  regions: [{SG}]
  vbrs:
    - {{vbrId: {VBR}, regionId: {SG}, enableIpv6: true, localGatewayIp: 10.0.0.2, peerGatewayIp: 10.0.0.1,
        peeringSubnetMask: 255.255.255.252, localIpv6GatewayIp: "2408:4000::2", peerIpv6GatewayIp: "2408:4000::1",
        peeringIpv6SubnetMask: "126"}}
"""
MIRRORED = {
    "connectionUuid": LINKED,
    "localIpAddress": "10.0.0.1/30",
    "localAsn": 65010,
    "remoteIpAddress": "10.0.0.2",
    "remoteAsn": 45104,
    "authenticationKey": "sessionkey1",
}


@pytest.fixture
def paired() -> Iterator[Sandbox]:
    with Sandbox(parse_seed_text(SEED, "sessions-seed.yaml"), config=SandboxConfig(random_seed=3)) as running:
        yield running


@pytest.fixture
def equinix(paired: Sandbox) -> Iterator[Equinix]:
    client = Equinix(paired)
    yield client
    client.http.close()


@pytest.fixture
def alibaba(paired: Sandbox) -> Client:
    return alibaba_client(paired)


def equinix_state(equinix: Equinix, uuid: str) -> str | None:
    state: str | None = equinix.get(f"/ne/v1/bgp/{uuid}").json().get("state")
    return state


def bgp_status(alibaba: Client, peer_id: str) -> str:
    status: str = describe_peers(alibaba, bgp_peer_id=peer_id).bgp_peers.bgp_peer[0].bgp_status
    return status


def both_become(equinix: Equinix, uuid: str, alibaba: Client, peer_id: str, state: str) -> None:
    wait_until(lambda: equinix_state(equinix, uuid) == state and bgp_status(alibaba, peer_id) == state, timeout=15)


def make_pair(equinix: Equinix, alibaba: Client, *, key: str = "sessionkey1", **config: object) -> tuple[str, str]:
    uuid = equinix.create(**{**MIRRORED, **config})
    group = create_group(alibaba, vbr=VBR, peer_asn=65010, auth_key=key)
    peer = create_peer(alibaba, group, ip="10.0.0.1")
    return uuid, peer


def test_a_mirrored_pair_is_established_on_both_apis(equinix: Equinix, alibaba: Client) -> None:
    uuid, peer = make_pair(equinix, alibaba)
    both_become(equinix, uuid, alibaba, peer, "Established")


def test_different_keys_are_active_on_both_ends(equinix: Equinix, alibaba: Client) -> None:
    uuid, peer = make_pair(equinix, alibaba, key="sessionkey2")
    both_become(equinix, uuid, alibaba, peer, "Active")


def test_a_wrong_asn_is_active_on_both_ends(equinix: Equinix, alibaba: Client) -> None:
    uuid, peer = make_pair(equinix, alibaba, remoteAsn=45105)
    both_become(equinix, uuid, alibaba, peer, "Active")


def test_a_wrong_address_is_idle_on_both_ends(equinix: Equinix, alibaba: Client) -> None:
    # Equinix's remote address is not the VBR's gateway (10.0.0.2); keys and ASNs mirror.
    uuid, peer = make_pair(equinix, alibaba, localIpAddress="10.0.0.1/29", remoteIpAddress="10.0.0.3")
    both_become(equinix, uuid, alibaba, peer, "Idle")


def test_fixing_one_end_brings_the_session_up(equinix: Equinix, alibaba: Client) -> None:
    uuid, peer = make_pair(equinix, alibaba, authenticationKey="wrongkey1")
    both_become(equinix, uuid, alibaba, peer, "Active")
    wait_until(lambda: equinix.get(f"/ne/v1/bgp/{uuid}").json()["provisioningStatus"] == "PROVISIONED")
    fixed = {name: value for name, value in MIRRORED.items() if name != "connectionUuid"}
    response = equinix.put(f"/ne/v1/bgp/{uuid}", fixed)
    assert response.status_code == 202, response.text
    both_become(equinix, uuid, alibaba, peer, "Established")


def test_an_end_without_its_counterpart_is_idle(equinix: Equinix, alibaba: Client) -> None:
    uuid = equinix.create(**MIRRORED)
    group = create_group(alibaba, vbr=VBR, peer_asn=65010, auth_key="sessionkey1")
    other = create_peer(alibaba, group, ip="10.0.0.5")  # not Equinix's local address
    both_become(equinix, uuid, alibaba, other, "Idle")


def test_an_end_on_an_unmapped_connection_keeps_the_target(paired: Sandbox, equinix: Equinix) -> None:
    uuid = equinix.create(**{**MIRRORED, "connectionUuid": UNMAPPED})
    wait_until(lambda: equinix_state(equinix, uuid) == "Established")
    paired.configure(equinix_session_target="Active")
    assert equinix_state(equinix, uuid) == "Active"


def test_the_delay_holds_established_back(paired: Sandbox, equinix: Equinix, alibaba: Client) -> None:
    paired.configure(session_establish_delay=3600.0)
    uuid, peer = make_pair(equinix, alibaba)
    both_become(equinix, uuid, alibaba, peer, "Connect")
    paired.configure(session_establish_delay=0.0)
    both_become(equinix, uuid, alibaba, peer, "Established")


def test_the_admin_route_still_forces_a_state(paired: Sandbox, equinix: Equinix, alibaba: Client) -> None:
    uuid, peer = make_pair(equinix, alibaba)
    both_become(equinix, uuid, alibaba, peer, "Established")
    paired.set_session_state(peer, "Idle")
    assert bgp_status(alibaba, peer) == "Idle" and equinix_state(equinix, uuid) == "Established"
    assert paired.objects().sessions[peer]["override"] is True
    paired.set_session_state(peer, "auto")
    assert bgp_status(alibaba, peer) == "Established"


def test_the_vbr_gateway_addresses_follow_the_sdk_models(alibaba: Client) -> None:
    request = vpc.DescribeVirtualBorderRoutersRequest(
        region_id=SG, filter=[vpc.DescribeVirtualBorderRoutersRequestFilter(key="VbrId", value=[VBR])]
    )
    (vbr,) = alibaba.describe_virtual_border_routers(request).body.virtual_border_router_set.virtual_border_router_type
    assert (vbr.local_gateway_ip, vbr.peer_gateway_ip, vbr.peering_subnet_mask) == (
        "10.0.0.2",
        "10.0.0.1",
        "255.255.255.252",
    )
    assert (vbr.local_ipv_6gateway_ip, vbr.peer_ipv_6gateway_ip, vbr.peering_ipv_6subnet_mask) == (
        "2408:4000::2",
        "2408:4000::1",
        "126",
    )


def test_the_seed_keeps_the_vbr_a_connection_reaches() -> None:
    seed = parse_seed_text(SEED, "sessions-seed.yaml")
    assert {c.uuid: c.vbr_id for c in seed.connections} == {LINKED: VBR, UNMAPPED: ""}
    again = parse_seed_text(yaml.safe_dump(seed.to_mapping()), "again")
    assert again == seed
    assert "vbrId" not in seed.to_mapping()["equinix"]["connections"][1]
