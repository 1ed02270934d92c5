"""`reconciler drift --unmanaged-scope manifests|regions|account` end to end: objects made by hand
with the real Alibaba SDK and raw Equinix HTTP beyond what the manifests name are found at the
level that covers them and not before; the coverage names its scope; the markdown ends with the
`reconciler generate` command that takes them; the refresh stays on list APIs."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox import Sandbox, Seed
from tests.e2e.conftest import cli, post_equinix_config, write_documents
from tests.e2e.test_drift import alibaba_client, drift_json

SG_DEVICE = "5f1e8a52-3c1d-4d6e-9a7b-0c2f4e6a8b10"  # sg-ne1, which the manifests' connections are on
SG_SPARE_CONNECTION = "4c8e1f20-6a3b-4d5c-8e7f-9a0b1c2d3e4f"  # another connection of sg-ne1
LAB_DEVICE = "6e2d4c1b-8a9f-4e3d-b2c1-0f9e8d7c6b5a"  # a device no manifest uses
LAB_CONNECTION = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
SG_SPARE_VBR = "vbr-t4nsgspare00000000003"  # another VBR of ap-southeast-1, which the manifests use
US_REGION = "us-east-1"  # a region no manifest uses
US_VBR = "vbr-0xiuseast0000000000001"
SECRET = "HandMadeKeyNotForOutput7"

EXTRA = {
    "equinix": {
        "devices": [
            {"uuid": LAB_DEVICE, "name": "lab-ne", "status": "PROVISIONED", "licenseStatus": "REGISTERED", "asn": 65030}
        ],
        "connections": [
            {"uuid": SG_SPARE_CONNECTION, "deviceUuid": SG_DEVICE, "state": "PROVISIONED"},
            {"uuid": LAB_CONNECTION, "deviceUuid": LAB_DEVICE, "state": "PROVISIONED"},
        ],
    },
    "alibaba": {
        "regions": ["ap-southeast-1", "cn-hongkong", US_REGION],
        "vbrs": [
            {"vbrId": SG_SPARE_VBR, "regionId": "ap-southeast-1", "status": "active", "bfdEnabled": True},
            {"vbrId": US_VBR, "regionId": US_REGION, "status": "active", "bfdEnabled": True},
        ],
    },
}


def create_group(box: Sandbox, region: str, vbr: str, name: str) -> str:
    from alibabacloud_vpc20160428 import models as vpc

    request = vpc.CreateBgpGroupRequest(region_id=region, router_id=vbr, peer_asn=65040, name=name, auth_key=SECRET)
    return str(alibaba_client(box, region).create_bgp_group(request).body.bgp_group_id)


def equinix_config(connection: str, local: str) -> dict[str, Any]:
    return {
        "connectionUuid": connection,
        "localIpAddress": f"{local}/30",
        "localAsn": 65010,
        "remoteIpAddress": local.rpartition(".")[0] + "." + str(int(local.rpartition(".")[2]) + 1),
        "remoteAsn": 64512,
        "authenticationKey": SECRET,
    }


@pytest.fixture
def hand_made(project: Path, sandbox: Sandbox) -> dict[str, str]:
    """The examples applied, then four objects made by hand: one per place a level reaches."""
    assert cli("apply", "bgp", "--auto-approve").code == 0
    sandbox.add_seed(Seed.from_mapping(EXTRA))
    return {
        "sg_spare_group": create_group(sandbox, "ap-southeast-1", SG_SPARE_VBR, "spare"),
        "us_group": create_group(sandbox, US_REGION, US_VBR, "east"),
        "sg_spare_config": post_equinix_config(sandbox, equinix_config(SG_SPARE_CONNECTION, "10.60.0.1")),
        "lab_config": post_equinix_config(sandbox, equinix_config(LAB_CONNECTION, "10.70.0.1")),
    }


def unmanaged(data: dict[str, Any]) -> set[str]:
    return {i["cloud_id"] for i in data["items"] if i["category"] == "unmanaged" and not i["ignored"]}


def test_each_level_finds_what_it_covers_and_no_more(hand_made: dict[str, str]) -> None:
    code, data = drift_json()
    assert (code, unmanaged(data), data["summary"]["scope"], data["generate_command"]) == (0, set(), "manifests", None)

    code, data = drift_json("--unmanaged-scope", "regions")
    assert code == 2
    assert unmanaged(data) == {hand_made["sg_spare_group"], hand_made["sg_spare_config"]}
    assert data["summary"]["scope"] == "regions"
    scopes = {i["cloud_id"]: i["scope"] for i in data["items"]}
    assert scopes[hand_made["sg_spare_group"]] == f"VBR {SG_SPARE_VBR}"
    assert scopes[hand_made["sg_spare_config"]] == f"device {SG_DEVICE}"

    # Without a region, the account level adds every Equinix config (the lab device's).
    code, data = drift_json("--unmanaged-scope", "account")
    assert unmanaged(data) == {hand_made["sg_spare_group"], hand_made["sg_spare_config"], hand_made["lab_config"]}

    code, data = drift_json("--unmanaged-scope", "account", "--alibaba", US_REGION)
    assert code == 2
    assert unmanaged(data) == set(hand_made.values())
    total = data["summary"]["total_in_scope"]
    assert data["summary"]["managed_in_scope"] == total - 4
    assert data["summary"]["scope"] == "account"
    assert shlex.split(data["generate_command"]) == [
        "reconciler",
        "generate",
        "--out",
        "generated",
        "--equinix",
        SG_DEVICE,
        "--equinix",
        LAB_DEVICE,
        "--alibaba",
        f"ap-southeast-1:{SG_SPARE_VBR}",
        "--alibaba",
        f"{US_REGION}:{US_VBR}",
    ]
    # The generic spelling is the same request.
    assert unmanaged(drift_json("--unmanaged-scope", "account", "--scope", f"alibaba={US_REGION}")[1]) == set(
        hand_made.values()
    )


def test_coverage_names_the_scope_and_markdown_ends_with_the_generate_command(hand_made: dict[str, str]) -> None:
    text = cli("drift", "bgp", "--unmanaged-scope", "regions")
    assert text.code == 2, text.both
    assert "BGP objects in scope are managed" in text.out
    assert "; scope: regions (everything in the regions and on the devices the manifests use)." in text.out
    command = f"reconciler generate --out generated --equinix {SG_DEVICE} --alibaba ap-southeast-1:{SG_SPARE_VBR}"
    assert text.out.rstrip().endswith(command)

    markdown = cli("drift", "bgp", "--unmanaged-scope", "account", "--alibaba", US_REGION, "--format", "markdown")
    assert markdown.code == 2, markdown.both
    assert "**Coverage:** " in markdown.out and "; scope: account (everything the credentials can list" in markdown.out
    last = markdown.out.rstrip().splitlines()[-3:]
    assert last[0] == "```sh" and last[2] == "```"
    assert shlex.split(last[1])[:4] == ["reconciler", "generate", "--out", "generated"]
    assert f"--alibaba {US_REGION}:{US_VBR}" in last[1]
    for output in (text.both, markdown.both):
        assert SECRET not in output


def test_the_refresh_stays_on_list_apis(sandbox: Sandbox, hand_made: dict[str, str]) -> None:
    sandbox.reset_request_counts()
    assert cli("drift", "bgp", "--unmanaged-scope", "account", "--alibaba", US_REGION).code == 2
    counts = sandbox.request_counts()
    reads = {op: n for op, n in counts.items() if "token" not in op}
    # Groups and peers of three regions, one page each; every Equinix config in pages: never one
    # read per object.
    assert reads == {"alibaba DescribeBgpGroups": 3, "alibaba DescribeBgpPeers": 3, "equinix GET /ne/v1/bgp": 1}, counts


def test_bad_scope_options_are_refused_with_a_clear_message(project: Path) -> None:
    cases = {
        ("--unmanaged-scope", "account", "--alibaba", "Hong Kong"): "--alibaba 'Hong Kong' is not an Alibaba region id",
        ("--alibaba", US_REGION): "apply only with --unmanaged-scope account",
        ("--unmanaged-scope", "account", "--scope", "nowhere=x"): "--scope 'nowhere=x' is not CLOUD=ARG",
        ("--unmanaged-scope", "account", "--equinix", "all"): "Equinix takes no scope argument",
        ("--unmanaged-scope", "everything"): "'everything' is not one of 'manifests', 'regions', 'account'",
    }
    for args, message in cases.items():
        result = cli("drift", "bgp", *args)
        assert result.code == 1 and message in result.err, (args, result.both)
        assert "Traceback" not in result.both
        assert not (project / "state" / "reconciler.json").exists()  # nothing written, not even a state


def test_a_cloud_the_core_never_heard_of_gets_its_scope_arguments_through_the_generic_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """memcloud (tests/testcloud) at the account level takes routers as `--scope memcloud=ROUTER`."""
    from reconciler.clouds.base import Desired
    from tests.e2e.test_testcloud import KEY, MANIFESTS, by_hand, example
    from tests.testcloud import registered
    from tests.testcloud.kinds import ROUTER_BGP
    from tests.testcloud.provider import MemProvider

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEM_KEY", KEY)
    monkeypatch.delenv("RECONCILER_STATE", raising=False)
    with registered(settle_polls=2, max_page_size=2):
        write_documents(MANIFESTS, example())
        assert cli("apply", "bgp", "--auto-approve").code == 0
        console = MemProvider()
        elsewhere = Desired(
            ROUTER_BGP, "core", {"routerId": "rtr-core9", "name": "core", "localAsn": 65000, "peerAsn": 65020}
        )
        stray = by_hand(console, lambda: console.create(elsewhere, "console-1"))
        assert cli("drift", "bgp").code == 0  # another router: out of the manifests' scope
        result = cli(
            "drift", "bgp", "--format", "json", "--unmanaged-scope", "account", "--scope", "memcloud=rtr-core9"
        )
        assert result.code == 2, result.both
        report = json.loads(result.out)
        assert [(i["cloud_id"], i["scope"]) for i in report["items"]] == [(stray, "router rtr-core9")]
        assert report["generate_command"] == "reconciler generate --out generated --memcloud rtr-core9"
