"""What Equinix lists and counts at each `--unmanaged-scope` level, and how `generate` takes it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reconciler.clouds.base import UnmanagedLevel
from reconciler.clouds.equinix.scope import EquinixScope, refresh_scope, unmanaged_scope
from reconciler.errors import UsageError
from reconciler.model import LiveObject, StateDoc
from tests.builders import CONN, CONN_OTHER, equinix, live_of

DEVICE = "0b7c3e2a-1111-4222-8333-444455556666"
DEVICE_OTHER = "0b7c3e2a-9999-4222-8333-444455556666"
CONN_THIRD = "22222222-0ce3-4950-be27-3d3e678e6873"


def on_device(obj: LiveObject, device: str | None) -> LiveObject:
    return replace(obj, info={"virtualDeviceUuid": device} if device else {})


def test_beyond_the_manifests_every_page_is_listed() -> None:
    def connections(level: UnmanagedLevel) -> frozenset[str]:
        scope = refresh_scope([equinix()], StateDoc(), level)
        assert isinstance(scope, EquinixScope)
        return scope.connections

    assert connections(UnmanagedLevel.MANIFESTS) == {CONN}  # listed by connection when that is cheaper
    # A device's other connections are not known before listing: no connection named means every page.
    assert connections(UnmanagedLevel.REGIONS) == frozenset()
    assert connections(UnmanagedLevel.ACCOUNT) == frozenset()


def test_equinix_takes_no_scope_argument() -> None:
    with pytest.raises(UsageError, match="--equinix 'x': Equinix takes no scope argument"):
        refresh_scope([equinix()], StateDoc(), UnmanagedLevel.ACCOUNT, ("x",))
    with pytest.raises(UsageError, match="covers every BGP config the credentials can list"):
        unmanaged_scope([equinix()], (), UnmanagedLevel.ACCOUNT, ("x",))


def test_where_and_generate_arguments_per_level() -> None:
    mine = on_device(live_of(equinix(), "eq-1"), DEVICE)
    same_device = on_device(live_of(equinix("b", conn=CONN_OTHER), "eq-2"), DEVICE.upper())
    other_device = on_device(live_of(equinix("c", conn=CONN_THIRD), "eq-3"), DEVICE_OTHER)
    live = [mine, same_device, other_device]

    def where(level: UnmanagedLevel) -> list[str | None]:
        scope = unmanaged_scope([equinix()], live, level)
        return [scope.where(o) for o in live]

    assert where(UnmanagedLevel.MANIFESTS) == [f"connection {CONN}", None, None]
    assert where(UnmanagedLevel.REGIONS) == [f"connection {CONN}", f"device {DEVICE}", None]
    assert where(UnmanagedLevel.ACCOUNT) == [f"connection {CONN}", f"device {DEVICE}", f"device {DEVICE_OTHER}"]
    scope = unmanaged_scope([equinix()], live, UnmanagedLevel.ACCOUNT)
    assert scope.generate_args([same_device, other_device, mine]) == (DEVICE, DEVICE_OTHER)
    unknown = on_device(live_of(equinix("d", conn=CONN_THIRD), "eq-4"), None)
    assert scope.generate_args([same_device, unknown]) == ("all",)


def test_a_declared_connection_without_a_config_adds_no_device() -> None:
    lonely = on_device(live_of(equinix("b", conn=CONN_OTHER), "eq-2"), DEVICE)
    scope = unmanaged_scope([equinix()], [lonely], UnmanagedLevel.REGIONS)
    assert scope.where(lonely) is None  # CONN's device is not known from any listed config
