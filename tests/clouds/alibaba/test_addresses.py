"""The live address checks of Alibaba's session ends: the pure rules, table-driven, and the VBR read
over real HTTP against the sandbox (the official SDK included)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from reconciler.clouds.alibaba.addresses import VbrRead, check, gateways, read_vbrs
from reconciler.clouds.alibaba.provider import AlibabaProvider
from reconciler.clouds.base import AddressFinding, SessionEnds
from reconciler.manifest.checked import Checked
from reconciler.manifest.load import Document
from reconciler.plan.addresses import session_ends
from reconciler.sandbox import Sandbox
from tests.clouds.conftest import OTHER_REGION, REGION, make_seed, vbr_id
from tests.manifest.builders import equinix, group, peer

VBR = "vbr-t4nexample0000000001"
V4 = {"LocalGatewayIp": "10.0.0.2", "PeerGatewayIp": "10.0.0.1", "PeeringSubnetMask": "255.255.255.252"}
V6 = {"LocalIpv6GatewayIp": "2001:db8::2", "PeerIpv6GatewayIp": "2001:db8::1", "PeeringIpv6SubnetMask": "126"}
LINK = {"link": "sg"}


def ends_of(*docs: dict[str, Any]) -> list[SessionEnds]:
    """The Alibaba session ends of `docs`, as the core pairs them (document i is at line i + 1)."""
    checked = [
        Checked.of(Document(file="m.yaml", index=i, data=doc, positions={"": (i + 1, 1)}), str(doc["kind"]), ())
        for i, doc in enumerate(docs)
    ]
    return session_ends(checked).get("alibaba", [])


def summary(findings: list[AddressFinding]) -> list[tuple[str, str, bool, bool]]:
    """(where, path, linked, checked) of each finding."""
    return [(f.where, f.path, f.linked, f.checked) for f in findings]


V6_GROUP = group(ipVersion="IPv6")
CASES: list[tuple[str, list[dict[str, Any]], VbrRead, list[tuple[str, str, bool, bool]]]] = [
    ("linked v4 that fits", [group(), peer(labels=LINK), equinix(labels=LINK)], V4, []),
    (
        "linked v4 peer IP is not the peer gateway",
        [group(), peer(peerIpAddress="10.0.0.3", labels=LINK), equinix(labels=LINK)],
        V4,
        [("m.yaml:2:1", "spec.peerIpAddress", True, True)],
    ),
    (
        "linked v4 local address outside the subnet",
        [group(), peer(labels=LINK), equinix(localIpAddress="10.0.0.1/16", remoteIpAddress="10.0.1.2", labels=LINK)],
        {**V4, "LocalGatewayIp": "10.0.1.2", "PeerGatewayIp": "10.0.0.1"},
        [("m.yaml:3:1", "spec.localIpAddress", True, True)],
    ),
    (
        "linked v4 remote IP is not the local gateway",
        [group(), peer(labels=LINK), equinix(localIpAddress="10.0.0.1/29", remoteIpAddress="10.0.0.3", labels=LINK)],
        V4,
        [("m.yaml:3:1", "spec.remoteIpAddress", True, True)],
    ),
    ("unlinked v4 inside the subnet", [group(), peer(peerIpAddress="10.0.0.2")], V4, []),
    (
        "unlinked v4 outside the subnet",
        [group(), peer(peerIpAddress="10.0.0.9")],
        V4,
        [("m.yaml:2:1", "spec.peerIpAddress", False, True)],
    ),
    (
        "linked v6 that fits",
        [
            V6_GROUP,
            peer(peerIpAddress="2001:db8::1", labels=LINK),
            equinix(localIpAddress="2001:db8::1/126", remoteIpAddress="2001:db8::2", labels=LINK),
        ],
        {**V4, **V6},
        [],
    ),
    (
        "linked v6 peer IP is not the peer gateway, remote IP not the local gateway",
        [
            V6_GROUP,
            peer(peerIpAddress="2001:db8::3", labels=LINK),
            equinix(localIpAddress="2001:db8::3/64", remoteIpAddress="2001:db8::9", labels=LINK),
        ],
        {**V4, **V6},
        [("m.yaml:2:1", "spec.peerIpAddress", True, True), ("m.yaml:3:1", "spec.remoteIpAddress", True, True)],
    ),
    (
        "unlinked v6 outside the subnet",
        [V6_GROUP, peer(peerIpAddress="2001:db8:1::1")],
        {**V4, **V6},
        [("m.yaml:2:1", "spec.peerIpAddress", False, True)],
    ),
    ("v4 gateways do not check a v6 peer", [V6_GROUP, peer(peerIpAddress="2001:db8:1::1")], V4, []),
    (
        "linked, the VBR has no gateways of the peer's family: not checked",
        [
            V6_GROUP,
            peer(peerIpAddress="2001:db8::1", labels=LINK),
            equinix(localIpAddress="2001:db8::1/126", remoteIpAddress="2001:db8::2", labels=LINK),
        ],
        V4,
        [("m.yaml:2:1", "spec.peerIpAddress", False, False)],
    ),
    ("unlinked, the VBR has no gateways: nothing to hold it against", [group(), peer()], {}, []),
    (
        "the VBR could not be read: once per VBR, at the group",
        [group(), peer(labels=LINK), peer("second", peerIpAddress="10.0.0.9"), equinix(labels=LINK)],
        "DescribeVirtualBorderRouters failed: Forbidden.RAM",
        [("m.yaml:1:1", "spec.virtualBorderRouterId", False, False)],
    ),
    (
        "a linked peer of a group managed elsewhere: not checked",
        [peer(bgp_group=None, bgpGroupId="bgpg-1", regionId="ap-southeast-1", labels=LINK), equinix(labels=LINK)],
        V4,
        [("m.yaml:1:1", "spec.peerIpAddress", False, False)],
    ),
    (
        "an unlinked peer of a group managed elsewhere: left alone",
        [peer(bgp_group=None, bgpGroupId="bgpg-1", regionId="ap-southeast-1")],
        V4,
        [],
    ),
]


@pytest.mark.parametrize(("docs", "vbr", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_address_rules(docs: list[dict[str, Any]], vbr: VbrRead, expected: list[tuple[str, str, bool, bool]]) -> None:
    assert summary(check(ends_of(*docs), {("ap-southeast-1", VBR): vbr})) == expected


def test_messages_name_the_address_the_vbr_and_its_gateways() -> None:
    [mismatch] = check(
        ends_of(group(), peer(peerIpAddress="10.0.0.3", labels=LINK), equinix(labels=LINK)),
        {("ap-southeast-1", VBR): V4},
    )
    assert str(mismatch) == (
        "m.yaml:2:1: spec.peerIpAddress: 10.0.0.3 is not the VBR's peer gateway IP, so the session of "
        "AlibabaBgpPeer/sg-vbr1-peer1 and EquinixBgpPeering/sg-ne1-to-alibaba cannot come up: the VBR "
        f"{VBR} (ap-southeast-1) has peer gateway 10.0.0.1, local gateway 10.0.0.2, peering subnet 10.0.0.0/30"
    )
    [unread] = check(
        ends_of(group(), peer()), {("ap-southeast-1", VBR): "the VBR does not exist in region ap-southeast-1"}
    )
    assert unread.message == (
        f"the addresses of the sessions on VBR {VBR} (ap-southeast-1) were not checked: the VBR does not exist in "
        "region ap-southeast-1"
    )


@pytest.mark.parametrize(
    ("item", "version", "expected"),
    [
        (V4, 4, ("10.0.0.2", "10.0.0.1", "10.0.0.0/30")),
        ({**V4, "PeeringSubnetMask": "30"}, 4, ("10.0.0.2", "10.0.0.1", "10.0.0.0/30")),
        ({**V6, "PeeringIpv6SubnetMask": "/126"}, 6, ("2001:db8::2", "2001:db8::1", "2001:db8::/126")),
        ({"LocalGatewayIp": "", "PeerGatewayIp": "", "PeeringSubnetMask": ""}, 4, (None, None, None)),
        ({**V4, "PeeringSubnetMask": "not a mask"}, 4, ("10.0.0.2", "10.0.0.1", None)),
        ({**V4, "LocalGatewayIp": "2001:db8::2"}, 4, (None, "10.0.0.1", None)),  # another family is none
    ],
)
def test_gateways_of_a_family(item: dict[str, str], version: int, expected: tuple[str | None, ...]) -> None:
    found = gateways(item, version)
    assert tuple(None if v is None else str(v) for v in (found.local, found.peer, found.subnet)) == expected


# -- the VBR read, over HTTP --------------------------------------------------------------------------


def test_vbrs_are_read_by_id_in_pages_and_chunks(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox(make_seed(regions=(REGION, OTHER_REGION), vbrs_per_region=25))
    provider = alibaba(box)
    provider.page_size = 4  # several pages per chunk of ids
    wanted = [vbr_id(0, i) for i in range(23)] + ["vbr-missing", vbr_id(1, 0)]  # the last is in the other region
    box.reset_request_counts()
    found = provider.describe_vbrs(REGION, wanted)
    assert sorted(found) == sorted(vbr_id(0, i) for i in range(23))
    item = found[vbr_id(0, 3)]
    assert (item["LocalGatewayIp"], item["PeerGatewayIp"], item["PeeringSubnetMask"]) == (
        "10.0.0.1",
        "10.0.0.2",
        "255.255.255.0",
    )
    # 25 ids: a chunk of 20 and one of 5, each read in pages of 4 (at least one page per chunk).
    first_chunk = sorted(set(wanted))[:20]
    found_first = sum(1 for v in first_chunk if v in found)
    found_second = len(found) - found_first
    expected_calls = math.ceil(found_first / 4) + max(1, math.ceil(found_second / 4))
    assert box.request_counts() == {"alibaba DescribeVirtualBorderRouters": expected_calls}
    assert provider.api_calls()["DescribeVirtualBorderRouters"] == expected_calls


def test_read_vbrs_says_which_do_not_exist(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox(make_seed(vbrs_per_region=2))
    read = read_vbrs(alibaba(box), {REGION: {vbr_id(0, 0), "vbr-nothere"}})
    assert isinstance(read[(REGION, vbr_id(0, 0))], dict)
    assert read[(REGION, "vbr-nothere")] == f"the VBR does not exist in region {REGION}"
    assert len(read) == 2  # only the VBRs asked for
    assert box.request_counts()["alibaba DescribeVirtualBorderRouters"] == 1


def test_read_vbrs_reads_the_regions_at_once_and_keeps_a_failed_region_apart(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider], monkeypatch: pytest.MonkeyPatch
) -> None:
    # One region after another would cost a round trip per region to every plan.
    import threading

    from reconciler.errors import ProviderError

    provider = alibaba(sandbox(make_seed(regions=(REGION, OTHER_REGION), vbrs_per_region=1)))
    real = provider.describe_vbrs
    together = threading.Barrier(2, timeout=20)  # broken unless both regions are read at once

    def describe(region: str, ids: Any) -> dict[str, dict[str, Any]]:
        together.wait()
        if region == OTHER_REGION:
            raise ProviderError("refused", cloud="alibaba", codes=("Forbidden.RAM",))
        return real(region, ids)

    monkeypatch.setattr(provider, "describe_vbrs", describe)
    read = read_vbrs(provider, {REGION: {vbr_id(0, 0)}, OTHER_REGION: {vbr_id(1, 0)}})
    assert isinstance(read[(REGION, vbr_id(0, 0))], dict)
    why = read[(OTHER_REGION, vbr_id(1, 0))]
    assert isinstance(why, str) and why.startswith("DescribeVirtualBorderRouters failed: refused")
    assert "grant the RAM user vpc:DescribeVirtualBorderRouters" in why
