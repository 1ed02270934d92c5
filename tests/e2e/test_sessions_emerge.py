"""Sessions that emerge from both ends' configs on the embedded sandbox (docs/sandbox.md, Sessions):
`--sandbox` pairs linked ends with no seed, and a mistake validation cannot see (an unlinked pair
with different keys) shows on both ends."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.workflow import seed_from_manifests
from tests.e2e.conftest import EXAMPLES, cli, documents, write_documents

SG_ENDS = ("EquinixBgpPeering/sg-ne1-to-alibaba", "AlibabaBgpPeer/sg-vbr1-ne1")
HK_ENDS = ("EquinixBgpPeering/hk-ne1-to-alibaba", "AlibabaBgpPeer/hk-vbr1-ne1")


def sessions_become(expected: dict[str, str], *global_options: str, deadline: float = 60.0) -> dict[str, str]:
    """Run `drift` until its health shows `expected` (address -> session); the last health seen."""
    give_up = time.monotonic() + deadline
    while True:
        result = cli(*global_options, "drift", "bgp", "--format", "json")
        assert result.code in (0, 2), result.both
        health = {h["address"]: h["session"] for h in json.loads(result.out)["health"]}
        if all(health.get(address) == state for address, state in expected.items()):
            return health
        if time.monotonic() > give_up:
            raise AssertionError(f"sessions not {expected} within {deadline} s: {health}")


def test_linked_examples_come_up_established_on_both_ends_with_no_seed(examples_repo: Path) -> None:
    applied = cli("--sandbox", "apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    sessions_become(dict.fromkeys((*SG_ENDS, *HK_ENDS), "Established"), "--sandbox")


def test_the_derived_seed_pairs_linked_connections_with_their_vbrs(examples_repo: Path) -> None:
    seed = seed_from_manifests(["bgp"], None)
    assert {c.uuid: c.vbr_id for c in seed.connections if c.vbr_id} == {
        "80afc8be-0ce3-4950-be27-3d3e678e6873": "vbr-t4nsgequinix000000001",
        "9d0c4e55-2b7a-4c1f-8e3d-6f5a4b3c2d10": "vbr-j6nhkequinix000000001",
    }
    gateways = {v.vbr_id: (v.local_gateway_ip, v.peer_gateway_ip, v.peering_subnet_mask) for v in seed.vbrs}
    assert gateways["vbr-t4nsgequinix000000001"] == ("10.0.0.2", "10.0.0.1", "255.255.255.252")
    assert gateways["vbr-j6nhkequinix000000001"] == ("172.16.0.2", "172.16.0.1", "255.255.255.252")
    assert gateways["vbr-t4nsgcolo0000000000002"] == ("", "", "")  # no link: nothing to derive


def _unlink_with_another_key(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop the Singapore pair's link (validation then cannot compare its keys) and give the Equinix
    end a key of its own."""
    monkeypatch.setenv("SG_OTHER_BGP_KEY", "ExampleOtherKeyNotReal1")
    for path in sorted(root.rglob("*.yaml")):
        docs: list[dict[str, Any]] = documents(path)
        for doc in docs:
            if f"{doc['kind']}/{doc['metadata']['name']}" in SG_ENDS:
                doc["metadata"].get("labels", {}).pop("link", None)
                if doc["kind"] == "EquinixBgpPeering":
                    doc["spec"]["authenticationKey"] = {"fromEnv": "SG_OTHER_BGP_KEY"}
        write_documents(path, docs)


def test_an_unlinked_pair_with_different_keys_is_active_on_both_ends(
    examples_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _unlink_with_another_key(examples_repo / "bgp", monkeypatch)
    # The examples' seed maps the connections to their VBRs whatever the manifests link.
    options = ("--sandbox", "--seed", str(EXAMPLES / "sandbox-seed.yaml"))
    applied = cli(*options, "apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    health = sessions_become({**dict.fromkeys(SG_ENDS, "Active"), **dict.fromkeys(HK_ENDS, "Established")}, *options)
    assert "ExampleOtherKeyNotReal1" not in json.dumps(health)


def test_a_saved_plan_pairs_linked_ends_on_a_fresh_embedded_sandbox(examples_repo: Path, tmp_path: Path) -> None:
    # `apply PLANFILE` derives the embedded sandbox's seed from the plan's changes: they carry the
    # labels and references that pair a linked session's ends, as the manifests do.
    planned = cli("--sandbox", "--sandbox-data", str(tmp_path / "planned.json"), "plan", "bgp", "--out", "plan.json")
    assert planned.code == 0, planned.both
    data = tmp_path / "applied.json"
    applied = cli("--sandbox", "--sandbox-data", str(data), "apply", "plan.json")
    assert applied.code == 0, applied.both
    text = data.read_text()
    assert "vbr-t4nsgequinix000000001" in text and "80afc8be-0ce3-4950-be27-3d3e678e6873" in text
    connections = [c for c in _dicts(json.loads(text)) if c.get("uuid") == "80afc8be-0ce3-4950-be27-3d3e678e6873"]
    assert connections and all(c.get("vbr_id") == "vbr-t4nsgequinix000000001" for c in connections), connections


def _dicts(value: Any) -> list[dict[str, Any]]:
    """Every mapping nested in `value`."""
    if isinstance(value, dict):
        return [value, *(d for v in value.values() for d in _dicts(v))]
    if isinstance(value, list):
        return [d for v in value for d in _dicts(v)]
    return []
