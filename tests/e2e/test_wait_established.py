"""`apply --wait-established`: after the configs settle, the changed BGP sessions must come up.

Each test keeps only the linked sessions of the examples (the Singapore and Hong Kong pairs with
Alibaba), so what the sandbox says of the sessions depends on those ends alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.sandbox import Sandbox
from reconciler.sandbox.admin import ADMIN_TOKEN_HEADER
from tests.e2e.conftest import Result, cli, documents, edit_document, write_documents
from tests.e2e.test_interactive import interrupted_once

# The linked pairs of the examples, and the groups their Alibaba ends belong to.
KEPT = {
    "EquinixBgpPeering": {"sg-ne1-to-alibaba", "hk-ne1-to-alibaba"},
    "AlibabaBgpGroup": {"sg-vbr1", "hk-vbr1"},
    "AlibabaBgpPeer": {"sg-vbr1-ne1", "hk-vbr1-ne1"},
}


def keep_linked_pairs(root: Path) -> None:
    """Rewrite the project's manifests with the linked pairs only."""
    kept: list[dict[str, Any]] = []
    for path in sorted(root.rglob("*.yaml")):
        kept += [d for d in documents(path) if d["metadata"]["name"] in KEPT.get(d["kind"], set())]
    shutil.rmtree(root)
    write_documents(root / "pairs.yaml", kept)


def force_session(box: Sandbox, cloud_id: str, state: str) -> None:
    """Force one end's session state through the sandbox's control route (both clouds serve it)."""
    with httpx.Client(base_url=box.equinix_url, timeout=10) as admin:
        response = admin.post(
            "/_sandbox/session-state",
            json={"cloudId": cloud_id, "state": state},
            headers={ADMIN_TOKEN_HEADER: box.admin_token},
        )
    assert response.status_code == 200, response.text


def sg_ends(box: Sandbox) -> tuple[str, str]:
    """The cloud ids of the Singapore pair's ends: the Equinix config and the Alibaba peer."""
    objects = box.objects()
    (equinix,) = [u for u, c in objects.equinix_bgp.items() if c["localIpAddress"] == "10.0.0.1/30"]
    (alibaba,) = [i for i, p in objects.alibaba_peers.items() if p["PeerIpAddress"] == "10.0.0.1"]
    return equinix, alibaba


def session_line(out: str, name: str) -> str:
    block = out.split("\nSessions:\n", 1)[1]
    (line,) = [line for line in block.splitlines() if f" {name}:" in line]
    return line


def test_linked_mirrored_sessions_come_up(project: Path) -> None:
    keep_linked_pairs(project / "bgp")
    result = cli("apply", "--auto-approve", "--wait-established=60", "bgp")
    assert result.code == 0, result.both
    for link, equinix, alibaba in (
        ("sg-ne1-alibaba", "sg-ne1-to-alibaba", "sg-vbr1-ne1"),
        ("hk-ne1-alibaba", "hk-ne1-to-alibaba", "hk-vbr1-ne1"),
    ):
        line = session_line(result.out, link)
        assert line.split()[0] == "up", line
        assert f"Equinix end Established (EquinixBgpPeering/{equinix})" in line, line
        assert f"Alibaba end Established (AlibabaBgpPeer/{alibaba})" in line, line
    assert "0 failed" in result.out


def update_with_sg_ends_held(project: Path, sandbox: Sandbox, *, equinix_state: str, alibaba_state: str) -> Result:
    """Apply the linked pairs, hold the Singapore session's ends in the given states, then update
    its Alibaba end and apply with a short `--wait-established`."""
    keep_linked_pairs(project / "bgp")
    assert cli("apply", "--auto-approve", "bgp").code == 0
    equinix, alibaba = sg_ends(sandbox)
    force_session(sandbox, equinix, equinix_state)
    force_session(sandbox, alibaba, alibaba_state)
    edit_document(project / "bgp", "AlibabaBgpPeer", "sg-vbr1-ne1", enableBfd=False)
    return cli("apply", "--auto-approve", "bgp", "--wait-established=2")


def test_session_forced_down_fails_its_addresses_with_a_hint(project: Path, sandbox: Sandbox) -> None:
    """Both ends of an updated linked session stay Idle: both ends' changes fail with each end's
    last state and what to check, exit 1, and the applied config is in state all the same."""
    result = update_with_sg_ends_held(project, sandbox, equinix_state="Idle", alibaba_state="Idle")

    assert result.code == 1, result.both
    assert "Traceback" not in result.both
    line = session_line(result.out, "sg-ne1-alibaba")
    assert line.split()[0] == "down", line
    assert "Equinix end Idle" in line and "Alibaba end Idle" in line, line
    assert "check the addresses (peer IP, gateway) and that both ends exist" in line, line
    failed = [line for line in result.out.splitlines() if line.strip().startswith("failed")]
    assert len(failed) == 1 and "AlibabaBgpPeer/sg-vbr1-ne1" in failed[0], result.out
    assert "BGP session not Established" in failed[0]
    assert "apply failed" in result.err
    # The config was applied and recorded: planning again shows nothing to change.
    again = cli("plan", "bgp")
    assert again.code == 0 and "No changes" in again.out, again.both


def test_session_in_active_hints_at_the_key(project: Path, sandbox: Sandbox) -> None:
    result = update_with_sg_ends_held(project, sandbox, equinix_state="Connect", alibaba_state="Active")

    assert result.code == 1, result.both
    line = session_line(result.out, "sg-ne1-alibaba")
    assert "Alibaba end Active" in line and "Equinix end Connect" in line, line
    assert line.endswith("check the key and the ASNs"), line


def test_unlinked_pair_with_different_keys_fails_with_the_hint(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mistake validation cannot see: without a link, nothing compares the two ends' keys.
    The sandbox's session model shows it (both ends Active), and the wait reports it."""
    keep_linked_pairs(project / "bgp")
    path = project / "bgp" / "pairs.yaml"
    docs = documents(path)
    for doc in docs:
        if doc["metadata"]["name"] in ("sg-ne1-to-alibaba", "sg-vbr1-ne1"):
            doc["metadata"]["labels"].pop("link")
        if doc["metadata"]["name"] == "sg-ne1-to-alibaba":
            doc["spec"]["authenticationKey"] = {"fromEnv": "SG_EQUINIX_BGP_KEY"}
    write_documents(path, docs)
    monkeypatch.setenv("SG_EQUINIX_BGP_KEY", "AnotherSgKeyNotReal2")

    result = cli("apply", "--auto-approve", "bgp", "--wait-established=10")

    assert result.code == 1, result.both
    assert "AnotherSgKeyNotReal2" not in result.both and "ExampleSgKeyNotReal1" not in result.both
    for address in ("EquinixBgpPeering/sg-ne1-to-alibaba", "AlibabaBgpPeer/sg-vbr1-ne1"):
        line = session_line(result.out, address)
        assert line.split()[0] == "down", line
        assert line.endswith("check the key and the ASNs"), line
    assert session_line(result.out, "hk-ne1-alibaba").split()[0] == "up"  # the linked pair still comes up


def test_bad_value_says_how_to_write_it(project: Path) -> None:
    result = cli("apply", "--auto-approve", "--wait-established", "bgp")
    assert result.code == 1, result.both
    assert "'bgp' is not a number of seconds: write --wait-established=SECONDS" in result.err
    assert "Traceback" not in result.both


def test_saved_plan_applies_with_the_wait(project: Path) -> None:
    keep_linked_pairs(project / "bgp")
    assert cli("plan", "bgp", "--out", "plan.bin").code == 0
    result = cli("apply", "plan.bin", "--wait-established=60")
    assert result.code == 0, result.both
    assert session_line(result.out, "sg-ne1-alibaba").split()[0] == "up"


def test_ctrl_c_ends_the_wait_and_says_which_sessions_are_unconfirmed(project: Path, sandbox: Sandbox) -> None:
    keep_linked_pairs(project / "bgp")
    assert cli("apply", "--auto-approve", "bgp").code == 0
    equinix, _ = sg_ends(sandbox)
    force_session(sandbox, equinix, "Idle")
    edit_document(project / "bgp", "AlibabaBgpPeer", "sg-vbr1-ne1", enableBfd=False)

    code, stdout, stderr = interrupted_once(
        ("apply", "--auto-approve", "bgp", "--wait-established=600"),
        "Waiting up to 600 s for 1 BGP session to be Established",
    )
    assert code == 1
    assert "Interrupted: no longer waiting for the sessions; the state is saved" in stderr
    line = session_line(stdout, "sg-ne1-alibaba")
    assert line.split()[0] == "down" and line.endswith("not confirmed: the wait was interrupted"), line
    assert "Traceback" not in stdout + stderr
    assert cli("plan", "bgp").out.count("No changes") == 1  # the update is in state
