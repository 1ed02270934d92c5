"""The `/_sandbox/` control routes on both servers (for a sandbox run as a separate process): what
they do, who may call them, and the bounds on the seeds they take."""

from __future__ import annotations

import ipaddress
import re
import socket
from pathlib import Path

import httpx
import pytest

from reconciler.sandbox import Sandbox, SandboxError, Seed, load_seed
from reconciler.sandbox.bounded import MAX_ADMIN_BODY, MAX_DEPTH, MAX_SEED_VALUES

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


# -- who may call the control routes -----------------------------------------------------------------


def _non_loopback_address() -> str | None:
    """This machine's address towards the outside (no packet is sent), or None if it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only picks the outgoing interface
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if ipaddress.ip_address(address).is_loopback else address


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://attacker.example"},  # a cross-site fetch() or form post from a web page
        {"Origin": "null"},  # a sandboxed iframe or a file:// page
        {"Sec-Fetch-Site": "cross-site"},  # a browser's no-cors GET (an <img>, a <script>)
        {"Host": "rebound.attacker.example:80"},  # DNS rebinding: the page's own name, resolved to 127.0.0.1
    ],
    ids=["origin", "null-origin", "fetch-metadata", "dns-rebinding"],
)
def test_requests_from_web_pages_need_the_admin_token(
    sandbox: Sandbox, admin: httpx.Client, headers: dict[str, str]
) -> None:
    """docs/sandbox.md (Control routes): a browser page cannot seed, reconfigure or read the sandbox."""
    before = sandbox.config
    refused = [
        admin.post("/_sandbox/config", json={"provision_delay": 7}, headers=headers),
        admin.post("/_sandbox/seed", content=b"alibaba: {regions: [eu-west-1]}", headers=headers),
        admin.get("/_sandbox/state", headers=headers),  # keys in clear
        admin.delete("/_sandbox/requests", headers=headers),
    ]
    for response in refused:
        assert response.status_code == 403, response.text
        assert "X-Sandbox-Admin-Token" in response.json()["error"]
        assert sandbox.admin_token not in response.text
    assert sandbox.config == before
    assert "eu-west-1" not in sandbox.objects().regions
    with_token = admin.post(
        "/_sandbox/config", json={"provision_delay": 7}, headers={**headers, **sandbox.admin_headers()}
    )
    assert with_token.status_code == 200, with_token.text
    assert sandbox.config.provision_delay == 7.0


def test_a_wrong_admin_token_is_refused_without_echo(sandbox: Sandbox, admin: httpx.Client) -> None:
    """docs/sandbox.md (Control routes): a token that is sent must be the right one, even locally."""
    response = admin.get("/_sandbox/state", headers={"X-Sandbox-Admin-Token": "guessed-token-value"})
    assert response.status_code == 403
    assert "guessed-token-value" not in response.text and sandbox.admin_token not in response.text
    assert Sandbox(Seed()).admin_token != sandbox.admin_token  # one random token per sandbox


def test_other_hosts_need_the_admin_token(sandbox: Sandbox) -> None:
    """docs/sandbox.md (Control routes): a peer that is not loopback is refused without the token
    (the sandbox listens on 127.0.0.1; this reaches it from the machine's own outside address)."""
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect from")
    with httpx.Client(transport=httpx.HTTPTransport(local_address=address)) as remote:
        try:
            response = remote.get(f"{sandbox.equinix_url}/_sandbox/state")
        except httpx.ConnectError:
            pytest.skip(f"this machine does not route {address} -> 127.0.0.1")
        assert response.status_code == 403
        assert "other hosts" in response.json()["error"]
        allowed = remote.get(f"http://{sandbox.alibaba_endpoint}/_sandbox/state", headers=sandbox.admin_headers())
        assert allowed.status_code == 200


# -- what POST /_sandbox/seed reads ----------------------------------------------------------------


def _alias_bomb(levels: int) -> bytes:
    """~1 KB of YAML whose aliases expand to 10**levels strings under one device's extra field."""
    lines = [
        "equinix:",
        "  devices:",
        "    - uuid: dev-bomb",
        "      junk:",
        "        l0: &l0 [x, x, x, x, x, x, x, x, x, x]",
    ]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*l{level - 1}"] * 10)
        lines.append(f"        l{level}: &l{level} [{refs}]")
    return ("\n".join(lines) + "\n").encode()


def test_seed_aliases_cannot_blow_up(tmp_path: Path, seed: Seed) -> None:
    """docs/sandbox.md (Limits): 1 KB of aliases is refused by the expansion bound, with its position;
    the change log, the response and the memory stay small."""
    data = tmp_path / "sandbox.json"
    log = tmp_path / "sandbox.json.log"
    bomb = _alias_bomb(7)  # 10**7 values once expanded
    assert len(bomb) < 1_000
    with Sandbox(seed, data_file=data) as sandbox:
        logged = log.stat().st_size
        response = httpx.post(f"{sandbox.equinix_url}/_sandbox/seed", content=bomb, timeout=30)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error.startswith("POST /_sandbox/seed:")
        assert f"more than {MAX_SEED_VALUES:,} values once YAML aliases are expanded" in error
        assert len(response.content) < 500
        assert log.stat().st_size == logged  # nothing merged, nothing logged
        assert "dev-bomb" not in sandbox.objects().devices
        small = httpx.post(f"{sandbox.equinix_url}/_sandbox/seed", content=_alias_bomb(2))  # 1,000 values: fine
        assert small.status_code == 200, small.text
        assert log.stat().st_size - logged < 20_000


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"[" * 100_000, "nest"),  # a RecursionError in the composer before (libyaml stops it at 1,000)
        (b"[" * 40 + b"]" * 40, f"nests more than {MAX_DEPTH} levels deep"),
        (b"a: &a [x, *a]\n", "a YAML alias refers to itself"),
        (b"equinix:\n  devices:\n    - {uuid: d-1, asn: " + b"9" * 5_000 + b"}\n", "numbers may have at most 40"),
        (b"alibaba: !!binary aGVsbG8=\n", "unsupported YAML tag"),
        (b"\xff\xfe", "not UTF-8"),
    ],
    ids=["very-deep", "deep", "recursive", "huge-number", "binary", "not-utf8"],
)
def test_bad_seed_bodies_are_a_400(sandbox: Sandbox, admin: httpx.Client, body: bytes, words: str) -> None:
    """docs/sandbox.md (Limits): what the seed route cannot take is a 400 that says why, never a 500."""
    response = admin.post("/_sandbox/seed", content=body)
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]
    assert len(response.content) < 500


def test_seed_body_size_is_bounded(sandbox: Sandbox, admin: httpx.Client) -> None:
    """docs/sandbox.md (Limits): a seed body over the control routes' bound is a 413."""
    response = admin.post("/_sandbox/seed", content=b"#" * (MAX_ADMIN_BODY + 1))
    assert response.status_code == 413
    assert f"larger than {MAX_ADMIN_BODY:,} bytes" in response.json()["error"]


def test_seed_dates_stay_text(sandbox: Sandbox, admin: httpx.Client) -> None:
    """docs/sandbox.md (Seed): a date-like extra field is kept as written, and the state dump still
    works (a YAML timestamp used to become a date that JSON cannot hold)."""
    body = b"equinix:\n  devices:\n    - {uuid: dev-dated, commissioned: 2024-05-01}\n"
    assert admin.post("/_sandbox/seed", content=body).status_code == 200
    state = admin.get("/_sandbox/state")
    assert state.status_code == 200
    assert state.json()["devices"]["dev-dated"]["commissioned"] == "2024-05-01"


def test_seed_files_have_the_same_bounds(tmp_path: Path) -> None:
    """docs/sandbox.md (Limits): `--seed FILE` is read within the same bounds, naming file:line:col."""
    path = tmp_path / "seed.yaml"
    path.write_bytes(_alias_bomb(7))
    with pytest.raises(SandboxError, match=rf"^{re.escape(str(path))}:\d+:\d+: more than 250,000 values"):
        load_seed(path)
