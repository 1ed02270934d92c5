"""`--secrets-file FILE` / `RECONCILER_SECRETS_FILE`: BGP keys from a dotenv file, never shown or stored."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reconciler.sandbox import Sandbox
from tests.e2e.conftest import EXAMPLE_KEYS, cli, live_counts


@pytest.fixture
def keys_file(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The examples' keys in a mode 600 dotenv file, and none of them in the environment."""
    for name in EXAMPLE_KEYS:
        monkeypatch.delenv(name, raising=False)
    path = project / "keys.env"
    lines = [f"{name}={value}" for name, value in EXAMPLE_KEYS.items()]
    path.write_text("# the BGP keys\n" + "\n".join(lines[:-1]) + f"\nexport {lines[-1]}\n")
    path.chmod(0o600)
    return path


def assert_no_key(*texts: str) -> None:
    for text in texts:
        for key in EXAMPLE_KEYS.values():
            assert key not in text


def test_keys_come_from_the_file_and_are_never_shown_or_stored(project: Path, keys_file: Path) -> None:
    plan = cli("--secrets-file", str(keys_file), "-v", "plan", "bgp", "--out", "plan.json")
    assert plan.code == 0, plan.both
    logs = cli("--secrets-file", str(keys_file), "--log-format", "json", "-v", "plan", "bgp")
    assert logs.code == 0, logs.both
    applied = cli("--secrets-file", str(keys_file), "-v", "apply", "plan.json")
    assert applied.code == 0, applied.both
    state = (project / "state" / "reconciler.json").read_text()
    assert "EquinixBgpPeering/sg-ne1-to-alibaba" in json.loads(state)["resources"]
    assert_no_key(plan.both, logs.both, applied.both, (project / "plan.json").read_text(), state)
    # The file's values stay out of the process environment (child processes, providers).
    assert not any(name in os.environ for name in EXAMPLE_KEYS)


def test_the_environment_variable_names_the_file_and_a_saved_plan_needs_it(
    project: Path, keys_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_SECRETS_FILE", str(keys_file))
    assert cli("plan", "bgp", "--out", "plan.json").code == 0
    monkeypatch.delenv("RECONCILER_SECRETS_FILE")
    # apply PLANFILE reads the keys again: without the file, they are not found (and it says where it looked).
    without = cli("apply", "plan.json")
    assert without.code == 1 and "environment variable SG_BGP_KEY is not set" in without.err
    withfile = cli("--secrets-file", str(keys_file), "apply", "plan.json")
    assert withfile.code == 0, withfile.both


def test_the_environment_wins_over_the_file(project: Path, keys_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The file's key is one Equinix refuses (too short); the environment's is valid.
    keys_file.write_text(keys_file.read_text().replace("SG_BGP_KEY=ExampleSgKeyNotReal1", "SG_BGP_KEY=Xy1z"))
    refused = cli("--secrets-file", str(keys_file), "plan", "bgp")
    assert refused.code == 1 and "the key from env:SG_BGP_KEY is not valid" in refused.err, refused.both
    assert "Xy1z" not in refused.both
    monkeypatch.setenv("SG_BGP_KEY", EXAMPLE_KEYS["SG_BGP_KEY"])
    assert cli("--secrets-file", str(keys_file), "plan", "bgp").code == 0


def test_a_name_in_neither_place_names_the_file(project: Path, keys_file: Path) -> None:
    keys_file.write_text("".join(f"{n}={v}\n" for n, v in EXAMPLE_KEYS.items() if n != "HK_BGP_KEY"))
    result = cli("--secrets-file", str(keys_file), "plan", "bgp")
    assert result.code == 1
    assert f"environment variable HK_BGP_KEY is not set, and the secrets file {keys_file} does not define it" in (
        result.err
    )


@pytest.mark.parametrize(
    ("content", "mode", "expected"),
    [
        (None, 0o600, "cannot read the secrets file"),
        ("SG_BGP_KEY=ExampleSgKeyNotReal1\n", 0o644, "is readable by group or others (mode 644)"),
        ("SG_BGP_KEY=ExampleSgKeyNotReal1\n", 0o640, "is readable by group or others (mode 640)"),
        ("SG_BGP_KEY=ExampleSgKeyNotReal1\n=ExampleHkKeyNotReal1\n", 0o600, "line 2 is not NAME=value"),
        ("# keys\nSG_BGP_KEY\n", 0o600, "line 2 is not NAME=value"),
        ("'ExampleSgKeyNotReal1\nHK_BGP_KEY=x\n", 0o600, "not a dotenv file"),
        (b"SG_BGP_KEY=\xff\xfe\n", 0o600, "is not UTF-8 text"),
    ],
    ids=["missing", "world-readable", "group-readable", "no-name", "no-value", "unterminated-quote", "not-utf8"],
)
def test_a_bad_secrets_file_is_a_clear_error_before_any_call(
    project: Path, sandbox: Sandbox, content: str | bytes | None, mode: int, expected: str
) -> None:
    path = project / "keys.env"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    if content is not None:
        path.chmod(mode)
    before = live_counts(sandbox)
    for args in (("plan", "bgp"), ("apply", "bgp", "--auto-approve"), ("-v", "drift", "bgp")):
        result = cli("--secrets-file", str(path), *args)
        assert result.code == 1, result.both
        assert expected in result.err and str(path) in result.err
        assert "Traceback" not in result.err or "-v" in args
        assert_no_key(result.both)
    assert live_counts(sandbox) == before
    assert not (project / "state" / "reconciler.json").exists()
    if mode & 0o077:
        assert f"chmod 600 {path}" in cli("--secrets-file", str(path), "plan", "bgp").err


def test_a_folder_is_not_a_secrets_file(project: Path) -> None:
    result = cli("--secrets-file", str(project), "plan", "bgp")
    assert result.code == 1 and "--secrets-file" in result.err and "is a directory" in result.err, result.both


def test_the_file_cannot_supply_a_credential(project: Path, keys_file: Path) -> None:
    """The rule that fromEnv may not name a credential holds for names looked up in the file."""
    from reconciler.errors import SecretError
    from reconciler.manifest.secrets import read_secret
    from reconciler.manifest.secretsfile import secret_env
    from reconciler.model import SecretRef

    keys_file.write_text(keys_file.read_text() + "EQUINIX_CLIENT_SECRET=stolen1\nGITHUB_TOKEN=stolen2\n")
    env = secret_env(keys_file)
    for name in ("EQUINIX_CLIENT_SECRET", "GITHUB_TOKEN"):
        with pytest.raises(SecretError, match="holds a credential") as caught:
            read_secret(SecretRef("env", name), env=env)
        assert "stolen" not in str(caught.value)
    assert read_secret(SecretRef("env", "SG_BGP_KEY"), env=env).reveal() == EXAMPLE_KEYS["SG_BGP_KEY"]


def test_drift_compares_the_keys_from_the_file(project: Path, keys_file: Path) -> None:
    assert cli("--secrets-file", str(keys_file), "apply", "bgp", "--auto-approve").code == 0
    drift = cli("--secrets-file", str(keys_file), "drift", "bgp", "--format", "json")
    assert drift.code == 0, drift.both
    assert not [w for w in json.loads(drift.out)["warnings"] if "were not compared" in w]
    assert_no_key(drift.both)
