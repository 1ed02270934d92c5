"""How far drift looks for unmanaged objects (`--unmanaged-scope manifests|regions|account`), what the
coverage says it counts, and the `reconciler generate` command that takes the unmanaged objects."""

from __future__ import annotations

import shlex
from dataclasses import replace
from typing import Any

from reconciler.clouds.base import UnmanagedLevel
from reconciler.drift import DriftReport
from reconciler.model import DriftIgnore, LiveObject
from tests.builders import CONN, CONN_OTHER, VBR_OTHER, equinix, group, live_of, live_peer, peer
from tests.drift.test_compare import managed_trio, run

DEVICE = "0b7c3e2a-1111-4222-8333-444455556666"
DEVICE_OTHER = "0b7c3e2a-9999-4222-8333-444455556666"
CONN_THIRD = "22222222-0ce3-4950-be27-3d3e678e6873"


def on_device(obj: LiveObject, device: str) -> LiveObject:
    return replace(obj, info={"virtualDeviceUuid": device})


def world() -> tuple[list[Any], Any, list[LiveObject]]:
    """The managed trio (its Equinix config on DEVICE), plus: a group and peer on another VBR of the
    same region, a group in another region, a config on another connection of DEVICE, and a config
    on another device."""
    desired, state, live = managed_trio()
    live[0] = on_device(live[0], DEVICE)
    same_region = live_of(group("other-vbr", vbr=VBR_OTHER), "bgpg-2")
    same_region_peer = live_peer(peer("x", ip="10.9.0.5"), "bgp-2", "bgpg-2")
    far = live_of(group("far", vbr="vbr-j6cexample0000000001", regionId="cn-hongkong"), "bgpg-hk")
    same_device = on_device(live_of(equinix("z", conn=CONN_OTHER), "eq-2"), DEVICE)
    other_device = on_device(live_of(equinix("w", conn=CONN_THIRD), "eq-3"), DEVICE_OTHER)
    return desired, state, [*live, same_region, same_region_peer, far, same_device, other_device]


def unmanaged(report: DriftReport) -> dict[str, str]:
    return {i.cloud_id: i.scope for i in report.findings if i.category == "unmanaged"}


def test_manifests_level_is_what_the_manifests_name() -> None:
    report = run(*world())
    assert unmanaged(report) == {}
    assert (report.managed_in_scope, report.total_in_scope) == (3, 3)
    assert report.unmanaged_level is UnmanagedLevel.MANIFESTS
    assert report.generate_command is None


def test_regions_level_adds_the_other_vbrs_of_used_regions_and_the_other_connections_of_used_devices() -> None:
    report = run(*world(), unmanaged_level=UnmanagedLevel.REGIONS)
    assert unmanaged(report) == {
        "bgpg-2": f"VBR {VBR_OTHER}",
        "bgp-2": f"VBR {VBR_OTHER}",
        "eq-2": f"device {DEVICE}",
    }  # not the group in cn-hongkong, nor the config on another device
    assert (report.managed_in_scope, report.total_in_scope) == (3, 6)
    assert report.coverage == "3 of 6 BGP objects in scope are managed (50%)"
    assert report.summary_line().endswith(
        "3 of 6 BGP objects in scope are managed (50%); "
        "scope: regions (everything in the regions and on the devices the manifests use)."
    )
    assert report.generate_command == (
        f"reconciler generate --out generated --equinix {DEVICE} --alibaba ap-southeast-1:{VBR_OTHER}"
    )


def test_account_level_adds_the_regions_given_and_every_equinix_config() -> None:
    desired, state, live = world()
    without_region = run(desired, state, live, unmanaged_level=UnmanagedLevel.ACCOUNT)
    assert set(unmanaged(without_region)) == {"bgpg-2", "bgp-2", "eq-2", "eq-3"}
    report = run(desired, state, live, unmanaged_level=UnmanagedLevel.ACCOUNT, scope_args={"alibaba": ("cn-hongkong",)})
    assert unmanaged(report) == {
        "bgpg-2": f"VBR {VBR_OTHER}",
        "bgp-2": f"VBR {VBR_OTHER}",
        "bgpg-hk": "VBR vbr-j6cexample0000000001",
        "eq-2": f"device {DEVICE}",
        "eq-3": f"device {DEVICE_OTHER}",
    }
    assert (report.managed_in_scope, report.total_in_scope) == (3, 8)
    assert "scope: account (everything the credentials can list, in the regions given)" in report.summary_line()
    assert shlex.split(report.generate_command or "") == [
        "reconciler",
        "generate",
        "--out",
        "generated",
        "--equinix",
        DEVICE,
        "--equinix",
        DEVICE_OTHER,
        "--alibaba",
        f"ap-southeast-1:{VBR_OTHER}",
        "--alibaba",
        "cn-hongkong:vbr-j6cexample0000000001",
    ]


def test_the_generate_command_leaves_out_accepted_objects_and_quotes_what_the_cloud_says() -> None:
    desired, state, live = world()
    accept = DriftIgnore(unmanaged="eq-2", reason="lab")
    desired[0] = equinix(ignore=(accept,))
    odd = on_device(live_of(equinix("q", conn="33333333-0ce3-4950-be27-3d3e678e6873"), "eq-4"), "dev; rm -rf /")
    report = run(desired, state, [*live, odd], unmanaged_level=UnmanagedLevel.ACCOUNT)
    words = shlex.split(report.generate_command or "")
    assert DEVICE not in words  # eq-2 is accepted drift: nothing to bring in on its device
    assert words[words.index("dev; rm -rf /") - 1] == "--equinix"  # one quoted word, never shell syntax
    assert "'dev; rm -rf /'" in (report.generate_command or "")


def test_an_unknown_device_or_vbr_widens_the_generate_argument() -> None:
    desired, state, live = managed_trio()
    no_device = live_of(equinix("z", conn=CONN), "eq-9")  # the list reported no device
    orphan = live_peer(peer("o", ip="10.0.0.77"), "bgp-orphan", "bgpg-gone")  # its group is not listed
    report = run(desired, state, [*live, no_device, orphan], unmanaged_level=UnmanagedLevel.REGIONS)
    assert unmanaged(report) == {"eq-9": f"connection {CONN}", "bgp-orphan": "region ap-southeast-1"}
    assert report.generate_command == "reconciler generate --out generated --equinix all --alibaba ap-southeast-1"
