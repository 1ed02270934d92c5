"""The Provider contract (reconciler/clouds/base.py), run against every provider and kind: Equinix
and Alibaba over real HTTP against the sandbox (the real SDK for Alibaba), and memcloud, the
in-memory test cloud (tests/testcloud).

Each case is one kind of one cloud, with a way to make distinct objects of that kind (and what
they presuppose: a peer's group), an id of the right form that no object has, and a way to make
the cloud's changes slow (so an object stays "being deleted"). Objects are waited for until
they settle before anything mutates them, and a mutation the cloud cannot take yet (`Busy`) is
tried again, as the apply engine does.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import pytest

from reconciler.clouds import CLOUDS
from reconciler.clouds.alibaba import CLOUD as ALIBABA_CLOUD
from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER
from reconciler.clouds.alibaba.provider import AlibabaProvider
from reconciler.clouds.base import Busy, Cloud, Desired, ObjectRef, Provider
from reconciler.clouds.equinix import CLOUD as EQUINIX_CLOUD
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.clouds.equinix.provider import EquinixProvider
from reconciler.errors import ProviderError
from reconciler.kinds import KindInfo
from reconciler.model import LiveObject, Resource, SecretValue, StateDoc, StateResource, address_of
from reconciler.sandbox import Sandbox
from tests.clouds.conftest import REGION, connection_uuid, make_seed, vbr_id
from tests.testcloud import CLOUD as MEMCLOUD
from tests.testcloud import registered
from tests.testcloud.kinds import NEIGHBOR, ROUTER_BGP
from tests.testcloud.provider import MemProvider

T = TypeVar("T")
DEADLINE = 60.0  # seconds for anything to settle: generous, for a loaded machine
KEY = "ContractKey1"

# Which operations are list calls, per provider (refresh may use nothing else). Each is a paged
# list of many objects; an optional filter (a connection, a group) narrows it.
LIST_CALLS: dict[str, frozenset[str]] = {
    "equinix": frozenset({"GET /ne/v1/bgp"}),
    "alibaba": frozenset({"DescribeBgpGroups", "DescribeBgpPeers"}),
    "memcloud": frozenset({"ListRouterBgps", "ListBgpNeighbors"}),
}

CASES = [
    ("equinix", EQUINIX_PEERING),
    ("alibaba", ALIBABA_GROUP),
    ("alibaba", ALIBABA_PEER),
    ("memcloud", ROUTER_BGP),
    ("memcloud", NEIGHBOR),
]


@dataclass
class Case:
    cloud: Cloud
    provider: Provider
    kind: str
    make_desired: Callable[[Case, int], Desired]  # the i-th object of `kind` (what it presupposes is made)
    absent: ObjectRef  # an id of the right form that no object has
    slow_down: Callable[[], None]  # from now on, the cloud's changes take a long time
    parents: dict[str, str] = field(default_factory=dict)  # objects made for what the kind presupposes

    @property
    def info(self) -> KindInfo:
        return next(info for info in self.cloud.kinds if info.kind == self.kind)

    def desired(self, i: int) -> Desired:
        return self.make_desired(self, i)

    def ref(self, desired: Desired, cloud_id: str) -> ObjectRef:
        info = next(info for info in self.cloud.kinds if info.kind == desired.kind)
        return ObjectRef(desired.kind, cloud_id, info.region_of(desired.attrs))

    def parent(self, desired: Desired) -> str:
        """Create `desired` once per case (a peer's group), settled; its cloud id."""
        if desired.name not in self.parents:
            self.parents[desired.name] = create(self, desired).cloud_id
        return self.parents[desired.name]


# -- waiting ---------------------------------------------------------------------------------------


def eventually(what: str, check: Callable[[], T | None]) -> T:
    """`check()` until it gives something, polling with backoff up to DEADLINE."""
    deadline, delay = time.monotonic() + DEADLINE, 0.02
    while (found := check()) is None:
        assert time.monotonic() < deadline, f"{what} within {DEADLINE:g}s"
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    return found


def settled(provider: Provider, ref: ObjectRef) -> LiveObject:
    def ready() -> LiveObject | None:
        obj = provider.poll([ref])[ref.cloud_id]
        return obj if obj is not None and obj.status == "ready" else None

    return eventually(f"{ref.kind} {ref.cloud_id} settles", ready)


def gone(provider: Provider, ref: ObjectRef) -> None:
    eventually(
        f"{ref.kind} {ref.cloud_id} is gone", lambda: True if provider.poll([ref])[ref.cloud_id] is None else None
    )


def when_not_busy(provider: Provider, call: Callable[[], T | Busy]) -> T:
    """`call()` again while the cloud answers Busy (after looking at what it waits for)."""

    def attempt() -> tuple[T] | None:
        answer = call()
        if not isinstance(answer, Busy):
            return (answer,)
        if answer.wait_for is not None:
            provider.poll([answer.wait_for])
        return None

    return eventually("the cloud takes the change", attempt)[0]


def create(case: Case, desired: Desired, token: str | None = None) -> ObjectRef:
    """Create `desired` and wait until it is ready."""
    cloud_id = when_not_busy(case.provider, lambda: case.provider.create(desired, token or f"contract-{desired.name}"))
    ref = case.ref(desired, cloud_id)
    settled(case.provider, ref)
    return ref


def delete(case: Case, ref: ObjectRef, token: str) -> None:
    assert when_not_busy(case.provider, lambda: case.provider.delete(ref, token)) is None


# -- the cases -------------------------------------------------------------------------------------


def equinix_peering(case: Case, i: int) -> Desired:
    return Desired(
        EQUINIX_PEERING,
        f"peering-{i}",
        {
            "connectionUuid": connection_uuid(i),
            "localIpAddress": f"10.0.{i}.1/30",
            "localAsn": 65010,
            "remoteIpAddress": f"10.0.{i}.2",
            "remoteAsn": 45104,
        },
        {"authenticationKey": SecretValue(KEY)},
    )


def alibaba_group(case: Case, i: int) -> Desired:
    attrs = {"regionId": REGION, "virtualBorderRouterId": vbr_id(0, 0), "name": f"group{i}", "peerAsn": 65010}
    return Desired(ALIBABA_GROUP, f"group{i}", attrs, {"authKey": SecretValue(KEY)})


def alibaba_peer(case: Case, i: int) -> Desired:
    group_id = case.parent(alibaba_group(case, 99))
    attrs = {"regionId": REGION, "bgpGroupId": group_id, "peerIpAddress": f"10.0.0.{10 + i}", "enableBfd": False}
    return Desired(ALIBABA_PEER, f"peer{i}", attrs)


def mem_process(case: Case, i: int) -> Desired:
    attrs = {"routerId": "rtr-contract", "name": f"proc{i}", "peerAsn": 65010}
    return Desired(ROUTER_BGP, f"proc{i}", attrs, {"md5Key": SecretValue(KEY)})


def mem_neighbor(case: Case, i: int) -> Desired:
    group_id = case.parent(mem_process(case, 99))
    attrs = {"routerId": "rtr-contract", "groupId": group_id, "peerIp": f"192.0.2.{10 + i}"}
    return Desired(NEIGHBOR, f"neighbor{i}", attrs)


@pytest.fixture(params=CASES, ids=[f"{cloud}-{kind}" for cloud, kind in CASES])
def case(
    request: pytest.FixtureRequest,
    sandbox: Callable[..., Sandbox],
    equinix: Callable[..., EquinixProvider],
    alibaba: Callable[..., AlibabaProvider],
) -> Iterator[Case]:
    cloud, kind = request.param
    if cloud == "equinix":
        box = sandbox(make_seed(connections=20))
        yield Case(
            EQUINIX_CLOUD,
            equinix(box, page_size=1),
            kind,
            equinix_peering,
            ObjectRef(kind, str(uuid.uuid4()), None),
            lambda: box.configure(provision_delay=DEADLINE * 2),
        )
    elif cloud == "alibaba":
        box = sandbox(make_seed())
        provider = alibaba(box)
        provider.page_size = 1
        make, absent_id = (
            (alibaba_group, "bgpg-contract0absent0001")
            if kind == ALIBABA_GROUP
            else (alibaba_peer, "bgpp-contract0absent0001")
        )
        yield Case(
            ALIBABA_CLOUD,
            provider,
            kind,
            make,
            ObjectRef(kind, absent_id, REGION),
            lambda: box.configure(provision_delay=DEADLINE * 2),
        )
    else:
        with registered(settle_polls=1, max_page_size=1) as store:
            make, absent_id = (mem_process, "mrb-999999") if kind == ROUTER_BGP else (mem_neighbor, "mbn-999999")
            yield Case(
                MEMCLOUD,
                MemProvider(store),
                kind,
                make,
                ObjectRef(kind, absent_id, None),
                lambda: store.configure(settle_polls=1_000_000),
            )


# -- the contract ----------------------------------------------------------------------------------


def test_every_registered_kind_has_a_case() -> None:
    assert {(cloud.name, info.kind) for cloud in CLOUDS.values() for info in cloud.kinds} <= set(CASES)
    assert set(CLOUDS) | {MEMCLOUD.name} == set(LIST_CALLS)


def test_the_provider_is_the_cloud_s(case: Case) -> None:
    assert isinstance(case.provider, Provider)
    assert case.provider.name == case.cloud.name
    assert case.kind in {info.kind for info in case.cloud.kinds}


def test_the_same_token_gives_the_same_object(case: Case) -> None:
    desired = case.desired(1)
    provider = case.provider
    first = when_not_busy(provider, lambda: provider.create(desired, "contract-token-1"))
    again = when_not_busy(provider, lambda: provider.create(desired, "contract-token-1"))
    assert again == first
    ref = case.ref(desired, first)
    settled(provider, ref)
    assert when_not_busy(provider, lambda: provider.create(desired, "contract-token-1")) == first  # settled too

    found = provider.find(case.kind, desired.attrs)
    assert found is not None and found.cloud_id == first
    info = case.info
    key = info.key_of(info.normalise(desired.attrs))
    live = provider.refresh(case.cloud.refresh_scope([Resource(case.kind, desired.name, desired.attrs)], StateDoc()))
    assert [o.cloud_id for o in live.objects if o.kind == case.kind and info.key_of(o.attrs) == key] == [first]


def test_delete_is_idempotent(case: Case) -> None:
    provider, info = case.provider, case.info
    assert provider.delete(case.absent, "contract-delete-absent") is None  # never existed: a success
    ref = create(case, case.desired(2))
    if not info.deletable:
        with pytest.raises(ProviderError) as refused:
            provider.delete(ref, "contract-delete-2")
        assert ref.cloud_id in str(refused.value) and info.no_delete_reason in str(refused.value)
        assert provider.get(ref) is not None  # still there
        return
    delete(case, ref, "contract-delete-2")
    delete(case, ref, "contract-delete-2")  # the same call again (a retry)
    delete(case, ref, "contract-delete-2b")  # another call while it is deleting, or gone
    gone(provider, ref)
    delete(case, ref, "contract-delete-2c")  # gone: a success


def test_find_skips_objects_being_deleted(case: Case) -> None:
    provider = case.provider
    desired = case.desired(3)
    assert provider.find(case.kind, desired.attrs) is None
    ref = create(case, desired)
    found = provider.find(case.kind, desired.attrs)
    assert found is not None and found.cloud_id == ref.cloud_id and found.status == "ready"
    if not case.info.deletable:
        return  # nothing of this kind is ever being deleted
    case.slow_down()
    delete(case, ref, "contract-delete-3")
    being_deleted = provider.poll([ref])[ref.cloud_id]
    assert being_deleted is not None and being_deleted.status == "deleting"
    assert provider.find(case.kind, desired.attrs) is None


def test_poll_returns_none_for_an_object_that_is_gone(case: Case) -> None:
    provider = case.provider
    assert provider.get(case.absent) is None
    live = create(case, case.desired(4))
    refs = [live, case.absent]
    if case.info.deletable:
        doomed = create(case, case.desired(5))
        delete(case, doomed, "contract-delete-5")
        gone(provider, doomed)
        refs.append(doomed)
    seen = provider.poll(refs)
    assert set(seen) == {r.cloud_id for r in refs}
    assert {cloud_id for cloud_id, obj in seen.items() if obj is not None} == {live.cloud_id}
    still_there = seen[live.cloud_id]
    assert still_there is not None and still_there.kind == case.kind and still_there.status == "ready"


def test_refresh_uses_list_calls_only(case: Case) -> None:
    """A refresh of what the manifests and the state name makes list calls only, page by page,
    and sees every object (a recorded object that is gone is simply not seen)."""
    provider, info = case.provider, case.info
    wanted = [case.desired(i) for i in range(6, 9)]
    made = [create(case, d) for d in wanted]
    recorded = [(d.name, r, d.attrs) for d, r in zip(wanted, made, strict=True)]
    recorded.append(("absent", case.absent, wanted[0].attrs))  # in state, gone from the cloud
    state = StateDoc(
        resources={
            address_of(case.kind, name): StateResource(
                address_of(case.kind, name), case.kind, ref.cloud_id, ref.region, dict(attrs)
            )
            for name, ref, attrs in recorded
        }
    )
    scope = case.cloud.refresh_scope([Resource(case.kind, d.name, d.attrs) for d in wanted], state)

    before = dict(provider.api_calls())
    result = provider.refresh(scope)
    after = dict(provider.api_calls())

    calls = {op: n - before.get(op, 0) for op, n in after.items() if n != before.get(op, 0)}
    assert calls and set(calls) <= LIST_CALLS[case.cloud.name], calls
    assert dict(result.api_calls) == calls
    assert max(calls.values()) > 1  # pages: every provider here lists one object a page
    seen = {o.cloud_id: o for o in result.objects}
    assert {r.cloud_id for r in made} <= set(seen)
    assert all(seen[r.cloud_id].status == "ready" and seen[r.cloud_id].kind == info.kind for r in made)
    assert case.absent.cloud_id not in seen
    assert all(parent in seen for parent in case.parents.values())  # a peer's group is in scope too


def test_refresh_reads_no_recorded_object_by_id(case: Case) -> None:
    """Even when a few filtered lists cost less than all the pages (one object a page here), an
    object that state records but the cloud no longer has is not looked up by id: it is simply
    not seen."""
    provider = case.provider
    wanted = case.desired(10)
    made = [create(case, case.desired(i)) for i in range(10, 16)]
    recorded = {
        address_of(case.kind, name): StateResource(
            address_of(case.kind, name), case.kind, ref.cloud_id, ref.region, dict(wanted.attrs)
        )
        for name, ref in ((wanted.name, made[0]), ("gone", case.absent))
    }
    scope = case.cloud.refresh_scope([Resource(case.kind, wanted.name, wanted.attrs)], StateDoc(resources=recorded))

    before = dict(provider.api_calls())
    result = provider.refresh(scope)
    calls = {op: n - before.get(op, 0) for op, n in provider.api_calls().items() if n != before.get(op, 0)}
    assert set(calls) <= LIST_CALLS[case.cloud.name], calls
    seen = {o.cloud_id for o in result.objects}
    assert made[0].cloud_id in seen and case.absent.cloud_id not in seen
