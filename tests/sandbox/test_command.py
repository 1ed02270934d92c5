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
