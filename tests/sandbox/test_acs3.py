"""ACS3-HMAC-SHA256 verification: our signer agrees with the SDK's; tampering, replay and clock checks.

Each test names the section of docs/cloud-apis.md ("Alibaba §n") whose facts it checks.
"""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from urllib.parse import urlencode

import httpx
import pytest
from alibabacloud_tea_openapi.utils import Utils

from reconciler.sandbox import Sandbox
from reconciler.sandbox.acs3 import SignatureError, canonical_query, sign_acs3, verify_acs3

from .conftest import SG, VBR_SG1, acs_date, alibaba_client, describe_groups, expect_error, send, signed_request

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
HEADERS = {
    "host": "127.0.0.1:45109",
    "x-acs-version": "2016-04-28",
    "x-acs-action": "CreateBgpPeer",
    "user-agent": "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
    "x-acs-date": "2026-11-27T17:00:44Z",
    "x-acs-signature-nonce": "adf5c3fe526dfab7051a9bc2c4040606",
    "accept": "application/json",
    "x-acs-credentials-provider": "static_ak",
}
QUERY = {
    "BfdMultiHop": "3",
    "BgpGroupId": "bgpg-test0001",
    "EnableBfd": "True",
    "IpVersion": "IPv4",
    "PeerIpAddress": "10.0.0.2",
    "RegionId": "cn-hangzhou",
    "Name": "a b*c~d/é",
}


def test_our_signer_matches_the_sdk() -> None:
    """Alibaba §2: same canonical request and signature as alibabacloud_tea_openapi."""
    ours = sign_acs3("POST", "/", QUERY, HEADERS, b"", "AKID", "SECRET")
    sdk_request = SimpleNamespace(
        pathname="/", query=QUERY, method="POST", headers={**HEADERS, "x-acs-content-sha256": EMPTY_SHA256}
    )
    sdk = Utils.get_authorization(sdk_request, "ACS3-HMAC-SHA256", EMPTY_SHA256, "AKID", "SECRET")
    assert ours["authorization"] == sdk


def test_canonical_query_is_rfc3986() -> None:
    """Alibaba §2: space -> %20, * -> %2A, ~ kept, sorted by name, empty value `key=`."""
    assert canonical_query([("b", "x y"), ("a", "*~"), ("c", "")]) == "a=%2A~&b=x%20y&c="


def test_verify_accepts_and_rejects() -> None:
    """Alibaba §2 (server-side verification): valid, wrong key, tampered, unsigned header."""
    headers = sign_acs3("POST", "/", QUERY, HEADERS, b"", "AKID", "SECRET")

    def secrets(ak: str) -> str | None:
        return {"AKID": "SECRET"}.get(ak)

    signed = verify_acs3("POST", "/", QUERY.items(), headers, b"", secrets)
    assert (signed.access_key_id, signed.nonce) == ("AKID", HEADERS["x-acs-signature-nonce"])
    cases = [
        ({**QUERY, "BfdMultiHop": "4"}, headers, b"", "SignatureDoesNotMatch"),
        (QUERY, {**headers, "x-acs-action": "DeleteBgpPeer"}, b"", "SignatureDoesNotMatch"),
        (QUERY, headers, b"x=1", "SignatureDoesNotMatch"),  # body does not match x-acs-content-sha256
        (
            QUERY,
            {**headers, "authorization": headers["authorization"].replace("AKID", "OTHER")},
            b"",
            "InvalidAccessKeyId.NotFound",
        ),
        (QUERY, {**headers, "authorization": "HMAC-SHA1 abc"}, b"", "IncompleteSignature"),
        (QUERY, {**headers, "authorization": "ACS3-HMAC-SHA256 Credential=AKID"}, b"", "IncompleteSignature"),
    ]
    for query, hdrs, body, code in cases:
        with pytest.raises(SignatureError) as info:
            verify_acs3("POST", "/", query.items(), hdrs, body, secrets)
        assert info.value.code == code
    # A header the server relies on must be covered by the signature.
    partial = sign_acs3(
        "POST", "/", QUERY, {k: v for k, v in HEADERS.items() if k != "x-acs-action"}, b"", "AKID", "SECRET"
    )
    with pytest.raises(SignatureError, match="SignatureDoesNotMatch"):
        verify_acs3("POST", "/", QUERY.items(), {**partial, "x-acs-action": "CreateBgpPeer"}, b"", secrets)


def test_query_tampered_after_signing_is_rejected(sandbox: Sandbox) -> None:
    """Alibaba §2: a query changed after signing -> SignatureDoesNotMatch."""
    params = {"RegionId": SG, "RouterId": VBR_SG1, "PeerAsn": "65010"}
    url, headers, _ = signed_request(sandbox, "CreateBgpGroup", params)
    tampered = url.replace("PeerAsn=65010", "PeerAsn=65011")
    response = send(tampered, headers)
    assert response.status_code == 400
    body = response.json()
    assert body["Code"] == "SignatureDoesNotMatch"
    assert "server string to sign is:ACS3-HMAC-SHA256\n" in body["Message"]
    assert "sandbox-secret" not in response.text
    assert sandbox.objects().counts()["alibaba_groups"] == 0
    assert send(url, headers).status_code == 200  # the untouched request is fine


def test_nonce_replay_is_rejected(sandbox: Sandbox) -> None:
    """Alibaba §2 (U-A14): the same nonce twice -> SignatureNonceUsed."""
    url, headers, _ = signed_request(sandbox, "DescribeBgpGroups", {"RegionId": SG})
    assert send(url, headers).status_code == 200
    replay = send(url, headers)
    assert replay.status_code == 400
    assert replay.json()["Code"] == "SignatureNonceUsed"


@pytest.mark.parametrize(
    ("offset", "code"),
    [(-16 * 60, "InvalidTimeStamp.Expired"), (16 * 60, "InvalidTimeStamp.Expired"), (-14 * 60, None)],
)
def test_clock_window_is_15_minutes(sandbox: Sandbox, offset: int, code: str | None) -> None:
    """Alibaba §2 and §13 (U-A14): x-acs-date more than 15 minutes off -> InvalidTimeStamp.Expired."""
    response = send(*signed_request(sandbox, "DescribeBgpGroups", {"RegionId": SG}, date=acs_date(offset)))
    if code is None:
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert response.json()["Code"] == code


def test_malformed_date(sandbox: Sandbox) -> None:
    """Alibaba §2: x-acs-date is %Y-%m-%dT%H:%M:%SZ."""
    response = send(*signed_request(sandbox, "DescribeBgpGroups", {"RegionId": SG}, date="27/11/2026"))
    assert response.json()["Code"] == "InvalidTimeStamp.Format"


def test_unsigned_request(sandbox: Sandbox) -> None:
    """Alibaba §2: no Authorization header -> IncompleteSignature."""
    response = httpx.post(
        f"http://{sandbox.alibaba_endpoint}/?{urlencode({'RegionId': SG})}",
        headers={"x-acs-action": "DescribeBgpGroups", "x-acs-version": "2016-04-28"},
    )
    assert response.status_code == 400
    assert response.json()["Code"] == "IncompleteSignature"


def test_action_and_version_checks(sandbox: Sandbox) -> None:
    """Alibaba §2 (the sandbox requires x-acs-action and x-acs-version == 2016-04-28)."""
    unknown = send(*signed_request(sandbox, "CreateVpc", {"RegionId": SG}))
    assert (unknown.status_code, unknown.json()["Code"]) == (404, "InvalidAction.NotFound")
    url, headers, _ = signed_request(sandbox, "DescribeBgpGroups", {"RegionId": SG})
    headers["x-acs-version"] = "2014-05-15"
    wrong = send(url, headers)
    assert (wrong.status_code, wrong.json()["Code"]) == (400, "InvalidVersion")


def test_sdk_with_wrong_secret_or_unknown_key(sandbox: Sandbox) -> None:
    """Alibaba §13 (gateway codes): SignatureDoesNotMatch 400, InvalidAccessKeyId.NotFound 404."""
    expect_error(lambda: describe_groups(alibaba_client(sandbox, secret="not-the-secret")), "SignatureDoesNotMatch")
    expect_error(
        lambda: describe_groups(alibaba_client(sandbox, access_key_id="LTAI-unknown")),
        "InvalidAccessKeyId.NotFound",
        404,
    )
    sandbox.configure(alibaba_access_key_id="team-ak", alibaba_access_key_secret="team-secret")
    assert describe_groups(alibaba_client(sandbox, access_key_id="team-ak", secret="team-secret")).total_count == 0
