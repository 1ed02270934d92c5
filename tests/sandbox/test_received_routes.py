"""Routes an Alibaba BGP peer receives (docs/sandbox.md, Received routes): set through
`POST /_sandbox/received-routes`, reported in `ReceivedRouteCount` by the real SDK only while the
session is Established, refused with a message that says what is valid."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from alibabacloud_vpc20160428.client import Client

from reconciler.sandbox import Sandbox, Seed
from reconciler.sandbox.admin import ADMIN_TOKEN_HEADER

from .conftest import Equinix, alibaba_client, create_group, create_peer, describe_peers, wait_until


def received(ali: Client, peer_id: str) -> tuple[str, int, str]:
    """(BgpStatus, ReceivedRouteCount, RouteLimit) of one peer, as the SDK reads them."""
    (peer,) = describe_peers(ali, bgp_peer_id=peer_id).bgp_peers.bgp_peer
    return peer.bgp_status, peer.received_route_count, peer.route_limit


def post(sandbox: Sandbox, path: str, body: object) -> httpx.Response:
    with httpx.Client(base_url=f"http://{sandbox.alibaba_endpoint}", timeout=10) as admin:
        return admin.post(path, json=body, headers={ADMIN_TOKEN_HEADER: sandbox.admin_token})


def established_peer(ali: Client) -> str:
    peer_id = create_peer(ali, create_group(ali, route_quota=110))
    wait_until(lambda: received(ali, peer_id)[0] == "Established")
    return peer_id


def test_received_routes_are_reported_while_established(sandbox: Sandbox, ali: Client) -> None:
    peer_id = established_peer(ali)
    assert received(ali, peer_id) == ("Established", 0, "110")

    response = post(sandbox, "/_sandbox/received-routes", {"cloudId": peer_id, "count": 90})

    assert response.status_code == 200, response.text
    assert response.json() == {"cloudId": peer_id, "count": 90}
    assert received(ali, peer_id) == ("Established", 90, "110")
    assert sandbox.objects().alibaba_peers[peer_id]["ReceivedRouteCount"] == 90


def test_a_session_that_is_down_receives_no_routes(sandbox: Sandbox, ali: Client) -> None:
    peer_id = established_peer(ali)
    assert post(sandbox, "/_sandbox/received-routes", {"cloudId": peer_id, "count": 90}).status_code == 200

    assert post(sandbox, "/_sandbox/session-state", {"cloudId": peer_id, "state": "Idle"}).status_code == 200
    assert received(ali, peer_id) == ("Idle", 0, "110")

    assert post(sandbox, "/_sandbox/session-state", {"cloudId": peer_id, "state": "auto"}).status_code == 200
    assert received(ali, peer_id) == ("Established", 90, "110")  # the count set is kept


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param({"cloudId": "PEER", "count": -1}, "from 0 to 1000000, not -1", id="negative"),
        pytest.param({"cloudId": "PEER", "count": 1_000_001}, "from 0 to 1000000, not 1000001", id="too many"),
        pytest.param({"cloudId": "PEER", "count": "90"}, '"count": <routes, 0 to 1000000>', id="text"),
        pytest.param({"cloudId": "PEER", "count": True}, '"count": <routes, 0 to 1000000>', id="bool"),
        pytest.param({"cloudId": "PEER"}, '"count": <routes, 0 to 1000000>', id="no count"),
        pytest.param({"cloudId": "bgp-nope", "count": 1}, "no Alibaba BGP peer with id 'bgp-nope'", id="unknown id"),
        pytest.param({"cloudId": "GROUP", "count": 1}, "is a BGP group; received routes belong to peers", id="group"),
    ],
)
def test_bad_requests_say_what_is_valid(sandbox: Sandbox, ali: Client, body: dict[str, object], expected: str) -> None:
    group_id = create_group(ali)
    peer_id = create_peer(ali, group_id)
    ids = {"PEER": peer_id, "GROUP": group_id}
    body = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in body.items()}

    response = post(sandbox, "/_sandbox/received-routes", body)

    assert response.status_code == 400
    assert expected in response.json()["error"]
    assert sandbox.objects().alibaba_peers[peer_id]["ReceivedRouteCount"] == 0


def test_an_equinix_config_has_no_received_routes(sandbox: Sandbox, eq: Equinix) -> None:
    uuid = eq.create()
    response = post(sandbox, "/_sandbox/received-routes", {"cloudId": uuid, "count": 1})
    assert response.status_code == 400
    assert "is an Equinix BGP configuration; its API reports no received routes" in response.json()["error"]


def test_the_control_route_is_guarded(sandbox: Sandbox) -> None:
    with httpx.Client(base_url=f"http://{sandbox.alibaba_endpoint}", timeout=10) as browser:
        response = browser.post(
            "/_sandbox/received-routes", json={"cloudId": "bgp-x", "count": 1}, headers={"Origin": "https://evil.test"}
        )
    assert response.status_code == 403


def test_received_routes_survive_a_restart(seed: Seed, tmp_path: Path) -> None:
    data = tmp_path / "sandbox.json"
    with Sandbox(seed, data_file=data) as sandbox:
        ali = alibaba_client(sandbox)
        peer_id = established_peer(ali)
        assert post(sandbox, "/_sandbox/received-routes", {"cloudId": peer_id, "count": 42}).status_code == 200
    with Sandbox(seed, data_file=data) as sandbox:
        ali = alibaba_client(sandbox)
        wait_until(lambda: received(ali, peer_id)[0] == "Established")
        assert received(ali, peer_id)[1] == 42
