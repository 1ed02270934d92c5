"""The extension point, end to end: a third cloud (memcloud, tests/testcloud) registered through
`reconciler.clouds.register` is validated, planned, applied and checked for drift by the CLI with
no change anywhere in reconciler/, alone and beside a real cloud on the embedded sandbox.

Each CLI invocation makes its own providers; they all talk to the one in-memory store, as separate
runs of the tool talk to one cloud. Out-of-band changes are made through memcloud's API with a
provider of the test's own, as a person at a console would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reconciler.clouds.base import Busy, Desired, ObjectRef
from reconciler.model import SecretValue
from reconciler.package_data import load_schema
from tests.e2e.conftest import Result, cli, edit_document, remove_document, write_documents
from tests.testcloud import registered
from tests.testcloud.kinds import NEIGHBOR, ROUTER_BGP
from tests.testcloud.provider import LIST_OPERATIONS, MemProvider
from tests.testcloud.scope import MemScope
from tests.testcloud.store import MemStore

KEY = "MemKey1secret"
MANIFESTS = Path("bgp/memcloud.yaml")
DEADLINE = 60.0  # seconds: generous, for a loaded machine


def process(name: str = "edge1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "reconciler/v1",
        "kind": ROUTER_BGP,
        "metadata": {"name": name},
        "spec": {
            "routerId": "rtr-edge1",
            "peerAsn": 65010,
            "description": "edge router 1",
            "md5Key": {"fromEnv": "MEM_KEY"},
            **spec,
        },
    }


def neighbor(name: str, peer_ip: str, group: str = "edge1", labels: dict[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, **({"labels": labels} if labels else {})}
    return {
        "apiVersion": "reconciler/v1",
        "kind": NEIGHBOR,
        "metadata": metadata,
        "spec": {"group": group, "peerIp": peer_ip},
    }


def example() -> list[dict[str, Any]]:
    # n2's address is spelt unusually: normalised, it never shows up as a change
    return [process(), neighbor("edge1-n1", "192.0.2.1"), neighbor("edge1-n2", "2001:DB8::0002")]


@pytest.fixture
def memcloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MemStore]:
    """memcloud registered, on an empty store (two reads per change, pages of two), in a project
    folder with the key in the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEM_KEY", KEY)
    monkeypatch.delenv("RECONCILER_STATE", raising=False)
    with registered(settle_polls=2, max_page_size=2) as store:
        yield store


def state_ids() -> dict[str, str]:
    state = json.loads(Path("state/reconciler.json").read_text())
    return {address: r["cloud_id"] for address, r in state["resources"].items()}


def json_of(result: Result) -> Any:
    assert result.code in (0, 2), result.both
    return json.loads(result.out)


def only_lists(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """The requests made between two `calls()` snapshots, asserting they were all list calls."""
    made = {op: n - before.get(op, 0) for op, n in after.items() if n != before.get(op, 0)}
    assert made and set(made) <= LIST_OPERATIONS, made
    return made


def by_hand(provider: MemProvider, change: Callable[[], object]) -> object:
    """A change made at the console: tried again while memcloud says it is busy (reading the
    object it waits for, which is what moves it on)."""
    deadline = time.monotonic() + DEADLINE
    while isinstance(answer := change(), Busy):
        assert time.monotonic() < deadline, answer.reason
        if answer.wait_for is not None:
            provider.get(answer.wait_for)
    return answer


def test_validate_reports_schema_and_memcloud_rule_problems(
    memcloud: MemStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_documents(MANIFESTS, example())
    valid = cli("validate", "bgp")
    assert valid.code == 0, valid.both
    assert "3 resources" in valid.out

    write_documents(
        MANIFESTS,
        [
            process(routerId="router-1"),  # schema: not rtr-...
            process("edge2", localAsn=65010),  # memcloud: eBGP only
            process("edge3", md5Key=KEY),  # schema: a literal key
            neighbor("edge1-n1", "192.0.2.1/32"),  # memcloud: a plain address
            neighbor("edge1-n2", "192.0.2.2", group="edge9"),  # memcloud: no such process
        ],
    )
    result = cli("validate", "bgp", "--format", "json")
    assert result.code == 1, result.both
    found = {(d["path"], d["code"]): d for d in json.loads(result.out)["diagnostics"]}
    assert set(found) == {
        ("spec.routerId", "schema.pattern"),
        ("spec.peerAsn", "memcloud-ebgp"),
        ("spec.md5Key", "secret-literal"),
        ("spec.peerIp", "ip-syntax"),
        ("spec.group", "unresolved-ref"),
    }
    assert "rtr- followed by lowercase letters and digits" in found[("spec.routerId", "schema.pattern")]["message"]
    assert "eBGP only" in found[("spec.peerAsn", "memcloud-ebgp")]["message"]
    assert KEY not in result.out
    assert "write the plain address, e.g. 192.0.2.1" in found[("spec.peerIp", "ip-syntax")]["message"]
    assert "no MemRouterBgp named 'edge9'" in found[("spec.group", "unresolved-ref")]["message"]
    lines = {(d["line"], d["path"]) for d in found.values()}
    assert (6, "spec.routerId") in lines  # positions point into the file
    assert memcloud.calls() == {}  # validate makes no API call

    # Keys are read when planning, and memcloud says which ones it would refuse.
    write_documents(MANIFESTS, example())
    monkeypatch.setenv("MEM_KEY", "two words")
    refused = cli("plan", "bgp")
    assert refused.code == 1
    assert "bgp/memcloud.yaml:" in refused.err and "spec.md5Key" in refused.err
    assert "the key from env:MEM_KEY is not valid: memcloud takes printable characters without spaces" in refused.err
    assert "two words" not in refused.both
    assert memcloud.calls() == {}


def test_plan_apply_converge_and_a_second_plan_is_empty(memcloud: MemStore) -> None:
    write_documents(MANIFESTS, example())
    before = memcloud.calls()
    plan = cli("plan", "bgp", "--detailed-exitcode")
    assert plan.code == 2, plan.both
    for address in ("MemRouterBgp/edge1", "MemBgpNeighbor/edge1-n1", "MemBgpNeighbor/edge1-n2"):
        assert f"+ {address} will be created" in plan.out
    assert "Plan: 3 to add" in plan.out
    assert "localAsn: 64512" in plan.out  # the default
    assert '"2001:db8::2"' in plan.out and "2001:DB8" not in plan.out
    assert KEY not in plan.both
    only_lists(before, memcloud.calls())

    applied = cli("apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    assert "3 done, 0 failed" in applied.out
    ids = state_ids()
    assert sorted(ids) == ["MemBgpNeighbor/edge1-n1", "MemBgpNeighbor/edge1-n2", "MemRouterBgp/edge1"]
    assert sorted(memcloud.ids()) == sorted(ids.values())
    live = {o.cloud_id: o for o in MemProvider().refresh(MemScope(routers=frozenset({"rtr-edge1"}))).objects}
    assert {o.status for o in live.values()} == {"ready"}
    assert live[ids["MemBgpNeighbor/edge1-n1"]].attrs["groupId"] == ids["MemRouterBgp/edge1"]
    assert live[ids["MemRouterBgp/edge1"]].secrets["md5Key"] == SecretValue(KEY)
    assert KEY not in Path("state/reconciler.json").read_text()

    before = memcloud.calls()
    again = cli("plan", "bgp", "--detailed-exitcode")
    assert again.code == 0, again.both
    assert "No changes" in again.out
    only_lists(before, memcloud.calls())


def test_drift_reports_out_of_band_changes_unmanaged_objects_and_session_health(memcloud: MemStore) -> None:
    write_documents(MANIFESTS, example())
    assert cli("apply", "bgp", "--auto-approve").code == 0
    assert cli("drift", "bgp").code == 0
    ids = state_ids()
    console = MemProvider()
    group = ObjectRef(ROUTER_BGP, ids["MemRouterBgp/edge1"], None)
    changed = Desired(ROUTER_BGP, "edge1", {"description": "changed by hand"}, {"md5Key": SecretValue("OtherKey1")})
    by_hand(console, lambda: console.update(group, changed, ["description", "md5Key"], "console-1"))
    stray = Desired(NEIGHBOR, "stray", {"groupId": group.cloud_id, "peerIp": "192.0.2.99", "enabled": True})
    stray_id = by_hand(console, lambda: console.create(stray, "console-2"))
    memcloud.set_session(ids["MemBgpNeighbor/edge1-n2"], "Active")

    before = memcloud.calls()
    result = cli("drift", "bgp", "--format", "json")
    assert result.code == 2, result.both
    report = json.loads(result.out)
    only_lists(before, memcloud.calls())
    items = {(i["category"], i["address"] or i["cloud_id"]): i for i in report["items"]}
    assert set(items) == {("changed", "MemRouterBgp/edge1"), ("unmanaged", stray_id)}
    fields = {f["name"]: f for f in items[("changed", "MemRouterBgp/edge1")]["fields"]}
    assert fields["description"]["live"] == "changed by hand"
    assert fields["description"]["desired"] == "edge router 1"
    assert fields["md5Key"]["sensitive"] and fields["md5Key"]["secret_change"] == "changed"
    assert "OtherKey1" not in result.out and KEY not in result.out
    assert items[("unmanaged", stray_id)]["scope"] == "router rtr-edge1"
    health = {h["address"]: h for h in report["health"]}
    assert (
        health["MemBgpNeighbor/edge1-n1"]["healthy"] and health["MemBgpNeighbor/edge1-n1"]["session"] == "Established"
    )
    assert not health["MemBgpNeighbor/edge1-n2"]["healthy"]
    assert health["MemBgpNeighbor/edge1-n2"]["session"] == "Active"
    assert report["summary"]["coverage"] == "3 of 4 BGP objects in scope are managed (75%)"

    # apply restores the configuration; the stray neighbour and the session are not configuration
    restored = cli("apply", "bgp", "--auto-approve")
    assert restored.code == 0, restored.both
    assert "~ MemRouterBgp/edge1" in restored.out and "1 done" in restored.out
    after = json_of(cli("drift", "bgp", "--format", "json"))
    assert {(i["category"], i["cloud_id"]) for i in after["items"]} == {("unmanaged", stray_id)}
    live = console.get(group)
    assert live is not None and live.secrets["md5Key"] == SecretValue(KEY)


def test_json_output_of_plan_and_drift_follows_the_published_schemas(memcloud: MemStore) -> None:
    """schemas/plan.schema.json and drift.schema.json describe any registered cloud's kinds."""
    write_documents(MANIFESTS, example())
    jsonschema.validate(json_of(cli("plan", "bgp", "--format", "json")), load_schema("plan.schema.json"))
    assert cli("apply", "bgp", "--auto-approve").code == 0
    memcloud.set_session(state_ids()["MemBgpNeighbor/edge1-n1"], "Idle")
    jsonschema.validate(json_of(cli("drift", "bgp", "--format", "json")), load_schema("drift.schema.json"))


def test_a_replace_only_change_replaces_and_removed_resources_are_deleted(memcloud: MemStore) -> None:
    write_documents(MANIFESTS, example())
    assert cli("apply", "bgp", "--auto-approve").code == 0
    first = state_ids()

    edit_document(Path("bgp"), NEIGHBOR, "edge1-n1", peerIp="192.0.2.11")  # replace-only
    remove_document(Path("bgp"), NEIGHBOR, "edge1-n2")
    plan = cli("plan", "bgp")
    assert plan.code == 0, plan.both
    assert "-/+ MemBgpNeighbor/edge1-n1" in plan.out and "peerIp" in plan.out
    assert "- MemBgpNeighbor/edge1-n2" in plan.out
    applied = cli("apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    second = state_ids()
    assert "MemBgpNeighbor/edge1-n2" not in second
    assert second["MemBgpNeighbor/edge1-n1"] != first["MemBgpNeighbor/edge1-n1"]
    assert sorted(memcloud.ids()) == sorted(second.values())  # the old ones are gone, not deleting

    write_documents(MANIFESTS, [process("keep", routerId="rtr-other")])  # the rest is removed
    applied = cli("apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    assert list(state_ids()) == ["MemRouterBgp/keep"]
    assert memcloud.ids() == list(state_ids().values())
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


def mixed_project(remote_asn: int) -> None:
    """An Equinix peering (on the embedded sandbox) linked to a memcloud neighbour."""
    peering = {
        "apiVersion": "reconciler/v1",
        "kind": "EquinixBgpPeering",
        "metadata": {"name": "ne1-to-edge1", "labels": {"link": "ne1-edge1"}},
        "spec": {
            "connectionUuid": "6a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "localIpAddress": "192.0.2.1/30",
            "localAsn": 65010,
            "remoteIpAddress": "192.0.2.2",
            "remoteAsn": remote_asn,
            "authenticationKey": {"fromEnv": "MEM_KEY"},
        },
    }
    write_documents(Path("bgp/equinix.yaml"), [peering])
    write_documents(MANIFESTS, [process(), neighbor("edge1-n1", "192.0.2.1", labels={"link": "ne1-edge1"})])


def test_a_mixed_project_with_a_real_cloud_on_the_sandbox(memcloud: MemStore, monkeypatch: pytest.MonkeyPatch) -> None:
    mixed_project(remote_asn=64513)  # memcloud's side is 64512 (the process's default localAsn)
    invalid = cli("validate", "bgp")
    assert invalid.code == 1
    assert "bgp/equinix.yaml" in invalid.out and "spec.remoteAsn" in invalid.out
    assert "64513 does not match the other end of link 'ne1-edge1'" in invalid.out
    assert "MemRouterBgp/edge1 has localAsn 64512" in invalid.out

    mixed_project(remote_asn=64512)
    assert cli("validate", "bgp").code == 0
    monkeypatch.setenv("OTHER_KEY", "OtherKey1")
    edit_document(Path("bgp"), "EquinixBgpPeering", "ne1-to-edge1", authenticationKey={"fromEnv": "OTHER_KEY"})
    differ = cli("--sandbox", "plan", "bgp")
    assert differ.code == 1  # the Equinix end follows the key of the neighbour's process
    assert "bgp/equinix.yaml" in differ.err and "the two ends of link 'ne1-edge1' use different keys" in differ.err
    assert "env:OTHER_KEY here and env:MEM_KEY on MemRouterBgp/edge1" in differ.err

    mixed_project(remote_asn=64512)
    applied = cli("--sandbox", "apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    assert "3 done, 0 failed" in applied.out
    assert sorted(state_ids()) == ["EquinixBgpPeering/ne1-to-edge1", "MemBgpNeighbor/edge1-n1", "MemRouterBgp/edge1"]
    plan = cli("--sandbox", "plan", "bgp", "--detailed-exitcode")
    assert plan.code == 0, plan.both
    report = json_of(cli("--sandbox", "drift", "bgp", "--format", "json"))
    assert report["exit_code"] == 0 and report["items"] == []
    assert {h["address"]: h["session"] for h in report["health"]} == {
        "EquinixBgpPeering/ne1-to-edge1": "Established",
        "MemBgpNeighbor/edge1-n1": "Established",
    }
    assert set(report["api_calls"]) == {"equinix", "memcloud"}
