"""`reconciler sandbox serve` (reconciler/sandbox/command.py): banner, exports, clean stop, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.sandbox.conftest import BGP_BODY, SEED_YAML
from tests.sandbox.test_store import _read_exports


def _serve(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


@pytest.mark.parametrize("global_seed", [False, True])
def test_serve_prints_exports_and_stops_cleanly_on_sigterm(tmp_path: Path, global_seed: bool) -> None:
    """docs/sandbox.md (Running it): endpoints, credentials and export lines; SIGTERM stops and flushes --data."""
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED_YAML)
    data = tmp_path / "sandbox.json"
    seed_args = ["--seed", str(seed)]
    args = [
        *(seed_args if global_seed else []),
        "sandbox",
        "serve",
        "--data",
        str(data),
        "--latency-ms",
        "1",
        *([] if global_seed else seed_args),
    ]
    process = _serve(*args)
    try:
        exports = _read_exports(process)
        assert set(exports) == {
            "EQUINIX_API_ENDPOINT",
            "EQUINIX_CLIENT_ID",
            "EQUINIX_CLIENT_SECRET",
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            "ALIBABA_CLOUD_VPC_ENDPOINT",
        }
        http = httpx.Client(base_url=exports["EQUINIX_API_ENDPOINT"])
        token = http.post(
            "/oauth2/v1/token",
            json={
                "grant_type": "client_credentials",
                "client_id": exports["EQUINIX_CLIENT_ID"],
                "client_secret": exports["EQUINIX_CLIENT_SECRET"],
            },
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        uuid = http.post("/ne/v1/bgp", json=BGP_BODY, headers=headers).json()["uuid"]
        assert http.get("/_sandbox/config").json()["equinix"]["latency_ms"] == 1.0
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert f"sandbox stopped; data saved in {data}" in out
    assert "Traceback" not in err
    assert (tmp_path / "sandbox.json.log").read_bytes() == b""  # compacted at stop
    assert json.loads(data.read_text())["tables"]["equinix_bgp"][0]["uuid"] == uuid


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sandbox", "serve", "--fault-rate", "2"], "Invalid value for '--fault-rate': 2.0 is not in the range"),
        (["sandbox", "serve", "--seed", "/nonexistent/seed.yaml"], "cannot read the seed file"),
        (["sandbox", "serve", "--equinix-port", "70000"], "Invalid value for '--equinix-port'"),
    ],
)
def test_bad_input_exits_1_without_traceback(args: list[str], message: str) -> None:
    """docs/architecture.md, CLI (exit codes): bad options exit 1 with a message, no traceback."""
    process = _serve(*args)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 1
    assert message in err
    assert "Traceback" not in err


def test_bad_seed_content_names_the_line(tmp_path: Path) -> None:
    """docs/sandbox.md (Seed): a bad seed names file:line:col and exits 1."""
    seed = tmp_path / "seed.yaml"
    seed.write_text("equinix:\n  devices:\n    - {name: no-uuid}\n")
    process = _serve("sandbox", "serve", "--seed", str(seed))
    _, err = process.communicate(timeout=20)
    assert process.returncode == 1
    assert f"Error: {seed}:3:7: equinix.devices[0]: missing 'uuid'" in err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--provision-delay", "nan", "nan is not a finite number"),
        ("--provision-delay", "inf", "inf is not a finite number"),
        ("--provision-delay", "-1", "-1.0 is not in the range x>=0"),
        ("--latency-ms", "nan", "nan is not a finite number"),
        ("--jitter-ms", "inf", "inf is not a finite number"),
        ("--fault-rate", "nan", "nan is not a finite number"),
        ("--drop-rate", "nan", "nan is not a finite number"),
        ("--provision-failure-rate", "nan", "nan is not a finite number"),
        ("--throttle-rps", "inf", "inf is not a finite number"),
    ],
)
def test_float_options_must_be_finite(option: str, value: str, message: str) -> None:
    """docs/sandbox.md (Running it): NaN, infinity and negative numbers are refused, exit 1, no traceback
    (`--provision-delay nan` used to start a sandbox whose changes never settled)."""
    process = _serve("sandbox", "serve", option, value)
    try:
        _, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"`sandbox serve {option} {value}` started serving instead of refusing the value")
    assert process.returncode == 1, err
    assert f"Invalid value for '{option}': {message}" in err
    assert "Traceback" not in err


def test_banner_prints_the_admin_token(tmp_path: Path) -> None:
    """docs/sandbox.md (Control routes): the banner prints the admin token, which admits a control
    request that a plain local client would not send (here one that says it comes from a web page)."""
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED_YAML)
    process = _serve("sandbox", "serve", "--seed", str(seed))
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(8)]
        token_lines = [line for line in banner if line.startswith("  admin token:   ")]
        assert len(token_lines) == 1, banner
        token = token_lines[0].split()[2]
        exports = _read_exports(process)
        url = f"{exports['EQUINIX_API_ENDPOINT']}/_sandbox/config"
        from_a_page = {"Origin": "https://example.invalid"}
        assert httpx.get(url, headers=from_a_page).status_code == 403
        assert httpx.get(url, headers={**from_a_page, "X-Sandbox-Admin-Token": token}).status_code == 200
        assert httpx.get(url).status_code == 200  # a local script needs no token
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
