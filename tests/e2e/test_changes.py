"""Changes a network engineer makes every week, end to end against the sandbox: moving a group
to another VBR, renaming, moving a peer between groups, rotating and removing keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.sandbox import Sandbox, Seed
from tests.e2e.conftest import cli, documents, edit_document, live_counts, write_documents
from tests.e2e.test_drift import state_ids

NEW_VBR = "vbr-t4nsgcolo0000000000009"


def plan_actions(*args: str) -> dict[str, str]:
    result = cli("plan", "bgp", "--format", "json", *args)
    assert result.code == 0, result.both
    return {c["address"]: c["action"] for c in json.loads(result.out)["resource_changes"] if c["action"] != "no-op"}


def rename(root: Path, kind: str, old: str, new: str) -> None:
    for path in sorted(root.rglob("*.yaml")):
        docs = documents(path)
        for doc in docs:
            if doc["kind"] == kind and doc["metadata"]["name"] == old:
                doc["metadata"]["name"] = new
            if kind == "AlibabaBgpGroup" and doc["spec"].get("bgpGroup") == old:
                doc["spec"]["bgpGroup"] = new
        write_documents(path, docs)


@pytest.mark.profiles
def test_moving_a_group_to_another_vbr_replaces_it_and_its_peers(project: Path, sandbox: Sandbox) -> None:
    assert cli("apply", "bgp", "--auto-approve").code == 0
    sandbox.add_seed(
        Seed.from_mapping(
            {
                "alibaba": {
                    "vbrs": [{"vbrId": NEW_VBR, "regionId": "ap-southeast-1", "status": "active", "bfdEnabled": True}]
                }
            }
        )
    )
    edit_document(project / "bgp", "AlibabaBgpGroup", "sg-colo-core", virtualBorderRouterId=NEW_VBR)
    assert plan_actions() == {
        "AlibabaBgpGroup/sg-colo-core": "replace",
        "AlibabaBgpPeer/sg-colo-core-r1": "replace",
        "AlibabaBgpPeer/sg-colo-core-r2": "replace",
    }
    applied = cli("apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    groups = sandbox.objects().alibaba_groups.values()
    assert [g["RouterId"] for g in groups if g["Name"] == "sg-colo-core"] == [NEW_VBR]
    assert live_counts(sandbox) == {"equinix_bgp": 4, "alibaba_groups": 5, "alibaba_peers": 6}
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


@pytest.mark.profiles
def test_renaming_a_peer_takes_the_object_over(project: Path, sandbox: Sandbox) -> None:
    assert cli("apply", "bgp", "--auto-approve").code == 0
    before = state_ids(project)["AlibabaBgpPeer/sg-colo-core-r2"]
    rename(project / "bgp", "AlibabaBgpPeer", "sg-colo-core-r2", "sg-colo-core-router2")
    assert plan_actions() == {"AlibabaBgpPeer/sg-colo-core-router2": "adopt"}
    assert cli("apply", "bgp", "--auto-approve").code == 0
    ids = state_ids(project)
    assert ids["AlibabaBgpPeer/sg-colo-core-router2"] == before
    assert "AlibabaBgpPeer/sg-colo-core-r2" not in ids
    assert live_counts(sandbox)["alibaba_peers"] == 6
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


def test_moving_a_peer_to_another_group_replaces_it(project: Path, sandbox: Sandbox) -> None:
    assert cli("apply", "bgp", "--auto-approve").code == 0
    edit_document(project / "bgp", "AlibabaBgpPeer", "sg-colo-core-r2", bgpGroup="sg-vbr1")
    assert plan_actions() == {"AlibabaBgpPeer/sg-colo-core-r2": "replace"}
    assert cli("apply", "bgp", "--auto-approve").code == 0
    ids = state_ids(project)
    peer = sandbox.objects().alibaba_peers[ids["AlibabaBgpPeer/sg-colo-core-r2"]]
    assert peer["BgpGroupId"] == ids["AlibabaBgpGroup/sg-vbr1"]
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


@pytest.mark.profiles
def test_rotating_and_removing_keys(project: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("apply", "bgp", "--auto-approve").code == 0
    monkeypatch.setenv("SG_BGP_KEY", "RotatedSgKey2")
    plan = cli("plan", "bgp")
    assert "(sensitive value changed)" in plan.out and "RotatedSgKey2" not in plan.out
    assert plan_actions() == {
        "AlibabaBgpGroup/sg-vbr1": "update",
        "EquinixBgpPeering/sg-ne1-to-alibaba": "update",
    }
    assert cli("apply", "bgp", "--auto-approve").code == 0
    ids = state_ids(project)
    objects = sandbox.objects()
    assert objects.alibaba_groups[ids["AlibabaBgpGroup/sg-vbr1"]]["AuthKey"] == "RotatedSgKey2"
    assert objects.equinix_bgp[ids["EquinixBgpPeering/sg-ne1-to-alibaba"]]["authenticationKey"] == "RotatedSgKey2"
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0

    edit_document(project / "bgp", "AlibabaBgpGroup", "hk-office", authKey=None)
    assert plan_actions() == {"AlibabaBgpGroup/hk-office": "update"}
    assert cli("apply", "bgp", "--auto-approve").code == 0
    assert sandbox.objects().alibaba_groups[ids["AlibabaBgpGroup/hk-office"]]["AuthKey"] == ""
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


CRASH_AFTER_UPDATE = """
import os, sys
from reconciler.clouds.alibaba.provider import AlibabaProvider
real = AlibabaProvider.update
def update_then_die(self, *args, **kwargs):
    real(self, *args, **kwargs)
    os._exit(137)  # killed right after the cloud accepted the change, before it was journaled
AlibabaProvider.update = update_then_die
from reconciler.cli import main
main(["apply", "bgp", "--auto-approve"])
"""


def test_a_rename_killed_mid_apply_never_deletes_the_object(project: Path, sandbox: Sandbox) -> None:
    import subprocess
    import sys

    assert cli("apply", "bgp", "--auto-approve").code == 0
    before = state_ids(project)["AlibabaBgpPeer/sg-colo-core-r2"]
    rename(project / "bgp", "AlibabaBgpPeer", "sg-colo-core-r2", "sg-colo-core-router2")
    edit_document(project / "bgp", "AlibabaBgpPeer", "sg-colo-core-router2", bfdMultiHop=3)
    assert plan_actions() == {"AlibabaBgpPeer/sg-colo-core-router2": "adopt"}
    crashed = subprocess.run([sys.executable, "-c", CRASH_AFTER_UPDATE], capture_output=True, text=True, check=False)
    assert crashed.returncode == 137, crashed.stderr

    assert plan_actions() == {}  # recovery settled both the takeover and the release
    ids = state_ids(project)
    assert ids["AlibabaBgpPeer/sg-colo-core-router2"] == before
    assert "AlibabaBgpPeer/sg-colo-core-r2" not in ids
    assert cli("apply", "bgp", "--auto-approve").code == 0
    assert before in sandbox.objects().alibaba_peers
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


@pytest.mark.profiles
def test_renaming_a_group_renames_it_in_place_and_keeps_its_peers(project: Path, sandbox: Sandbox) -> None:
    assert cli("apply", "bgp", "--auto-approve").code == 0
    before = state_ids(project)
    rename(project / "bgp", "AlibabaBgpGroup", "sg-colo-core", "sg-colo-main")
    assert plan_actions() == {"AlibabaBgpGroup/sg-colo-main": "adopt"}
    text = cli("plan", "bgp").out
    assert "renamed from AlibabaBgpGroup/sg-colo-core" in text and 'name: "sg-colo-core" -> "sg-colo-main"' in text
    applied = cli("apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    after = state_ids(project)
    assert after["AlibabaBgpGroup/sg-colo-main"] == before["AlibabaBgpGroup/sg-colo-core"]
    assert after["AlibabaBgpPeer/sg-colo-core-r1"] == before["AlibabaBgpPeer/sg-colo-core-r1"]
    assert sandbox.objects().alibaba_groups[after["AlibabaBgpGroup/sg-colo-main"]]["Name"] == "sg-colo-main"
    assert live_counts(sandbox) == {"equinix_bgp": 4, "alibaba_groups": 5, "alibaba_peers": 6}
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


@pytest.mark.profiles
def test_two_peers_swapping_addresses_converge_without_a_refused_call(project: Path, sandbox: Sandbox) -> None:
    """Two peers of one group trade addresses: whatever the order, one would hold the other's
    address for a moment, so one is replaced and the other's update waits for its delete."""
    assert cli("apply", "bgp", "--auto-approve").code == 0
    edit_document(project / "bgp", "AlibabaBgpPeer", "sg-colo-core-r1", peerIpAddress="10.10.0.3")
    edit_document(project / "bgp", "AlibabaBgpPeer", "sg-colo-core-r2", peerIpAddress="10.10.0.2")
    actions = plan_actions()
    assert sorted(actions.values()) == ["replace", "update"], actions
    applied = cli("apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    peers = {p["PeerIpAddress"] for p in sandbox.objects().alibaba_peers.values()}
    assert {"10.10.0.2", "10.10.0.3"} <= peers
    assert live_counts(sandbox) == {"equinix_bgp": 4, "alibaba_groups": 5, "alibaba_peers": 6}
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0
