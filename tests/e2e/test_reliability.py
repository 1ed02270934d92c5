"""Apply reliability: crashes, faults, concurrency, partial failure, secrets (issue "Apply")."""

from __future__ import annotations

import dataclasses
import json
import random
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from reconciler.model import JournalAction, JournalEntry, utc_now
from reconciler.package_data import load_schema
from reconciler.sandbox import FaultConfig, Sandbox, SandboxConfig, load_seed
from reconciler.state import open_backend
from tests.e2e.conftest import (
    EXAMPLE_KEYS,
    EXAMPLES,
    Result,
    cli,
    edit_document,
    post_equinix_config,
    remove_document,
    run,
    spawn,
)

STATE = Path("state/reconciler.json")


def desired_counts(project: Path) -> dict[str, int]:
    result = cli("validate", "bgp", "--format", "json")
    assert result.code == 0, result.both
    counts: Counter[str] = Counter()
    for path in (project / "bgp").rglob("*.yaml"):
        for line in path.read_text().splitlines():
            if line.startswith("kind: "):
                counts[line.split(": ", 1)[1].strip()] += 1
    return dict(counts)


def assert_converged(project: Path, box: Sandbox, equinix_expected: int | None = None) -> None:
    """live == desired, one cloud object per address, nothing orphaned, state valid."""
    plan = cli("plan", "bgp", "--detailed-exitcode")
    assert plan.code == 0, plan.both
    objects = box.objects()
    # A delete accepted just before a kill finishes on its own: such objects are on their way out.
    groups = {i: g for i, g in objects.alibaba_groups.items() if g["Status"] != "Deleting"}
    peers = {i: p for i, p in objects.alibaba_peers.items() if p["Status"] != "Deleting"}
    desired = desired_counts(project)
    assert len(groups) == desired.get("AlibabaBgpGroup", 0)
    assert len(peers) == desired.get("AlibabaBgpPeer", 0)
    assert {g["Status"] for g in groups.values()} | {p["Status"] for p in peers.values()} == {"Available"}
    keys = Counter((p["BgpGroupId"], p["PeerIpAddress"]) for p in peers.values())
    assert max(keys.values()) == 1
    names = Counter((g["RouterId"], g["Name"]) for g in groups.values())
    assert max(names.values()) == 1
    conns = Counter(c["connectionUuid"] for c in objects.equinix_bgp.values())
    assert max(conns.values()) == 1  # never two BGP configs on one connection
    if equinix_expected is not None:
        assert len(objects.equinix_bgp) == equinix_expected
    state = json.loads((project / STATE).read_text())
    jsonschema.validate(state, load_schema("state.schema.json"))
    managed_ids = {r["cloud_id"] for r in state["resources"].values()}
    assert {c["provisioningStatus"] for c in objects.equinix_bgp.values()} == {"PROVISIONED"}
    live_alibaba = set(groups) | set(peers)
    assert live_alibaba <= managed_ids, f"orphans: {live_alibaba - managed_ids}"
    assert not state.get("pending")


def variant(project: Path, i: int) -> None:
    """Cycle the manifests through three shapes, so every iteration has creates, updates, deletes."""
    import shutil

    shutil.rmtree(project / "bgp", ignore_errors=True)
    shutil.copytree(EXAMPLES / "alibaba", project / "bgp" / "alibaba")
    shutil.copytree(EXAMPLES / "equinix", project / "bgp" / "equinix")
    if i % 3 == 1:
        remove_document(project / "bgp", "AlibabaBgpPeer", "sg-colo-core-r2")
        remove_document(project / "bgp", "AlibabaBgpPeer", "sg-colo-core-r1-v6")
        remove_document(project / "bgp", "AlibabaBgpGroup", "sg-colo-core-v6")
        edit_document(project / "bgp", "AlibabaBgpGroup", "hk-office", description=f"Office edge, round {i}")
        edit_document(project / "bgp", "EquinixBgpPeering", "hk-ne1-to-aws", remoteAsn=64000 + i)
    elif i % 3 == 2:
        edit_document(project / "bgp", "AlibabaBgpPeer", "sg-colo-core-r1", enableBfd=False, bfdMultiHop=None)
        edit_document(project / "bgp", "AlibabaBgpGroup", "sg-colo-core", peerAsn=64700 + i)


@pytest.fixture
def slow_sandbox(sandbox: Sandbox) -> Sandbox:
    sandbox.configure(provision_delay=0.3)
    return sandbox


# Iterations of the crash loop: fewer under the realism profiles, whose read lag and one-change-at-a-
# time per VBR make each apply take seconds instead of a fraction of one.
CRASH_LOOP_ITERATIONS = {"lenient": 26, "realistic": 8, "pessimistic": 8}


@pytest.mark.slow
@pytest.mark.profiles
def test_crash_loop_kill_9_mid_apply_always_converges(
    project: Path, slow_sandbox: Sandbox, sandbox_profile: str
) -> None:
    rng = random.Random(20261127)
    kills_mid_flight = 0
    iterations = CRASH_LOOP_ITERATIONS[sandbox_profile]
    for i in range(iterations):
        variant(project, i)
        proc = spawn("apply", "bgp", "--auto-approve")
        time.sleep(rng.uniform(0.05, 1.6))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills_mid_flight += 1
        proc.communicate(timeout=60)
        finished = cli("apply", "bgp", "--auto-approve")
        if finished.code != 0:  # an interrupted object may still be settling: one more pass must finish
            finished = cli("apply", "bgp", "--auto-approve")
        assert finished.code == 0, f"iteration {i}: {finished.both}"
        assert_converged(project, slow_sandbox, equinix_expected=4)
    assert kills_mid_flight >= round(0.75 * iterations)  # the kills really landed while applies were running


@pytest.mark.slow
@pytest.mark.profiles
def test_repeated_applies_converge_under_faults(project: Path, sandbox: Sandbox) -> None:
    faults = FaultConfig(error_rate=0.1, throttle_rps=300, drop_rate=0.1, provision_failure_rate=0.05)
    sandbox.configure(provision_delay=0.05, equinix=faults, alibaba=faults, random_seed=7)
    results: list[Result] = []
    for _ in range(10):
        results.append(cli("apply", "bgp", "--auto-approve"))
        if results[-1].code == 0 and cli("plan", "bgp", "--detailed-exitcode").code == 0:
            break
    else:
        pytest.fail("no convergence after 10 applies:\n" + "\n".join(r.both[-2000:] for r in results))
    sandbox.configure(equinix=FaultConfig(), alibaba=FaultConfig())
    assert_converged(project, sandbox, equinix_expected=4)
    assert sandbox.request_counts(), "the sandbox saw the traffic"


def test_two_concurrent_applies_one_fails_fast_on_the_lock(project: Path, sandbox: Sandbox) -> None:
    sandbox.configure(provision_delay=0.5)
    first = spawn("apply", "bgp", "--auto-approve")
    time.sleep(0.6)  # the first is planning or applying, holding the lock
    second = spawn("apply", "bgp", "--auto-approve")
    _, err2 = second.communicate(timeout=60)
    _, err1 = first.communicate(timeout=120)
    assert first.returncode == 0, err1
    assert second.returncode == 1
    assert "lock" in err2 and str(first.pid) in err2 and "apply" in err2
    assert_converged(project, sandbox, equinix_expected=4)


@pytest.fixture
def sandbox_missing_a_vbr() -> Iterator[Sandbox]:
    seed = load_seed(EXAMPLES / "sandbox-seed.yaml")
    lacking = dataclasses.replace(seed, vbrs=tuple(v for v in seed.vbrs if "hkoffice" not in v.vbr_id))
    with Sandbox(lacking, config=SandboxConfig()) as box:
        yield box


def test_partial_failure_skips_dependents_and_the_next_apply_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox_missing_a_vbr: Sandbox
) -> None:
    import shutil

    shutil.copytree(EXAMPLES / "alibaba", tmp_path / "bgp" / "alibaba")
    shutil.copytree(EXAMPLES / "equinix", tmp_path / "bgp" / "equinix")
    monkeypatch.chdir(tmp_path)
    for name, value in {**EXAMPLE_KEYS, **sandbox_missing_a_vbr.env()}.items():
        monkeypatch.setenv(name, value)
    first = cli("apply", "bgp", "--auto-approve")
    assert first.code == 1
    assert "failed    AlibabaBgpGroup/hk-office" in first.out
    assert "InvalidVbrNetwork" in first.out or "VBR" in first.out
    assert "skipped   AlibabaBgpPeer/hk-office-edge1" in first.out
    assert "because AlibabaBgpGroup/hk-office did not succeed" in first.out
    assert "13 done, 1 failed, 1 skipped" in first.out
    state = json.loads((tmp_path / STATE).read_text())
    assert len(state["resources"]) == 13
    assert "AlibabaBgpGroup/hk-office" not in state["resources"]
    assert state["pending"] == []  # a refused call is settled as failed, not left as interrupted
    full = load_seed(EXAMPLES / "sandbox-seed.yaml")
    sandbox_missing_a_vbr.add_seed(dataclasses.replace(full, devices=(), connections=()))
    second = cli("apply", "bgp", "--auto-approve")
    assert second.code == 0, second.both
    assert "2 done" in second.out
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


def test_no_key_in_any_output_log_plan_or_state_file(project: Path) -> None:
    outputs = [
        cli("-v", "plan", "bgp", "--out", "plan.json"),
        cli("-v", "--log-format", "json", "apply", "bgp", "--auto-approve"),
        cli("-v", "plan", "bgp", "--format", "json"),
        cli("-v", "drift", "bgp", "--format", "json"),
        cli("state", "show", "EquinixBgpPeering/sg-ne1-to-alibaba"),
    ]
    assert all(r.code in (0, 2) for r in outputs), [r.both for r in outputs]
    files = [project / "plan.json", *sorted((project / "state").glob("reconciler.json*"))]
    texts = [r.both for r in outputs] + [f.read_text() for f in files]
    assert any("EquinixBgpPeering/sg-ne1-to-alibaba" in t for t in texts)
    for key in EXAMPLE_KEYS.values():
        for text in texts:
            assert key not in text
    for credential in ("sandbox-secret",):
        for text in texts:
            assert credential not in text


def test_an_internal_error_in_a_provider_shows_no_key_and_no_traceback(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.clouds.equinix.provider import EquinixProvider

    def broken_create(self: EquinixProvider, desired: object, token: str) -> str:
        body = {"authenticationKey": EXAMPLE_KEYS["SG_BGP_KEY"]}  # a local a careless traceback would print
        raise RuntimeError(f"unexpected reply while sending {len(body)} fields")

    monkeypatch.setattr(EquinixProvider, "create", broken_create)
    # An internal error leaves the create's intent open, and the second apply waits out the read lag
    # before it sends such a create again: keep that wait short here.
    monkeypatch.setenv("RECONCILER_READ_LAG", "1")
    quiet = cli("apply", "bgp", "--auto-approve")
    assert quiet.code == 1
    assert "internal error: RuntimeError: unexpected reply" in quiet.out
    assert "Traceback" not in quiet.both
    verbose = cli("-v", "apply", "bgp", "--auto-approve")
    assert verbose.code == 1 and "Traceback" in verbose.err  # -v shows it, still without locals
    for result in (quiet, verbose):
        for key in EXAMPLE_KEYS.values():
            assert key not in result.both


def test_a_saved_plan_is_stale_after_an_interrupted_apply(project: Path, sandbox: Sandbox) -> None:
    assert cli("apply", "bgp", "--auto-approve", "--target", "AlibabaBgpGroup/sg-vbr1").code == 0
    # One create only, so that when it is waiting nothing is left in flight (no unsettled intent).
    assert cli("plan", "bgp", "--out", "first.plan", "--target", "AlibabaBgpGroup/hk-office").code == 0
    assert cli("plan", "bgp", "--out", "second.plan").code == 0  # made against the same state
    sandbox.configure(provision_delay=5.0)
    proc = spawn("apply", "first.plan")
    assert proc.stderr is not None
    for line in proc.stderr:  # the first creates were accepted and journaled: kill while waiting
        if "waiting for the cloud to settle" in line:
            break
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    refused = cli("apply", "second.plan")
    assert refused.code == 1
    assert "is stale: an earlier apply was interrupted" in refused.err
    sandbox.configure(provision_delay=0.0)
    assert cli("apply", "bgp", "--auto-approve").code == 0
    assert_converged(project, sandbox, equinix_expected=4)


def test_plan_during_a_running_apply_is_read_only_and_does_not_fail(project: Path, sandbox: Sandbox) -> None:
    slow = FaultConfig(latency_ms=1500)
    proc = spawn("apply", "bgp", "--auto-approve")
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until the apply holds the lock and has calls in flight
        if "creating" in line:
            break
    sandbox.configure(equinix=slow, alibaba=slow)
    planned = run("plan", "bgp", "--detailed-exitcode")
    assert planned.code == 2, planned.both
    assert "planning against the last saved state" in planned.err
    sandbox.configure(equinix=FaultConfig(), alibaba=FaultConfig())
    proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert_converged(project, sandbox, equinix_expected=4)


def test_a_create_still_in_flight_after_a_crash_is_made_only_once(project: Path, sandbox: Sandbox) -> None:
    slow = FaultConfig(latency_ms=2500)
    target = ("--target", "AlibabaBgpGroup/hk-office")
    proc = spawn("apply", "bgp", "--auto-approve", *target)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "creating" in line:  # CreateBgpGroup is about to be sent: slow the cloud down now
            sandbox.configure(alibaba=slow)
            break
    time.sleep(0.8)  # the create is on the wire, the cloud has not made the group yet
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    sandbox.configure(alibaba=FaultConfig())
    again = cli("apply", "bgp", "--auto-approve", *target)  # resends the create with its own token
    assert again.code == 0, again.both
    time.sleep(2.5)  # the abandoned request reaches the cloud too
    groups = [g for g in sandbox.objects().alibaba_groups.values() if g["Name"] == "hk-office"]
    assert len(groups) == 1, groups
    assert cli("plan", "bgp", "--detailed-exitcode", *target).code == 0


def test_a_create_made_but_not_yet_visible_after_a_crash_is_not_posted_twice(
    project: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Equinix has no idempotency token, and a new config may be invisible to reads for a while.
    An apply killed right after its POST reached the cloud leaves an open create intent; the next
    apply must not POST again before the read lag has passed: it waits, sees the config, adopts it,
    and its plan knows of it even if the list does not show it yet."""
    target = ("--target", "EquinixBgpPeering/sg-ne1-to-azure")
    sandbox.configure(equinix_read_lag=3.0, equinix_duplicate_post="duplicate")
    monkeypatch.setenv("RECONCILER_READ_LAG", "8")
    attrs = {
        "connectionUuid": "3b6d2c1e-8f4a-4e7b-9c5d-1a2b3c4d5e6f",
        "localIpAddress": "192.168.100.1/30",
        "localAsn": 65010,
        "remoteIpAddress": "192.168.100.2",
        "remoteAsn": 12076,
    }
    # What the killed apply left: its intent, journaled before the call, and the config its POST made.
    backend = open_backend(str(project / STATE))
    with backend.lock("apply"):
        backend.journal_append(
            JournalEntry(
                id="killed:1:EquinixBgpPeering/sg-ne1-to-azure:create",
                address="EquinixBgpPeering/sg-ne1-to-azure",
                kind="EquinixBgpPeering",
                action=JournalAction.CREATE,
                phase="intent",
                time=utc_now(),
                token="rcl-killed",
                attributes=attrs,
            )
        )
    backend.close()
    post_equinix_config(sandbox, {**attrs, "authenticationKey": EXAMPLE_KEYS["AZURE_SG_BGP_KEY"]})
    again = cli("apply", "bgp", "--auto-approve", *target)
    assert again.code == 0, again.both
    configs = Counter(c["connectionUuid"] for c in sandbox.objects().equinix_bgp.values())
    assert list(configs.values()) == [1], configs  # adopted, not posted twice
    assert sandbox.request_counts()["equinix POST /ne/v1/bgp"] == 1
    assert cli("plan", "bgp", "--detailed-exitcode", *target).code == 0
