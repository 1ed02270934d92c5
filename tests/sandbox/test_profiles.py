"""Realism profiles (docs/sandbox.md, Profiles): choosing one in Python, at runtime, over the control
route and on the command line; the profile table in the docs matches the code."""

from __future__ import annotations

import re
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.cli import SANDBOX_PROFILES
from reconciler.sandbox import Sandbox, SandboxConfig, SandboxError, Seed
from reconciler.sandbox.config import (
    DEFAULT_PROFILE,
    PROFILE_TABLE,
    PROFILES,
    config_to_json,
    profile_config,
    profile_of,
)

from .conftest import SEED_YAML
from .test_command import _serve
from .test_store import _read_exports

DOCS = Path(__file__).resolve().parents[2] / "docs" / "sandbox.md"


def _knob(config: SandboxConfig, name: str) -> Any:
    api, dot, fault = name.partition(".")
    return getattr(getattr(config, api), fault) if dot else getattr(config, name)


def test_lenient_is_the_python_default() -> None:
    """docs/sandbox.md (Profiles): `SandboxConfig()` is lenient, exactly the behaviour before profiles."""
    assert profile_of(SandboxConfig()) == "lenient"
    assert SandboxConfig.for_profile("lenient") == SandboxConfig()
    assert PROFILES == SANDBOX_PROFILES  # the CLI spells them out to stay import-light
    assert DEFAULT_PROFILE == "realistic"


@pytest.mark.parametrize("profile", PROFILES)
def test_for_profile_sets_every_knob_of_the_table(profile: str) -> None:
    """docs/sandbox.md (Profiles): each profile sets every behaviour knob to its column."""
    config = SandboxConfig.for_profile(profile)
    column = PROFILES.index(profile)
    assert {name: _knob(config, name) for name in PROFILE_TABLE} == {
        name: values[column] for name, values in PROFILE_TABLE.items()
    }
    assert profile_of(config) == profile
    assert config_to_json(config)["profile"] == profile


def test_overrides_apply_after_the_profile() -> None:
    """docs/sandbox.md (Profiles): `for_profile(name, **overrides)` / `profile_config`; a mix has no name."""
    config = profile_config("pessimistic", equinix_read_lag=0.5, provision_delay=2)
    assert (config.equinix_read_lag, config.provision_delay, config.alibaba_busy_vbr) == (0.5, 2.0, "conflict")
    assert profile_of(config) is None
    assert config_to_json(config)["profile"] is None
    assert SandboxConfig.for_profile("realistic", random_seed=3).random_seed == 3


def test_unknown_profile_is_a_clear_error() -> None:
    """docs/sandbox.md (Profiles): an unknown name is refused, naming the valid ones."""
    with pytest.raises(SandboxError, match="'strict' is not a sandbox profile; valid: lenient, realistic, pessimistic"):
        SandboxConfig.for_profile("strict")
    sandbox = Sandbox(Seed())
    with pytest.raises(SandboxError, match="not a sandbox profile"):
        sandbox.configure(profile=3)
    assert profile_of(sandbox.config) == "lenient"  # nothing changed


def test_configure_switches_profile_at_runtime(seed: Seed) -> None:
    """docs/sandbox.md (Profiles): `configure(profile=...)` on a running sandbox, other knobs after it."""
    with Sandbox(seed, config=SandboxConfig(provision_delay=0.5, random_seed=1)) as sandbox:
        sandbox.configure(alibaba_read_lag=9, profile="pessimistic")  # the profile goes first
        config = sandbox.config
        assert config.alibaba_read_lag == 9.0 and config.alibaba_busy_vbr == "conflict"
        assert (config.provision_delay, config.random_seed) == (0.5, 1)  # timing is not part of a profile
        sandbox.configure(profile="lenient")
        assert profile_of(sandbox.config) == "lenient"


@pytest.mark.parametrize("port", ["equinix", "alibaba"])
def test_control_route_takes_a_profile(seed: Seed, port: str) -> None:
    """docs/sandbox.md (Control routes): POST /_sandbox/config {"profile": ...}; GET shows which one."""
    with Sandbox(seed) as sandbox:
        base = sandbox.equinix_url if port == "equinix" else f"http://{sandbox.alibaba_endpoint}"
        with httpx.Client(base_url=base) as admin:
            assert admin.get("/_sandbox/config").json()["profile"] == "lenient"
            changed = admin.post("/_sandbox/config", json={"profile": "realistic"})
            assert changed.status_code == 200
            assert changed.json()["profile"] == "realistic"
            assert changed.json()["alibaba"]["throttle_rps"] == 20.0
            assert sandbox.config.alibaba_busy_vbr == "conflict"
            bad = admin.post("/_sandbox/config", json={"profile": "paranoid"})
            assert bad.status_code == 400
            assert "not a sandbox profile" in bad.json()["error"]
            # Posting back what GET returned (profile included) changes nothing.
            assert admin.post("/_sandbox/config", json=admin.get("/_sandbox/config").json()).status_code == 200
            assert sandbox.config == SandboxConfig.for_profile("realistic")


@pytest.mark.parametrize(("args", "expected"), [([], "realistic"), (["--profile", "pessimistic"], "pessimistic")])
def test_serve_profile_option(tmp_path: Path, args: list[str], expected: str) -> None:
    """docs/sandbox.md (Running it): `sandbox serve --profile`, realistic by default, shown in the banner."""
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED_YAML)
    process = _serve("sandbox", "serve", "--seed", str(seed), *args)
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(6)]
        assert any(line.startswith(f"  profile:       {expected} (") for line in banner), banner
        exports = _read_exports(process)
        config = httpx.get(f"{exports['EQUINIX_API_ENDPOINT']}/_sandbox/config").json()
        assert config["profile"] == expected
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err


def test_serve_profile_from_the_global_option_and_throttle_override(tmp_path: Path) -> None:
    """docs/sandbox.md (Running it): the global --sandbox-profile reaches `serve`; --throttle-rps 0
    turns the profile's throttling off, other values replace it."""
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED_YAML)
    process = _serve("--sandbox-profile", "pessimistic", "sandbox", "serve", "--seed", str(seed), "--throttle-rps", "0")
    try:
        exports = _read_exports(process)
        config = httpx.get(f"{exports['EQUINIX_API_ENDPOINT']}/_sandbox/config").json()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    assert config["alibaba_busy_vbr"] == "conflict"
    assert config["equinix"]["throttle_rps"] is None and config["alibaba"]["throttle_rps"] is None
    assert config["profile"] is None  # pessimistic, but for the throttling


def test_serve_unknown_profile_exits_1() -> None:
    """docs/sandbox.md (Running it): an unknown profile is a usage error, exit 1."""
    process = _serve("sandbox", "serve", "--profile", "strict")
    _, err = process.communicate(timeout=20)
    assert process.returncode == 1
    assert "'strict' is not one of 'lenient', 'realistic', 'pessimistic'" in err


def _docs_profile_rows() -> dict[str, tuple[str, str, str]]:
    """knob -> (lenient, realistic, pessimistic) cells of the docs' profile table."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Profiles", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str, str, str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[1].startswith("`"):
            for knob in re.findall(r"`([a-z_.]+)`", cells[1]):
                rows[knob] = (cells[3], cells[4], cells[5])
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def test_the_docs_profile_table_matches_the_code() -> None:
    """docs/sandbox.md (Profiles): every knob of every profile is in the table, with its value."""
    rows = _docs_profile_rows()
    assert set(rows) == set(PROFILE_TABLE)
    for name, values in PROFILE_TABLE.items():
        shown = tuple(cell.strip("`").split(" ")[0] for cell in rows[name])
        assert shown == tuple(_cell(v) for v in values), name
