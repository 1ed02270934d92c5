"""Nothing is destroyed by accident, end to end against the sandbox: subsets of the manifests,
deletionPolicy Orphan, preventDestroy, --max-deletes, --replace and plan --destroy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox import Sandbox
from tests.e2e.conftest import cli, documents, edit_document, live_counts, remove_document, write_documents
from tests.e2e.counting_proxy import CountingProxy, counting_proxy
from tests.e2e.test_drift import state_ids

PEER = "AlibabaBgpPeer/sg-colo-core-r2"
V6_VBR = "vbr-t4nsgcolo0000000000002"
OTHER_VBR = "vbr-t4nsgcolo0000000000009"
# The Hong Kong half of the examples: both ends of its links are in it.
HONG_KONG = ("bgp/alibaba/cn-hongkong.yaml", "bgp/equinix/hk-ne1.yaml")


def set_metadata(root: Path, kind: str, name: str, **metadata: Any) -> None:
    for path in sorted(root.rglob("*.yaml")):
        docs = documents(path)
        for doc in docs:
            if doc["kind"] == kind and doc["metadata"]["name"] == name:
                doc["metadata"].update(metadata)
                write_documents(path, docs)
                return
    raise AssertionError(f"no {kind}/{name} in {root}")


def plan_json(*args: str) -> dict[str, Any]:
    result = cli("plan", *args, "--format", "json")
    assert result.code == 0, result.both
    data: dict[str, Any] = json.loads(result.out)
    return data


def actions(data: dict[str, Any]) -> dict[str, str]:
    return {c["address"]: c["action"] for c in data["resource_changes"] if c["action"] != "no-op"}


def state_doc(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project / "state" / "reconciler.json").read_text())
    return data


@pytest.fixture
def applied(project: Path) -> Path:
    result = cli("apply", "bgp", "--auto-approve")
    assert result.code == 0, result.both
    return project


@pytest.fixture
def alibaba_proxy(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The Alibaba endpoint, through a proxy that counts every call."""
    with counting_proxy(f"http://{sandbox.alibaba_endpoint}") as proxy:
        monkeypatch.setenv("ALIBABA_CLOUD_VPC_ENDPOINT", proxy.host_port)
        yield proxy


def test_state_records_the_manifest_file_of_every_resource(applied: Path) -> None:
    resources = state_doc(applied)["resources"]
    assert resources[PEER]["manifest_file"] == str(applied / "bgp" / "alibaba" / "ap-southeast-1.yaml")
    assert resources["AlibabaBgpGroup/sg-vbr1"]["labels"] == {"team": "neteng"}
    assert "deletion_policy" not in resources[PEER] and "prevent_destroy" not in resources[PEER]


def singapore(project: Path) -> set[str]:
    resources = state_doc(project)["resources"]
    return {a for a, r in resources.items() if r["manifest_file"].endswith(("ap-southeast-1.yaml", "sg-ne1.yaml"))}


def test_a_subset_plan_makes_no_deletion_unless_prune(applied: Path, sandbox: Sandbox) -> None:
    held_expected = singapore(applied)
    assert len(held_expected) == 9
    data = plan_json(*HONG_KONG)
    assert actions(data) == {}
    held = {c["address"] for c in data["resource_changes"] if c.get("outside_paths")}
    assert held == held_expected
    text = cli("plan", *HONG_KONG)
    assert text.code == 0 and "not in the given paths (9)" in text.out and "Warning" not in text.out
    assert "--prune deletes them" in text.out
    markdown = cli("plan", *HONG_KONG, "--format", "markdown")
    assert "Not in the given paths (9)" in markdown.out and "WARNING" not in markdown.out

    before = live_counts(sandbox)
    applied_subset = cli("apply", *HONG_KONG, "--auto-approve")
    assert applied_subset.code == 0, applied_subset.both
    assert len(state_ids(applied)) == 15 and live_counts(sandbox) == before

    pruned = actions(plan_json(*HONG_KONG, "--prune"))
    assert set(pruned) == held_expected
    assert {pruned[a] for a in pruned if a.startswith("Equinix")} == {"forget"}  # the API cannot delete them
    assert {pruned[a] for a in pruned if a.startswith("Alibaba")} == {"delete"}


def test_a_subset_plan_deletes_what_a_removed_file_declared(applied: Path, sandbox: Sandbox) -> None:
    removed = {a for a, r in state_doc(applied)["resources"].items() if r["manifest_file"].endswith("sg-ne1.yaml")}
    (applied / "bgp" / "equinix" / "sg-ne1.yaml").unlink()
    remove_document(applied / "bgp", "AlibabaBgpPeer", "sg-vbr1-ne1")  # the other end of a link in it
    planned = actions(plan_json("bgp/alibaba", "bgp/equinix"))
    assert set(planned) == {*removed, "AlibabaBgpPeer/sg-vbr1-ne1"}


def test_text_output_starts_with_the_destructive_warning(applied: Path) -> None:
    remove_document(applied / "bgp", "AlibabaBgpPeer", "sg-colo-core-r2")
    text = cli("plan", "bgp")
    assert text.code == 0, text.both
    first = text.out.splitlines()
    assert first[0].startswith("Warning: this plan will delete 1 of the managed resources")
    assert first[1] == "  delete (-): removed from the manifests" and first[2] == f"    - {PEER}"


def test_orphan_removal_makes_no_api_call(applied: Path, sandbox: Sandbox, alibaba_proxy: CountingProxy) -> None:
    set_metadata(applied / "bgp", "AlibabaBgpPeer", "sg-colo-core-r2", deletionPolicy="Orphan")
    plan = cli("plan", "bgp", "--detailed-exitcode")
    assert plan.code == 0, plan.both  # nothing changes in the clouds
    assert "The state's records of 1 resource" in plan.out
    serial = state_doc(applied)["serial"]
    recorded = cli("apply", "bgp", "--auto-approve")
    assert recorded.code == 0, recorded.both
    state = state_doc(applied)
    assert state["serial"] == serial + 1 and state["resources"][PEER]["deletion_policy"] == "Orphan"

    remove_document(applied / "bgp", "AlibabaBgpPeer", "sg-colo-core-r2")
    before = live_counts(sandbox)
    alibaba_proxy.calls.clear()
    result = cli("apply", "bgp", "--auto-approve")
    assert result.code == 0, result.both
    assert "deletionPolicy: Orphan: the object stays in the cloud" in result.out
    assert alibaba_proxy.calls, "the proxy saw no call: the endpoint was not pointed at it"
    assert alibaba_proxy.mutating() == []
    assert live_counts(sandbox) == before
    assert PEER not in state_doc(applied)["resources"]


def test_prevent_destroy_fails_before_any_api_call(
    applied: Path, sandbox: Sandbox, alibaba_proxy: CountingProxy
) -> None:
    set_metadata(applied / "bgp", "AlibabaBgpPeer", "sg-colo-core-r2", preventDestroy=True)
    set_metadata(applied / "bgp", "AlibabaBgpGroup", "sg-colo-core-v6", preventDestroy=True)
    assert cli("apply", "bgp", "--auto-approve").code == 0
    assert state_doc(applied)["resources"][PEER]["prevent_destroy"] is True

    group = "AlibabaBgpGroup/sg-colo-core-v6"
    edit_document(applied / "bgp", "AlibabaBgpGroup", "sg-colo-core-v6", virtualBorderRouterId=OTHER_VBR)
    alibaba_proxy.calls.clear()
    replaced = cli("apply", "bgp", "--auto-approve")
    assert replaced.code == 1
    assert f"{group} has preventDestroy: virtualBorderRouterId forces replacement" in replaced.err
    assert "Traceback" not in replaced.both and alibaba_proxy.mutating() == []
    edit_document(applied / "bgp", "AlibabaBgpGroup", "sg-colo-core-v6", virtualBorderRouterId=V6_VBR)

    forced = cli("plan", "bgp", "--replace", PEER)
    assert forced.code == 1 and f"{PEER} has preventDestroy: --replace" in forced.err
    destroy = cli("plan", "bgp", "--destroy")
    assert destroy.code == 1 and f"{PEER} has preventDestroy: --destroy" in destroy.err

    remove_document(applied / "bgp", "AlibabaBgpPeer", "sg-colo-core-r2")
    before = live_counts(sandbox)
    alibaba_proxy.calls.clear()
    removed = cli("apply", "bgp", "--auto-approve")
    assert removed.code == 1
    assert f"{PEER} has preventDestroy: removed from the manifests" in removed.err
    assert alibaba_proxy.mutating() == []
    assert live_counts(sandbox) == before


def test_prevent_destroy_is_checked_again_when_a_saved_plan_is_applied(applied: Path) -> None:
    remove_document(applied / "bgp", "AlibabaBgpPeer", "sg-colo-core-r2")
    assert cli("plan", "bgp", "--out", "removal.plan").code == 0
    # The flag recorded since (a state edited by hand, say): the saved plan must not delete it.
    path = applied / "state" / "reconciler.json"
    state = json.loads(path.read_text())
    state["resources"][PEER]["prevent_destroy"] = True
    path.write_text(json.dumps(state))
    result = cli("apply", "removal.plan")
    assert result.code == 1 and f"{PEER} has preventDestroy" in result.err
    assert PEER in state_ids(applied)


def test_max_deletes_fails_before_any_api_call(
    applied: Path, sandbox: Sandbox, alibaba_proxy: CountingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    remove_document(applied / "bgp", "AlibabaBgpPeer", "sg-colo-core-r1")
    remove_document(applied / "bgp", "AlibabaBgpPeer", "sg-colo-core-r2")
    before = live_counts(sandbox)
    alibaba_proxy.calls.clear()
    result = cli("apply", "bgp", "--auto-approve", "--max-deletes", "1")
    assert result.code == 1
    assert "deletes or replaces 2 resources, more than --max-deletes 1" in result.err
    assert f"delete {PEER}: removed from the manifests" in result.err
    assert alibaba_proxy.mutating() == [] and live_counts(sandbox) == before

    monkeypatch.setenv("RECONCILER_MAX_DELETES", "1")
    assert cli("plan", "bgp").code == 1
    assert cli("plan", "bgp", "--out", "two.plan", "--max-deletes", "2").code == 0
    saved = cli("apply", "two.plan")
    assert saved.code == 1 and "more than --max-deletes 1" in saved.err
    assert live_counts(sandbox) == before
    assert cli("apply", "two.plan", "--max-deletes", "2").code == 0
    assert live_counts(sandbox)["alibaba_peers"] == before["alibaba_peers"] - 2


def test_replace_recreates_an_object(applied: Path, sandbox: Sandbox) -> None:
    old = state_ids(applied)[PEER]
    data = plan_json("bgp", "--replace", PEER)
    assert actions(data) == {PEER: "replace"}
    result = cli("apply", "bgp", "--auto-approve", "--replace", PEER)
    assert result.code == 0, result.both
    new = state_ids(applied)[PEER]
    assert new != old and old not in sandbox.objects().alibaba_peers
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


def test_replace_of_a_kind_that_cannot_be_deleted_says_what_happens(applied: Path, sandbox: Sandbox) -> None:
    address = "EquinixBgpPeering/sg-ne1-to-azure"
    change = next(c for c in plan_json("bgp", "--replace", address)["resource_changes"] if c["address"] == address)
    assert change["action"] == "replace"
    assert "the old object is forgotten, not deleted" in change["reason"]
    assert "take it over again" in change["reason"]
    result = cli("apply", "bgp", "--auto-approve", "--replace", address)
    assert result.code == 0, result.both
    assert live_counts(sandbox)["equinix_bgp"] == 4
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("AlibabaBgpPeer/nope", "not in the manifests"),
        ("not-an-address", "not in the manifests"),
    ],
)
def test_replace_of_an_unknown_address_is_a_usage_error(applied: Path, address: str, why: str) -> None:
    result = cli("plan", "bgp", "--replace", address)
    assert result.code == 1 and f"--replace {address}: {why}" in result.err
    assert "Traceback" not in result.both


def test_replace_of_an_address_not_in_state_is_a_usage_error(project: Path) -> None:
    result = cli("plan", "bgp", "--replace", PEER)
    assert result.code == 1 and "not in the state: nothing to replace" in result.err


def test_destroy_plan_deletes_alibaba_objects_and_forgets_equinix_configs(applied: Path, sandbox: Sandbox) -> None:
    set_metadata(applied / "bgp", "AlibabaBgpGroup", "sg-colo-core-v6", deletionPolicy="Orphan")
    saved = cli("plan", "bgp", "--destroy", "--out", "destroy.plan")
    assert saved.code == 0, saved.both
    assert saved.out.startswith("Destroy plan:")
    data = plan_json("bgp", "--destroy")
    assert data["mode"] == "destroy"
    planned = actions(data)
    orphan = "AlibabaBgpGroup/sg-colo-core-v6"
    assert planned[orphan] == "forget" and planned["EquinixBgpPeering/sg-ne1-to-azure"] == "forget"
    assert {a for a, action in planned.items() if action == "delete"} == {
        a for a in state_ids(applied) if a.startswith("Alibaba") and a != orphan
    }
    result = cli("apply", "destroy.plan")
    assert result.code == 0, result.both
    assert state_ids(applied) == {}
    assert live_counts(sandbox) == {"equinix_bgp": 4, "alibaba_groups": 1, "alibaba_peers": 0}


def test_a_wrong_deletion_policy_is_a_diagnostic(project: Path) -> None:
    set_metadata(project / "bgp", "AlibabaBgpPeer", "sg-colo-core-r2", deletionPolicy="Retain")
    result = cli("validate", "bgp")
    assert result.code == 1
    assert "ap-southeast-1.yaml:" in result.both and "metadata.deletionPolicy: 'Retain' is not valid" in result.both
    assert "Delete or Orphan" in result.both and "Traceback" not in result.both
