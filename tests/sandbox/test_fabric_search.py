"""Fabric v4 connection search (`POST /fabric/v4/connections/search`, the spec's `searchConnections`;
docs/sandbox.md, Equinix), over real HTTP: filters, uuid order, paging, errors, 403 and 401.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.sandbox import Sandbox
from reconciler.sandbox.seed import parse_seed_text

from .conftest import CONNECTION, DEVICE, PAGE_CONNECTIONS, Equinix

SEARCH = "/fabric/v4/connections/search"
SEARCH_DEVICE = "dev-search"
# Seeded out of uuid order, so the uuid order of the answers is the server's doing.
SEARCH_CONNECTIONS = {
    "search-c": "ACTIVE",
    "search-a": "PROVISIONED",
    "search-e": "PENDING",
    "search-b": "ACTIVE",
    "search-d": "PROVISIONED",
}
FABRIC_ERROR_KEYS = {"errorCode", "errorMessage", "correlationId", "details", "additionalInfo"}
DEVICE_PROPERTY = "/aSide/accessPoint/virtualDevice/uuid"


@pytest.fixture
def searchable(sandbox: Sandbox) -> Sandbox:
    """The shared seed plus a device with five connections, seeded out of uuid order."""
    lines = [
        "equinix:",
        "  devices:",
        f"    - {{uuid: {SEARCH_DEVICE}, name: sg-search, status: PROVISIONED, licenseStatus: REGISTERED}}",
        "  connections:",
        *(
            f"    - {{uuid: {uuid}, deviceUuid: {SEARCH_DEVICE}, state: {state}, name: name-{uuid}}}"
            for uuid, state in SEARCH_CONNECTIONS.items()
        ),
    ]
    sandbox.add_seed(parse_seed_text("\n".join(lines) + "\n", "search.yaml"))
    return sandbox


def where(prop: str, operator: str, *values: str) -> dict[str, Any]:
    return {"property": prop, "operator": operator, "values": list(values)}


def search(eq: Equinix, body: Any) -> dict[str, Any]:
    response = eq.post(SEARCH, body)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def uuids(found: dict[str, Any]) -> list[str]:
    return [item["uuid"] for item in found["data"]]


def fabric_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """The single item of a Fabric error list, checked for the shape of the GET's 404."""
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, list) and len(body) == 1, body
    item: dict[str, Any] = body[0]
    assert set(item) == FABRIC_ERROR_KEYS
    assert [set(info) for info in item["additionalInfo"]] == [{"property", "reason"}]
    return item


def test_filter_by_device_gives_exactly_its_connections(searchable: Sandbox, eq: Equinix) -> None:
    """Equinix §9: the A-side device uuid filter; uuid order; each item is what the GET returns."""
    found = search(eq, {"filter": where(DEVICE_PROPERTY, "=", SEARCH_DEVICE)})
    assert uuids(found) == sorted(SEARCH_CONNECTIONS)
    assert found["pagination"] == {"offset": 0, "limit": 20, "total": 5, "next": None, "previous": None}
    for item in found["data"]:
        assert item == eq.get(f"/fabric/v4/connections/{item['uuid']}").json()
    other = search(eq, {"filter": where(DEVICE_PROPERTY, "=", "dev-self"), "pagination": {"limit": 100}})
    assert uuids(other) == ["conn-on-self-configured-device"]
    shared = search(eq, {"filter": where(DEVICE_PROPERTY, "=", DEVICE), "pagination": {"limit": 100}})
    assert uuids(shared) == sorted([CONNECTION, "conn-active", "conn-pending", *PAGE_CONNECTIONS])
    assert shared["pagination"]["total"] == 33


def test_no_filter_gives_every_connection(searchable: Sandbox, eq: Equinix) -> None:
    """No `filter`: every seeded connection, in uuid order."""
    found = search(eq, {"pagination": {"limit": 100}})
    every = sorted(searchable.objects().connections)
    assert len(every) == 41
    assert uuids(found) == every
    assert found["pagination"]["total"] == 41
    assert uuids(search(eq, {})) == every[:20]


def test_in_on_uuid(searchable: Sandbox, eq: Equinix) -> None:
    """`IN` takes several values; unknown ones match nothing; uuid order, not the seed's."""
    found = search(eq, {"filter": where("/uuid", "IN", "search-c", CONNECTION, "no-such-connection", "search-a")})
    assert uuids(found) == [CONNECTION, "search-a", "search-c"]
    assert found["pagination"]["total"] == 3


def test_and_of_two_expressions(searchable: Sandbox, eq: Equinix) -> None:
    """`and`: both must match (the device's connections that are ACTIVE)."""
    found = search(
        eq, {"filter": {"and": [where(DEVICE_PROPERTY, "=", SEARCH_DEVICE), where("/state", "=", "ACTIVE")]}}
    )
    assert uuids(found) == ["search-b", "search-c"]


def test_or_not_equal_status_and_name(searchable: Sandbox, eq: Equinix) -> None:
    """`or`, `!=`, `/operation/equinixStatus` (derived from `state`) and `/name`."""
    pending = where("/operation/equinixStatus", "=", "PENDING_APPROVAL")
    named = where("/name", "=", "name-search-a")
    assert uuids(search(eq, {"filter": {"or": [pending, named]}})) == ["conn-pending", "search-a", "search-e"]
    not_active = {"and": [where(DEVICE_PROPERTY, "=", SEARCH_DEVICE), where("/state", "!=", "ACTIVE")]}
    assert uuids(search(eq, {"filter": not_active})) == ["search-a", "search-d", "search-e"]


def test_paging(searchable: Sandbox, eq: Equinix) -> None:
    """`pagination`: limit 2 over 5 matches is 3 pages, with `next` / `previous` links."""
    by_device = where(DEVICE_PROPERTY, "=", SEARCH_DEVICE)
    pages = [search(eq, {"filter": by_device, "pagination": {"offset": o, "limit": 2}}) for o in (0, 2, 4, 3)]
    assert [p["pagination"] for p in pages] == [
        {"offset": 0, "limit": 2, "total": 5, "next": f"{SEARCH}?offset=2&limit=2", "previous": None},
        {
            "offset": 2,
            "limit": 2,
            "total": 5,
            "next": f"{SEARCH}?offset=4&limit=2",
            "previous": f"{SEARCH}?offset=0&limit=2",
        },
        {"offset": 4, "limit": 2, "total": 5, "next": None, "previous": f"{SEARCH}?offset=2&limit=2"},
        {"offset": 3, "limit": 2, "total": 5, "next": None, "previous": f"{SEARCH}?offset=1&limit=2"},
    ]
    assert [uuids(p) for p in pages[:3]] == [["search-a", "search-b"], ["search-c", "search-d"], ["search-e"]]
    assert uuids(pages[3]) == ["search-d", "search-e"]  # the last page ends exactly at the total


@pytest.mark.parametrize("limit", [0, 101])
def test_limit_out_of_range_is_400(searchable: Sandbox, eq: Equinix, limit: int) -> None:
    """PaginationRequest: limit is 1..100; anything else is a Fabric error list naming `limit`."""
    error = fabric_error(eq.post(SEARCH, {"pagination": {"limit": limit}}), 400)
    assert error["errorCode"] == "EQ-3040001"
    assert "limit" in error["errorMessage"] and str(limit) in error["errorMessage"]
    assert error["additionalInfo"][0]["property"] == "pagination.limit"


def test_unknown_property_is_400_naming_it(searchable: Sandbox, eq: Equinix) -> None:
    """A search field the sandbox does not support is refused, named, wherever it is nested."""
    body = {"filter": {"and": [where("/uuid", "=", "search-a"), where("/bandwidth", "=", "50")]}}
    error = fabric_error(eq.post(SEARCH, body), 400)
    assert error["errorCode"] == "EQ-3040001"
    assert "/bandwidth" in error["errorMessage"]
    assert error["additionalInfo"][0]["property"] == "filter.and[1].property"


@pytest.mark.parametrize(
    ("body", "prop", "words"),
    [
        ({"filter": where("/uuid", "LIKE", "a")}, "filter.operator", "'LIKE'"),
        ({"filter": where("/uuid", "=", "a", "b")}, "filter.values", "exactly one value"),
        ({"filter": where("/uuid", "!=")}, "filter.values", "non-empty array of strings"),
        ({"filter": where("/uuid", "IN")}, "filter.values", "non-empty array of strings"),
        ({"filter": {"property": "/uuid", "operator": "=", "values": [1]}}, "filter.values", "strings"),
        ({"filter": {"property": "/uuid", "operator": "=", "values": "a"}}, "filter.values", "array"),
        ({"filter": {"and": []}}, "filter.and", "non-empty array"),
        ({"filter": {"or": [where("/uuid", "=", "a"), "x"]}}, "filter.or[1]", "must be an object"),
        ({"filter": {"and": [], **where("/uuid", "=", "a")}}, "filter", "exactly one of"),
        ({"filter": None}, "filter", "must be an object"),
        ({"pagination": {"offset": -1}}, "pagination.offset", "offset -1"),
        ({"pagination": {"limit": "10"}}, "pagination.limit", "integer"),
        ({"pagination": {"limit": True}}, "pagination.limit", "integer"),
        ({"pagination": []}, "pagination", "must be an object"),
    ],
)
def test_bad_search_bodies_are_400(searchable: Sandbox, eq: Equinix, body: Any, prop: str, words: str) -> None:
    """Every malformed part of the search body is refused with the Fabric error list, named."""
    error = fabric_error(eq.post(SEARCH, body), 400)
    assert error["errorCode"] == "EQ-3040001"
    assert error["additionalInfo"][0]["property"] == prop
    assert words in error["errorMessage"], error["errorMessage"]


def test_body_must_be_a_json_object(searchable: Sandbox, eq: Equinix) -> None:
    """A body that is not a JSON object is a Fabric 400 too, read within the API body bound."""
    for raw in (b"[1, 2]", b"{not json", b""):
        response = eq.http.post(SEARCH, content=raw, headers={**eq.headers, "Content-Type": "application/json"})
        assert fabric_error(response, 400)["errorCode"] == "EQ-3040001", raw
    huge = eq.post(SEARCH, {"filter": where("/uuid", "IN", *["x" * 1000] * 300)})
    assert fabric_error(huge, 413)["errorCode"] == "EQ-3040001"


def test_forbidden_like_the_get(searchable: Sandbox, eq: Equinix) -> None:
    """Equinix §8 and §9 (U-E16): under `equinix_prerequisite_reads: forbidden` the search answers
    the GET's 403, whatever the body."""
    searchable.configure(equinix_prerequisite_reads="forbidden")
    got = eq.get(f"/fabric/v4/connections/{CONNECTION}")
    for body in ({}, {"pagination": {"limit": 0}}):
        searched = eq.post(SEARCH, body)
        assert (searched.status_code, got.status_code) == (403, 403)
        item, expected = fabric_error(searched, 403), fabric_error(got, 403)
        assert {**item, "correlationId": ""} == {**expected, "correlationId": ""}
        assert item["errorCode"] == "EQ-300005"
    searchable.configure(equinix_prerequisite_reads="allowed")
    assert eq.post(SEARCH, {}).status_code == 200


def test_unauthenticated_is_refused_like_the_get(searchable: Sandbox, eq: Equinix) -> None:
    """Equinix §1: no token or an unknown one is the GET's 401, and nothing is searched."""
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        searched = eq.http.post(SEARCH, json={}, headers=headers)
        got = eq.http.get(f"/fabric/v4/connections/{CONNECTION}", headers=headers)
        assert (searched.status_code, got.status_code) == (401, 401)
        assert searched.json() == got.json()
        assert searched.json()[0]["errorCode"] == "IC-NE-ERR-401"
        assert searched.headers["WWW-Authenticate"] == "Bearer"
