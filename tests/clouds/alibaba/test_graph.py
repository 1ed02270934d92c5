"""The Alibaba `graph_chain` hook: a group hangs from its VBR; a peer stands alone (the core joins
it to its group through its reference)."""

from __future__ import annotations

from reconciler.clouds import CLOUDS
from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER, CLOUD_NAME
from reconciler.clouds.base import GraphNode

VBR = "vbr-t4nexample0000000001"
GROUP = f"{ALIBABA_GROUP}/sg-vbr1"
PEER = f"{ALIBABA_PEER}/sg-vbr1-p1"


def test_group_hangs_from_its_vbr() -> None:
    attrs = {"regionId": "ap-southeast-1", "virtualBorderRouterId": VBR, "peerAsn": 65010, "authKey": "NeverShown1"}
    vbr, group = CLOUDS[CLOUD_NAME].graph_chain(ALIBABA_GROUP, GROUP, attrs, {})
    assert vbr == GraphNode(f"alibaba/vbr/ap-southeast-1/{VBR}", f"VBR {VBR} (ap-southeast-1)", "router")
    assert group == GraphNode(GROUP, f"{GROUP}\npeer AS65010", "group")
    assert "NeverShown1" not in vbr.label + group.label


def test_groups_of_one_vbr_share_its_node() -> None:
    attrs = {"regionId": "ap-southeast-1", "virtualBorderRouterId": VBR}
    one = CLOUDS[CLOUD_NAME].graph_chain(ALIBABA_GROUP, GROUP, attrs, {})[0]
    other = CLOUDS[CLOUD_NAME].graph_chain(ALIBABA_GROUP, f"{ALIBABA_GROUP}/other", attrs, {})[0]
    assert one.key == other.key


def test_peer_is_its_own_node_only() -> None:
    (peer,) = CLOUDS[CLOUD_NAME].graph_chain(ALIBABA_PEER, PEER, {"peerIpAddress": "10.0.0.1", "bgpGroupId": "g"}, {})
    assert peer == GraphNode(PEER, f"{PEER}\n10.0.0.1", "session")
