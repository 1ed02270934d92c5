"""The connection checks' search shortcut, with scripted replies: what happens when the search is
refused, fails or answers in a shape it should not. (The sandbox tests in test_provider.py cover
the search that works, over real HTTP.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from reconciler.clouds.equinix.prerequisites import SEARCH_PATH, Prerequisites
from reconciler.errors import ProviderError, ResourceNotFound

DEVICE = "5f1e8a52-3c1d-4d6e-9a7b-0c2f4e6a8b10"


def connection(uuid: str, state: str = "PROVISIONED", device: str = DEVICE) -> dict[str, Any]:
    return {"uuid": uuid, "state": state, "aSide": {"accessPoint": {"virtualDevice": {"uuid": device}}}}


class ScriptedFabric:
    """Replies to the checks' reads: connections by uuid, one device, and a search answered by
    `search` (a reply, or an exception to raise)."""

    def __init__(self, connections: list[dict[str, Any]], search: object) -> None:
        self.connections = {c["uuid"]: c for c in connections}
        self.search = search
        self.calls: list[str] = []

    def get_json(self, path: str, op: str) -> Any:
        self.calls.append(op)
        if path.startswith("/ne/v1/devices/"):
            return {"uuid": DEVICE, "status": "PROVISIONED", "licenseStatus": "REGISTERED"}
        found = self.connections.get(path.rsplit("/", 1)[1])
        if found is None:
            raise ResourceNotFound("not found", cloud="equinix", status=404)
        return found

    def post_json(self, path: str, op: str, body: Mapping[str, Any]) -> Any:
        assert path == SEARCH_PATH
        self.calls.append(op)
        if isinstance(self.search, Exception):
            raise self.search
        return self.search


def reads(fabric: ScriptedFabric) -> int:
    return sum(1 for op in fabric.calls if op.startswith("GET /fabric"))


@pytest.mark.parametrize(
    "search",
    [
        ProviderError("not allowed", cloud="equinix", status=403),
        ProviderError("no such route", cloud="equinix", status=404),
        ProviderError("bad request", cloud="equinix", status=400),
        {"data": "not a list", "pagination": {"total": 3}},
        {"data": [], "pagination": {"total": "3"}},
        ["a list, not an object"],
    ],
    ids=["403", "404", "400", "data-not-a-list", "total-not-a-number", "not-an-object"],
)
def test_a_failed_search_leaves_each_connection_to_its_own_read(search: object) -> None:
    fabric = ScriptedFabric([connection("c0"), connection("c1"), connection("c2")], search)
    checks = Prerequisites(fabric.get_json, fabric.post_json)
    assert [checks.check(c) for c in ("c0", "c1", "c2")] == [None, None, None]
    assert reads(fabric) == 3  # every connection read on its own
    assert fabric.calls.count(f"POST {SEARCH_PATH}") == 1  # tried once per run, not per create
    assert checks.device("c2") == DEVICE


def test_the_search_vouches_only_for_ready_connections_of_the_same_device() -> None:
    other_device = "0b6c4d2e-8f1a-4c3b-9d5e-7a6f5e4d3c2b"
    listed = [
        connection("c0"),
        connection("c1", state="PROVISIONING"),
        connection("c2"),
        connection("c3", device=other_device),  # a server that filtered badly: not vouched for
    ]
    fabric = ScriptedFabric(listed, {"data": listed, "pagination": {"total": 4}})
    checks = Prerequisites(fabric.get_json, fabric.post_json)
    assert checks.check("c0") is None
    assert checks.check("c2") is None
    assert reads(fabric) == 1
    assert checks.check("c1") is not None  # Busy, from its own read
    assert reads(fabric) == 2
    assert checks.device("c3") is None


def test_a_short_page_makes_the_search_go_on_from_where_it_stopped() -> None:
    """A server may cap the page below the 100 asked for: the next page starts after what came."""
    listed = [connection(f"c{i}") for i in range(5)]
    asked: list[int] = []

    class Paged(ScriptedFabric):
        def post_json(self, path: str, op: str, body: Mapping[str, Any]) -> Any:
            offset = body["pagination"]["offset"]
            asked.append(offset)
            return {"data": listed[offset : offset + 2], "pagination": {"total": len(listed)}}

    fabric = Paged(listed, None)
    checks = Prerequisites(fabric.get_json, fabric.post_json)
    assert all(checks.check(f"c{i}") is None for i in range(5))
    assert asked == [0, 2, 4]
    assert reads(fabric) == 1


def test_a_server_that_ignores_the_offset_is_not_asked_forever() -> None:
    listed = [connection("c0"), connection("c1")]
    fabric = ScriptedFabric(listed, {"data": listed, "pagination": {"total": 10_000}})
    checks = Prerequisites(fabric.get_json, fabric.post_json)
    assert checks.check("c0") is None and checks.check("c1") is None
    assert fabric.calls.count(f"POST {SEARCH_PATH}") == 2  # the second page showed nothing new
    assert reads(fabric) == 1


def test_connections_the_search_spells_in_upper_case_answer_the_checks() -> None:
    """Manifests hold connection uuids in lower case (the kind normalises them); a reply may not."""
    listed = [connection("c0"), connection("C1")]
    fabric = ScriptedFabric(listed, {"data": listed, "pagination": {"total": 2}})
    checks = Prerequisites(fabric.get_json, fabric.post_json)
    assert checks.check("c0") is None and checks.check("c1") is None
    assert reads(fabric) == 1
