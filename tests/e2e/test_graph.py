"""`reconciler graph` end to end, through the CLI against the sandbox: the topology of the
manifests, sessions coloured by health after an apply (one refresh of list calls), a saved plan's
actions (no API call), DOT, and bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.sandbox import Sandbox
from tests.e2e.conftest import EXAMPLE_KEYS, cli, edit_document
from tests.e2e.test_wait_established import force_session, keep_linked_pairs, sg_ends
from tests.graph.parser import assert_parses

SG_LINK = '<-->|"sg-ne1-alibaba"|'


def node_state(diagram: str, address: str) -> str:
    """The state written as the last line of the node labelled with `address`."""
    (line,) = [line for line in diagram.splitlines() if f'"{address}<br>' in line or f'"{address}"' in line]
    return re.split(r"<br>", line.rsplit('"', 1)[0])[-1]


def no_secret_in(*texts: str) -> None:
    for text in texts:
        assert not [value for value in EXAMPLE_KEYS.values() if value in text]


def test_topology_from_the_manifests_alone_makes_no_api_call(
    project: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [*EXAMPLE_KEYS, "EQUINIX_CLIENT_SECRET", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"]:
        monkeypatch.delenv(name, raising=False)  # neither keys nor credentials are needed
    sandbox.reset_request_counts()
    result = cli("graph", "--no-health", "bgp")
    assert result.code == 0, result.both
    assert sum(sandbox.request_counts().values()) == 0
    diagram = result.out
    assert diagram.startswith("flowchart LR\n")
    assert SG_LINK in diagram and '<-->|"hk-ne1-alibaba"|' in diagram
    assert '"Fabric connection<br>80afc8be-0ce3-4950-be27-3d3e678e6873"' in diagram
    assert "VBR vbr-t4nsgequinix000000001 (ap-southeast-1)" in diagram
    assert "classDef" not in diagram  # nothing to colour by
    assert not (project / "state").exists()  # the state was not even opened
    assert_parses([diagram])


def test_health_after_apply(project: Path, sandbox: Sandbox) -> None:
    keep_linked_pairs(project / "bgp")
    before = cli("graph", "bgp")
    assert before.code == 0, before.both
    assert node_state(before.out, "EquinixBgpPeering/sg-ne1-to-alibaba") == "unknown"  # not applied yet

    applied = cli("apply", "--auto-approve", "--wait-established=60", "bgp")
    assert applied.code == 0, applied.both
    sandbox.reset_request_counts()
    after = cli("graph", "bgp")
    assert after.code == 0, after.both
    assert node_state(after.out, "EquinixBgpPeering/sg-ne1-to-alibaba") == "established"
    assert node_state(after.out, "AlibabaBgpPeer/sg-vbr1-ne1") == "established"
    assert "classDef established fill:#d4edda" in after.out
    # The refresh is the list calls plan makes: never one read per object.
    calls = sandbox.request_counts()
    assert calls and all("/ne/v1/bgp/" not in operation for operation in calls), calls
    # The Network Edge device is known from the refresh: the connection hangs from it.
    assert "Network Edge device<br>" in after.out

    _, alibaba_end = sg_ends(sandbox)
    force_session(sandbox, alibaba_end, "Idle")
    down = cli("graph", "bgp")
    assert node_state(down.out, "AlibabaBgpPeer/sg-vbr1-ne1") == "down"
    assert node_state(down.out, "EquinixBgpPeering/hk-ne1-to-alibaba") == "established"
    no_secret_in(before.both, after.both, down.both)
    assert_parses([before.out, after.out, down.out])


def test_plan_colours_and_makes_no_api_call(project: Path, sandbox: Sandbox, tmp_path: Path) -> None:
    assert cli("apply", "--auto-approve", "bgp").code == 0
    edit_document(project / "bgp", "AlibabaBgpGroup", "sg-colo-core", description="moved")
    planned = cli("plan", "bgp", "--out", "plan.json")
    assert planned.code == 0, planned.both
    sandbox.reset_request_counts()
    result = cli("graph", "--plan", "plan.json", "--out", str(tmp_path / "plan.mmd"))
    assert result.code == 0, result.both
    assert sum(sandbox.request_counts().values()) == 0
    assert node_state(result.out, "AlibabaBgpGroup/sg-colo-core") == "update"
    assert node_state(result.out, "AlibabaBgpPeer/sg-colo-core-r1") == "no-op"
    assert "classDef update" in result.out and SG_LINK in result.out
    assert "Signature: none" in result.err
    assert (tmp_path / "plan.mmd").read_text() == result.out
    no_secret_in(result.both, planned.both)

    dot = cli("graph", "--plan", "plan.json", "--format", "dot")
    assert dot.code == 0, dot.both
    assert dot.out.startswith("digraph reconciler {\n") and 'label="sg-ne1-alibaba"' in dot.out
    assert '\\nupdate", shape=box3d, fillcolor="#fff3cd"' in dot.out
    assert_parses([result.out])
    assert_parses([dot.out], dot=True)


def test_a_tampered_signed_plan_is_refused(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_PLAN_KEY", "k" * 40)
    assert cli("plan", "bgp", "--out", "plan.json").code == 0
    plan = Path("plan.json")
    plan.write_text(plan.read_text().replace("sg-colo-core", "sg-colo-corf"))
    result = cli("graph", "--plan", "plan.json")
    assert result.code == 1 and "plan file plan.json is refused" in result.err and "DOES NOT VERIFY" in result.err
    assert "Traceback" not in result.both and result.out == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--plan", "missing.json"), "plan file missing.json does not exist"),
        (("--format", "svg", "bgp"), "'svg' is not one of 'mermaid', 'dot'"),
        (("--plan", "plan.json", "bgp"), "--plan plan.json draws the plan's own addresses: give no PATH with it"),
        (
            ("--no-health", "--out", "nowhere/graph.mmd", "bgp"),
            "--out nowhere/graph.mmd: folder nowhere does not exist",
        ),
        (("--no-health", "missing-folder"), "missing-folder"),
    ],
)
def test_bad_input_is_one_clear_error(project: Path, args: tuple[str, ...], message: str) -> None:
    result = cli("graph", *args)
    assert result.code == 1, result.both
    assert message in result.err, result.err
    assert "Traceback" not in result.both and result.out == ""


def test_in_ci_health_needs_a_chosen_state_backend_but_drawings_without_it_do_not(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    health = cli("graph", "bgp")
    assert health.code == 1 and "no state backend is set, and this is a CI job" in health.err, health.both
    assert "Traceback" not in health.both and health.out == ""
    assert cli("graph", "--no-health", "bgp").code == 0
    assert cli("graph", "--state", "state/reconciler.json", "bgp").code == 0
