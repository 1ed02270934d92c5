"""The CLI frame: global options anywhere, unknown commands, exit codes, no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from reconciler.cli import SANDBOX_PROFILES, cli, hoist_global_options
from reconciler.context import AppContext, SecretsOptions


def test_global_options_after_the_command_move_in_front() -> None:
    assert hoist_global_options(["plan", "--sandbox", "bgp", "--state", "s.json", "-v", "--out", "p"]) == [
        "--sandbox",
        "--state",
        "s.json",
        "-v",
        "plan",
        "bgp",
        "--out",
        "p",
    ]
    assert hoist_global_options(["--sandbox", "apply", "--log-format=json", "x"]) == [
        "--sandbox",
        "--log-format=json",
        "apply",
        "x",
    ]


def test_sandbox_serve_keeps_its_own_seed_option() -> None:
    args = ["sandbox", "serve", "--seed", "seed.yaml"]
    assert hoist_global_options(args) == args


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler", *args], capture_output=True, text=True, check=False)


def test_help_lists_every_command_and_version_works() -> None:
    help_text = run("--help").stdout
    for name in ("validate", "plan", "apply", "drift", "show", "import", "state", "sandbox"):
        assert f"  {name}" in help_text
    assert run("--version").stdout.startswith("reconciler, version ")


def test_usage_errors_exit_1_without_traceback() -> None:
    for args in (["nosuchcommand"], ["plan", "--no-such-option"], ["--log-format", "xml", "plan"]):
        result = run(*args)
        assert result.returncode == 1, args
        assert "Traceback" not in result.stderr
        assert result.stderr.strip()


def test_sandbox_profile_is_a_global_option_also_after_the_command() -> None:
    """docs/sandbox.md (Profiles): `--sandbox-profile` moves in front like the other global options."""
    assert hoist_global_options(["plan", "--sandbox", "--sandbox-profile", "lenient", "bgp"]) == [
        "--sandbox",
        "--sandbox-profile",
        "lenient",
        "plan",
        "bgp",
    ]
    assert hoist_global_options(["apply", "x", "--sandbox-profile=pessimistic"]) == [
        "--sandbox-profile=pessimistic",
        "apply",
        "x",
    ]


def test_unknown_sandbox_profile_exits_1_naming_where_it_came_from() -> None:
    """docs/sandbox.md (Profiles): an unknown profile, given as an option or in the environment."""
    result = run("--sandbox-profile", "strict", "validate")
    assert result.returncode == 1
    assert "Invalid value for --sandbox-profile: 'strict' is not a sandbox profile" in result.stderr
    assert "valid: lenient, realistic, pessimistic" in result.stderr
    env = {**os.environ, "RECONCILER_SANDBOX_PROFILE": "paranoid"}
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate"], capture_output=True, text=True, check=False, env=env
    )
    assert result.returncode == 1
    assert "Invalid value for RECONCILER_SANDBOX_PROFILE: 'paranoid' is not a sandbox profile" in result.stderr
    assert "Traceback" not in result.stderr


def test_profile_names_match_the_sandbox() -> None:
    from reconciler.sandbox.config import PROFILES

    assert SANDBOX_PROFILES == PROFILES
    assert "--sandbox-profile [lenient|realistic|pessimistic]" in run("--help").stdout


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ([], None, "realistic"),
        (["--sandbox-profile", "lenient"], None, "lenient"),
        ([], "pessimistic", "pessimistic"),
        (["--sandbox-profile", "realistic"], "pessimistic", "realistic"),
    ],
)
def test_the_profile_reaches_the_embedded_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], env: str | None, expected: str
) -> None:
    """docs/sandbox.md (Profiles): `reconciler --sandbox` runs its sandbox with the chosen profile
    (option, else RECONCILER_SANDBOX_PROFILE, else realistic)."""
    from reconciler.sandbox.config import profile_of
    from reconciler.workflow import open_workspace

    monkeypatch.chdir(tmp_path)
    if env is None:
        monkeypatch.delenv("RECONCILER_SANDBOX_PROFILE", raising=False)
    else:
        monkeypatch.setenv("RECONCILER_SANDBOX_PROFILE", env)
    monkeypatch.setattr("reconciler.log.configure", lambda *a: None)
    with cli.make_context("reconciler", [*args, "--sandbox", "validate"]) as ctx:
        ctx.invoke(cli.callback, **ctx.params)  # the global options only; the command is not run
        app = ctx.obj
    assert isinstance(app, AppContext)
    assert app.sandbox_profile == expected
    with open_workspace(app) as ws:
        assert ws.sandbox is not None
        assert profile_of(ws.sandbox.config) == expected


def test_the_secrets_options_are_global_options_also_after_the_command() -> None:
    args = ["plan", "bgp", "--secrets-root", "/repo", "--secrets-allow=/run/a.key", "--secrets-allow", "/run/b"]
    assert hoist_global_options(args) == [
        "--secrets-root",
        "/repo",
        "--secrets-allow=/run/a.key",
        "--secrets-allow",
        "/run/b",
        "plan",
        "bgp",
    ]


def app_for(args: list[str], monkeypatch: pytest.MonkeyPatch) -> AppContext:
    monkeypatch.setattr("reconciler.log.configure", lambda *a: None)
    with cli.make_context("reconciler", [*args, "validate"]) as ctx:
        ctx.invoke(cli.callback, **ctx.params)  # the global options only; the command is not run
        app = ctx.obj
    assert isinstance(app, AppContext)
    return app


def test_the_secrets_options_reach_the_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECONCILER_SECRETS_ROOT", raising=False)
    monkeypatch.delenv("RECONCILER_SECRETS_ALLOW", raising=False)
    assert app_for([], monkeypatch).secrets == SecretsOptions(None, ())
    app = app_for(["--secrets-root", "/repo", "--secrets-allow", "/a", "--secrets-allow", "/b"], monkeypatch)
    assert app.secrets == SecretsOptions(Path("/repo"), (Path("/a"), Path("/b")))


def test_the_secrets_options_come_from_the_environment_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """RECONCILER_SECRETS_ALLOW holds paths separated by os.pathsep; an empty entry (a stray
    separator) allows nothing, in particular not the working folder."""
    monkeypatch.setenv("RECONCILER_SECRETS_ROOT", "/repo")
    monkeypatch.setenv("RECONCILER_SECRETS_ALLOW", os.pathsep.join(["/run/a.key", "", "/run/b"]) + os.pathsep)
    assert app_for([], monkeypatch).secrets == SecretsOptions(Path("/repo"), (Path("/run/a.key"), Path("/run/b")))
    monkeypatch.setenv("RECONCILER_SECRETS_ALLOW", "")
    assert app_for([], monkeypatch).secrets.allow == ()


def test_a_secrets_root_that_is_a_file_exits_1_naming_the_option(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = run("--secrets-root", str(tmp_path / "file"), "validate", str(tmp_path))
    assert result.returncode == 1
    assert "Invalid value for '--secrets-root'" in result.stderr and "is a file" in result.stderr
    assert "Traceback" not in result.stderr


def valued_global_options() -> list[str]:
    return sorted(name for p in cli.params if isinstance(p, click.Option) and not p.is_flag for name in p.opts)


def test_every_valued_global_option_is_known() -> None:
    assert {"--state", "--seed", "--sandbox-profile", "--log-format", "--lock-timeout"} <= set(valued_global_options())


@pytest.mark.parametrize("option", valued_global_options())
@pytest.mark.parametrize("value", ["state", "sandbox", "plan"])
def test_a_global_option_value_that_names_a_command_is_a_value(option: str, value: str) -> None:
    """`reconciler --state state plan bgp -v`: `state` is the state path, `plan` the command."""
    assert hoist_global_options([option, value, "apply", "bgp", "-v"]) == [option, value, "-v", "apply", "bgp"]
    assert hoist_global_options([option, value, "apply", "--sandbox"]) == [option, value, "--sandbox", "apply"]


def test_help_after_the_command_stays_the_command_help() -> None:
    assert hoist_global_options(["plan", "--help"]) == ["plan", "--help"]
    assert run("plan", "--help").stdout.startswith("Usage: reconciler plan")


def test_a_state_path_in_a_missing_folder_exits_1_naming_the_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such dir"
    result = run("--state", str(missing / "x.json"), "state", "list")
    assert result.returncode == 1
    assert f"the state folder {missing} (from --state {missing / 'x.json'}) does not exist" in result.stderr
    assert f"mkdir -p '{missing}'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "no").exists()
