"""`alicloud_vpc_bgp_group` / `alicloud_vpc_bgp_peer` instances read exactly as the provider reports
the same objects, and placed in their regions with list calls only (the sandbox, real SDK)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from reconciler.clouds import CLOUDS
from reconciler.clouds.alibaba import CLOUD
from reconciler.clouds.alibaba.provider import AlibabaProvider
from reconciler.clouds.alibaba.scope import AlibabaScope
from reconciler.clouds.alibaba.terraform import bgp_group, bgp_peer
from reconciler.model import SecretValue
from reconciler.sandbox import Sandbox
from reconciler.terraform import TerraformObject, parse_state, place_in_regions, read_objects, terraform_types
from tests.clouds.alibaba.test_provider import group, peer
from tests.clouds.conftest import OTHER_REGION, REGION, created, make_seed, vbr_id
from tests.terraform.test_state import FIXTURE, FIXTURE_KEYS

SHARED_KEY = "fixture-shared-key-7Qx"
SG_KEY = "fixture-sg-key-3Rm"
MUTATING = ("Create", "Modify", "Delete")


def fixture_with_ids(ids: dict[str, str]) -> bytes:
    """The hand-written fixture with its Alibaba ids replaced by those the sandbox gave."""
    text = FIXTURE.read_text(encoding="utf-8")
    for old, new in ids.items():
        text = text.replace(old, new)
    return text.encode()


def test_the_fixture_is_placed_with_list_calls_and_reads_as_the_provider_reports(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox(make_seed(regions=(REGION, OTHER_REGION)))
    provider = alibaba(box)
    hk_group = created(
        provider.create(
            group("hk-vbr1", vbr=vbr_id(1, 0), region=OTHER_REGION, key=SHARED_KEY, description="Hong Kong VBR 1"),
            "t-1",
        )
    )
    hk_peer = created(provider.create(peer(hk_group, "10.0.0.2", region=OTHER_REGION), "t-2"))
    sg_group = created(provider.create(group("sg-vbr1", vbr=vbr_id(0, 0), key=SG_KEY, peerAsn=65020), "t-3"))
    sg_peer = created(provider.create(peer(sg_group, "10.0.0.3", enableBfd=False, bfdMultiHop=None), "t-4"))
    content = fixture_with_ids(
        {
            "bgpg-fixturehk000000001": hk_group,
            "bgpp-fixturehk000000001": hk_peer,
            "bgpg-fixturesg000000001": sg_group,
            "bgpp-fixturesg000000001": sg_peer,
        }
    )
    state = parse_state(content, "terraform.tfstate")
    read = read_objects(state.instances, terraform_types(CLOUDS.values()))
    ours = [obj for obj in read.objects if obj.cloud == CLOUD.name]
    # Only the sg group names its region (`region_id`, provider 1.261.0 and later).
    assert [obj.live.region for obj in ours] == [None, None, REGION, None]

    box.reset_request_counts()
    placement = place_in_regions(ours, CLOUD, provider, [OTHER_REGION])
    counts = box.request_counts()
    assert placement.unplaced == ()
    assert placement.regions == (REGION, OTHER_REGION)  # given, and named by the sg group
    assert {name for name in counts if name.startswith("alibaba")} == {
        "alibaba DescribeBgpGroups",
        "alibaba DescribeBgpPeers",
    }
    assert counts["alibaba DescribeBgpGroups"] == 2 and counts["alibaba DescribeBgpPeers"] == 2  # one page each
    assert not [name for name in counts if any(verb in name for verb in MUTATING)]

    live = {
        obj.cloud_id: obj for obj in provider.refresh(AlibabaScope(regions=frozenset({REGION, OTHER_REGION}))).objects
    }
    for obj in placement.placed:
        seen = live[obj.live.cloud_id]
        assert (obj.live.kind, obj.live.region, obj.live.status) == (seen.kind, seen.region, seen.status), obj.address
        assert obj.live.attrs == seen.attrs, obj.address
        assert obj.live.secrets == seen.secrets, obj.address


def test_ids_not_found_are_reported_with_their_provider_configuration(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox(make_seed(regions=(REGION, OTHER_REGION)))
    provider = alibaba(box)
    read = read_objects(parse_state(FIXTURE.read_bytes(), "s").instances, terraform_types(CLOUDS.values()))
    ours = [obj for obj in read.objects if obj.cloud == CLOUD.name]
    placement = place_in_regions(ours, CLOUD, provider, [OTHER_REGION])
    assert [(u.address, u.cloud_id) for u in placement.unplaced] == [
        ('module.alibaba.module.vbr["hk"].alicloud_vpc_bgp_group.this["hk-1"]', "bgpg-fixturehk000000001"),
        ('module.alibaba.module.vbr["hk"].alicloud_vpc_bgp_peer.this[0]', "bgpp-fixturehk000000001"),
        ('alicloud_vpc_bgp_peer.sg["peer\'s \\"edge\\""]', "bgpp-fixturesg000000001"),
    ]
    assert placement.unplaced[0].reason == (
        f"not found in {REGION}, {OTHER_REGION}; the region of its provider configuration (alicloud.hk) "
        "is not in the Terraform state"
    )
    assert [obj.address for obj in placement.placed] == ["alicloud_vpc_bgp_group.sg"]


def test_with_no_region_to_look_in_nothing_is_called(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox()
    provider = alibaba(box)
    mapped = bgp_peer({"id": "bgpp-1", "bgp_group_id": "bgpg-1", "peer_ip_address": "10.0.0.1"})
    assert mapped is not None
    obj = TerraformObject("alicloud_vpc_bgp_peer.p", "alicloud_vpc_bgp_peer.p", "alicloud", CLOUD.name, mapped)
    box.reset_request_counts()
    placement = place_in_regions([obj], CLOUD, provider, [])
    assert placement.unplaced[0].reason.startswith("no region was given to look for it in")
    assert not [name for name in box.request_counts() if name.startswith("alibaba")]


def test_a_group_without_a_key_and_defaults_left_empty() -> None:
    mapped = bgp_group(
        {"id": "bgpg-1", "router_id": "vbr-1", "peer_asn": 65010, "auth_key": "", "local_asn": 0, "ip_version": ""}
    )
    assert mapped is not None
    assert mapped.secrets == {"authKey": None}
    assert mapped.attrs["localAsn"] == 45104 and mapped.attrs["ipVersion"] == "IPv4"
    assert "regionId" not in mapped.attrs and mapped.region is None


@pytest.mark.parametrize(
    ("reader", "attributes", "message"),
    [
        (
            bgp_group,
            {"id": "bgpg-1", "auth_key": "fixture-sg-key-3Rm"},
            "attributes `router_id`, `peer_asn` are missing",
        ),
        (bgp_peer, {"id": "bgpp-1", "bgp_group_id": "bgpg-1"}, "attribute `peer_ip_address` is missing"),
    ],
)
def test_unreadable_attributes_are_named_never_quoted(
    reader: Callable[[dict[str, Any]], object], attributes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        reader(attributes)
    assert not [key for key in FIXTURE_KEYS if key in str(caught.value)]


def test_the_key_stays_in_memory() -> None:
    mapped = bgp_group({"id": "g", "router_id": "vbr-1", "peer_asn": 1, "auth_key": SG_KEY})
    assert mapped is not None and mapped.secrets["authKey"] == SecretValue(SG_KEY)
    assert SG_KEY not in repr(mapped) + str(mapped) + json.dumps(dict(mapped.attrs))
