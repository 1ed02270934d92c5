"""`reconciler drift` end to end: out-of-band changes made through the public APIs, as a person
would, are reported in the right categories; apply restores the configuration ones; accepted
drift can be silenced in the manifests (issue "Drift detection and the GitOps workflow")."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from reconciler.package_data import load_schema
from reconciler.sandbox import Sandbox
from tests.e2e.conftest import cli, documents, write_documents

REPO = Path(__file__).resolve().parents[2]


def alibaba_client(box: Sandbox, region: str) -> Any:
    from alibabacloud_tea_openapi import models as open_api_models
    from alibabacloud_vpc20160428.client import Client

    config = open_api_models.Config(
        access_key_id="sandbox-ak",
        access_key_secret="sandbox-secret",
        endpoint=box.alibaba_endpoint,
        protocol="http",
        region_id=region,
    )
    return Client(config)


def state_ids(project: Path) -> dict[str, str]:
    state = json.loads((project / "state" / "reconciler.json").read_text())
    return {address: r["cloud_id"] for address, r in state["resources"].items()}


def equinix_put_remote_asn(box: Sandbox, uuid: str, remote_asn: int) -> None:
    with httpx.Client(base_url=box.equinix_url, timeout=10) as http:
        token = http.post(
            "/oauth2/v1/token",
            json={"grant_type": "client_credentials", "client_id": "sandbox", "client_secret": "sandbox-secret"},
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        current = http.get(f"/ne/v1/bgp/{uuid}", headers=headers).json()
        body = {k: current[k] for k in ("localIpAddress", "localAsn", "remoteIpAddress", "authenticationKey")}
        response = http.put(f"/ne/v1/bgp/{uuid}", headers=headers, json={**body, "remoteAsn": remote_asn})
        assert response.status_code == 202, response.text


def drift_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = cli("drift", "bgp", "--format", "json", *args)
    assert result.code in (0, 2), result.both
    data = json.loads(result.out)
    jsonschema.validate(data, load_schema("drift.schema.json"))
    return result.code, data


def findings(data: dict[str, Any]) -> set[tuple[str, str]]:
    return {(i["category"], i["address"] or i["cloud_id"]) for i in data["items"] if not i["ignored"]}


def drift_once_reads_show(expected: set[tuple[str, str]], timeout: float = 60) -> tuple[int, dict[str, Any]]:
    """`drift` once the cloud's reads show the changes made behind reconciler's back: reads may
    lag a change (the realistic and pessimistic profiles), as a nightly run never notices."""
    deadline = time.monotonic() + timeout
    while True:
        code, data = drift_json()
        if findings(data) == expected or time.monotonic() > deadline:
            return code, data
        time.sleep(0.5)


@pytest.mark.profiles
def test_out_of_band_changes_are_reported_restored_and_silenced(project: Path, sandbox: Sandbox) -> None:
    from alibabacloud_vpc20160428 import models as vpc

    assert cli("apply", "bgp", "--auto-approve").code == 0
    assert drift_json()[0] == 0
    ids = state_ids(project)
    sg = alibaba_client(sandbox, "ap-southeast-1")

    # 1. a group's peer ASN changed with the real Alibaba SDK
    sg.modify_bgp_group_attribute(
        vpc.ModifyBgpGroupAttributeRequest(
            region_id="ap-southeast-1", bgp_group_id=ids["AlibabaBgpGroup/sg-colo-core"], peer_asn=64999
        )
    )
    # 2. a new remote ASN PUT on Equinix
    equinix_put_remote_asn(sandbox, ids["EquinixBgpPeering/hk-ne1-to-aws"], 64998)
    # 3. an Alibaba peer deleted
    sg.delete_bgp_peer(
        vpc.DeleteBgpPeerRequest(region_id="ap-southeast-1", bgp_peer_id=ids["AlibabaBgpPeer/sg-colo-core-r2"])
    )
    # 4. an unmanaged peer created on a managed VBR
    rogue = sg.create_bgp_peer(
        vpc.CreateBgpPeerRequest(
            region_id="ap-southeast-1", bgp_group_id=ids["AlibabaBgpGroup/sg-colo-core"], peer_ip_address="10.10.0.9"
        )
    ).body.bgp_peer_id
    # 5. a session dropped to Idle through the sandbox admin
    sandbox.set_session_state(ids["AlibabaBgpPeer/hk-vbr1-ne1"], "Idle")

    expected = {
        ("changed", "AlibabaBgpGroup/sg-colo-core"),
        ("changed", "EquinixBgpPeering/hk-ne1-to-aws"),
        ("missing", "AlibabaBgpPeer/sg-colo-core-r2"),
        ("unmanaged", rogue),
    }
    code, data = drift_once_reads_show(expected)
    assert code == 2
    assert findings(data) == expected
    changed = {i["address"]: i for i in data["items"] if i["category"] == "changed"}
    (asn,) = changed["AlibabaBgpGroup/sg-colo-core"]["fields"]
    assert (asn["name"], asn["live"], asn["state"], asn["desired"]) == ("peerAsn", 64999, 64700, 64700)
    (remote,) = changed["EquinixBgpPeering/hk-ne1-to-aws"]["fields"]
    assert (remote["name"], remote["live"]) == ("remoteAsn", 64998)
    unhealthy = [h for h in data["health"] if not h["healthy"]]
    assert [(h["address"], h["session"]) for h in unhealthy] == [("AlibabaBgpPeer/hk-vbr1-ne1", "Idle")]
    assert data["summary"]["unmanaged"] == 1 and data["summary"]["missing"] == 1
    text = cli("drift", "bgp")
    assert text.code == 2
    assert "14 of 15 BGP objects in scope are managed (93%)" in text.out, text.out
    markdown = cli("drift", "bgp", "--format", "markdown")
    assert markdown.code == 2 and "sg-colo-core-r2" in markdown.out and "Idle" in markdown.out

    # apply restores the configuration drift; the rogue peer is not ours to delete
    restored = cli("apply", "bgp", "--auto-approve")
    assert restored.code == 0, restored.both
    code, data = drift_json()
    assert code == 2
    assert findings(data) == {("unmanaged", rogue)}
    assert drift_json("--require-established")[0] == 2  # the Idle session still counts when required

    # accepted drift: silence the rogue peer in the manifests; it is still listed as ignored
    path = next(p for p in (project / "bgp").rglob("*.yaml") if "sg-colo-core" in p.read_text())
    docs = documents(path)
    for doc in docs:
        if doc["kind"] == "AlibabaBgpGroup" and doc["metadata"]["name"] == "sg-colo-core":
            doc["metadata"]["driftIgnore"] = [{"unmanaged": rogue, "reason": "lab router, INC-1234"}]
    write_documents(path, docs)
    assert cli("validate", "bgp").code == 0
    code, data = drift_json()
    assert code == 0
    ignored = [i for i in data["items"] if i["ignored"]]
    assert [(i["cloud_id"], i["ignore_reason"]) for i in ignored] == [(rogue, "lab router, INC-1234")]
    verbose = cli("-v", "drift", "bgp")
    assert verbose.code == 0 and rogue in verbose.out
    sandbox.set_session_state(ids["AlibabaBgpPeer/hk-vbr1-ne1"], "auto")
    assert drift_json("--require-established")[0] == 0


def test_drift_never_writes_state_or_takes_the_lock(project: Path, sandbox: Sandbox) -> None:
    assert cli("apply", "bgp", "--auto-approve").code == 0
    state = project / "state" / "reconciler.json"
    before = state.read_bytes(), state.stat().st_mtime_ns
    assert cli("drift", "bgp").code == 0
    assert (state.read_bytes(), state.stat().st_mtime_ns) == before
    assert not (project / "state" / "reconciler.json.lock.json").exists()


def test_gitops_workflows_are_valid_ci_files() -> None:
    from check_jsonschema import main as check_jsonschema  # type: ignore[import-untyped]

    workflows = sorted((REPO / "examples" / "gitops" / "github" / "workflows").glob("*.yml"))
    assert len(workflows) == 3
    for schema, files in (
        ("vendor.github-workflows", workflows),
        ("vendor.gitlab-ci", [REPO / "examples" / "gitops" / "gitlab" / ".gitlab-ci.yml"]),
    ):
        try:
            check_jsonschema(["--builtin-schema", schema, *map(str, files)])
        except SystemExit as exc:
            assert exc.code == 0, f"{schema}: {files}"
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hooks[0]["entry"].startswith("reconciler validate")
