"""Alibaba groups and peers as drafts: arguments, one VBR, defaults left out, group references."""

from __future__ import annotations

import pytest

from reconciler.clouds.alibaba.generate import drafts, generate_scope
from reconciler.clouds.alibaba.provider import group_object, peer_object
from reconciler.errors import UsageError

REGION = "cn-hongkong"
LIVE = [
    group_object(
        {"BgpGroupId": "bgpg-a", "RouterId": "vbr-a", "Name": "hk-a", "PeerAsn": 65010, "RouteLimit": 110}, REGION
    ),
    group_object(
        {"BgpGroupId": "bgpg-b", "RouterId": "vbr-b", "Name": "9b", "PeerAsn": 65020, "RouteLimit": 50}, REGION
    ),
    peer_object(
        {"BgpPeerId": "bgp-1", "BgpGroupId": "bgpg-a", "PeerIpAddress": "10.0.0.1", "BfdMultiHop": 255}, REGION
    ),
    peer_object(
        {
            "BgpPeerId": "bgp-2",
            "BgpGroupId": "bgpg-b",
            "PeerIpAddress": "10.1.0.1",
            "EnableBfd": True,
            "BfdMultiHop": 3,
        },
        REGION,
    ),
    peer_object({"BgpPeerId": "bgp-3", "BgpGroupId": "bgpg-gone", "PeerIpAddress": "10.2.0.1"}, REGION),
]


def test_a_region_and_one_vbr() -> None:
    assert generate_scope(["cn-hongkong:vbr-a", "ap-southeast-1"]).regions == {"cn-hongkong", "ap-southeast-1"}
    one = drafts(["cn-hongkong:vbr-a"], LIVE)
    assert sorted(d.live.cloud_id for d in one) == ["bgp-1", "bgpg-a"]
    assert len(drafts([REGION], LIVE)) == 5
    assert drafts(["ap-southeast-1"], LIVE) == []


def test_defaults_are_left_out_and_peers_reference_their_group() -> None:
    by_id = {d.live.cloud_id: d for d in drafts([REGION], LIVE)}
    assert dict(by_id["bgpg-a"].spec) == {"regionId": REGION, "virtualBorderRouterId": "vbr-a", "peerAsn": 65010}
    assert by_id["bgpg-b"].spec["routeQuota"] == 50
    assert by_id["bgpg-a"].names[0] == "hk-a"
    assert by_id["bgpg-b"].names == ("vbr-b-10.1.0.1",)  # "9b" is no Alibaba name to keep
    assert dict(by_id["bgp-1"].spec) == {"peerIpAddress": "10.0.0.1"}
    assert dict(by_id["bgp-2"].spec) == {"peerIpAddress": "10.1.0.1", "enableBfd": True, "bfdMultiHop": 3}
    assert by_id["bgp-1"].refs == {"bgpGroup": "bgpg-a"}
    assert by_id["bgp-3"].unresolved == {"bgpGroupId": "bgpg-gone", "regionId": REGION}


@pytest.mark.parametrize("arg", ["Hong Kong", "cn-hongkong:vbr_A", "cn-hongkong:"])
def test_bad_arguments(arg: str) -> None:
    with pytest.raises(UsageError, match="REGION or REGION:VBR_ID"):
        generate_scope([arg])
