"""Equinix configs as drafts: `all` or one device, a file per device, names from device names
read over real HTTP from the sandbox (one read per device)."""

from __future__ import annotations

import pytest

from reconciler.clouds.base import ProviderOptions
from reconciler.clouds.equinix.generate import drafts, drafts_of, generate_scope, taken
from reconciler.clouds.equinix.provider import EquinixProvider
from reconciler.errors import UsageError
from reconciler.sandbox import Sandbox, Seed
from tests.generate.livesets import equinix_config

SG = "5f1e8a52-3c1d-4d6e-9a7b-0c2f4e6a8b10"
HK = "7a2b9c3d-4e5f-4a6b-8c7d-9e0f1a2b3c41"
LIVE = [
    equinix_config(1, SG, "10.0.0.1/30", 65010, "10.0.0.2", 45104, "KeyOne123"),
    equinix_config(2, HK, "10.0.1.1/30", 65020, "10.0.1.2", 45104, None),
]


def test_all_or_one_device() -> None:
    assert not generate_scope(["all"]).connections  # every page
    assert len(taken(["all"], LIVE)) == 2
    assert [o.cloud_id for o in taken([HK.upper()], LIVE)] == [LIVE[1].cloud_id]
    with pytest.raises(UsageError, match="neither `all` nor a device uuid"):
        generate_scope(["sg-ne1"])


def test_one_file_per_device_and_the_spec() -> None:
    found = drafts_of(LIVE, {SG: "sg ne1"})
    assert [d.file for d in found] == ["equinix/sg-ne1-5f1e8a52.yaml", f"equinix/{HK}.yaml"]
    assert found[0].names == ("sg ne1-10.0.0.1",) and found[1].names == ("ne-7a2b9c3d-10.0.1.1",)
    assert set(found[0].spec) == {"connectionUuid", "localIpAddress", "localAsn", "remoteIpAddress", "remoteAsn"}
    assert found[0].key_field == "authenticationKey"


def test_device_names_are_read_from_the_api() -> None:
    seed = Seed.from_mapping(
        {
            "equinix": {
                "devices": [{"uuid": SG, "name": "sg-ne1", "status": "PROVISIONED", "licenseStatus": "REGISTERED"}]
            }
        }
    )
    with Sandbox(seed) as box:
        provider = EquinixProvider.from_env(box.env(), ProviderOptions())
        try:
            found = drafts(["all"], LIVE, provider)
        finally:
            provider.close()
        assert found[0].names == ("sg-ne1-10.0.0.1",)
        assert found[1].names == ("ne-7a2b9c3d-10.0.1.1",)  # not found: its uuid names it
        assert provider.api_calls().get("GET /ne/v1/devices/{uuid}") == 2  # once per device
