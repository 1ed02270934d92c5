"""Shared fixtures: a running sandbox per test (fresh ports), providers pointed at it, seeds."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import pytest
import structlog

from reconciler.clouds.alibaba.provider import AlibabaProvider
from reconciler.clouds.base import Busy, ProviderOptions
from reconciler.clouds.equinix.provider import EquinixProvider
from reconciler.sandbox import Sandbox, SandboxConfig, Seed

DEVICE = "5f1e8a52-3c1d-4d6e-9a7b-0c2f4e6a8b10"
REGION = "ap-southeast-1"
OTHER_REGION = "cn-hongkong"

# Quick retries and a short create grace, so fault tests take milliseconds, not minutes.
FAST = ProviderOptions(max_retries=8, backoff_base=0.005, backoff_max=0.05, create_grace=1.0, request_timeout=5.0)

EQUINIX_SECRET = "sandbox-secret"

Logs = list[MutableMapping[str, Any]]  # captured structlog events


def created(result: str | Busy) -> str:
    """The id a create answered; a `Busy` answer fails the test."""
    assert isinstance(result, str), f"expected an id, got {result!r}"
    return result


def connection_uuid(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def vbr_id(region_index: int, i: int) -> str:
    return f"vbr-test{region_index:02d}{i:011d}"


def make_seed(
    *,
    connections: int = 1,
    device_status: str = "PROVISIONED",
    license_status: str = "REGISTERED",
    connection_state: str = "PROVISIONED",
    regions: tuple[str, ...] = (REGION,),
    vbrs_per_region: int = 1,
) -> Seed:
    return Seed.from_mapping(
        {
            "equinix": {
                "devices": [
                    {
                        "uuid": DEVICE,
                        "name": "sg-ne1",
                        "status": device_status,
                        "licenseStatus": license_status,
                        "asn": 65010,
                    }
                ],
                "connections": [
                    {"uuid": connection_uuid(i), "deviceUuid": DEVICE, "state": connection_state}
                    for i in range(connections)
                ],
            },
            "alibaba": {
                "regions": list(regions),
                "vbrs": [
                    {
                        "vbrId": vbr_id(r, i),
                        "regionId": region,
                        "status": "active",
                        "enableIpv6": False,
                        "localGatewayIp": "10.0.0.1",
                        "peerGatewayIp": "10.0.0.2",
                        "peeringSubnetMask": "255.255.255.0",
                    }
                    for r, region in enumerate(regions)
                    for i in range(vbrs_per_region)
                ],
            },
        }
    )


@pytest.fixture
def debug_logs() -> Iterator[Logs]:
    """Every log event, debug level included (whatever level another test configured)."""
    before = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with structlog.testing.capture_logs() as logs:
            yield logs
    finally:
        structlog.configure(**before)


@pytest.fixture
def sandbox() -> Iterator[Callable[..., Sandbox]]:
    """`sandbox(seed, **SandboxConfig fields)` -> a running sandbox on fresh ports, stopped afterwards."""
    started: list[Sandbox] = []

    def start(seed: Seed | None = None, **config: Any) -> Sandbox:
        box = Sandbox(seed if seed is not None else make_seed(), config=SandboxConfig(**config)).start()
        started.append(box)
        return box

    yield start
    for box in started:
        box.stop()


@pytest.fixture
def equinix() -> Iterator[Callable[..., EquinixProvider]]:
    """`equinix(sandbox, **ProviderOptions fields)` -> a provider for that sandbox, closed afterwards."""
    made: list[EquinixProvider] = []

    def make(box: Sandbox, page_size: int = 100, **options: Any) -> EquinixProvider:
        opts = ProviderOptions(**{**_fields(FAST), **options})
        provider = EquinixProvider.from_env(box.env(), opts)
        provider.page_size = page_size
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()


@pytest.fixture
def alibaba() -> Iterator[Callable[..., AlibabaProvider]]:
    made: list[AlibabaProvider] = []

    def make(box: Sandbox, **options: Any) -> AlibabaProvider:
        opts = ProviderOptions(**{**_fields(FAST), **options})
        provider = AlibabaProvider.from_env(box.env(), opts)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()


def _fields(options: ProviderOptions) -> dict[str, Any]:
    return {name: getattr(options, name) for name in options.__dataclass_fields__}
