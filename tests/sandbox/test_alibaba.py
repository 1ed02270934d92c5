"""Alibaba VPC emulator conformance, driven by the real SDK (alibabacloud-vpc20160428).

Each test names the section of docs/cloud-apis.md ("Alibaba §n") whose facts it checks.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
from alibabacloud_vpc20160428 import models as vpc
from alibabacloud_vpc20160428.client import Client

from reconciler.sandbox import Sandbox
from reconciler.sandbox.seed import parse_seed_text

from .conftest import (
    HK,
    SG,
    VBR_HK1,
    VBR_SG1,
    VBR_SG2,
    VBR_SG_DOWN,
    acs_date,
    alibaba_client,
    create_group,
    create_peer,
    describe_groups,
    describe_peers,
    expect_error,
    send,
    signed_request,
    wait_until,
)

VBR_NO_V6_GATEWAY = "vbr-t4nnogw00000000000004"  # IPv6 enabled, but no IPv6 gateway addresses
GROUP_ID = re.compile(r"bgpg-[a-z0-9]{21}")
PEER_ID = re.compile(r"bgp-[a-z0-9]{21}")


def group_status(ali: Client, group_id: str) -> str | None:
    groups = describe_groups(ali, bgp_group_id=group_id).bgp_groups.bgp_group
    return groups[0].status if groups else None


def peer_status(ali: Client, peer_id: str) -> str | None:
    peers = describe_peers(ali, bgp_peer_id=peer_id).bgp_peers.bgp_peer
    return peers[0].status if peers else None


# -- create / describe, field types ----------------------------------------------------------------


def test_create_and_describe_group_with_string_fields(ali: Client) -> None:
    """Alibaba §5: every BgpGroup field is a string, IsFake included."""
    created = ali.create_bgp_group(
        vpc.CreateBgpGroupRequest(
            region_id=SG,
            router_id=VBR_SG1,
            peer_asn=65010,
            name="sg-vbr1",
            description="Singapore VBR 1",
            auth_key="k3y-Secret",
            is_fake_asn=False,
            ip_version="ipv4",
            route_quota=100,
        )
    )
    assert created.status_code == 200
    assert created.headers["content-type"] == "application/json;charset=utf-8"
    group_id = created.body.bgp_group_id
    assert GROUP_ID.fullmatch(group_id)
    assert re.fullmatch(r"[0-9A-F-]{36}", created.body.request_id)
    body = describe_groups(ali)
    raw = body.to_map()
    assert (raw["TotalCount"], raw["PageNumber"], raw["PageSize"]) == (1, 1, 10)
    assert raw["BgpGroups"]["BgpGroup"] == [
        {
            "BgpGroupId": group_id,
            "RouterId": VBR_SG1,
            "RegionId": SG,
            "Name": "sg-vbr1",
            "Description": "Singapore VBR 1",
            "PeerAsn": "65010",
            "LocalAsn": "45104",
            "AuthKey": "k3y-Secret",
            "IsFake": "false",
            "IpVersion": "IPv4",
            "Hold": "30",
            "Keepalive": "10",
            "RouteLimit": "100",
            "Status": "Available",
        }
    ]


def test_create_and_describe_peer_with_mixed_types(ali: Client) -> None:
    """Alibaba §5: IsFake/EnableBfd booleans, BfdMultiHop and counters ints, rest strings."""
    group_id = create_group(ali, is_fake_asn=True, auth_key="k3y")
    peer_id = create_peer(ali, group_id, enable_bfd=True, bfd_multi_hop=3)
    assert PEER_ID.fullmatch(peer_id)
    item = describe_peers(ali).to_map()["BgpPeers"]["BgpPeer"][0]
    assert item["BgpPeerId"] == peer_id and item["BgpGroupId"] == group_id and item["RouterId"] == VBR_SG1
    assert item["EnableBfd"] is True and item["IsFake"] is True
    assert item["BfdMultiHop"] == 3 and item["AdvertisedRouteCount"] == 0 and item["ReceivedRouteCount"] == 0
    assert item["PeerAsn"] == "65010" and item["LocalAsn"] == "45104" and item["RouteLimit"] == "110"
    assert item["Hold"] == "30" and item["Keepalive"] == "10" and item["AuthKey"] == "k3y"
    assert item["PeerIpAddress"] == "10.0.0.1" and item["IpVersion"] == "IPv4"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\dZ", item["GmtModified"])
    assert (item["Status"], item["BgpStatus"]) == ("Available", "Established")


def test_bfd_defaults(ali: Client) -> None:
    """Alibaba §11: BfdMultiHop defaults to 255 with BFD on, and is 0 when BFD is off."""
    group_id = create_group(ali)
    with_bfd = create_peer(ali, group_id, ip="10.0.0.1", enable_bfd=True)
    without = create_peer(ali, group_id, ip="10.0.0.5")
    hops = {p.bgp_peer_id: (p.enable_bfd, p.bfd_multi_hop) for p in describe_peers(ali).bgp_peers.bgp_peer}
    assert hops == {with_bfd: (True, 255), without: (False, 0)}


def test_peer_ip_defaults_to_the_vbr_peer_gateway(ali: Client, sandbox: Sandbox) -> None:
    """Alibaba §14 (U-A18): PeerIpAddress may be omitted when the VBR has one sub-interface."""
    group_id = create_group(ali, vbr=VBR_SG2)
    peer_id = ali.create_bgp_peer(vpc.CreateBgpPeerRequest(region_id=SG, bgp_group_id=group_id)).body.bgp_peer_id
    assert sandbox.objects().alibaba_peers[peer_id]["PeerIpAddress"] == "10.0.1.1"


def test_unknown_id_filter_gives_empty_list(ali: Client) -> None:
    """Alibaba §5: an unknown BgpPeerId/BgpGroupId filter -> TotalCount 0, empty list."""
    create_group(ali)
    peers = describe_peers(ali, bgp_peer_id="bgp-doesnotexist0000000000").to_map()
    assert peers["TotalCount"] == 0 and peers["BgpPeers"] == {"BgpPeer": []}
    groups = describe_groups(ali, bgp_group_id="bgpg-doesnotexist000000000").to_map()
    assert groups["TotalCount"] == 0 and groups["BgpGroups"] == {"BgpGroup": []}
    assert describe_groups(ali, is_default=True).total_count == 0
    assert describe_groups(ali, router_id=VBR_SG2).total_count == 0
    assert describe_groups(ali, router_id=VBR_SG1).total_count == 1


def test_describe_virtual_border_routers(ali: Client) -> None:
    """Alibaba §14: Filter.N.Key / Filter.N.Value.M (values ORed), VirtualBorderRouterSet."""
    request = vpc.DescribeVirtualBorderRoutersRequest(
        region_id=SG,
        filter=[
            vpc.DescribeVirtualBorderRoutersRequestFilter(key="VbrId", value=[VBR_SG1, VBR_SG_DOWN]),
        ],
    )
    body = ali.describe_virtual_border_routers(request).body.to_map()
    items = body["VirtualBorderRouterSet"]["VirtualBorderRouterType"]
    assert [v["VbrId"] for v in items] == [VBR_SG1, VBR_SG_DOWN]
    assert body["TotalCount"] == 2
    sg1 = items[0]
    assert sg1["EnableIpv6"] is True and sg1["Status"] == "active" and sg1["VlanId"] == 100
    assert (sg1["LocalGatewayIp"], sg1["PeerGatewayIp"], sg1["PeeringSubnetMask"]) == (
        "10.0.0.2",
        "10.0.0.1",
        "255.255.255.252",
    )
    both = vpc.DescribeVirtualBorderRoutersRequest(
        region_id=SG,
        filter=[
            vpc.DescribeVirtualBorderRoutersRequestFilter(key="VbrId", value=[VBR_SG1, VBR_SG_DOWN]),
            vpc.DescribeVirtualBorderRoutersRequestFilter(key="Status", value=["active"]),
        ],
    )
    assert [
        v.vbr_id
        for v in ali.describe_virtual_border_routers(both).body.virtual_border_router_set.virtual_border_router_type
    ] == [VBR_SG1]
    assert (
        ali.describe_virtual_border_routers(vpc.DescribeVirtualBorderRoutersRequest(region_id=SG)).body.total_count == 3
    )
    bad = vpc.DescribeVirtualBorderRoutersRequest(
        region_id=SG, filter=[vpc.DescribeVirtualBorderRoutersRequestFilter(key="Colour", value=["blue"])]
    )
    expect_error(lambda: ali.describe_virtual_border_routers(bad), "InvalidFilterKey.ValueNotSupported")


def test_async_sdk_path_verifies(sandbox: Sandbox) -> None:
    """Alibaba §1 and §2: the async (aiohttp) methods sign the same way; unsigned extra headers are fine."""
    client = alibaba_client(sandbox)
    request = vpc.DescribeBgpGroupsRequest(region_id=SG)
    response = asyncio.run(client.describe_bgp_groups_async(request))
    assert response.body.total_count == 0


def test_legacy_v2_signature(sandbox: Sandbox) -> None:
    """Alibaba §2 (legacy HMAC-SHA1; Action/Version as query parameters)."""
    client = alibaba_client(sandbox, signature_algorithm="v2")
    group_id = create_group(client)
    assert describe_groups(client).bgp_groups.bgp_group[0].bgp_group_id == group_id
    wrong = alibaba_client(sandbox, signature_algorithm="v2", secret="wrong")
    expect_error(lambda: describe_groups(wrong), "SignatureDoesNotMatch")


# -- lifecycle -------------------------------------------------------------------------------------


def test_status_transitions(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §7: Pending -> Available, Modifying -> Available, Deleting -> gone;
    a transitional object gives InvalidStatus.CannotOperate."""
    sandbox.configure(provision_delay=0.25)
    group_id = create_group(ali)
    assert group_status(ali, group_id) == "Pending"
    expect_error(lambda: create_peer(ali, group_id), "InvalidStatus.CannotOperate")
    wait_until(lambda: group_status(ali, group_id) == "Available")
    peer_id = create_peer(ali, group_id)
    peer = describe_peers(ali).bgp_peers.bgp_peer[0]
    assert (peer.status, peer.bgp_status) == ("Pending", "Idle")
    modify = vpc.ModifyBgpPeerAttributeRequest(region_id=SG, bgp_peer_id=peer_id, enable_bfd=True, bfd_multi_hop=2)
    expect_error(lambda: ali.modify_bgp_peer_attribute(modify), "InvalidStatus.CannotOperate")
    wait_until(lambda: peer_status(ali, peer_id) == "Available")
    ali.modify_bgp_peer_attribute(modify)
    assert peer_status(ali, peer_id) == "Modifying"
    wait_until(lambda: peer_status(ali, peer_id) == "Available")
    assert describe_peers(ali).bgp_peers.bgp_peer[0].bfd_multi_hop == 2
    ali.modify_bgp_group_attribute(
        vpc.ModifyBgpGroupAttributeRequest(region_id=SG, bgp_group_id=group_id, peer_asn=65020)
    )
    assert group_status(ali, group_id) == "Modifying"
    assert describe_peers(ali).bgp_peers.bgp_peer[0].peer_asn == "65020"  # peers show their group's ASN
    wait_until(lambda: group_status(ali, group_id) == "Available")
    ali.delete_bgp_peer(vpc.DeleteBgpPeerRequest(region_id=SG, bgp_peer_id=peer_id))
    assert peer_status(ali, peer_id) == "Deleting"
    wait_until(lambda: peer_status(ali, peer_id) is None)
    ali.delete_bgp_group(vpc.DeleteBgpGroupRequest(region_id=SG, bgp_group_id=group_id))
    assert group_status(ali, group_id) == "Deleting"
    wait_until(lambda: group_status(ali, group_id) is None)
    assert describe_groups(ali).total_count == 0


def test_delete_group_with_peers_is_a_dependency_violation(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §7: DependencyViolation.BgpPeer while peers exist, even Deleting ones."""
    group_id = create_group(ali)
    peer_id = create_peer(ali, group_id)
    delete = vpc.DeleteBgpGroupRequest(region_id=SG, bgp_group_id=group_id)
    error = expect_error(lambda: ali.delete_bgp_group(delete), "DependencyViolation.BgpPeer")
    assert peer_id in error.data["Message"]
    sandbox.configure(provision_delay=0.3)
    ali.delete_bgp_peer(vpc.DeleteBgpPeerRequest(region_id=SG, bgp_peer_id=peer_id))
    assert peer_status(ali, peer_id) == "Deleting"
    expect_error(lambda: ali.delete_bgp_group(delete), "DependencyViolation.BgpPeer")
    wait_until(lambda: peer_status(ali, peer_id) is None)
    ali.delete_bgp_group(delete)


def test_group_modify_changes_fields(ali: Client) -> None:
    """Alibaba §3: ModifyBgpGroupAttribute, ClearAuthKey clears the key."""
    group_id = create_group(ali, auth_key="old-key", name="before")
    ali.modify_bgp_group_attribute(
        vpc.ModifyBgpGroupAttributeRequest(
            region_id=SG,
            bgp_group_id=group_id,
            name="after",
            description="now described",
            is_fake_asn=True,
            route_quota=50,
            local_asn=64600,
            auth_key="new-key",
        )
    )
    item = describe_groups(ali).to_map()["BgpGroups"]["BgpGroup"][0]
    assert (
        item["Name"],
        item["Description"],
        item["IsFake"],
        item["RouteLimit"],
        item["LocalAsn"],
        item["AuthKey"],
    ) == ("after", "now described", "true", "50", "64600", "new-key")
    ali.modify_bgp_group_attribute(
        vpc.ModifyBgpGroupAttributeRequest(region_id=SG, bgp_group_id=group_id, clear_auth_key=True)
    )
    assert describe_groups(ali).bgp_groups.bgp_group[0].auth_key == ""


# -- ClientToken -----------------------------------------------------------------------------------


def test_client_token_replay_and_mismatch(ali: Client) -> None:
    """Alibaba §4: same token + same parameters -> the first result, nothing changes;
    same token + different parameters -> IdempotentParameterMismatch."""
    first = create_group(ali, client_token="tok-1", name="g1")
    again = create_group(ali, client_token="tok-1", name="g1")
    assert again == first
    assert describe_groups(ali).total_count == 1
    expect_error(lambda: create_group(ali, client_token="tok-1", name="g2"), "IdempotentParameterMismatch")
    assert describe_groups(ali).total_count == 1
    # Tokens are per action: the same token on another action is a new request.
    peer_id = create_peer(ali, first, client_token="tok-1")
    assert create_peer(ali, first, client_token="tok-1") == peer_id
    delete = vpc.DeleteBgpPeerRequest(region_id=SG, bgp_peer_id=peer_id, client_token="del-1")
    ali.delete_bgp_peer(delete)
    ali.delete_bgp_peer(delete)  # a replay succeeds even though the peer is now Deleting / gone
    expect_error(lambda: create_group(ali, client_token="x" * 65), "InvalidParameter")


# -- pagination ------------------------------------------------------------------------------------


def test_pagination_default_10_max_50(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §6: PageSize default 10, max 50 (clamped by default, U-A6), TotalCount."""
    sandbox.configure(alibaba_max_groups_per_vbr=60)
    created = [create_group(ali, name=f"g{i:02d}") for i in range(55)]
    first = describe_groups(ali)
    assert (first.total_count, first.page_number, first.page_size) == (55, 1, 10)
    assert [g.bgp_group_id for g in first.bgp_groups.bgp_group] == created[:10]
    last = describe_groups(ali, page_number=6)
    assert [g.bgp_group_id for g in last.bgp_groups.bgp_group] == created[50:]
    assert describe_groups(ali, page_number=7).bgp_groups.bgp_group == []
    clamped = describe_groups(ali, page_size=100)
    assert clamped.page_size == 50 and len(clamped.bgp_groups.bgp_group) == 50
    sandbox.configure(alibaba_page_size_over_max="reject")
    error = expect_error(lambda: describe_groups(ali, page_size=51), "InvalidParameter")
    assert "PageSize" in error.data["Message"]
    expect_error(lambda: describe_groups(ali, page_number=0), "InvalidParameter")


def test_peer_pagination(ali: Client) -> None:
    """Alibaba §6: DescribeBgpPeers pages the same way (PageSize, PageNumber, TotalCount)."""
    group_1, group_2 = create_group(ali, vbr=VBR_SG1), create_group(ali, vbr=VBR_SG2)
    created = [create_peer(ali, group_1, ip=f"192.168.0.{i}") for i in range(1, 9)]
    created += [create_peer(ali, group_2, ip=f"192.168.1.{i}") for i in range(1, 5)]
    pages = [describe_peers(ali, page_size=5, page_number=n) for n in (1, 2, 3)]
    assert [p.total_count for p in pages] == [12, 12, 12]
    assert [peer.bgp_peer_id for page in pages for peer in page.bgp_peers.bgp_peer] == created
    assert len(describe_peers(ali).bgp_peers.bgp_peer) == 10
    assert [p.bgp_peer_id for p in describe_peers(ali, bgp_group_id=group_2).bgp_peers.bgp_peer] == created[8:]


# -- error codes -----------------------------------------------------------------------------------


def _group_request(**fields: Any) -> vpc.CreateBgpGroupRequest:
    return vpc.CreateBgpGroupRequest(**{"region_id": SG, "router_id": VBR_SG1, "peer_asn": 65010, **fields})


GROUP_ERRORS: list[tuple[dict[str, Any], str, int]] = [
    ({"peer_asn": 45104}, "InvalidPeerAsn.Malformed", 400),
    ({"peer_asn": 4294967296}, "IllegalParam.PeerAsn", 400),
    ({"peer_asn": 0}, "IllegalParam.PeerAsn", 400),
    ({"router_id": None}, "MissingParameter", 400),
    ({"peer_asn": None}, "MissingParameter", 400),
    ({"router_id": "vbr-doesnotexist000000000"}, "InvalidVbrNetwork", 400),
    ({"router_id": VBR_HK1}, "InvalidVbrNetwork", 400),  # exists, but in another region
    ({"router_id": VBR_SG_DOWN}, "InvalidStatus.CannotOperate", 400),
    ({"ip_version": "IPv5"}, "IllegalParam.IpVersion", 400),
    ({"ip_version": "IPv6", "router_id": VBR_SG2}, "IllegalParam.IpVersion", 400),  # VBR without IPv6
    ({"ip_version": "IPv6", "router_id": VBR_HK1, "region_id": HK}, "OperationUnsupported.IPV6ForThisRegion", 400),
    ({"name": "1starts-with-digit"}, "InvalidBgpName.Malformed", 400),
    ({"name": "a"}, "InvalidBgpName.Malformed", 400),
    ({"description": "http://example.com"}, "InvalidBgpDescription.Malformed", 400),
    ({"auth_key": "has space"}, "InvalidBgpAuthkey.Malformed", 400),
    ({"local_asn": 65025}, "InvalidBgpGroup.LocalAsnInvalid", 400),
    ({"local_asn": 100}, "InvalidBgpGroup.LocalAsnInvalid", 400),
    ({"route_quota": 111}, "IllegalParam.RouteLimit", 400),
    ({"region_id": "xx-nowhere-1"}, "InvalidRegionId.NotFound", 404),
]


@pytest.mark.parametrize(
    ("fields", "code", "status"), GROUP_ERRORS, ids=[f"{c}-{i}" for i, (_, c, _) in enumerate(GROUP_ERRORS)]
)
def test_create_group_errors(ali: Client, fields: dict[str, Any], code: str, status: int) -> None:
    """Alibaba §9, §10 (parameter rules) and §13 (error table): each code from its real condition."""
    error = expect_error(lambda: ali.create_bgp_group(_group_request(**fields)), code, status)
    assert set(error.data) == {"RequestId", "HostId", "Code", "Message", "Recommend", "statusCode"}
    assert error.data["HostId"] == "vpc.aliyuncs.com"
    assert "has space" not in error.data["Message"]  # a rejected AuthKey is never echoed
    assert describe_groups(ali).total_count == 0


def test_missing_parameter_names_it(ali: Client) -> None:
    """Alibaba §1 (no client-side validation) and §13 (MissingParameter)."""
    error = expect_error(lambda: ali.create_bgp_peer(vpc.CreateBgpPeerRequest()), "MissingParameter")
    assert '"RegionId"' in error.data["Message"]
    error = expect_error(lambda: ali.create_bgp_group(_group_request(router_id=None)), "MissingParameter")
    assert '"RouterId"' in error.data["Message"]


def test_custom_local_asn_whitelist(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §9: LocalAsn off the allow-list -> OperationUnsupport."""
    sandbox.configure(alibaba_custom_local_asn=False)
    expect_error(lambda: create_group(ali, local_asn=64600), "OperationUnsupport")
    assert GROUP_ID.fullmatch(create_group(ali, local_asn=45104))


def test_create_peer_errors(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §11, §12 and §13: peer codes, each from its real condition."""
    group_id = create_group(ali)
    other_group = create_group(ali, name="other")
    ipv6_group = create_group(ali, ip_version="IPv6", name="v6")
    create_peer(ali, group_id, ip="10.0.0.1")

    def peer(**fields: Any) -> Callable[[], Any]:
        request = vpc.CreateBgpPeerRequest(**{"region_id": SG, "bgp_group_id": group_id, **fields})
        return lambda: ali.create_bgp_peer(request)

    expect_error(peer(bgp_group_id="bgpg-doesnotexist000000000", peer_ip_address="10.0.0.9"), "InvalidBgpGroup")
    expect_error(peer(peer_ip_address="10.0.0.9", enable_bfd=True, bfd_multi_hop=0), "IllegalParam.BfdMultiHop")
    expect_error(peer(peer_ip_address="10.0.0.9", enable_bfd=True, bfd_multi_hop=256), "IllegalParam.BfdMultiHop")
    expect_error(peer(peer_ip_address="10.0.0.9", bfd_multi_hop=3), "MissingParam.EnableBfd")
    expect_error(peer(peer_ip_address="10.0.0.1"), "BgpPeer.Already.Exists")  # same IP, same group
    expect_error(lambda: create_peer(ali, other_group, ip="10.0.0.1"), "InvalidParams.PeerIpAddressInUse")
    expect_error(peer(peer_ip_address="10.0.0.300"), "InvalidIP.Malformed")
    expect_error(peer(peer_ip_address="2408:4000::9"), "IllegalParam.PeerIpAddress")  # v6 address, v4 group
    expect_error(peer(peer_ip_address="10.0.0.2"), "IllegalParam.PeerIpAddress")  # the VBR's own side
    expect_error(peer(peer_ip_address="10.0.0.9", ip_version="IPv6"), "IllegalParam.IpVersion")
    expect_error(peer(peer_ip_address="10.0.0.9", ip_version="IPvX"), "IllegalParam.IpVersion")
    v6 = create_peer(ali, ipv6_group, ip="2408:4000::1")
    assert describe_peers(ali, bgp_peer_id=v6).bgp_peers.bgp_peer[0].ip_version == "IPv6"
    group_on_sg2 = create_group(ali, vbr=VBR_SG2)
    sandbox.configure(alibaba_max_peers_per_vbr=1)
    create_peer(ali, group_on_sg2, ip="10.0.1.1")
    expect_error(lambda: create_peer(ali, group_on_sg2, ip="10.0.1.5"), "QuotaExceeded.Bgp")


def test_peer_ip_must_be_given_without_a_gateway(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §14: no PeerIpAddress and no gateway to default to -> PeerIpAddressMustPointOut."""
    sandbox.add_seed(
        parse_seed_text(
            f"""
alibaba:
  vbrs: [{{vbrId: {VBR_NO_V6_GATEWAY}, regionId: {SG}, status: active, enableIpv6: true,
          localGatewayIp: 10.0.9.2, peerGatewayIp: 10.0.9.1, peeringSubnetMask: 255.255.255.252}}]
""",
            "extra-seed",
        )
    )
    group_id = create_group(ali, vbr=VBR_NO_V6_GATEWAY, ip_version="IPv6")
    request = vpc.CreateBgpPeerRequest(region_id=SG, bgp_group_id=group_id)
    expect_error(lambda: ali.create_bgp_peer(request), "InvalidParams.PeerIpAddressMustPointOut")


def test_quota_is_per_vbr_across_groups(ali: Client) -> None:
    """Alibaba §8: at most 8 BGP peers per VBR -> QuotaExceeded.Bgp."""
    group_1, group_2 = create_group(ali, name="one"), create_group(ali, name="two")
    for i in range(1, 5):
        create_peer(ali, group_1, ip=f"192.168.0.{i}")
        create_peer(ali, group_2, ip=f"192.168.1.{i}")
    error = expect_error(lambda: create_peer(ali, group_2, ip="192.168.1.9"), "QuotaExceeded.Bgp")
    assert error.data["Message"] == "bgp peer count per vbr quota exceed."
    assert describe_peers(ali).total_count == 8


def test_modify_peer_errors(ali: Client) -> None:
    """Alibaba §13: DuplicatedParam.PeerIpAddress, InvalidParams.NotFound."""
    group_id, other = create_group(ali), create_group(ali, name="other")
    peer_a = create_peer(ali, group_id, ip="10.0.0.1")
    create_peer(ali, group_id, ip="10.0.0.5")
    create_peer(ali, other, ip="10.0.0.9")

    def modify(**fields: Any) -> Callable[[], Any]:
        request = vpc.ModifyBgpPeerAttributeRequest(**{"region_id": SG, "bgp_peer_id": peer_a, **fields})
        return lambda: ali.modify_bgp_peer_attribute(request)

    expect_error(modify(peer_ip_address="10.0.0.5"), "DuplicatedParam.PeerIpAddress")
    expect_error(modify(peer_ip_address="10.0.0.9"), "InvalidParams.PeerIpAddressInUse")
    expect_error(modify(bgp_peer_id="bgp-doesnotexist0000000000"), "InvalidParams.NotFound")
    expect_error(modify(bgp_group_id=other), "InvalidParams.NotFound")
    expect_error(modify(bgp_group_id="bgpg-doesnotexist000000000"), "InvalidBgpGroup")
    expect_error(modify(bfd_multi_hop=300), "IllegalParam.BfdMultiHop")
    modify(peer_ip_address="10.0.0.13", bgp_group_id=group_id)()
    assert describe_peers(ali, bgp_peer_id=peer_a).bgp_peers.bgp_peer[0].peer_ip_address == "10.0.0.13"


def test_delete_errors(ali: Client) -> None:
    """Alibaba §13: unknown ids -> InvalidBgpGroup / InvalidParams.NotFound."""
    expect_error(
        lambda: ali.delete_bgp_group(vpc.DeleteBgpGroupRequest(region_id=SG, bgp_group_id="bgpg-x")), "InvalidBgpGroup"
    )
    expect_error(
        lambda: ali.delete_bgp_peer(vpc.DeleteBgpPeerRequest(region_id=SG, bgp_peer_id="bgp-x")),
        "InvalidParams.NotFound",
    )


def test_exception_classes_by_status(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §1: 4xx -> ClientException, 5xx -> ServerException (from real statuses)."""
    with pytest.raises(ClientException):
        describe_groups(ali, region="xx-nowhere-1")
    sandbox.configure(alibaba={"error_rate": 1.0})
    with pytest.raises(ServerException) as info:
        describe_groups(ali)
    assert info.value.code in ("ServiceUnavailable", "InternalError")


# -- wire details via hand-signed requests -----------------------------------------------------------


def test_booleans_are_case_insensitive(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §1 (booleans sent as `True`); the sandbox reads them in any case (docs/sandbox.md)."""
    group_id = create_group(ali)
    for value, ip in (("true", "10.0.0.1"), ("TRUE", "10.0.0.5"), ("True", "10.0.0.9")):
        params = {"RegionId": SG, "BgpGroupId": group_id, "PeerIpAddress": ip, "EnableBfd": value, "BfdMultiHop": "4"}
        response = send(*signed_request(sandbox, "CreateBgpPeer", params))
        assert response.status_code == 200, response.text
    assert {p.enable_bfd for p in describe_peers(ali).bgp_peers.bgp_peer} == {True}
    params = {"RegionId": SG, "BgpGroupId": group_id, "PeerIpAddress": "10.0.0.13", "EnableBfd": "yes"}
    response = send(*signed_request(sandbox, "CreateBgpPeer", params))
    assert response.status_code == 400 and response.json()["Code"] == "InvalidParameter"


def test_form_body_parameters_are_merged(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §2 (merge query and form-body parameters, as non-Python SDKs send them)."""
    body = b"RegionId=ap-southeast-1&RouterId=" + VBR_SG1.encode() + b"&PeerAsn=65010&Name=from-body"
    url, headers, body = signed_request(
        sandbox, "CreateBgpGroup", {}, body=body, content_type="application/x-www-form-urlencoded"
    )
    response = send(url, headers, body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    assert describe_groups(ali).bgp_groups.bgp_group[0].name == "from-body"


def test_action_parameter_fallback_with_a_v2_signature(sandbox: Sandbox) -> None:
    """Alibaba §2 (an `Action` parameter instead of x-acs-action, legacy HMAC-SHA1),
    signed with the SDK's own v2 helper and sent as a form body, without any x-acs-* header."""
    from alibabacloud_tea_openapi.utils import Utils

    params = {
        "Action": "CreateBgpGroup",
        "Version": "2016-04-28",
        "Format": "json",
        "AccessKeyId": "sandbox-ak",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": acs_date(),
        "RegionId": SG,
        "RouterId": VBR_SG2,
        "PeerAsn": "65010",
        "Name": "legacy",
    }
    params["Signature"] = Utils.get_rpcsignature(params, "POST", "sandbox-secret")
    response = httpx.post(f"http://{sandbox.alibaba_endpoint}/", data=params)
    assert response.status_code == 200, response.text
    group_id = response.json()["BgpGroupId"]
    assert sandbox.objects().alibaba_groups[group_id]["Name"] == "legacy"
    assert sandbox.request_counts()["alibaba CreateBgpGroup"] == 1
    params["SignatureNonce"] = uuid.uuid4().hex  # changed after signing
    rejected = httpx.post(f"http://{sandbox.alibaba_endpoint}/", data=params)
    assert rejected.json()["Code"] == "SignatureDoesNotMatch"
    assert rejected.headers["content-type"] == "application/json;charset=utf-8"


def test_bgp_status_may_be_empty(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §5: BgpStatus may be an empty string; session states are set per peer."""
    peer_id = create_peer(ali, create_group(ali))
    sandbox.set_session_state(peer_id, "")
    assert describe_peers(ali).to_map()["BgpPeers"]["BgpPeer"][0]["BgpStatus"] == ""
    sandbox.set_session_state(peer_id, "Down")
    assert describe_peers(ali).bgp_peers.bgp_peer[0].bgp_status == "Down"
    sandbox.set_session_state(peer_id, "auto")
    sandbox.configure(alibaba_session_target="Active")
    assert describe_peers(ali).bgp_peers.bgp_peer[0].bgp_status == "Active"
