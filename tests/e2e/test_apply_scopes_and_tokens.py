"""Against the real sandbox, with its realism knobs: apply never sends two mutations on one VBR at
once (so it never causes an OperationConflict), and a call again after a refusal carries a new
ClientToken (a cloud may remember a token together with its refusal)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from reconciler.sandbox import Sandbox, Seed
from tests.e2e.conftest import EXAMPLES, cli, edit_document, remove_document, spawn
from tests.e2e.test_drift import state_ids

WAIT = 60.0  # seconds: how long a test waits for something that should happen soon
OFFICE_VBR = "vbr-j6nhkoffice00000000002"


def requests(box: Sandbox, action: str) -> int:
    return box.request_counts().get(f"alibaba {action}", 0)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


def test_mutations_on_one_vbr_are_sent_one_at_a_time_so_the_cloud_never_refuses_one(
    project: Path, sandbox: Sandbox
) -> None:
    """With OperationConflict on (a VBR refuses a change while one of its objects changes), every
    create, update and delete is accepted at its first call: none is ever refused and sent again."""
    sandbox.configure(alibaba_busy_vbr="conflict", provision_delay=0.2)
    applied = cli("apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    assert (requests(sandbox, "CreateBgpGroup"), requests(sandbox, "CreateBgpPeer")) == (5, 6)

    # Three changes on the colo VBR, one on another VBR, all in one apply. The peers' group does
    # not change: the peers find their VBR through it all the same.
    bgp = project / "bgp"
    edit_document(bgp, "AlibabaBgpGroup", "sg-colo-core-v6", description="Colo core IPv6, renumbered")
    edit_document(bgp, "AlibabaBgpPeer", "sg-colo-core-r1", bfdMultiHop=3)
    edit_document(bgp, "AlibabaBgpPeer", "sg-colo-core-r2", enableBfd=False, bfdMultiHop=None)
    edit_document(bgp, "AlibabaBgpGroup", "sg-vbr1", description="Singapore VBR 1, renumbered")
    sandbox.reset_request_counts()
    applied = cli("apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    assert "4 done, 0 failed" in applied.out
    modified = (requests(sandbox, "ModifyBgpGroupAttribute"), requests(sandbox, "ModifyBgpPeerAttribute"))
    assert modified == (2, 2)

    # A group and its peers removed from the colo VBR, another peer removed there too.
    remove_document(bgp, "AlibabaBgpPeer", "sg-colo-core-r1-v6")
    remove_document(bgp, "AlibabaBgpGroup", "sg-colo-core-v6")
    remove_document(bgp, "AlibabaBgpPeer", "sg-colo-core-r2")
    sandbox.reset_request_counts()
    applied = cli("apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    assert (requests(sandbox, "DeleteBgpPeer"), requests(sandbox, "DeleteBgpGroup")) == (2, 1)
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


def office_vbr(status: str) -> Seed:
    seed: dict[str, Any] = yaml.safe_load((EXAMPLES / "sandbox-seed.yaml").read_text())
    (vbr,) = [v for v in seed["alibaba"]["vbrs"] if v["vbrId"] == OFFICE_VBR]
    return Seed.from_mapping({"alibaba": {"vbrs": [{**vbr, "status": status}]}})


def test_a_create_refused_for_now_is_sent_again_with_a_new_token(project: Path, sandbox: Sandbox) -> None:
    """The cloud remembers a ClientToken with its refusal: were the call again to carry the same
    token, the cloud would answer with the same refusal until the step timed out."""
    bgp = project / "bgp"
    remove_document(bgp, "AlibabaBgpPeer", "hk-office-edge1")
    remove_document(bgp, "AlibabaBgpGroup", "hk-office")
    assert cli("apply", "bgp", "--auto-approve").code == 0

    sandbox.configure(alibaba_token_remembers_refusals=True)
    sandbox.add_seed(office_vbr("unconfirmed"))  # its groups are refused: InvalidStatus.CannotOperate
    shutil.copy(EXAMPLES / "alibaba" / "cn-hongkong.yaml", bgp / "alibaba" / "cn-hongkong.yaml")
    sandbox.reset_request_counts()
    apply = spawn("apply", "bgp", "--auto-approve", "--timeout", "60")
    try:
        wait_until(lambda: requests(sandbox, "CreateBgpGroup") >= 1, "the group's create was refused")
        sandbox.add_seed(office_vbr("active"))
        out, err = apply.communicate(timeout=WAIT)
    finally:
        apply.kill()
    assert apply.returncode == 0, out + err
    assert requests(sandbox, "CreateBgpGroup") >= 2  # refused, then accepted under a new token
    group = sandbox.objects().alibaba_groups[state_ids(project)["AlibabaBgpGroup/hk-office"]]
    assert (group["RouterId"], group["Status"]) == (OFFICE_VBR, "Available")
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0
