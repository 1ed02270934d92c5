"""The Equinix behaviours the realism profiles switch (docs/sandbox.md, Profiles), over real HTTP:
read lag after a PUT, NE-only credentials, every Fabric connection state, key removal, throttling
and the spellings of the real API. Each test names the section of docs/cloud-apis.md it covers.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from reconciler.sandbox import Sandbox, SandboxConfig, Seed
from reconciler.sandbox.equinix import FABRIC_CONNECTION_STATES, FABRIC_EQUINIX_STATUSES
from reconciler.sandbox.seed import parse_seed_text

from .conftest import BGP_BODY, CONNECTION, DEVICE, PAGE_CONNECTIONS, Equinix, wait_until

# -- 2. read-after-write lag -----------------------------------------------------------------------


def test_put_shows_old_values_and_status_for_the_lag(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §3 and §5 (read lag, U-E12): after a PUT, GET, the list and the connection lookup
    show the old values and the old status until the lag has passed."""
    uuid = eq.create()
    assert eq.get(f"/ne/v1/bgp/{uuid}").json()["provisioningStatus"] == "PROVISIONED"
    sandbox.configure(equinix_read_lag=60, provision_delay=60)
    assert eq.put(f"/ne/v1/bgp/{uuid}", {"remoteAsn": 10099}).status_code == 202
    for body in (
        eq.get(f"/ne/v1/bgp/{uuid}").json(),
        eq.get("/ne/v1/bgp").json()["data"][0],
        eq.get(f"/ne/v1/bgp/connection/{CONNECTION}").json(),
    ):
        assert (body["remoteAsn"], body["provisioningStatus"]) == (10013, "PROVISIONED")
        assert "lastUpdatedBy" not in body
    assert eq.get("/ne/v1/bgp", params={"status": "PENDING_UPDATE"}).json()["pagination"]["total"] == 0
    assert sandbox.objects().equinix_bgp[uuid]["remoteAsn"] == 10099  # the truth
    # A second PUT is checked against the truth (it is busy), whatever reads show.
    assert eq.put(f"/ne/v1/bgp/{uuid}", {"remoteAsn": 10098}).status_code == 400
    sandbox.configure(equinix_read_lag=0.3, provision_delay=0)
    other = eq.create(connectionUuid=PAGE_CONNECTIONS[0])
    wait_until(lambda: eq.get(f"/ne/v1/bgp/{other}").status_code == 200)
    assert eq.put(f"/ne/v1/bgp/{other}", {"remoteAsn": 10097}).status_code == 202
    wait_until(lambda: eq.get(f"/ne/v1/bgp/{other}").json()["remoteAsn"] == 10097)


# -- 3. NE-only credentials and Fabric connection states -----------------------------------------------


def test_ne_only_credentials_cannot_read_devices_or_connections(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §8 and §9 (U-E16): credentials that may manage BGP but not read the prerequisites get
    403 Access Denied, in each API's error shape; the BGP API itself still works."""
    sandbox.configure(equinix_prerequisite_reads="forbidden")
    fabric = eq.get(f"/fabric/v4/connections/{CONNECTION}")
    assert fabric.status_code == 403
    assert fabric.json()[0]["errorCode"] == "EQ-300005"
    assert "permissions to perform READ operation" in fabric.json()[0]["errorMessage"]
    device = eq.get(f"/ne/v1/devices/{DEVICE}")
    assert device.status_code == 403
    assert device.json()[0]["errorMessage"].startswith("Access Denied.")
    assert eq.post("/ne/v1/bgp", BGP_BODY).status_code == 202
    sandbox.configure(equinix_prerequisite_reads="allowed")
    assert eq.get(f"/ne/v1/devices/{DEVICE}").status_code == 200


def test_every_fabric_state_can_be_seeded(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §9 (U-E15): every Fabric v4 `state` and `equinixStatus` value can be seeded and is
    shown; a state without equinixStatus gets a matching one."""
    connections = [f"fab-state-{s.lower()}" for s in FABRIC_CONNECTION_STATES]
    statuses = [f"fab-status-{s.lower()}" for s in FABRIC_EQUINIX_STATUSES]
    lines = [
        f"    - {{uuid: {c}, deviceUuid: {DEVICE}, state: {s}}}"
        for c, s in zip(connections, FABRIC_CONNECTION_STATES, strict=True)
    ]
    lines += [
        f"    - {{uuid: {c}, deviceUuid: {DEVICE}, state: PROVISIONED, equinixStatus: {s}}}"
        for c, s in zip(statuses, FABRIC_EQUINIX_STATUSES, strict=True)
    ]
    sandbox.add_seed(parse_seed_text("equinix:\n  connections:\n" + "\n".join(lines) + "\n", "fabric.yaml"))
    for connection, state in zip(connections, FABRIC_CONNECTION_STATES, strict=True):
        body = eq.get(f"/fabric/v4/connections/{connection}").json()
        assert body["state"] == state
        assert body["operation"]["equinixStatus"] in (*FABRIC_EQUINIX_STATUSES, "FAILED")
    reprovisioning = eq.get("/fabric/v4/connections/fab-state-reprovisioning").json()
    assert reprovisioning["operation"]["equinixStatus"] == "BEING_REPROVISIONED"
    for connection, status in zip(statuses, FABRIC_EQUINIX_STATUSES, strict=True):
        assert eq.get(f"/fabric/v4/connections/{connection}").json()["operation"]["equinixStatus"] == status
    assert "PENDING_INTERFACE_CONFIGURATION" in FABRIC_EQUINIX_STATUSES and "REPROVISIONING" in FABRIC_CONNECTION_STATES


# -- 4. key removal --------------------------------------------------------------------------------


@pytest.mark.parametrize(("profile", "kept"), [("lenient", False), ("realistic", False), ("pessimistic", True)])
def test_empty_key_on_put_per_profile(seed: Seed, profile: str, kept: bool) -> None:
    """Equinix §5 (U-E5): `"authenticationKey": ""` clears the key, except under pessimistic."""
    config = SandboxConfig.for_profile(profile, equinix={"throttle_rps": None}, equinix_read_lag=0)
    with Sandbox(seed, config=config) as sandbox:
        eq = Equinix(sandbox)
        uuid = eq.create(localAsn=65010)  # pessimistic: the device's ASN
        wait_until(lambda: eq.get(f"/ne/v1/bgp/{uuid}").json()["provisioningStatus"] == "PROVISIONED")
        assert eq.put(f"/ne/v1/bgp/{uuid}", {"authenticationKey": ""}).status_code == 202
        assert ("authenticationKey" in eq.get(f"/ne/v1/bgp/{uuid}").json()) is kept
        eq.http.close()


# -- 8. throttling by default ---------------------------------------------------------------------


def _statuses(eq: Equinix, count: int) -> list[httpx.Response]:
    """`count` list requests from 20 threads at once (one shared connection pool)."""
    with ThreadPoolExecutor(20) as pool:
        return list(pool.map(lambda _: eq.get("/ne/v1/bgp"), range(count)))


@pytest.mark.parametrize("profile", ["realistic", "pessimistic"])
def test_profiles_throttle_a_burst_without_retry_after(seed: Seed, profile: str) -> None:
    """Equinix §8 (429, U-E7): realistic (20/s) and pessimistic (5/s) throttle a burst, and the 429
    carries no Retry-After (the 429 page documents none)."""
    with Sandbox(seed, config=SandboxConfig.for_profile(profile)) as sandbox:
        eq = Equinix(sandbox)
        eq.headers  # noqa: B018 (fetch the token first)
        throttled: list[httpx.Response] = []
        wait_until(lambda: bool(throttled.extend(r for r in _statuses(eq, 60) if r.status_code == 429) or throttled))
        assert all("Retry-After" not in r.headers for r in throttled)
        body = throttled[0].json()
        assert (body[0] if isinstance(body, list) else body)["errorCode"] == "IC-NE-ERR-429"  # either shape
        eq.http.close()


# -- 9. spellings ----------------------------------------------------------------------------------


def test_single_gets_may_spell_uuid_fields_like_ne_go_fixture(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §2 (the ne-go fixture spells connectionUUID / virtualDeviceUUID): single-object GETs
    (by uuid, by connection) use that spelling; list items keep the spec's."""
    uuid = eq.create()
    sandbox.configure(equinix_get_uuid_spelling="UUID")
    for body in (eq.get(f"/ne/v1/bgp/{uuid}").json(), eq.get(f"/ne/v1/bgp/connection/{CONNECTION}").json()):
        assert (body["connectionUUID"], body["virtualDeviceUUID"]) == (CONNECTION, DEVICE)
        assert "connectionUuid" not in body and "virtualDeviceUuid" not in body
    item = eq.get("/ne/v1/bgp").json()["data"][0]
    assert (item["connectionUuid"], item["virtualDeviceUuid"]) == (CONNECTION, DEVICE)


def test_token_errors_in_the_spec_snake_case(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §1 (two token error shapes): the token spec's snake_case body."""
    sandbox.configure(equinix_oauth_error_case="snake")
    response = eq.token_request(client_secret="wrong")
    assert response.status_code == 400
    assert response.json() == {
        "error_domain": "apps-fqa",
        "error_title": "Login Failure",
        "error_code": "S1006",
        "developer_message": "Login Failure, please try again",
        "error_message": "Login Failure, please try again.",
    }


def test_no_state_until_provisioned(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §7 (`state`): under `absent`, a config that was never provisioned has no `state`
    field; once provisioned it has one, also while a later update is pending."""
    sandbox.configure(equinix_state_before_provisioned="absent", provision_delay=60)
    uuid = eq.create()
    body = eq.get(f"/ne/v1/bgp/{uuid}").json()
    assert body["provisioningStatus"] == "PROVISIONING" and "state" not in body
    assert "state" not in eq.get("/ne/v1/bgp").json()["data"][0]
    assert sandbox.objects().sessions[uuid]["state"] == "Idle"
    sandbox.configure(provision_delay=0, equinix_put_while_busy="accept")
    eq.put(f"/ne/v1/bgp/{uuid}", {"remoteAsn": 10099})
    wait_until(lambda: eq.get(f"/ne/v1/bgp/{uuid}").json()["provisioningStatus"] == "PROVISIONED")
    assert eq.get(f"/ne/v1/bgp/{uuid}").json()["state"] == "Established"
    sandbox.configure(provision_delay=60)
    eq.put(f"/ne/v1/bgp/{uuid}", {"remoteAsn": 10098})
    assert eq.get(f"/ne/v1/bgp/{uuid}").json()["state"] == "Established"
