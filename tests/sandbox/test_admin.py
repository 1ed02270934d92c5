"""The `/_sandbox/` control routes on both servers (for a sandbox run as a separate process)."""

from __future__ import annotations

import httpx
import pytest

from reconciler.sandbox import Sandbox

from .conftest import CONNECTION, Equinix


@pytest.fixture(params=["equinix", "alibaba"])
def admin(request: pytest.FixtureRequest, sandbox: Sandbox) -> httpx.Client:
    base = sandbox.equinix_url if request.param == "equinix" else f"http://{sandbox.alibaba_endpoint}"
    return httpx.Client(base_url=base)


def test_request_counts_and_reset(sandbox: Sandbox, eq: Equinix, admin: httpx.Client) -> None:
    """docs/sandbox.md (Control routes): request counts per route, reset."""
    eq.get("/ne/v1/bgp")
    eq.get(f"/ne/v1/bgp/connection/{CONNECTION}")
    counts = admin.get("/_sandbox/requests").json()
    assert counts == {
        "equinix POST /oauth2/v1/token": 1,
        "equinix GET /ne/v1/bgp": 1,
        "equinix GET /ne/v1/bgp/connection/{connectionUuid}": 1,
    }
    assert counts == sandbox.request_counts()
    assert admin.delete("/_sandbox/requests").status_code == 200
    assert admin.get("/_sandbox/requests").json() == {}


def test_config_get_and_change(sandbox: Sandbox, admin: httpx.Client) -> None:
    """docs/sandbox.md (control routes): config read and JSON changes, 400 naming the field."""
    assert admin.get("/_sandbox/config").json()["equinix_error_shape"] == "array"
    changed = admin.post("/_sandbox/config", json={"equinix_error_shape": "object", "alibaba": {"latency_ms": 3}})
    assert changed.status_code == 200
    assert changed.json()["alibaba"]["latency_ms"] == 3.0
    assert sandbox.config.equinix_error_shape == "object"
    bad = admin.post("/_sandbox/config", json={"equinix_error_shape": "list"})
    assert bad.status_code == 400
    assert "equinix_error_shape" in bad.json()["error"]
    assert admin.post("/_sandbox/config", content=b"[]").status_code == 400


def test_session_state_route(sandbox: Sandbox, eq: Equinix, admin: httpx.Client) -> None:
    """docs/cloud-apis.md, Equinix §7 (the session `state`), overridden via POST /_sandbox/session-state."""
    uuid = eq.create()
    response = admin.post("/_sandbox/session-state", json={"cloudId": uuid, "state": "Connect"})
    assert response.status_code == 200
    assert eq.get(f"/ne/v1/bgp/{uuid}").json()["state"] == "Connect"
    unknown = admin.post("/_sandbox/session-state", json={"cloudId": "nope", "state": "Idle"})
    assert unknown.status_code == 400 and "nope" in unknown.json()["error"]
    assert admin.post("/_sandbox/session-state", json={"cloudId": uuid}).status_code == 400


def test_seed_merge_route(sandbox: Sandbox, eq: Equinix, admin: httpx.Client) -> None:
    """docs/sandbox.md (Seed): a seed merged at runtime via POST /_sandbox/seed, JSON or YAML."""
    seed = {
        "equinix": {
            "devices": [{"uuid": "dev-new", "status": "PROVISIONED", "licenseStatus": "APPLIED"}],
            "connections": [{"uuid": "conn-new", "deviceUuid": "dev-new", "state": "PROVISIONED"}],
        }
    }
    response = admin.post("/_sandbox/seed", json=seed)
    assert response.json() == {"merged": {"devices": 1, "connections": 1, "regions": 0, "vbrs": 0}}
    assert eq.create(connectionUuid="conn-new")
    yaml_seed = "alibaba:\n  regions: [eu-central-1]\n"
    assert admin.post("/_sandbox/seed", content=yaml_seed.encode()).status_code == 200
    assert "eu-central-1" in sandbox.objects().regions
    bad = admin.post("/_sandbox/seed", json={"equinix": {"devices": [{"name": "x"}]}})
    assert bad.status_code == 400
    assert "equinix.devices[0]: missing 'uuid'" in bad.json()["error"]


def test_state_dump_and_info(sandbox: Sandbox, eq: Equinix, admin: httpx.Client) -> None:
    """docs/sandbox.md (control routes): state dump with keys in clear, endpoints and env."""
    uuid = eq.create()
    state = admin.get("/_sandbox/state").json()
    assert state["equinix_bgp"][uuid]["authenticationKey"] == "testkey1"
    assert state["sessions"][uuid]["state"] == "Established"
    assert CONNECTION in state["connections"]
    info = admin.get("/_sandbox/info").json()
    assert info["equinixUrl"] == sandbox.equinix_url
    assert info["env"]["ALIBABA_CLOUD_VPC_ENDPOINT"] == sandbox.alibaba_endpoint


def test_unlock_route(sandbox: Sandbox, eq: Equinix, admin: httpx.Client) -> None:
    """docs/cloud-apis.md, Equinix §1 (lockout), cleared via POST /_sandbox/equinix/unlock."""
    sandbox.configure(equinix_lockout_after=1)
    eq.token_request(client_secret="bad")
    assert eq.token_request().json()["errorCode"] == "S1007"
    assert admin.post("/_sandbox/equinix/unlock").status_code == 200
    assert eq.token_request().status_code == 200
