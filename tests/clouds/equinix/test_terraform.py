"""`equinix_network_bgp` instances read exactly as the provider reports the same config from the
API (the sandbox, over real HTTP)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from reconciler.clouds.base import ObjectRef
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.clouds.equinix.provider import EquinixProvider
from reconciler.clouds.equinix.terraform import network_bgp
from reconciler.model import SecretValue
from reconciler.sandbox import Sandbox
from tests.clouds.conftest import DEVICE, created, make_seed
from tests.clouds.equinix.test_provider import KEY, peering
from tests.clouds.settle import settle


def test_an_instance_reads_as_the_provider_reports_the_config(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    box = sandbox(make_seed(connections=1))
    provider = equinix(box)
    uuid = created(provider.create(peering(0), "token-1"))
    live = settle(provider, [ObjectRef(EQUINIX_PEERING, uuid, None)])[uuid]
    assert live is not None
    # The attributes the Equinix provider stores for it (docs/resources/network_bgp.md), spelt the
    # way Terraform does: ASNs as numbers, the address in the case it was given.
    attributes = {
        "id": uuid,
        "uuid": uuid,
        "connection_id": live.attrs["connectionUuid"].upper(),
        "device_id": DEVICE,
        "local_ip_address": "10.0.0.1/30",
        "local_asn": 65010,
        "remote_ip_address": "10.0.0.2",
        "remote_asn": 45104,
        "authentication_key": KEY,
        "provisioning_status": live.raw_status,
        "state": live.session or "",
    }
    mapped = network_bgp(attributes)
    assert mapped is not None
    assert (mapped.kind, mapped.cloud_id, mapped.region) == (live.kind, live.cloud_id, live.region)
    assert mapped.attrs == live.attrs
    assert (mapped.status, mapped.raw_status, mapped.session) == (live.status, live.raw_status, live.session)
    assert mapped.secrets == {"authenticationKey": SecretValue(KEY)} == live.secrets


def test_no_key_and_a_deprovisioned_config() -> None:
    base = {"uuid": "u-1", "connection_id": "c-1", "local_asn": 1, "provisioning_status": "PROVISIONED"}
    mapped = network_bgp({**base, "authentication_key": ""})
    assert mapped is not None and mapped.secrets == {"authenticationKey": None}
    assert network_bgp({**base, "provisioning_status": "DEPROVISIONED"}) is None


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"connection_id": "c-1", "authentication_key": "fixture-edge-key-9Zt"}, r"`uuid` \(or `id`\) is missing"),
        ({"uuid": "u-1", "authentication_key": "fixture-edge-key-9Zt"}, "`connection_id` is missing"),
    ],
)
def test_unreadable_attributes_are_named_never_quoted(attributes: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        network_bgp(attributes)
    assert "fixture-edge-key-9Zt" not in str(caught.value)
