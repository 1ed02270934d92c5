"""An apply is done only when the clouds show every desired value, keys included: a change the
cloud rolls back, or keeps only in part, fails the apply (exit 1) and names the address, against
the real sandbox. Keys are never shown, only whether the cloud has one."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.sandbox import FaultConfig, Sandbox
from tests.e2e.conftest import EXAMPLE_KEYS, cli, edit_document, remove_document
from tests.e2e.test_drift import state_ids

# The cloud's verdict has to wait for the read-lag grace (30 s) or for the step's timeout: a short
# timeout keeps these tests quick, and the message still says what the cloud shows.
TIMEOUT = "3"
NEW_KEY = "RotatedKeyNotReal2"


def failed_apply() -> str:
    result = cli("apply", "bgp", "--auto-approve", "--timeout", TIMEOUT)
    assert result.code == 1, result.both
    assert "0 done, 1 failed" in result.out, result.out
    assert NEW_KEY not in result.both and not any(key in result.both for key in EXAMPLE_KEYS.values())
    return result.out


def still_planned(address: str) -> None:
    plan = cli("plan", "bgp", "--detailed-exitcode")
    assert plan.code == 2, plan.both  # the clouds still differ from the manifests
    assert address in plan.out


def test_a_rolled_back_key_rotation_on_alibaba_fails_the_apply(
    project: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("apply", "bgp", "--auto-approve").code == 0
    sandbox.configure(alibaba=FaultConfig(provision_failure_rate=1.0))  # every change is rolled back
    monkeypatch.setenv("SG_COLO_BGP_KEY", NEW_KEY)
    out = failed_apply()
    assert (
        "  failed    AlibabaBgpGroup/sg-colo-core (update): timed out after 3 s waiting to be ready: "
        "the cloud did not keep the change (authKey is (sensitive): the cloud has another key)\n"
    ) in out
    group = sandbox.objects().alibaba_groups[state_ids(project)["AlibabaBgpGroup/sg-colo-core"]]
    assert group["Status"] == "Available" and group["AuthKey"] == EXAMPLE_KEYS["SG_COLO_BGP_KEY"]
    still_planned("AlibabaBgpGroup/sg-colo-core")


def test_a_rolled_back_change_on_alibaba_is_reported_field_by_field(
    project: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("apply", "bgp", "--auto-approve").code == 0
    sandbox.configure(alibaba=FaultConfig(provision_failure_rate=1.0))
    edit_document(project / "bgp", "AlibabaBgpGroup", "hk-office", peerAsn=64999)
    monkeypatch.setenv("HK_OFFICE_BGP_KEY", NEW_KEY)
    out = failed_apply()
    assert (
        "AlibabaBgpGroup/hk-office (update): timed out after 3 s waiting to be ready: the cloud did not keep "
        "the change (peerAsn is 64800, not 64999, authKey is (sensitive): the cloud has another key)\n"
    ) in out, out


def test_a_rolled_back_key_rotation_on_equinix_fails_the_apply(
    project: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("apply", "bgp", "--auto-approve").code == 0
    sandbox.configure(equinix=FaultConfig(provision_failure_rate=1.0))  # every change ends FAILED
    monkeypatch.setenv("AZURE_SG_BGP_KEY", NEW_KEY)
    out = failed_apply()
    assert "  failed    EquinixBgpPeering/sg-ne1-to-azure (update): provisioning ended FAILED\n" in out
    still_planned("EquinixBgpPeering/sg-ne1-to-azure")


def test_a_key_the_cloud_would_not_remove_fails_and_says_what_to_do(project: Path, sandbox: Sandbox) -> None:
    assert cli("apply", "bgp", "--auto-approve").code == 0
    sandbox.configure(equinix_empty_key_on_put="keep")  # an empty key on update leaves the key as it is
    edit_document(project / "bgp", "EquinixBgpPeering", "sg-ne1-to-azure", authenticationKey=None)
    out = failed_apply()
    assert (
        "  failed    EquinixBgpPeering/sg-ne1-to-azure (update): timed out after 3 s waiting to be ready: "
        "the cloud did not keep the change (authenticationKey is (sensitive): the cloud still has a key); "
        "the manifests want no key, but the cloud kept the one it had (a cloud may ignore a request to clear "
        "a key): remove the key in the cloud's console, or set a key in the manifests\n"
    ) in out
    config = sandbox.objects().equinix_bgp[state_ids(project)["EquinixBgpPeering/sg-ne1-to-azure"]]
    assert config["authenticationKey"] == EXAMPLE_KEYS["AZURE_SG_BGP_KEY"]


def test_changes_are_done_once_the_reads_show_them_through_read_lag(
    project: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For a while after a change, reads show the object as it was: the apply keeps reading."""
    assert cli("apply", "bgp", "--auto-approve").code == 0
    sandbox.configure(alibaba_read_lag=1.0, equinix_read_lag=1.0)
    bgp = project / "bgp"
    edit_document(bgp, "AlibabaBgpGroup", "sg-colo-core", description="Colo core, after the move")
    edit_document(bgp, "AlibabaBgpPeer", "sg-colo-core-r1", bfdMultiHop=3)
    edit_document(bgp, "EquinixBgpPeering", "hk-ne1-to-aws", remoteAsn=64999)
    remove_document(bgp, "AlibabaBgpPeer", "sg-colo-core-r2")
    monkeypatch.setenv("AZURE_SG_BGP_KEY", NEW_KEY)
    monkeypatch.setenv("HK_OFFICE_BGP_KEY", NEW_KEY)
    applied = cli("apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    assert "6 done, 0 failed" in applied.out
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0
