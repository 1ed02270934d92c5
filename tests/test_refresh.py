"""Refresh: every provider at once, call counts at the lower bound, failures reported."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import pytest
import structlog

from reconciler.clouds import make_provider
from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER
from reconciler.clouds.alibaba.scope import AlibabaScope
from reconciler.clouds.base import Desired, Provider, ProviderOptions, RefreshResult, RefreshScope
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.errors import ProviderError
from reconciler.model import SecretValue
from reconciler.refresh import refresh_as_made
from reconciler.sandbox import Sandbox, SandboxConfig, Seed
from tests.conftest import PROXY_VARIABLES

OPTIONS = ProviderOptions(backoff_base=0.005, backoff_max=0.05, create_grace=1.0)
DEVICE = "5f1e8a52-3c1d-4d6e-9a7b-0c2f4e6a8b10"
REGIONS = ("ap-southeast-1", "cn-hongkong")
CONNECTIONS = 12
VBRS = 2  # per region; one group each, 8 peers on the first VBR of each region


def refresh_all(providers: Mapping[str, Provider], scopes: Mapping[str, RefreshScope]) -> dict[str, RefreshResult]:
    """Providers already made, refreshed in the order of their names."""
    return refresh_as_made(providers.__getitem__, sorted(providers), scopes)


def conn(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def seed() -> Seed:
    return Seed.from_mapping(
        {
            "equinix": {
                "devices": [{"uuid": DEVICE, "name": "sg-ne1", "status": "PROVISIONED", "licenseStatus": "REGISTERED"}],
                "connections": [{"uuid": conn(i), "deviceUuid": DEVICE} for i in range(CONNECTIONS)],
            },
            "alibaba": {
                "regions": list(REGIONS),
                "vbrs": [
                    {"vbrId": f"vbr-{r}{v}", "regionId": region, "status": "active"}
                    for r, region in enumerate(REGIONS)
                    for v in range(VBRS)
                ],
            },
        }
    )


@pytest.fixture
def debug_logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """Every log event, debug level included (whatever level another test configured)."""
    before = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with structlog.testing.capture_logs() as logs:
            yield logs
    finally:
        structlog.configure(**before)


@pytest.fixture(scope="module")
def populated_once() -> Iterator[tuple[Sandbox, dict[str, Provider]]]:
    """One populated sandbox for the module: these tests only read."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in PROXY_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        yield from _populated()


@pytest.fixture
def populated(populated_once: tuple[Sandbox, dict[str, Provider]]) -> tuple[Sandbox, dict[str, Provider]]:
    populated_once[0].reset_request_counts()
    return populated_once


def _populated() -> Iterator[tuple[Sandbox, dict[str, Provider]]]:
    box = Sandbox(seed(), config=SandboxConfig(equinix_list_limit_cap=5)).start()
    providers = {name: make_provider(name, box.env(), OPTIONS) for name in ("equinix", "alibaba")}
    for i in range(CONNECTIONS):
        providers["equinix"].create(
            Desired(
                EQUINIX_PEERING,
                f"p{i}",
                {
                    "connectionUuid": conn(i),
                    "localIpAddress": "10.0.0.1/30",
                    "localAsn": 65010,
                    "remoteIpAddress": "10.0.0.2",
                    "remoteAsn": 45104,
                },
                {"authenticationKey": SecretValue("Key12345")},
            ),
            "unused",
        )
    for r, region in enumerate(REGIONS):
        for v in range(VBRS):
            group_id = providers["alibaba"].create(
                Desired(
                    ALIBABA_GROUP,
                    f"g{v}",
                    {"regionId": region, "virtualBorderRouterId": f"vbr-{r}{v}", "name": f"g{v}", "peerAsn": 65010},
                ),
                f"tok-{region}-{v}",
            )
            if v == 0:
                for i in range(8):
                    providers["alibaba"].create(
                        Desired(
                            ALIBABA_PEER,
                            f"x{i}",
                            {"regionId": region, "bgpGroupId": group_id, "peerIpAddress": f"10.1.0.{i + 2}"},
                        ),
                        f"tok-{region}-{v}-{i}",
                    )
    yield box, providers
    for provider in providers.values():
        provider.close()
    box.stop()


def scopes() -> dict[str, RefreshScope]:
    return {"equinix": RefreshScope(), "alibaba": AlibabaScope(regions=frozenset(REGIONS))}


def test_refresh_all_reads_both_clouds_with_the_fewest_calls(
    populated: tuple[Sandbox, dict[str, Provider]], debug_logs: list[MutableMapping[str, Any]]
) -> None:
    box, providers = populated
    debug_logs.clear()
    logs = debug_logs
    results = refresh_all(providers, scopes())
    kinds = sorted(o.kind for result in results.values() for o in result.objects)
    assert kinds == [ALIBABA_GROUP] * 4 + [ALIBABA_PEER] * 16 + [EQUINIX_PEERING] * CONNECTIONS
    # Lower bounds: ceil(12 / 5) Equinix pages (server cap 5); per region one page of groups and
    # one of peers (PageSize 50).
    expected = {
        "equinix": {"GET /ne/v1/bgp": math.ceil(CONNECTIONS / 5)},
        "alibaba": {"DescribeBgpGroups": 2, "DescribeBgpPeers": 2},
    }
    assert {name: dict(r.api_calls) for name, r in results.items()} == expected
    assert box.request_counts() == {
        "equinix GET /ne/v1/bgp": 3,
        "alibaba DescribeBgpGroups": 2,
        "alibaba DescribeBgpPeers": 2,
    }
    done = {e["provider"]: e for e in logs if e["event"] == "refresh.done"}
    assert {n: (e["log_level"], e["api_calls"], e["by_operation"]) for n, e in done.items()} == {
        "equinix": ("debug", 3, expected["equinix"]),
        "alibaba": ("debug", 4, expected["alibaba"]),
    }


def test_one_cloud_failing_is_raised_after_the_other_finished(populated: tuple[Sandbox, dict[str, Provider]]) -> None:
    box, providers = populated
    broken = make_provider("equinix", {**box.env(), "EQUINIX_CLIENT_ID": "nobody"}, OPTIONS)
    try:
        with pytest.raises(ProviderError) as caught:
            refresh_all({"equinix": broken, "alibaba": providers["alibaba"]}, scopes())
    finally:
        broken.close()
    assert "EQUINIX_CLIENT_ID" in str(caught.value)
    counts = box.request_counts()
    assert counts["alibaba DescribeBgpGroups"] == 2 and counts["alibaba DescribeBgpPeers"] == 2


def test_a_provider_without_a_scope_gets_an_empty_one(populated: tuple[Sandbox, dict[str, Provider]]) -> None:
    _, providers = populated
    results = refresh_all(providers, {})
    assert results["alibaba"].objects == () and results["alibaba"].api_calls == {}
    assert len(results["equinix"].objects) == CONNECTIONS


def test_a_provider_that_cannot_be_made_fails_the_refresh_after_those_started_finished(
    populated: tuple[Sandbox, dict[str, Provider]],
) -> None:
    box, providers = populated
    asked: list[str] = []

    def make(name: str) -> Provider:
        asked.append(name)
        if name == "broken":
            raise ProviderError("no credentials for broken", cloud="broken")
        return providers[name]

    box.reset_request_counts()
    with pytest.raises(ProviderError, match="no credentials for broken"):
        refresh_as_made(make, ["alibaba", "broken", "equinix"], scopes())
    assert asked == ["alibaba", "broken"]  # nothing is made after it
    counts = box.request_counts()  # the refresh started before it ran to its end
    assert counts == {"alibaba DescribeBgpGroups": 2, "alibaba DescribeBgpPeers": 2}
