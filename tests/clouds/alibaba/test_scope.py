"""What Alibaba lists and counts at each `--unmanaged-scope` level, and how `generate` takes it."""

from __future__ import annotations

import pytest

from reconciler.clouds.alibaba.scope import AlibabaScope, refresh_scope, unmanaged_scope
from reconciler.clouds.base import UnmanagedLevel
from reconciler.errors import UsageError
from reconciler.model import StateDoc
from tests.builders import VBR, VBR_OTHER, group, live_of, live_peer, peer


def regions(level: UnmanagedLevel, args: tuple[str, ...] = ()) -> frozenset[str]:
    scope = refresh_scope([group(), peer()], StateDoc(), level, args)
    assert isinstance(scope, AlibabaScope)
    return scope.regions


def test_the_refresh_lists_the_regions_given_only_at_the_account_level() -> None:
    assert regions(UnmanagedLevel.MANIFESTS) == {"ap-southeast-1"}
    assert regions(UnmanagedLevel.REGIONS) == {"ap-southeast-1"}  # whole regions are listed anyway
    assert regions(UnmanagedLevel.ACCOUNT, ("cn-hongkong", "us-east-1")) == {
        "ap-southeast-1",
        "cn-hongkong",
        "us-east-1",
    }


@pytest.mark.parametrize("arg", ["", "Hong Kong", "cn-hongkong:vbr-1", "cn_hongkong", "../etc"])
def test_a_bad_region_is_refused_before_any_call(arg: str) -> None:
    with pytest.raises(UsageError) as refused:
        regions(UnmanagedLevel.ACCOUNT, (arg,))
    assert f"--alibaba {arg!r} is not an Alibaba region id" in str(refused.value)
    assert "cn-hongkong or ap-southeast-1" in str(refused.value)
    with pytest.raises(UsageError):
        unmanaged_scope([group()], (), UnmanagedLevel.ACCOUNT, (arg,))


def test_where_and_generate_arguments_per_level() -> None:
    mine = live_of(group(), "bgpg-1")
    neighbour = live_of(group("n", vbr=VBR_OTHER), "bgpg-2")
    neighbour_peer = live_peer(peer("x", ip="10.9.0.1"), "bgp-2", "bgpg-2")
    far = live_of(group("far", vbr="vbr-hk", regionId="cn-hongkong"), "bgpg-hk")
    live = [mine, neighbour, neighbour_peer, far]

    def where(level: UnmanagedLevel, args: tuple[str, ...] = ()) -> dict[str, str | None]:
        scope = unmanaged_scope([group()], live, level, args)
        return {o.cloud_id: scope.where(o) for o in live}

    assert where(UnmanagedLevel.MANIFESTS) == {"bgpg-1": f"VBR {VBR}", "bgpg-2": None, "bgp-2": None, "bgpg-hk": None}
    assert where(UnmanagedLevel.REGIONS) == {
        "bgpg-1": f"VBR {VBR}",
        "bgpg-2": f"VBR {VBR_OTHER}",
        "bgp-2": f"VBR {VBR_OTHER}",
        "bgpg-hk": None,
    }
    assert where(UnmanagedLevel.ACCOUNT, ("cn-hongkong",))["bgpg-hk"] == "VBR vbr-hk"
    scope = unmanaged_scope([group()], live, UnmanagedLevel.ACCOUNT, ("cn-hongkong",))
    assert scope.generate_args([neighbour, neighbour_peer, far]) == (
        f"ap-southeast-1:{VBR_OTHER}",
        "cn-hongkong:vbr-hk",
    )
    orphan = live_peer(peer("o", ip="10.9.0.9"), "bgp-9", "bgpg-unknown")  # its group was not listed
    assert scope.generate_args([neighbour, orphan]) == ("ap-southeast-1",)  # the whole region covers both
