"""Hostile input over HTTP: deep JSON, numbers of thousands of digits, oversized bodies, too many
parameters. Each API answers 4xx in its own error shape, never 500 (docs/sandbox.md, Limits)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reconciler.sandbox import Sandbox
from reconciler.sandbox.bounded import MAX_ADMIN_BODY, MAX_API_BODY, MAX_DEPTH, MAX_PARAMETERS

from .conftest import BGP_BODY, SG, VBR_SG1, Equinix, send, signed_request

DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000  # Python's json raises RecursionError on it
DEEP_OBJECT = b'{"a": ' * 20_000 + b"1" + b"}" * 20_000
HUGE = "9" * 5_000  # int() refuses more than 4,300 digits


def _equinix_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The one error item of an Equinix error body (array shape), after checking the status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, list) and len(body) == 1, body
    item: dict[str, Any] = body[0]
    assert item["errorCode"] == code
    assert set(item) == {"errorCode", "errorMessage", "property", "moreInfo"}
    return item


def _alibaba_error(response: httpx.Response, code: str = "InvalidParameter") -> str:
    """The message of an Alibaba RPC error body, after checking its shape."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    body = response.json()
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert body["Code"] == code
    message: str = body["Message"]
    return message


# -- Equinix -------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
def test_equinix_deep_json_is_a_400(eq: Equinix, body: bytes) -> None:
    """Deep JSON in POST and PUT /ne/v1/bgp is IC-NE-ERR-400 naming the bound, not a 500."""
    headers = {**eq.headers, "Content-Type": "application/json"}
    uuid = eq.create()
    for response in (
        eq.http.post("/ne/v1/bgp", content=body, headers=headers),
        eq.http.put(f"/ne/v1/bgp/{uuid}", content=body, headers=headers),
    ):
        item = _equinix_error(response, 400, "IC-NE-ERR-400")
        assert f"more than {MAX_DEPTH} levels" in item["errorMessage"]
    assert eq.get("/ne/v1/bgp").json()["pagination"]["total"] == 1  # nothing else was made


def test_equinix_deep_json_honours_the_error_shape(sandbox: Sandbox, eq: Equinix) -> None:
    """The error body shape knob (equinix_error_shape: object) applies to these errors too."""
    sandbox.configure(equinix_error_shape="object")
    response = eq.http.post(
        "/ne/v1/bgp", content=DEEP_ARRAY, headers={**eq.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert isinstance(body, dict) and body["errorCode"] == "IC-NE-ERR-400"


def test_equinix_token_endpoint_deep_json_is_an_oauth_400(eq: Equinix) -> None:
    """The token endpoint answers its own (OAuth) error shape."""
    response = eq.http.post("/oauth2/v1/token", content=DEEP_ARRAY, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    body = response.json()
    assert body["errorCode"] == "S1001"
    assert f"more than {MAX_DEPTH} levels" in body["errorMessage"]


@pytest.mark.parametrize("number", [HUGE, f"1.{HUGE}", f"-{HUGE}e5"], ids=["int", "fraction", "exponent"])
def test_equinix_numbers_of_thousands_of_digits_are_refused_by_length(eq: Equinix, number: str) -> None:
    """A 5,000-digit number is refused for its length, before int() or float() sees it."""
    body = b'{"localAsn": ' + number.encode() + b', "remoteAsn": 10013}'
    response = eq.http.post("/ne/v1/bgp", content=body, headers={**eq.headers, "Content-Type": "application/json"})
    item = _equinix_error(response, 400, "IC-NE-ERR-400")
    assert "5,00" in item["errorMessage"] and "at most 40" in item["errorMessage"]
    assert len(response.content) < 1_000  # the number is not echoed


def test_equinix_nan_is_not_json(eq: Equinix) -> None:
    """NaN and Infinity are not JSON numbers: refused as such."""
    body = b'{"localAsn": NaN}'
    response = eq.http.post("/ne/v1/bgp", content=body, headers={**eq.headers, "Content-Type": "application/json"})
    assert "NaN is not a JSON number" in _equinix_error(response, 400, "IC-NE-ERR-400")["errorMessage"]


@pytest.mark.parametrize(
    ("name", "value"), [("offset", HUGE), ("limit", HUGE), ("offset", "²"), ("limit", "1_0"), ("offset", "-1")]
)
def test_equinix_list_parameters_that_are_no_integer_are_a_400(eq: Equinix, name: str, value: str) -> None:
    """offset / limit with 5,000 digits, or digits int() reads but the API does not, are a 400 naming them."""
    item = _equinix_error(eq.get("/ne/v1/bgp", params={name: value}), 400, "IC-NE-BGP-0001")
    assert item["property"] == name
    assert "an integer" in item["errorMessage"]
    assert len(item["errorMessage"]) < 200  # the value is quoted only in part


def test_equinix_body_size_is_bounded_in_the_api_shape(eq: Equinix) -> None:
    """A body over the API bound is a 413 in Equinix's shape, whether its length is announced or not."""
    headers = {**eq.headers, "Content-Type": "application/json"}
    big = b'{"x": "' + b"a" * (MAX_API_BODY + 10) + b'"}'

    def chunked() -> Iterator[bytes]:
        for _ in range(2 * MAX_ADMIN_BODY // 65_536):
            yield b" " * 65_536

    for response in (
        eq.http.post("/ne/v1/bgp", content=big, headers=headers),
        eq.http.post("/ne/v1/bgp", content=chunked(), headers=headers),
    ):
        item = _equinix_error(response, 413, "IC-NE-ERR-413")
        assert f"larger than {MAX_API_BODY:,} bytes" in item["errorMessage"]
    assert eq.post("/ne/v1/bgp", BGP_BODY).status_code == 202  # and the server goes on


# -- Alibaba ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("CreateBgpGroup", {"RegionId": SG, "RouterId": VBR_SG1, "PeerAsn": HUGE}),
        ("CreateBgpGroup", {"RegionId": SG, "RouterId": VBR_SG1, "PeerAsn": "65010", "LocalAsn": HUGE}),
        ("DescribeBgpPeers", {"RegionId": SG, "PageSize": HUGE}),
        ("DescribeBgpGroups", {"RegionId": SG, "PageNumber": f"-{HUGE}"}),
    ],
)
def test_alibaba_numbers_of_thousands_of_digits_are_invalid_parameter(
    sandbox: Sandbox, action: str, params: dict[str, str]
) -> None:
    """RPC parameters are text: a 5,000-digit number is InvalidParameter naming it, not a 500."""
    name = next(key for key, value in params.items() if HUGE in value)
    message = _alibaba_error(send(*signed_request(sandbox, action, params)))
    assert f"The specified parameter {name} is not valid." in message
    assert "5,000 digits" in message and HUGE not in message


def test_alibaba_digits_int_reads_but_the_api_does_not_are_refused(sandbox: Sandbox) -> None:
    """`²` and `1_0` pass str.isdigit() or int(), but are not integers on the wire."""
    for value in ("²", "1_0"):
        response = send(*signed_request(sandbox, "DescribeBgpPeers", {"RegionId": SG, "PageSize": value}))
        assert "PageSize must be an integer" in _alibaba_error(response)
    response = send(*signed_request(sandbox, "CreateBgpGroup", {"RegionId": SG, "RouterId": VBR_SG1, "PeerAsn": "²"}))
    _alibaba_error(response, "IllegalParam.PeerAsn")  # the parameter's own code, as for any non-integer


def test_alibaba_body_size_is_bounded_in_the_rpc_shape(sandbox: Sandbox) -> None:
    """A form body over the API bound is an RPC error body, announced length or chunked."""
    form = {"content-type": "application/x-www-form-urlencoded", "x-acs-action": "DescribeBgpPeers"}
    url = f"http://{sandbox.alibaba_endpoint}/"

    def chunked() -> Iterator[bytes]:
        for _ in range(2 * MAX_ADMIN_BODY // 65_536):
            yield b"A" * 65_536

    for response in (
        httpx.post(url, content=b"A" * (MAX_API_BODY + 1), headers=form),
        httpx.post(url, content=chunked(), headers=form),
    ):
        assert f"larger than {MAX_API_BODY:,} bytes" in _alibaba_error(response)
    assert sandbox.request_counts() == {"alibaba DescribeBgpPeers": 2}  # counted under the header's action


def test_alibaba_parameter_count_is_bounded(sandbox: Sandbox) -> None:
    """More parameters than any call has (filters included) are refused before they are looked at."""
    params = {"RegionId": SG, **{f"Filter.{i}.Key": "VbrId" for i in range(MAX_PARAMETERS)}}
    response = send(*signed_request(sandbox, "DescribeVirtualBorderRouters", params))
    assert f"at most {MAX_PARAMETERS} parameters" in _alibaba_error(response)


# -- control routes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("port", ["equinix", "alibaba"])
@pytest.mark.parametrize(
    ("body", "words"),
    [
        (DEEP_ARRAY, f"more than {MAX_DEPTH} levels"),
        (b'{"random_seed": ' + HUGE.encode() + b"}", "at most 40"),
        (b'{"provision_delay": NaN}', "NaN is not a JSON number"),
        (b'{"provision_delay": Infinity}', "Infinity is not a JSON number"),
        (b'{"provision_delay": 1e999}', "provision_delay: inf is not valid; expected a finite number"),
    ],
    ids=["deep", "huge", "nan", "infinity", "overflow"],
)
def test_control_json_bodies_are_bounded(sandbox: Sandbox, port: str, body: bytes, words: str) -> None:
    """POST /_sandbox/config and session-state read JSON within the same bounds; nothing changes."""
    base = sandbox.equinix_url if port == "equinix" else f"http://{sandbox.alibaba_endpoint}"
    before = sandbox.config
    paths = ["/_sandbox/config"] if b"1e999" in body else ["/_sandbox/config", "/_sandbox/session-state"]
    for path in paths:
        response = httpx.post(base + path, content=body)
        assert response.status_code == 400, response.text
        assert words in response.json()["error"]
    assert sandbox.config == before
