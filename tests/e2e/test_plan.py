"""`reconciler plan` end to end against the sandbox (issue "Plan")."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from reconciler.package_data import load_schema
from reconciler.sandbox import Sandbox, Seed
from tests.e2e.conftest import (
    EXAMPLE_KEYS,
    REPO,
    cli,
    edit_document,
    live_counts,
    remove_document,
    run,
    spawn,
)

SNAPSHOTS = Path(__file__).parent / "snapshots"


def plan_json(*args: str) -> dict:  # type: ignore[type-arg]
    result = cli("plan", "bgp", "--format", "json", *args)
    assert result.code == 0, result.both
    data = json.loads(result.out)
    jsonschema.validate(data, load_schema("plan.schema.json"))
    return data  # type: ignore[no-any-return]


def actions(data: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {c["address"]: c["action"] for c in data["resource_changes"]}


def test_examples_plan_is_all_creates_groups_before_their_peers(project: Path) -> None:
    data = plan_json()
    assert set(actions(data).values()) == {"create"}
    assert len(data["resource_changes"]) == 15
    order = [c["address"] for c in data["resource_changes"]]
    for change in data["resource_changes"]:
        for dep in change["depends_on"]:
            assert order.index(dep) < order.index(change["address"]), (dep, change["address"])
    # Detailed exit code says "changes present".
    assert cli("plan", "bgp", "--detailed-exitcode").code == 2


@pytest.mark.profiles
def test_plan_apply_plan_shows_no_changes(project: Path, sandbox: Sandbox) -> None:
    applied = cli("apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    assert "15 done, 0 failed" in applied.out
    again = cli("plan", "bgp", "--detailed-exitcode")
    assert again.code == 0, again.both
    assert "No changes" in again.out
    assert live_counts(sandbox) == {"equinix_bgp": 4, "alibaba_groups": 5, "alibaba_peers": 6}


def test_adopt_after_the_state_is_deleted(project: Path, sandbox: Sandbox) -> None:
    assert cli("apply", "bgp", "--auto-approve").code == 0
    before = live_counts(sandbox)
    for f in (project / "state").glob("reconciler.json*"):
        f.unlink()
    data = plan_json()
    assert set(actions(data).values()) == {"adopt"}
    assert cli("apply", "bgp", "--auto-approve").code == 0
    assert live_counts(sandbox) == before  # nothing duplicated
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


def test_connection_change_is_a_replace_that_names_the_field(project: Path, sandbox: Sandbox) -> None:
    assert cli("apply", "bgp", "--auto-approve").code == 0
    new_conn = "0b5f3c7e-2f1d-4c8a-9e6b-3a2d1c0b9f8e"
    seed = Seed.from_mapping(
        {"equinix": {"devices": [], "connections": [{"uuid": new_conn, "deviceUuid": _device_of(sandbox)}]}}
    )
    sandbox.add_seed(seed)
    edit_document(project / "bgp", "EquinixBgpPeering", "sg-ne1-to-azure", connectionUuid=new_conn)
    data = plan_json()
    change = next(c for c in data["resource_changes"] if c["address"] == "EquinixBgpPeering/sg-ne1-to-azure")
    assert change["action"] == "replace"
    assert change["replace_fields"] == ["connectionUuid"]
    assert "forgotten, not deleted" in change["reason"]
    text = cli("plan", "bgp")
    assert "-/+ EquinixBgpPeering/sg-ne1-to-azure" in text.out
    assert "# forces replacement" in text.out
    applied = cli("apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    configs = sandbox.objects().equinix_bgp.values()
    assert any(c["connectionUuid"] == new_conn for c in configs)
    assert live_counts(sandbox)["equinix_bgp"] == 5  # the old config stays: Equinix cannot delete it
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


def _device_of(box: Sandbox) -> str:
    return next(iter(box.objects().devices))


def test_removed_equinix_peering_is_forgotten_with_an_explanation(project: Path, sandbox: Sandbox) -> None:
    assert cli("apply", "bgp", "--auto-approve").code == 0
    remove_document(project / "bgp", "EquinixBgpPeering", "hk-ne1-to-aws")
    plan = cli("plan", "bgp")
    assert "EquinixBgpPeering/hk-ne1-to-aws" in plan.out
    assert "forget" in plan.out and "no delete" in plan.out
    assert cli("apply", "bgp", "--auto-approve").code == 0
    listed = cli("state", "list")
    assert "hk-ne1-to-aws" not in listed.out
    assert live_counts(sandbox)["equinix_bgp"] == 4  # still in the cloud
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


def test_removed_alibaba_peer_is_deleted(project: Path, sandbox: Sandbox) -> None:
    assert cli("apply", "bgp", "--auto-approve").code == 0
    remove_document(project / "bgp", "AlibabaBgpPeer", "sg-colo-core-r2")
    assert actions(plan_json())["AlibabaBgpPeer/sg-colo-core-r2"] == "delete"
    assert cli("apply", "bgp", "--auto-approve").code == 0
    assert live_counts(sandbox)["alibaba_peers"] == 5
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


def test_update_in_place_after_a_manifest_change(project: Path, sandbox: Sandbox) -> None:
    assert cli("apply", "bgp", "--auto-approve").code == 0
    edit_document(project / "bgp", "AlibabaBgpGroup", "sg-colo-core", description="Singapore colo, renumbered")
    edit_document(project / "bgp", "EquinixBgpPeering", "hk-ne1-to-aws", remoteAsn=64999)
    data = plan_json()
    assert {a: x for a, x in actions(data).items() if x != "no-op"} == {
        "AlibabaBgpGroup/sg-colo-core": "update",
        "EquinixBgpPeering/hk-ne1-to-aws": "update",
    }
    assert cli("apply", "bgp", "--auto-approve").code == 0
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


def test_saved_plan_applies_exactly_and_show_renders_it(project: Path) -> None:
    assert cli("plan", "bgp", "--out", "plan.json").code == 0
    shown = cli("show", "plan.json", "--format", "markdown")
    assert shown.code == 0 and shown.out.startswith("**Plan:**")
    applied = cli("apply", "plan.json")
    assert applied.code == 0, applied.both
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


def test_stale_plan_serial_moved_is_refused(project: Path) -> None:
    assert cli("plan", "bgp", "--out", "plan.json").code == 0
    # Another apply moves the state on; the manifests stay as planned (a change to them is refused
    # first: tests/e2e/test_signed_plans.py).
    assert cli("apply", "bgp", "--auto-approve", "--target", "AlibabaBgpGroup/sg-colo-core").code == 0
    refused = cli("apply", "plan.json")
    assert refused.code == 1
    assert "is stale" in refused.err and "serial" in refused.err and "`reconciler plan` again" in refused.err


def test_stale_plan_from_another_lineage_is_refused(project: Path) -> None:
    assert cli("apply", "bgp", "--auto-approve", "--target", "AlibabaBgpGroup/hk-office").code == 0
    assert cli("plan", "bgp", "--out", "plan.json").code == 0
    for f in (project / "state").glob("reconciler.json*"):
        f.unlink()
    assert cli("apply", "bgp", "--auto-approve", "--target", "AlibabaBgpGroup/hk-office").code == 0
    refused = cli("apply", "plan.json")
    assert refused.code == 1
    assert "different state lineage" in refused.err


def test_stale_plan_after_a_key_changed_is_refused(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("plan", "bgp", "--out", "plan.json").code == 0
    monkeypatch.setenv("HK_BGP_KEY", "RotatedHkKey2")
    refused = cli("apply", "plan.json")
    assert refused.code == 1
    assert "env:HK_BGP_KEY changed" in refused.err
    assert "RotatedHkKey2" not in refused.both


def test_plan_file_and_outputs_hold_no_key(project: Path) -> None:
    result = cli("plan", "bgp", "--out", "plan.json", "--format", "json")
    plan_text = (project / "plan.json").read_text()
    for key in ("ExampleSgKeyNotReal1", "ExampleHkKeyNotReal1", "ExampleAzureKeyNotReal1"):
        assert key not in plan_text and key not in result.both
    assert oct((project / "plan.json").stat().st_mode & 0o777) == "0o600"


def test_lock_held_by_another_process_fails_fast_naming_the_holder(project: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "state" / "holder.py"), "state/reconciler.json", "hold", "apply"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().startswith("locked")
        blocked = cli("apply", "bgp", "--auto-approve")
        assert blocked.code == 1
        assert "lock" in blocked.err and str(holder.pid) in blocked.err and "apply" in blocked.err
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=10)
    assert cli("apply", "bgp", "--auto-approve").code == 0


def test_corrupt_state_is_a_clear_error_and_is_not_overwritten(project: Path) -> None:
    assert cli("apply", "bgp", "--auto-approve", "--target", "AlibabaBgpGroup/hk-office").code == 0
    state = project / "state" / "reconciler.json"
    state.write_text('{"format_version": 1, "lineage": "x", "ser')
    result = cli("plan", "bgp")
    assert result.code == 1
    assert "reconciler.json" in result.err and "backup" in result.err
    assert "Traceback" not in result.both
    assert state.read_text() == '{"format_version": 1, "lineage": "x", "ser'


def test_invalid_manifests_make_no_api_call(project: Path, sandbox: Sandbox) -> None:
    edit_document(project / "bgp", "AlibabaBgpPeer", "sg-colo-core-r2", bfdMultiHop=0)
    sandbox.reset_request_counts()
    result = cli("plan", "bgp")
    assert result.code == 1
    assert re.search(r"bgp/alibaba/ap-southeast-1\.yaml:\d+:\d+: spec\.bfdMultiHop", result.err), result.err
    assert sum(sandbox.request_counts().values()) == 0


def test_markdown_plan_matches_snapshot(project: Path) -> None:
    result = cli("plan", "bgp", "--format", "markdown")
    assert result.code == 0
    text = re.sub(r"planned `[^`]+`", "planned `TIME`", result.out)
    text = re.sub(r"reconciler `[^`]+`", "reconciler `VERSION`", text)
    snapshot = SNAPSHOTS / "examples-plan.md"
    if os.environ.get("UPDATE_SNAPSHOTS"):  # regenerate: UPDATE_SNAPSHOTS=1 pytest tests/e2e
        snapshot.write_text(text)
    assert snapshot.exists(), f"{snapshot} is missing; regenerate it with UPDATE_SNAPSHOTS=1"
    assert text == snapshot.read_text()


def test_apply_without_terminal_refuses_without_auto_approve(project: Path) -> None:
    proc = spawn("apply", "bgp", stdin=subprocess.DEVNULL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "--auto-approve" in err


def test_missing_cloud_credentials_are_one_clear_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for path in (project / "bgp").rglob("*.yaml"):
        path.unlink()
    from tests.e2e.conftest import write_documents
    from tests.manifest.builders import equinix

    write_documents(project / "bgp" / "eq.yaml", [equinix()])
    monkeypatch.delenv("EQUINIX_CLIENT_SECRET")
    result = run("plan", "bgp")
    assert result.code == 1
    assert "EQUINIX_CLIENT_SECRET" in result.err
    assert "Traceback" not in result.both


def test_a_saved_plan_reads_file_keys_exactly_as_planning_did(project: Path) -> None:
    (project / "bgp" / "keys").mkdir()
    (project / "bgp" / "keys" / "office.key").write_text("OfficeKeyFromFile1\n\n")  # trailing blank line
    edit_document(project / "bgp", "AlibabaBgpGroup", "hk-office", authKey={"fromFile": "../keys/office.key"})
    assert cli("plan", "bgp", "--out", "plan.json").code == 0
    assert "file:bgp/keys/office.key" in (project / "plan.json").read_text()
    applied = cli("apply", "plan.json")
    assert applied.code == 0, applied.both
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


def test_two_embedded_sandbox_runs_do_not_share_the_data_file_at_once(tmp_path: Path) -> None:
    import shutil

    from tests.e2e.conftest import EXAMPLES

    shutil.copytree(EXAMPLES / "alibaba", tmp_path / "bgp" / "alibaba")
    shutil.copytree(EXAMPLES / "equinix", tmp_path / "bgp" / "equinix")
    env = {**EXAMPLE_KEYS, "RECONCILER_STATE": str(tmp_path / "state" / "reconciler.json")}
    (tmp_path / "state").mkdir()
    data = tmp_path / "state" / "sandbox.json"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import filelock, sys, time; l = filelock.FileLock(sys.argv[1]); l.acquire(); "
            "print('held', flush=True); time.sleep(30)",
            f"{data}.lock",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        blocked = run("--sandbox", "--sandbox-data", str(data), "plan", str(tmp_path / "bgp"), env=env)
        assert blocked.code == 1
        assert f"the sandbox data {data} is in use by another reconciler process" in blocked.err
    finally:
        holder.kill()
        holder.wait()
    assert run("--sandbox", "--sandbox-data", str(data), "plan", str(tmp_path / "bgp"), env=env).code == 0
