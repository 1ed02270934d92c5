"""`reconciler import`, `state rm` and refresh-only plans/applies end to end."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.sandbox import Sandbox
from tests.e2e.conftest import cli, edit_document, live_counts
from tests.e2e.test_drift import alibaba_client, state_ids


def test_import_checks_the_natural_key_and_records_the_object(project: Path, sandbox: Sandbox) -> None:
    from alibabacloud_vpc20160428 import models as vpc

    assert cli("apply", "bgp", "--auto-approve").code == 0
    ids = state_ids(project)
    peer, group = "AlibabaBgpPeer/sg-colo-core-r2", "AlibabaBgpGroup/sg-colo-core"
    removed = cli("state", "rm", peer)
    assert removed.code == 0, removed.both
    assert peer not in state_ids(project)

    taken = cli("import", peer, ids["AlibabaBgpPeer/sg-colo-core-r1"], "bgp")
    assert taken.code == 1 and "already managed as AlibabaBgpPeer/sg-colo-core-r1" in taken.err
    rogue = (
        alibaba_client(sandbox, "ap-southeast-1")
        .create_bgp_peer(
            vpc.CreateBgpPeerRequest(region_id="ap-southeast-1", bgp_group_id=ids[group], peer_ip_address="10.10.0.9")
        )
        .body.bgp_peer_id
    )
    wrong = cli("import", peer, rogue, "bgp")
    assert wrong.code == 1
    assert "does not match" in wrong.err and "peerIpAddress" in wrong.err and "10.10.0.9" in wrong.err
    missing = cli("import", peer, "bgp-doesnotexist000000000", "bgp")
    assert missing.code == 1 and "no AlibabaBgpPeer with id" in missing.err
    twice = cli("import", group, ids[group], "--path", "bgp")  # the deprecated spelling still works
    assert twice.code == 1 and "already managed" in twice.err
    assert "`import --path PATH` is deprecated: give the paths after CLOUD_ID" in twice.err

    imported = cli("import", peer, ids[peer], "bgp")
    assert imported.code == 0, imported.both
    assert state_ids(project)[peer] == ids[peer]
    # The state records the file that declares it, so a plan over other paths leaves it alone.
    recorded = json.loads((project / "state" / "reconciler.json").read_text())["resources"][peer]
    assert recorded["manifest_file"].endswith(".yaml") and (project / "bgp").resolve().name in recorded["manifest_file"]
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0
    assert live_counts(sandbox)["alibaba_peers"] == 7  # the six managed ones and the rogue


def test_refresh_only_accepts_live_values_into_state(project: Path, sandbox: Sandbox) -> None:
    from alibabacloud_vpc20160428 import models as vpc

    assert cli("apply", "bgp", "--auto-approve").code == 0
    ids = state_ids(project)
    hk = alibaba_client(sandbox, "cn-hongkong")
    hk.modify_bgp_group_attribute(
        vpc.ModifyBgpGroupAttributeRequest(
            region_id="cn-hongkong", bgp_group_id=ids["AlibabaBgpGroup/hk-vbr1"], description="Edited by the NOC"
        )
    )
    plan = cli("plan", "bgp", "--refresh-only", "--format", "json", "--detailed-exitcode")
    assert plan.code == 2, plan.both
    changes = {c["address"]: c for c in json.loads(plan.out)["resource_changes"] if c["action"] != "no-op"}
    assert list(changes) == ["AlibabaBgpGroup/hk-vbr1"]
    assert changes["AlibabaBgpGroup/hk-vbr1"]["fields"][0]["after"] == "Edited by the NOC"

    accepted = cli("apply", "bgp", "--refresh-only", "--auto-approve")
    assert accepted.code == 0, accepted.both
    state = json.loads((project / "state" / "reconciler.json").read_text())
    assert state["resources"]["AlibabaBgpGroup/hk-vbr1"]["attributes"]["description"] == "Edited by the NOC"
    assert cli("plan", "bgp", "--refresh-only", "--detailed-exitcode").code == 0
    # The manifests still say otherwise: a normal plan proposes to restore them.
    assert cli("plan", "bgp", "--detailed-exitcode").code == 2
    edit_document(project / "bgp", "AlibabaBgpGroup", "hk-vbr1", description="Edited by the NOC")
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0
