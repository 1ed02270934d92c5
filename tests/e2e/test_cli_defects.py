"""The command line as users type it: global option values that look like commands, state paths
in folders that do not exist, and the final error in JSON logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.sandbox import Sandbox
from tests.e2e.conftest import Result, cli

STATE = Path("state") / "reconciler.json"


def json_lines(text: str) -> list[dict[str, object]]:
    """Every stderr line parsed as JSON (a plain-text line fails the test)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# -- a global option's value that is also a command name --------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("--state", "show", "plan", "bgp", "-v"),  # `show` is the state path, `plan` the command
        ("--state", "state", "plan", "bgp", "--lock-timeout", "1"),
        ("--state=state", "plan", "-v", "bgp"),
    ],
)
def test_a_global_option_value_is_not_taken_for_the_command(project: Path, args: tuple[str, ...]) -> None:
    result = cli(*args)
    assert result.code == 0, result.both
    assert "No such command" not in result.err
    assert "AlibabaBgpPeer" in result.out  # the plan of the examples


# -- state paths in folders that do not exist ---------------------------------------------------


def assert_refused_naming(result: Result, folder: Path, where: str) -> None:
    assert result.code == 1, result.both
    assert f"Error: the state folder {folder} (from {where} " in result.err
    assert "does not exist; nothing was created" in result.err
    assert f"create it (mkdir -p {folder})" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("command", [("apply", "bgp", "--auto-approve"), ("plan", "bgp"), ("state", "list")])
def test_a_state_path_in_a_missing_folder_is_refused_and_nothing_is_created(
    project: Path, sandbox: Sandbox, command: tuple[str, ...]
) -> None:
    missing = project / "nonexistent" / "dir"
    before = sandbox.objects().counts()
    result = cli("--state", str(missing / "x.json"), *command)
    assert_refused_naming(result, missing, "--state")
    assert not (project / "nonexistent").exists()
    assert not (project / "state").exists()
    assert sandbox.objects().counts() == before  # refused before any cloud call


def test_a_state_path_from_the_environment_in_a_missing_folder_is_refused(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = project / "typo"
    monkeypatch.setenv("RECONCILER_STATE", str(missing / "reconciler.json"))
    assert_refused_naming(cli("apply", "bgp", "--auto-approve"), missing, "RECONCILER_STATE")
    assert not missing.exists()
    assert cli("validate", "bgp").code == 0  # a command that never opens the state still works


def test_a_state_path_in_an_existing_folder_and_the_default_state_folder_still_work(project: Path) -> None:
    (project / "elsewhere").mkdir()
    assert cli("--state", str(project / "elsewhere" / "s.json"), "apply", "bgp", "--auto-approve").code == 0
    assert (project / "elsewhere" / "s.json").is_file()
    assert not (project / "state").exists()
    assert cli("--state", str(STATE), "plan", "bgp").code == 0  # the default location, given explicitly
    # No --state in a fresh project: the default state/ folder is created by the first apply.
    applied = cli("apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    assert (project / STATE).is_file()


# -- the final error with --log-format json -----------------------------------------------------


@pytest.mark.parametrize(
    ("args", "event"),
    [
        (("--log-format", "json", "plan", "no-such-folder"), "path not found: no-such-folder"),
        (("plan", "no-such-folder", "--log-format=json"), "path not found: no-such-folder"),
        (("--log-format", "json", "plan", "--no-such-option"), "No such option '--no-such-option'"),
        (
            ("--log-format", "json", "--state", "nowhere/s.json", "plan", "bgp"),
            "the state folder nowhere (from --state nowhere/s.json) does not exist",
        ),
    ],
)
def test_with_json_logs_the_final_error_is_a_json_log_line(project: Path, args: tuple[str, ...], event: str) -> None:
    result = cli(*args)
    assert result.code == 1
    lines = json_lines(result.err)  # no plain-text line at all
    final = lines[-1]
    assert final["level"] == "error" and final["exit_code"] == 1
    assert str(final["event"]).startswith(event), final
    assert "exception" not in final and "Traceback" not in result.err


def test_with_json_logs_and_verbose_the_traceback_is_inside_the_json_line(project: Path) -> None:
    result = cli("--log-format", "json", "-v", "plan", "no-such-folder")
    assert result.code == 1
    final = json_lines(result.err)[-1]
    assert final["level"] == "error"
    assert "ManifestError: path not found" in str(final["exception"])


def test_with_text_logs_the_final_error_is_one_plain_line(project: Path) -> None:
    result = cli("plan", "no-such-folder")
    assert result.code == 1
    assert result.err.startswith("Error: path not found: no-such-folder")


# -- a short database password in an error ------------------------------------------------------


def test_a_short_database_password_masks_only_the_url_userinfo(project: Path) -> None:
    result = cli("--state", "postgresql://ci:p@127.0.0.1:1/state", "state", "list")
    assert result.code == 1
    assert "postgresql://ci:***@127.0.0.1:1/state" in result.err
    assert ", port 1 failed" in result.err and "***ort" not in result.err
