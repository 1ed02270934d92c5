"""In a CI job (CI=true) a state backend must be chosen: the default local file would be lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.sandbox import Sandbox
from tests.e2e.conftest import EXAMPLES, cli, live_counts, run

MESSAGE = "no state backend is set, and this is a CI job"


@pytest.mark.parametrize("ci", ["true", "TRUE", "1"])
@pytest.mark.parametrize("state", [None, ""], ids=["unset", "empty"])
def test_an_unset_or_empty_backend_is_an_error_in_ci(
    project: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, ci: str, state: str | None
) -> None:
    monkeypatch.setenv("CI", ci)
    if state is not None:
        monkeypatch.setenv("RECONCILER_STATE", state)
    before = live_counts(sandbox)
    for args in (("plan", "bgp"), ("apply", "bgp", "--auto-approve"), ("drift", "bgp"), ("state", "list")):
        result = cli(*args)
        assert result.code == 1, result.both
        assert MESSAGE in result.err and f"(CI={ci})" in result.err
        assert "--state postgresql://" in result.err and "RECONCILER_STATE" in result.err
        assert "Traceback" not in result.err
    assert live_counts(sandbox) == before
    assert not (project / "state").exists()


def test_the_error_is_one_json_line_with_json_logs(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    result = cli("--log-format", "json", "plan", "bgp")
    assert result.code == 1
    line = json.loads(result.err.strip().splitlines()[-1])
    assert MESSAGE in line["event"] and "RECONCILER_STATE" in line["hint"]


def test_a_chosen_backend_and_the_sandbox_are_allowed_in_ci(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    (project / "ci-state").mkdir()
    assert cli("--state", "ci-state/explicit.json", "plan", "bgp").code == 0  # the user asked for a local file
    monkeypatch.setenv("RECONCILER_STATE", "ci-state/from-env.json")
    assert cli("plan", "bgp").code == 0
    monkeypatch.delenv("RECONCILER_STATE")
    sandboxed = cli("--sandbox", "--seed", str(EXAMPLES / "sandbox-seed.yaml"), "plan", "bgp")
    assert sandboxed.code == 0, sandboxed.both


def test_commands_that_open_no_state_are_unaffected(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert cli("validate", "bgp").code == 0
    for args in (("--help",), ("plan", "--help"), ("apply", "-h"), ("state", "list", "--help"), ("sandbox", "--help")):
        result = cli(*args)
        assert result.code == 0 and "Usage:" in result.out, (args, result.both)
    assert cli("show", "--help").code == 0


def test_outside_ci_the_default_local_state_is_used(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "false")
    assert cli("plan", "bgp").code == 0
    monkeypatch.delenv("CI")
    assert cli("apply", "bgp", "--auto-approve").code == 0
    assert (project / "state" / "reconciler.json").exists()


def test_a_real_process_in_ci_fails_without_a_traceback(project: Path) -> None:
    result = run("plan", "bgp", env={"CI": "true", "RECONCILER_STATE": ""})
    assert result.code == 1 and MESSAGE in result.err and "Traceback" not in result.err
