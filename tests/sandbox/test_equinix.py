"""Equinix NE emulator conformance: raw httpx requests shaped like Equinix's documented examples.

Each test names the section of docs/cloud-apis.md ("Equinix §n") whose facts it checks.
"""

from __future__ import annotations

import re
import time

import pytest

from reconciler.sandbox import Sandbox, SandboxError

from .conftest import BGP_BODY, CONNECTION, DEVICE, PAGE_CONNECTIONS, Equinix, wait_until

ISO_MILLIS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def status_of(eq: Equinix, uuid: str) -> str:
    status: str = eq.get(f"/ne/v1/bgp/{uuid}").json()["provisioningStatus"]
    return status


# -- OAuth2 ----------------------------------------------------------------------------------------


def test_token_response_shape(eq: Equinix) -> None:
    """Equinix §1: JSON client_credentials; token_timeout is a string; no refresh token."""
    response = eq.token_request()
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_timeout", "token_type", "user_name"}
    assert body["token_timeout"] == "3600"
    assert body["token_type"] == "Bearer"
    assert body["user_name"] == "sandbox"
    assert len(body["access_token"]) >= 20


def test_token_timeout_knob_is_returned_as_string(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §1: token_timeout is a string of seconds."""
    sandbox.configure(equinix_token_timeout=120)
    assert eq.token_request().json()["token_timeout"] == "120"


def test_form_encoded_token_request_is_rejected(eq: Equinix) -> None:
    """Equinix §1: the body is JSON, not form-encoded."""
    form = {"grant_type": "client_credentials", "client_id": "sandbox", "client_secret": "sandbox-secret"}
    response = eq.http.post("/oauth2/v1/token", data=form)
    assert response.status_code == 415
    assert response.json()["errorCode"] == "S1001"
    assert "application/json" in response.json()["errorMessage"]


def test_bad_credentials_give_camelcase_error(eq: Equinix) -> None:
    """Equinix §1: 400 with oauth2-go's camelCase body."""
    response = eq.token_request(client_secret="wrong")
    assert response.status_code == 400
    assert response.json() == {
        "errorDomain": "apps-fqa",
        "errorTitle": "Login Failure",
        "errorCode": "S1006",
        "developerMessage": "Login Failure, please try again",
        "errorMessage": "Login Failure, please try again.",
    }


def test_grant_type_must_be_client_credentials(eq: Equinix) -> None:
    """Equinix §1: a missing grant_type means the deprecated password grant."""
    response = eq.http.post("/oauth2/v1/token", json={"client_id": "sandbox", "client_secret": "sandbox-secret"})
    assert response.status_code == 400
    assert response.json()["errorCode"] == "S1002"


def test_lockout_after_successive_bad_attempts(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §1: the account locks after N successive invalid attempts."""
    sandbox.configure(equinix_lockout_after=3)
    assert eq.token_request(client_secret="bad").status_code == 400  # 1
    assert eq.token_request().status_code == 200  # success resets the count
    for _ in range(3):
        assert eq.token_request(client_secret="bad").json()["errorCode"] == "S1006"
    locked = eq.token_request()  # now even the right secret fails
    assert locked.status_code == 400
    assert locked.json()["errorCode"] == "S1007"
    assert "locked" in locked.json()["errorMessage"]
    sandbox.unlock_equinix()
    assert eq.token_request().status_code == 200


def test_missing_unknown_and_expired_tokens_get_401(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §1 (bearer token) and §8: 401 for a missing, unknown or expired token."""
    missing = eq.http.get("/ne/v1/bgp")
    assert missing.status_code == 401
    assert missing.json()[0]["errorCode"] == "IC-NE-ERR-401"
    unknown = eq.http.get("/ne/v1/bgp", headers={"Authorization": "Bearer not-a-token"})
    assert unknown.status_code == 401
    assert "Invalid access token" in unknown.json()[0]["errorMessage"]
    sandbox.configure(equinix_token_timeout=1)
    token = eq.token_request().json()["access_token"]
    assert eq.http.get("/ne/v1/bgp", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    time.sleep(1.05)
    expired = eq.http.get("/ne/v1/bgp", headers={"Authorization": f"Bearer {token}"})
    assert expired.status_code == 401
    assert "expired" in expired.json()[0]["errorMessage"]


# -- create / read ---------------------------------------------------------------------------------


def test_create_returns_202_uuid_then_provisions(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §3 (POST, 202 {"uuid"}) and §7 (PROVISIONING -> PROVISIONED, state)."""
    sandbox.configure(provision_delay=0.3)
    response = eq.post("/ne/v1/bgp", BGP_BODY)
    assert response.status_code == 202
    assert list(response.json()) == ["uuid"]
    uuid = response.json()["uuid"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", uuid)
    first = eq.get(f"/ne/v1/bgp/{uuid}").json()
    assert (first["provisioningStatus"], first["state"]) == ("PROVISIONING", "Idle")
    wait_until(lambda: status_of(eq, uuid) == "PROVISIONED")
    assert eq.get(f"/ne/v1/bgp/{uuid}").json()["state"] == "Established"


def test_get_returns_full_bgp_info_with_key_in_clear(eq: Equinix) -> None:
    """Equinix §2: BgpInfo, authenticationKey in clear, virtualDeviceUuid from the connection."""
    uuid = eq.create()
    info = eq.get(f"/ne/v1/bgp/{uuid}").json()
    assert info["uuid"] == uuid
    assert info["connectionUuid"] == CONNECTION
    assert info["virtualDeviceUuid"] == DEVICE
    assert info["localIpAddress"] == "10.0.0.1/29"
    assert info["localAsn"] == 10012
    assert info["remoteIpAddress"] == "10.0.0.2"
    assert info["remoteAsn"] == 10013
    assert info["authenticationKey"] == "testkey1"
    assert info["createdBy"] == "sandbox"
    assert ISO_MILLIS.fullmatch(info["createdDate"])
    assert "lastUpdatedDate" not in info
    assert info["provisioningStatus"] == "PROVISIONED"


def test_get_unknown_uuid_is_404_error_array(eq: Equinix) -> None:
    """Equinix §8: a 404 with an error array, and the error field names."""
    response = eq.get("/ne/v1/bgp/7ab1bdca-0d56-457a-bbfe-4583082c721c")
    assert response.status_code == 404
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    assert set(body[0]) == {"errorCode", "errorMessage", "property", "moreInfo"}
    assert body[0]["errorCode"] == "IC-NE-BGP-0003"
    assert body[0]["property"] == "uuid"


def test_error_shape_object_knob(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §8: errors are a single object or an array; the knob picks."""
    sandbox.configure(equinix_error_shape="object")
    body = eq.get("/ne/v1/bgp/7ab1bdca-0d56-457a-bbfe-4583082c721c").json()
    assert isinstance(body, dict)
    assert body["errorCode"] == "IC-NE-BGP-0003"


def test_field_validation_names_each_property(eq: Equinix) -> None:
    """Equinix §2 and §10: CIDR local IP, plain remote IP, ASN range, key rules; each error names property."""
    cases = [
        ({"localIpAddress": "10.0.0.1"}, "localIpAddress", "CIDR"),
        ({"localIpAddress": "10.0.0.0/30", "remoteIpAddress": "10.0.0.1"}, "localIpAddress", "network"),
        ({"remoteIpAddress": "10.0.0.2/29"}, "remoteIpAddress", "plain IP"),
        ({"remoteIpAddress": "10.9.9.9"}, "remoteIpAddress", "inside the local subnet"),
        ({"remoteIpAddress": "10.0.0.1"}, "remoteIpAddress", "differ"),
        ({"localAsn": 0}, "localAsn", "1..4294967295"),
        ({"remoteAsn": 4294967296}, "remoteAsn", "1..4294967295"),
        ({"remoteAsn": "10013"}, "remoteAsn", "integer"),
        ({"authenticationKey": "1abcdefg"}, "authenticationKey", "must not begin with a digit"),
        ({"authenticationKey": "abc12"}, "authenticationKey", "6-60"),
        ({"authenticationKey": "abc-def-1"}, "authenticationKey", "letters or digits"),
        ({"authenticationKey": "a" * 61}, "authenticationKey", "6-60"),
    ]
    for changes, prop, words in cases:
        response = eq.post("/ne/v1/bgp", {**BGP_BODY, **changes})
        assert response.status_code == 400, changes
        errors = response.json()
        assert [e["property"] for e in errors] == [prop], changes
        assert errors[0]["errorCode"] == "IC-NE-BGP-0001"
        assert words in errors[0]["errorMessage"], errors[0]["errorMessage"]
    # The rejected keys are secrets: never echoed back.
    bad_key = eq.post("/ne/v1/bgp", {**BGP_BODY, "authenticationKey": "9secretkey"})
    assert "9secretkey" not in bad_key.text
    assert eq.get("/ne/v1/bgp").json()["pagination"]["total"] == 0  # nothing was created


def test_missing_fields_are_all_reported(eq: Equinix) -> None:
    """Equinix §2 (required fields) and §8 (an array lists every problem)."""
    response = eq.post("/ne/v1/bgp", {})
    assert response.status_code == 400
    props = sorted(e["property"] for e in response.json())
    assert props == ["connectionUuid", "localAsn", "localIpAddress", "remoteAsn", "remoteIpAddress"]


def test_body_must_be_a_json_object(eq: Equinix) -> None:
    """Equinix §1: Content-Type application/json bodies."""
    response = eq.http.post("/ne/v1/bgp", content=b"[1,2", headers={**eq.headers, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "IC-NE-ERR-400"


def test_legacy_connection_uuid_casing_is_accepted(eq: Equinix) -> None:
    """Equinix §2 (field-name casing): accept connectionUUID, emit connectionUuid."""
    body = {k: v for k, v in BGP_BODY.items() if k != "connectionUuid"} | {"connectionUUID": CONNECTION}
    response = eq.post("/ne/v1/bgp", body)
    assert response.status_code == 202
    info = eq.get(f"/ne/v1/bgp/{response.json()['uuid']}").json()
    assert info["connectionUuid"] == CONNECTION
    assert "connectionUUID" not in info


def test_unknown_connection_is_404(eq: Equinix) -> None:
    """Equinix §3: POST for an unknown connection -> 404."""
    response = eq.post("/ne/v1/bgp", {**BGP_BODY, "connectionUuid": "fbb0667d-0323-4734-855f-695cf543c2d7"})
    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "IC-NE-BGP-0002"
    assert response.json()[0]["property"] == "connectionUuid"


@pytest.mark.parametrize(
    ("connection", "words"),
    [
        ("conn-pending", "is PENDING"),
        ("conn-on-provisioning-device", "Device not provisioned"),
        ("conn-on-unlicensed-device", "license is APPLYING_LICENSE"),
        ("conn-on-self-configured-device", "EQUINIX-CONFIGURED"),
    ],
)
def test_device_and_connection_prerequisites(eq: Equinix, connection: str, words: str) -> None:
    """Equinix §9: provisioned connection, provisioned Equinix-configured device, registered license."""
    response = eq.post("/ne/v1/bgp", {**BGP_BODY, "connectionUuid": connection})
    assert response.status_code == 400
    error = response.json()[0]
    assert error["errorCode"] in ("IC-NE-BGP-0004", "IC-NE-BGP-0005")
    assert words in error["errorMessage"]
    assert error["property"] == "connectionUuid"


def test_active_connection_is_ready(eq: Equinix) -> None:
    """Equinix §9: state PROVISIONED or ACTIVE is ready for BGP."""
    assert eq.post("/ne/v1/bgp", {**BGP_BODY, "connectionUuid": "conn-active"}).status_code == 202


def test_local_asn_must_match_device_when_asked(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §9 (unconfirmed, U-E9; knob equinix_require_device_asn)."""
    sandbox.configure(equinix_require_device_asn=True)
    response = eq.post("/ne/v1/bgp", BGP_BODY)  # localAsn 10012, device asn 65010
    assert response.status_code == 400
    assert response.json()[0]["property"] == "localAsn"
    assert eq.post("/ne/v1/bgp", {**BGP_BODY, "localAsn": 65010}).status_code == 202


def test_duplicate_post_modes(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §3 (unconfirmed, U-E1): a second POST for a connection: reject / duplicate / return-existing."""
    first = eq.create()
    rejected = eq.post("/ne/v1/bgp", BGP_BODY)
    assert rejected.status_code == 400
    assert rejected.json()[0]["errorCode"] == "IC-NE-BGP-0006"
    assert first in rejected.json()[0]["errorMessage"]
    sandbox.configure(equinix_duplicate_post="return-existing")
    assert eq.post("/ne/v1/bgp", BGP_BODY).json() == {"uuid": first}
    sandbox.configure(equinix_duplicate_post="duplicate")
    second = eq.create()
    assert second != first
    listed = eq.get("/ne/v1/bgp", params={"connectionUuid": CONNECTION}).json()
    assert [item["uuid"] for item in listed["data"]] == [first, second]


# -- update ----------------------------------------------------------------------------------------


def test_put_partial_update_goes_through_pending_update(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §5 (partial fields), §7 (PENDING_UPDATE -> PROVISIONED), §2 (lastUpdated*)."""
    uuid = eq.create()
    sandbox.configure(provision_delay=0.3)
    response = eq.put(f"/ne/v1/bgp/{uuid}", {"remoteAsn": 65100})
    assert response.status_code == 202
    assert response.json() == {"uuid": uuid}
    info = eq.get(f"/ne/v1/bgp/{uuid}").json()
    assert info["provisioningStatus"] == "PENDING_UPDATE"
    assert info["state"] == "Established"  # the session stays up while the update is pushed
    assert info["remoteAsn"] == 65100
    assert info["localAsn"] == 10012 and info["authenticationKey"] == "testkey1"  # untouched
    assert info["lastUpdatedBy"] == "sandbox"
    assert ISO_MILLIS.fullmatch(info["lastUpdatedDate"])
    wait_until(lambda: status_of(eq, uuid) == "PROVISIONED")


def test_put_empty_response_knob(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §5 (unconfirmed, U-E4): 202 with {"uuid"} or an empty body."""
    uuid = eq.create()
    sandbox.configure(equinix_put_response="empty")
    response = eq.put(f"/ne/v1/bgp/{uuid}", {"localAsn": 65010})
    assert response.status_code == 202
    assert response.content == b""


def test_put_cannot_change_connection(eq: Equinix) -> None:
    """Equinix §5: connectionUuid is not updatable."""
    uuid = eq.create()
    for key in ("connectionUuid", "connectionUUID"):
        response = eq.put(f"/ne/v1/bgp/{uuid}", {key: "conn-active"})
        assert response.status_code == 400
        assert response.json()[0]["errorCode"] == "IC-NE-BGP-0008"
        assert response.json()[0]["property"] == "connectionUuid"
    assert eq.get(f"/ne/v1/bgp/{uuid}").json()["connectionUuid"] == CONNECTION


def test_put_while_busy_reject_or_accept(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §5 (unconfirmed, U-E4: PUT while PROVISIONING; knob equinix_put_while_busy)."""
    sandbox.configure(provision_delay=5)
    uuid = eq.create()
    busy = eq.put(f"/ne/v1/bgp/{uuid}", {"remoteAsn": 65100})
    assert busy.status_code == 400
    assert busy.json()[0]["errorCode"] == "IC-NE-BGP-0007"
    assert "PROVISIONING" in busy.json()[0]["errorMessage"]
    sandbox.configure(equinix_put_while_busy="accept")
    assert eq.put(f"/ne/v1/bgp/{uuid}", {"remoteAsn": 65100}).status_code == 202
    assert status_of(eq, uuid) == "PENDING_UPDATE"


def test_put_empty_key_clears_or_keeps(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §5 (unconfirmed, U-E5: what "authenticationKey": "" does; knob equinix_empty_key_on_put)."""
    uuid = eq.create()
    sandbox.configure(equinix_empty_key_on_put="keep")
    eq.put(f"/ne/v1/bgp/{uuid}", {"authenticationKey": ""})
    assert eq.get(f"/ne/v1/bgp/{uuid}").json()["authenticationKey"] == "testkey1"
    sandbox.configure(equinix_empty_key_on_put="clear")
    eq.put(f"/ne/v1/bgp/{uuid}", {"authenticationKey": ""})
    assert "authenticationKey" not in eq.get(f"/ne/v1/bgp/{uuid}").json()


def test_put_is_validated_against_the_merged_config(eq: Equinix) -> None:
    """Equinix §5 (same field rules as create): the remote IP must stay in the local subnet."""
    uuid = eq.create()
    response = eq.put(f"/ne/v1/bgp/{uuid}", {"localIpAddress": "192.168.1.1/30"})
    assert response.status_code == 400
    assert response.json()[0]["property"] == "remoteIpAddress"
    assert (
        eq.put(f"/ne/v1/bgp/{uuid}", {"localIpAddress": "192.168.1.1/30", "remoteIpAddress": "192.168.1.2"}).status_code
        == 202
    )
    assert eq.put("/ne/v1/bgp/00000000-0000-4000-8000-00000000ffff", {"localAsn": 1}).status_code == 404


# -- list ------------------------------------------------------------------------------------------


def test_list_pages_with_a_capped_limit(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §4: {pagination:{offset,limit,total},data}; the server caps limit; page by items."""
    created = [eq.create(connectionUuid=c) for c in PAGE_CONNECTIONS[:25]]
    default = eq.get("/ne/v1/bgp").json()
    assert default["pagination"] == {"offset": 0, "limit": 20, "total": 25}
    assert len(default["data"]) == 20
    sandbox.configure(equinix_list_limit_cap=10)
    capped = eq.get("/ne/v1/bgp", params={"limit": "100"}).json()
    assert capped["pagination"] == {"offset": 0, "limit": 10, "total": 25}
    seen: list[str] = []
    offset = 0
    while True:
        page = eq.get("/ne/v1/bgp", params={"offset": str(offset), "limit": "100"}).json()
        if not page["data"]:
            break
        seen += [item["uuid"] for item in page["data"]]
        offset += len(page["data"])
    assert seen == created  # creation order, nothing skipped


def test_list_filters(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §4 (list parameters connectionUuid, virtualDeviceUuid, status)."""
    done = eq.create()
    sandbox.configure(provision_delay=5)
    busy = eq.create(connectionUuid=PAGE_CONNECTIONS[0])

    def uuids(**params: str) -> list[str]:
        return [item["uuid"] for item in eq.get("/ne/v1/bgp", params=params).json()["data"]]

    assert uuids(connectionUuid=CONNECTION) == [done]
    assert uuids(virtualDeviceUuid=DEVICE) == [done, busy]
    assert uuids(virtualDeviceUuid="dev-self") == []
    assert uuids(status="PROVISIONED") == [done]
    assert uuids(status="PROVISIONING") == [busy]
    assert uuids(status="PROVISIONED,PROVISIONING") == [done, busy]
    bad = eq.get("/ne/v1/bgp", params={"status": "DONE"})
    assert bad.status_code == 400 and bad.json()[0]["property"] == "status"


@pytest.mark.parametrize(("param", "value"), [("limit", "0"), ("limit", "ten"), ("offset", "-1")])
def test_list_rejects_bad_paging(eq: Equinix, param: str, value: str) -> None:
    """Equinix §4 (offset/limit are integers written as strings)."""
    response = eq.get("/ne/v1/bgp", params={param: value})
    assert response.status_code == 400
    assert response.json()[0]["property"] == param


def test_connection_lookup(eq: Equinix) -> None:
    """Equinix §3: GET /ne/v1/bgp/connection/{uuid} -> the config, or 404 when none."""
    none = eq.get(f"/ne/v1/bgp/connection/{CONNECTION}")
    assert none.status_code == 404
    assert none.json()[0]["errorCode"] == "IC-NE-BGP-0003"
    uuid = eq.create()
    found = eq.get(f"/ne/v1/bgp/connection/{CONNECTION}")
    assert found.status_code == 200
    assert found.json()["uuid"] == uuid
    assert found.json()["authenticationKey"] == "testkey1"


def test_there_is_no_delete(eq: Equinix) -> None:
    """Equinix §6: no DELETE route (405 here) and the config stays."""
    uuid = eq.create()
    response = eq.http.delete(f"/ne/v1/bgp/{uuid}", headers=eq.headers)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, PUT"
    assert response.json()[0]["errorCode"] == "IC-NE-ERR-405"
    assert eq.get(f"/ne/v1/bgp/{uuid}").status_code == 200
    assert eq.http.get("/ne/v1/nothing-here", headers=eq.headers).json()[0]["errorCode"] == "IC-NE-ERR-404"


# -- device / connection lookups -------------------------------------------------------------------


def test_device_lookup(eq: Equinix) -> None:
    """Equinix §9: status, licenseStatus, deviceManagementType, asn (+ seeded extras)."""
    device = eq.get(f"/ne/v1/devices/{DEVICE}").json()
    assert device["status"] == "PROVISIONED"
    assert device["licenseStatus"] == "REGISTERED"
    assert device["deviceManagementType"] == "EQUINIX-CONFIGURED"
    assert device["asn"] == 65010
    assert device["metroCode"] == "SG"
    missing = eq.get("/ne/v1/devices/nope")
    assert missing.status_code == 404
    assert missing.json()[0]["property"] == "uuid"


def test_fabric_connection_lookup(eq: Equinix) -> None:
    """Equinix §9 and §8: Fabric v4 connection shape; 404 is a Fabric error list (EQ-3045811)."""
    connection = eq.get(f"/fabric/v4/connections/{CONNECTION}").json()
    assert connection["state"] == "PROVISIONED"
    assert connection["operation"]["equinixStatus"] == "PROVISIONED"
    assert connection["aSide"]["accessPoint"]["type"] == "VD"
    assert connection["aSide"]["accessPoint"]["virtualDevice"] == {"type": "EDGE", "uuid": DEVICE}
    pending = eq.get("/fabric/v4/connections/conn-pending").json()
    assert pending["operation"]["equinixStatus"] == "PENDING_APPROVAL"
    missing = eq.get("/fabric/v4/connections/nope")
    assert missing.status_code == 404
    assert missing.json()[0]["errorCode"] == "EQ-3045811"


# -- provisioning failures, session state, read lag ------------------------------------------------


def test_provision_failure_ends_failed(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §7 (FAILED, reached by fault injection)."""
    sandbox.configure(equinix={"provision_failure_rate": 1.0})
    uuid = eq.create()
    info = eq.get(f"/ne/v1/bgp/{uuid}").json()
    assert (info["provisioningStatus"], info["state"]) == ("FAILED", "Idle")
    sandbox.configure(equinix={"provision_failure_rate": 0.0})
    assert eq.put(f"/ne/v1/bgp/{uuid}", {"remoteAsn": 65100}).status_code == 202  # a FAILED config can be fixed
    assert status_of(eq, uuid) == "PROVISIONED"


def test_session_state_target_and_override(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §7: `state` is independent of provisioningStatus; admin override per object."""
    uuid = eq.create()
    assert eq.get(f"/ne/v1/bgp/{uuid}").json()["state"] == "Established"
    sandbox.set_session_state(uuid, "OpenSent")
    assert eq.get(f"/ne/v1/bgp/{uuid}").json()["state"] == "OpenSent"
    assert sandbox.objects().sessions[uuid]["override"] is True
    sandbox.set_session_state(uuid, "auto")
    sandbox.configure(equinix_session_target="Idle")  # PROVISIONED while Idle, like the ne-go fixture
    info = eq.get(f"/ne/v1/bgp/{uuid}").json()
    assert (info["provisioningStatus"], info["state"]) == ("PROVISIONED", "Idle")
    with pytest.raises(SandboxError, match="not a session state"):
        sandbox.set_session_state(uuid, "ESTABLISHED")
    with pytest.raises(SandboxError, match="no Equinix BGP configuration"):
        sandbox.set_session_state("nope", "Idle")


def test_read_lag_gives_a_transient_404(sandbox: Sandbox, eq: Equinix) -> None:
    """Equinix §3 (unconfirmed, U-E12: a transient 404 just after POST)."""
    sandbox.configure(equinix_read_lag=0.3)
    uuid = eq.create()
    assert eq.get(f"/ne/v1/bgp/{uuid}").status_code == 404
    assert eq.get("/ne/v1/bgp").json()["pagination"]["total"] == 0
    wait_until(lambda: eq.get(f"/ne/v1/bgp/{uuid}").status_code == 200)
    # The server already knew it: a second POST was rejected as a duplicate all along.
    assert eq.post("/ne/v1/bgp", BGP_BODY).status_code == 400


def test_http_errors_carry_no_request_body(eq: Equinix) -> None:
    """Equinix §8 and §10: error bodies name the property, never echo the (secret) value."""
    uuid = eq.create()
    response = eq.put(f"/ne/v1/bgp/{uuid}", {"authenticationKey": "#bad-secret-value"})
    assert response.status_code == 400
    assert "#bad-secret-value" not in response.text
