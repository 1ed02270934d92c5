"""Fault injection: latency, 5xx, throttling, commit-then-drop, provisioning failures, determinism."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from alibabacloud_tea_openapi.exceptions import ThrottlingException
from alibabacloud_vpc20160428 import models as vpc
from alibabacloud_vpc20160428.client import Client
from darabonba.exceptions import UnretryableException

from reconciler.sandbox import FaultConfig, Sandbox, SandboxConfig, Seed

from .conftest import (
    BGP_BODY,
    SG,
    Equinix,
    alibaba_client,
    create_group,
    create_peer,
    describe_groups,
    describe_peers,
    expect_error,
)


def test_latency_is_added_to_every_request(sandbox: Sandbox, eq: Equinix) -> None:
    """docs/sandbox.md (Knobs: latency_ms): fixed latency on every API request."""
    eq.headers  # noqa: B018 (fetch the token before measuring)
    sandbox.configure(equinix={"latency_ms": 150.0})
    started = time.perf_counter()
    assert eq.get("/ne/v1/bgp").status_code == 200
    assert time.perf_counter() - started >= 0.15
    eq.http.get("/_sandbox/requests")  # control routes are never delayed or faulted
    assert sandbox.request_counts()["equinix GET /ne/v1/bgp"] == 1


def test_latency_trips_the_sdk_read_timeout(sandbox: Sandbox) -> None:
    """docs/cloud-apis.md, Alibaba §1: a delay longer than read_timeout -> UnretryableException."""
    sandbox.configure(alibaba=FaultConfig(latency_ms=600.0))
    client = alibaba_client(sandbox, read_timeout=200)
    with pytest.raises(UnretryableException):
        describe_groups(client)


def test_concurrent_slow_requests_all_complete(sandbox: Sandbox) -> None:
    """docs/sandbox.md (Knobs: latency is an asyncio sleep): 10 concurrent clients with 50 ms latency
    are all served (bench/ measures the overlap)."""
    sandbox.configure(equinix={"latency_ms": 50.0})

    def one(_: int) -> int:
        return httpx.get(f"{sandbox.equinix_url}/ne/v1/bgp").status_code

    with ThreadPoolExecutor(10) as pool:
        assert list(pool.map(one, range(10))) == [401] * 10
    assert sandbox.request_counts()["equinix GET /ne/v1/bgp"] == 10


def test_server_errors_change_nothing(sandbox: Sandbox, eq: Equinix) -> None:
    """docs/cloud-apis.md, Equinix §8 (500/502/503): an injected 5xx is answered before anything happens."""
    eq.headers  # noqa: B018
    sandbox.configure(equinix={"error_rate": 1.0})
    statuses = {eq.post("/ne/v1/bgp", BGP_BODY).status_code for _ in range(30)}
    assert statuses == {500, 502, 503}
    body = eq.post("/ne/v1/bgp", BGP_BODY).json()
    assert body[0]["errorCode"].startswith("IC-NE-ERR-5")
    sandbox.configure(equinix={"error_rate": 0.0})
    assert eq.get("/ne/v1/bgp").json()["pagination"]["total"] == 0


def test_alibaba_server_errors(sandbox: Sandbox, ali: Client) -> None:
    """docs/cloud-apis.md, Alibaba §13: ServiceUnavailable (503) and InternalError (500)."""
    sandbox.configure(alibaba={"error_rate": 1.0})
    seen = set()
    for _ in range(20):
        try:
            describe_groups(ali)
        except Exception as exc:
            seen.add((exc.code, exc.data["statusCode"]))  # type: ignore[attr-defined]
    assert seen == {("ServiceUnavailable", 503), ("InternalError", 500)}


def test_faults_are_deterministic_with_a_random_seed(seed: Seed) -> None:
    """docs/sandbox.md (Knobs): deterministic fault injection when random_seed is set."""

    def run() -> list[int]:
        config = SandboxConfig(random_seed=42, equinix=FaultConfig(error_rate=0.5))
        with Sandbox(seed, config=config) as sandbox, httpx.Client(base_url=sandbox.equinix_url) as http:
            return [http.get("/ne/v1/bgp").status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second
    assert 401 in first and any(status >= 500 for status in first)


def test_equinix_throttling_429_with_retry_after(sandbox: Sandbox, eq: Equinix) -> None:
    """docs/cloud-apis.md, Equinix §8: 429 above the rate, with Retry-After (knob)."""
    eq.headers  # noqa: B018
    sandbox.configure(equinix={"throttle_rps": 2.0})
    statuses = [eq.get("/ne/v1/bgp") for _ in range(5)]
    assert [r.status_code for r in statuses[:2]] == [200, 200]
    throttled = [r for r in statuses if r.status_code == 429]
    assert len(throttled) >= 2
    assert int(throttled[0].headers["Retry-After"]) >= 1
    assert throttled[0].json()[0]["errorCode"] == "IC-NE-ERR-429"
    sandbox.configure(equinix_retry_after=False)
    assert "Retry-After" not in eq.get("/ne/v1/bgp").headers


def test_alibaba_throttling_user(sandbox: Sandbox, ali: Client) -> None:
    """docs/cloud-apis.md, Alibaba §13 and §1: Throttling.User as HTTP 400; with x-acs-retry-after ->
    ThrottlingException."""
    sandbox.configure(alibaba={"throttle_rps": 1.0})
    describe_groups(ali)
    error = expect_error(lambda: describe_groups(ali), "Throttling.User")
    assert error.data["Message"] == "Request was denied due to user flow control."
    sandbox.configure(alibaba_throttle_retry_after=True)
    with pytest.raises(ThrottlingException) as info:
        describe_groups(ali)
    assert info.value.retry_after >= 1000  # milliseconds


def test_commit_then_drop_really_commits_equinix(sandbox: Sandbox, eq: Equinix) -> None:
    """docs/cloud-apis.md, Equinix §3, and docs/sandbox.md (Knobs: drop_rate): a dropped POST was
    carried out; the client must look before re-POSTing."""
    eq.headers  # noqa: B018
    sandbox.configure(equinix={"drop_rate": 1.0})
    with pytest.raises(httpx.RemoteProtocolError):
        eq.post("/ne/v1/bgp", BGP_BODY)
    listed = eq.get("/ne/v1/bgp").json()  # reads are never dropped
    assert listed["pagination"]["total"] == 1
    assert listed["data"][0]["connectionUuid"] == BGP_BODY["connectionUuid"]


def test_commit_then_drop_really_commits_alibaba(sandbox: Sandbox, ali: Client) -> None:
    """docs/cloud-apis.md, Alibaba §4: after a dropped create, a retry with the same ClientToken gets the
    same id."""
    sandbox.configure(alibaba={"drop_rate": 1.0})
    with pytest.raises(UnretryableException):
        create_group(ali, client_token="create-once")
    sandbox.configure(alibaba={"drop_rate": 0.0})
    groups = describe_groups(ali).bgp_groups.bgp_group
    assert len(groups) == 1
    assert create_group(ali, client_token="create-once") == groups[0].bgp_group_id
    assert describe_groups(ali).total_count == 1


def test_alibaba_provisioning_failures_roll_back(sandbox: Sandbox, ali: Client) -> None:
    """docs/sandbox.md (Alibaba provision_failure_rate): a failed create vanishes, a failed modify or delete
    leaves the object Available with its old values."""
    group_id = create_group(ali, name="kept")
    peer_id = create_peer(ali, group_id)
    sandbox.configure(alibaba={"provision_failure_rate": 1.0}, provision_delay=0.2)
    doomed = create_group(ali, name="doomed")
    assert {g.bgp_group_id: g.status for g in describe_groups(ali).bgp_groups.bgp_group}[doomed] == "Pending"
    ali.modify_bgp_group_attribute(
        vpc.ModifyBgpGroupAttributeRequest(region_id=SG, bgp_group_id=group_id, name="renamed")
    )
    ali.delete_bgp_peer(vpc.DeleteBgpPeerRequest(region_id=SG, bgp_peer_id=peer_id))
    assert describe_groups(ali, bgp_group_id=group_id).bgp_groups.bgp_group[0].name == "renamed"
    time.sleep(0.25)
    groups = {g.bgp_group_id: (g.status, g.name) for g in describe_groups(ali).bgp_groups.bgp_group}
    assert groups == {group_id: ("Available", "kept")}
    assert [(p.bgp_peer_id, p.status) for p in describe_peers(ali).bgp_peers.bgp_peer] == [(peer_id, "Available")]


def test_fault_config_is_validated(sandbox: Sandbox) -> None:
    """docs/sandbox.md (Knobs): bad values are refused with the field named and nothing changes."""
    from reconciler.sandbox import SandboxError

    with pytest.raises(SandboxError, match=r"equinix\.error_rate: 1\.5 is outside 0\.\.1"):
        sandbox.configure(equinix={"error_rate": 1.5})
    with pytest.raises(SandboxError, match="valid settings: latency_ms"):
        sandbox.configure(alibaba={"latency": 5})
    assert sandbox.config.equinix.error_rate == 0.0
