"""Data integrity under the clouds' least favourable behaviour, against the real sandbox: a delete
the cloud rolls back, a config whose provisioning FAILED, tokens after an older state copy is
restored, two objects where one belongs, and a soak with every fault on."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.model import JournalAction, JournalEntry, utc_now
from reconciler.sandbox import FaultConfig, Sandbox
from reconciler.state import open_backend
from tests.e2e.conftest import EXAMPLE_KEYS, Result, cli, edit_document, post_equinix_config, remove_document
from tests.e2e.test_drift import alibaba_client, state_ids
from tests.e2e.test_reliability import STATE, assert_converged

WAIT = 60.0  # seconds: how long a test waits for something that should happen soon
FAST = ("--read-lag", "1", "--timeout", "30")  # judge a change 1 s after it: the sandbox here has no read lag
AZURE = "EquinixBgpPeering/sg-ne1-to-azure"
AZURE_ATTRS = {
    "connectionUuid": "3b6d2c1e-8f4a-4e7b-9c5d-1a2b3c4d5e6f",
    "localIpAddress": "192.168.100.1/30",
    "localAsn": 65010,
    "remoteIpAddress": "192.168.100.2",
    "remoteAsn": 12076,
}


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def apply(*args: str) -> Result:
    return cli("apply", "bgp", "--auto-approve", *FAST, *args)


def test_a_delete_the_cloud_rolls_back_fails_and_the_object_stays_managed(project: Path, sandbox: Sandbox) -> None:
    assert apply().code == 0
    peer = "AlibabaBgpPeer/sg-colo-core-r2"
    peer_id = state_ids(project)[peer]
    remove_document(project / "bgp", "AlibabaBgpPeer", "sg-colo-core-r2")
    sandbox.configure(provision_delay=0.2, alibaba=FaultConfig(provision_failure_rate=1.0))

    rolled_back = apply()
    assert rolled_back.code == 1, rolled_back.both
    assert "the cloud did not keep the delete: the object is Available again" in rolled_back.out
    # Not recorded as deleted: the state still manages the object, and the plan still wants it gone.
    assert state_ids(project)[peer] == peer_id
    assert sandbox.objects().alibaba_peers[peer_id]["Status"] == "Available"
    plan = cli("plan", "bgp", "--detailed-exitcode")
    assert plan.code == 2 and f"- {peer} ({peer_id}) will be deleted" in plan.out, plan.both

    sandbox.configure(alibaba=FaultConfig())
    assert apply().code == 0
    wait_until(lambda: peer_id not in sandbox.objects().alibaba_peers, "the peer is gone")
    assert peer not in state_ids(project)


@pytest.mark.parametrize("forgotten", [False, True], ids=["managed", "after state rm"])
def test_an_equinix_config_whose_provisioning_failed_is_fixed_by_the_next_apply(
    project: Path, sandbox: Sandbox, forgotten: bool
) -> None:
    sandbox.configure(provision_delay=0.2, equinix=FaultConfig(provision_failure_rate=1.0))
    failed = apply("--target", AZURE)
    assert failed.code == 1 and "provisioning ended FAILED" in failed.out, failed.both
    if forgotten:  # the README's way out of a stuck resource: forget it, and let apply adopt it
        assert cli("state", "rm", AZURE).code == 0

    sandbox.configure(equinix=FaultConfig())
    plan = cli("plan", "bgp", "--target", AZURE)
    assert "last provisioning ended FAILED: it will be applied again" in plan.out, plan.both
    assert "~ connectionUuid" not in plan.out  # an update may not name it: Equinix refuses that
    fixed = apply("--target", AZURE)
    assert fixed.code == 0, fixed.both
    (config,) = sandbox.objects().equinix_bgp.values()
    assert config["provisioningStatus"] == "PROVISIONED"
    assert cli("plan", "bgp", "--detailed-exitcode", "--target", AZURE).code == 0


def test_tokens_never_repeat_after_an_older_state_copy_is_restored(project: Path, sandbox: Sandbox) -> None:
    """Restoring a copy of the state repeats its lineage and serial. A token derived from those
    alone would be sent again with other parameters (`IdempotentParameterMismatch`), or answered
    with the object the first use made."""
    office = "AlibabaBgpGroup/hk-office"
    assert apply("--target", "AlibabaBgpGroup/sg-vbr1").code == 0
    backup = project / "state" / "backup.json"
    shutil.copy(project / STATE, backup)
    assert apply("--target", office).code == 0
    first_id = state_ids(project)[office]

    # The object goes, by hand; the older copy of the state comes back; the manifests change.
    ali = alibaba_client(sandbox, "cn-hongkong")
    from alibabacloud_vpc20160428 import models

    ali.delete_bgp_group(models.DeleteBgpGroupRequest(region_id="cn-hongkong", bgp_group_id=first_id))
    wait_until(lambda: first_id not in sandbox.objects().alibaba_groups, "the group is gone")
    shutil.copy(backup, project / STATE)
    edit_document(project / "bgp", "AlibabaBgpGroup", "hk-office", description="Office edge, rebuilt")

    again = apply("--target", office)
    assert again.code == 0, again.both
    second_id = state_ids(project)[office]
    assert second_id != first_id
    assert sandbox.objects().alibaba_groups[second_id]["Description"] == "Office edge, rebuilt"


def post_azure_config(box: Sandbox) -> str:
    return post_equinix_config(box, {**AZURE_ATTRS, "authenticationKey": EXAMPLE_KEYS["AZURE_SG_BGP_KEY"]})


def test_two_configs_on_one_connection_are_an_error_in_plan_and_drift(project: Path, sandbox: Sandbox) -> None:
    sandbox.configure(equinix_duplicate_post="duplicate")
    assert apply("--target", AZURE).code == 0
    (first,) = sandbox.objects().equinix_bgp
    second = post_azure_config(sandbox)  # a second one, made by hand

    plan = cli("plan", "bgp")
    assert plan.code == 1
    assert f"{AZURE}: 2 objects in the cloud have its" in plan.err
    assert first in plan.err and second in plan.err
    applied = apply()
    assert applied.code == 1 and second in applied.err
    drift = cli("drift", "bgp", "--format", "json")
    assert drift.code == 1, drift.both
    (error,) = json.loads(drift.out)["errors"]
    assert first in error and second in error


def test_an_apply_right_after_a_create_does_not_take_the_unlisted_object_for_deleted(
    project: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An apply killed right after journaling its create leaves a config that reads may not show
    for a while (Equinix has no idempotency token). The next apply must look again until the read
    lag has passed, not POST a second config."""
    sandbox.configure(equinix_read_lag=3.0, equinix_duplicate_post="duplicate")
    monkeypatch.setenv("RECONCILER_READ_LAG", "8")
    uuid = post_azure_config(sandbox)  # what the killed apply made...
    backend = open_backend(str(project / STATE))
    with backend.lock("apply"):  # ...and journaled as done
        backend.journal_append(
            JournalEntry(
                id="killed:1:EquinixBgpPeering/sg-ne1-to-azure:create",
                address=AZURE,
                kind="EquinixBgpPeering",
                action=JournalAction.CREATE,
                phase="done",
                time=utc_now(),
                cloud_id=uuid,
                attributes=AZURE_ATTRS,
            )
        )
    backend.close()
    again = cli("apply", "bgp", "--auto-approve", "--target", AZURE)
    assert again.code == 0, again.both
    assert list(sandbox.objects().equinix_bgp) == [uuid]  # no second config
    assert sandbox.request_counts()["equinix POST /ne/v1/bgp"] == 1
    assert cli("plan", "bgp", "--detailed-exitcode", "--target", AZURE).code == 0


@pytest.mark.slow
@pytest.mark.parametrize("sandbox_profile", ["pessimistic"], indirect=True)
def test_every_fault_at_once_converges_within_ten_applies(project: Path, sandbox: Sandbox) -> None:
    """Every fault on both clouds (latency, 5xx, throttling, dropped replies, provisioning that
    fails: FAILED on Equinix, rolled back on Alibaba), over the pessimistic profile's behaviour
    (read lag, duplicate POSTs, busy VBRs): each apply fixes what it can, and the applies converge."""
    faults = FaultConfig(
        latency_ms=5, jitter_ms=20, error_rate=0.1, throttle_rps=20, drop_rate=0.1, provision_failure_rate=0.2
    )
    sandbox.configure(provision_delay=0.1, equinix=faults, alibaba=faults, random_seed=12)
    results: list[Result] = []
    for i in range(10):
        variant_edit(project, i)  # applies, each followed by a plan once it succeeds
        results.append(cli("apply", "bgp", "--auto-approve"))
        if results[-1].code != 0:
            continue
        results.append(cli("plan", "bgp", "--detailed-exitcode"))
        if results[-1].code == 0:
            break
    else:
        pytest.fail("no convergence after 10 applies:\n" + "\n".join(r.both[-3000:] for r in results))
    assert any(r.code == 1 for r in results), "the faults never made an apply fail: the soak tested nothing"
    sandbox.configure(equinix=FaultConfig(), alibaba=FaultConfig())
    assert_converged(project, sandbox, equinix_expected=4)


def variant_edit(project: Path, i: int) -> None:
    """The first applies also change things, so updates and deletes meet the faults too."""
    if i == 1:
        edit_document(project / "bgp", "AlibabaBgpGroup", "hk-office", description="Office edge, soaked")
        edit_document(project / "bgp", "EquinixBgpPeering", "hk-ne1-to-aws", remoteAsn=64999)
    if i == 2:
        remove_document(project / "bgp", "AlibabaBgpPeer", "sg-colo-core-r2")
