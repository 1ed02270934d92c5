"""Lists cost O(page) (docs/sandbox.md, Scale): the store's sorted indexes answer exactly what a
full scan of every record answers, read lag included, and a list request looks at the records of
its page (plus those whose reads lag), never at the whole table."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox import Sandbox
from reconciler.sandbox.records import (
    GONE,
    TOMBSTONE,
    AlibabaGroup,
    AlibabaPeer,
    EquinixBgp,
    Lifecycle,
    record_fields,
    visible,
)
from reconciler.sandbox.store import Store

from .conftest import DEVICE, PAGE_CONNECTIONS, SG, VBR_SG1, VBR_SG2, Equinix, describe_peers

NOW = 1_700_000_000.0
CONNECTIONS = PAGE_CONNECTIONS[:6]
DEVICES = ("dev-a", "dev-b", "dev-c")
EQUINIX_STATUSES = ("PROVISIONING", "PENDING_UPDATE", "PROVISIONED", "FAILED")
REGIONS = ("r-1", "r-2")
ROUTERS = ("vbr-1", "vbr-2", "vbr-3")
GROUPS = ("bgpg-1", "bgpg-2", "bgpg-3", "bgpg-4")


def full_scan(
    store: Store,
    table: str,
    where: Mapping[str, Collection[Any]],
    now: float,
    matches: Callable[[Any], bool] | None = None,
) -> list[Any]:
    """What every list did before the indexes: each record as a read shows it, filtered."""
    found = []
    for stored in store.values(table):
        shown = stored if stored.lag_until is None else visible(stored, now)
        if shown is None:
            continue
        if all(getattr(shown, name) in values for name, values in where.items()) and (
            matches is None or matches(shown)
        ):
            found.append(shown)
    return found


# -- random histories, checked against the full scan ------------------------------------------------


def random_equinix(rng: random.Random, key: str, now: float) -> EquinixBgp:
    return EquinixBgp(
        status=rng.choice(EQUINIX_STATUSES),
        created_at=now,
        uuid=key,
        connection_uuid=rng.choice(CONNECTIONS),
        device_uuid=rng.choice(DEVICES),
    )


def random_peer(rng: random.Random, key: str, now: float) -> AlibabaPeer:
    return AlibabaPeer(
        status=rng.choice(("Pending", "Available", "Modifying", "Deleting")),
        created_at=now,
        peer_id=key,
        region_id=rng.choice(REGIONS),
        router_id=rng.choice(ROUTERS),
        group_id=rng.choice(GROUPS),
    )


def with_history(rng: random.Random, record: Lifecycle, before: Lifecycle | None, now: float) -> Lifecycle:
    """`record` with what the sandbox's writes give it: maybe a transition that settles later (to
    another status, or gone), maybe a read lag showing `before` (or nothing) for a while."""
    pick = rng.random()
    if pick < 0.3:
        outcome = rng.choice((GONE, record.status, "PROVISIONED", "Available"))
        record = record.begin(record.status, now, rng.uniform(0, 4), outcome, linger=rng.choice((0.0, 0.0, 2.0)))
    if rng.random() < 0.5:
        record = record.lagging(before, now, rng.uniform(-1, 5))
    return record


def random_history(rng: random.Random, store: Store, table: str, steps: int, start: float = NOW) -> Iterator[float]:
    """Creates, replacements (a field an index holds may change too), deletes and settles, with the
    clock moving forward; yields the clock after each step."""
    make = random_equinix if table == "equinix_bgp" else random_peer
    now = start
    for _ in range(steps):
        now += rng.uniform(0, 0.7)
        store.settle(now)
        keys = [record.key for record in store.values(table)]
        action = rng.random()
        old: Any = store.get(table, rng.choice(keys)) if keys else None
        if action < 0.45 or not keys:
            record = make(rng, f"k-{now:.6f}", now)
            store.put(table, with_history(rng, record, None, now))
        elif action < 0.8:
            new = dataclasses.replace(make(rng, old.key, old.created_at), created_at=old.created_at)
            if rng.random() < 0.7:  # most changes keep where the object is
                kept = ("connection_uuid", "device_uuid") if table == "equinix_bgp" else ("region_id", "router_id")
                new = dataclasses.replace(new, **{name: getattr(old, name) for name in kept})
            store.put(table, with_history(rng, new, visible(old, now), now))
        elif action < 0.9:
            store.delete(table, old.key)
        else:
            tombstone = dataclasses.replace(old, status=TOMBSTONE, settles_at=now + 3, settled_status=GONE)
            store.put(table, dataclasses.replace(tombstone, lag_until=now + 3, lag_previous=record_fields(old)))
        yield now


def filters_for(rng: random.Random, table: str, keys: list[str]) -> dict[str, Collection[Any]]:
    if table == "equinix_bgp":
        choices: dict[str, Collection[Any]] = {
            "connection_uuid": CONNECTIONS,
            "device_uuid": DEVICES,
            "status": EQUINIX_STATUSES,
            "uuid": keys or ["none"],
        }
    else:
        choices = {
            "region_id": REGIONS,
            "router_id": ROUTERS,
            "group_id": GROUPS,
            "peer_id": keys or ["none"],
            "status": ("Pending", "Available"),  # no index: checked record by record
        }
    names = rng.sample(sorted(choices), rng.randint(0, 3))
    return {name: set(rng.sample(sorted(choices[name]), min(len(choices[name]), rng.randint(1, 2)))) for name in names}


@pytest.mark.parametrize("table", ["equinix_bgp", "alibaba_peers"])
@pytest.mark.parametrize("seed", range(6))
def test_select_returns_what_a_full_scan_returns(table: str, seed: int) -> None:
    """Every page and total equals the slice of the full scan, through creates, replacements that
    move a record between index values, deletes, settles, tombstones and read lag."""
    rng = random.Random(seed)
    store = Store()
    for now in random_history(rng, store, table, 400):
        keys = [record.key for record in store.values(table)]
        for _ in range(3):
            where = filters_for(rng, table, rng.sample(keys, min(len(keys), 2)))
            expected = full_scan(store, table, where, now)
            offset = rng.randint(0, len(expected) + 2)
            limit = rng.randint(1, 7)
            page, total = store.select(table, where, now, offset, limit)
            assert (page, total) == (expected[offset : offset + limit], len(expected)), (where, offset, limit)
        odd = store.select(table, {}, now, 0, 10**6, lambda record: record.key[-1] in "13579")
        expected = full_scan(store, table, {}, now, lambda record: record.key[-1] in "13579")
        assert odd == (expected, len(expected))


@pytest.mark.parametrize("table", ["equinix_bgp", "alibaba_peers"])
def test_where_and_indexes_follow_the_records(table: str) -> None:
    """`where` (the stored truth, no lag) lists exactly the records holding a value, in creation order."""
    rng = random.Random(11)
    store = Store()
    for _ in random_history(rng, store, table, 300):
        fields = ("connection_uuid", "device_uuid", "status") if table == "equinix_bgp" else ("router_id", "group_id")
        for name in fields:
            values = {getattr(record, name) for record in store.values(table)} | {"absent"}
            for value in values:
                expected = [record for record in store.values(table) if getattr(record, name) == value]
                assert store.where(table, name, (value,)) == expected
    with pytest.raises(ValueError, match="no index"):
        store.where(table, "created_at", (NOW,))


def test_indexes_are_rebuilt_from_the_data_file(tmp_path: Path) -> None:
    """A store reopened from its snapshot and change log (deletes included) selects the same pages."""
    rng = random.Random(5)
    data = tmp_path / "sandbox.json"
    store = Store(data)
    store.open()
    *_, now = random_history(rng, store, "equinix_bgp", 250)
    store.compact()  # half of the history in the snapshot, the rest in the log
    *_, now = random_history(rng, store, "equinix_bgp", 250, start=now)
    reopened = Store(data)
    reopened.open()
    later = now + 1
    store.settle(later)
    reopened.settle(later)
    for where in ({}, {"connection_uuid": {CONNECTIONS[0]}}, {"status": {"PROVISIONED", "FAILED"}}):
        expected = full_scan(reopened, "equinix_bgp", where, later)
        assert reopened.select("equinix_bgp", where, later, 3, 50) == (expected[3:53], len(expected))
        assert reopened.select("equinix_bgp", where, later, 3, 50) == store.select("equinix_bgp", where, later, 3, 50)
    store.close()
    reopened.close()


# -- requests look at their page, not at the table ------------------------------------------------


@contextmanager
def no_full_scans(store: Store, table: str) -> Iterator[list[int]]:
    """Fail on any walk over the whole `table` while inside; yields the records each `select` looked at."""
    looked: list[int] = []
    select, walk, values = store.select, store.iter, store.values

    def refuse_iter(name: str) -> Iterator[Any]:
        assert name != table, f"a list request walked the whole {table} table"
        return walk(name)

    def refuse_values(name: str) -> list[Any]:
        assert name != table, f"a list request walked the whole {table} table"
        return values(name)

    def counting_select(*args: Any, **kwargs: Any) -> tuple[list[Any], int]:
        before = store.examined
        found = select(*args, **kwargs)
        looked.append(store.examined - before)
        return found

    store.iter = refuse_iter  # type: ignore[method-assign, assignment]
    store.values = refuse_values  # type: ignore[method-assign, assignment]
    store.select = counting_select  # type: ignore[method-assign]
    try:
        yield looked
    finally:
        del store.iter, store.values, store.select


def fill_equinix(store: Store, count: int, now: float) -> list[str]:
    uuids = []
    with store.lock:
        for i in range(count):
            record = EquinixBgp(
                status="PROVISIONED",
                created_at=now,
                uuid=f"bgp-{i:05d}",
                connection_uuid=PAGE_CONNECTIONS[i % len(PAGE_CONNECTIONS)],
                device_uuid=DEVICE,
            )
            store.put("equinix_bgp", record)
            uuids.append(record.uuid)
    return uuids


def test_equinix_list_pages_look_at_their_page_only(sandbox: Sandbox, eq: Equinix) -> None:
    """3,000 configs listed 100 at a time: each page looks at its 100 records (and the few whose
    reads lag), the pages together are every config once, and `total` counts what reads show."""
    core = sandbox._core
    assert core is not None
    sandbox.configure(equinix_read_lag=60)
    hidden = eq.create(connectionUuid=PAGE_CONNECTIONS[0])  # new, so not shown for a minute
    uuids = fill_equinix(core.store, 3000, core.now())
    listed: list[str] = []
    with no_full_scans(core.store, "equinix_bgp") as looked:
        for offset in range(0, 3100, 100):
            body = eq.get("/ne/v1/bgp", params={"offset": offset, "limit": 100}).json()
            assert body["pagination"]["total"] == 3000
            listed += [item["uuid"] for item in body["data"]]
        device = eq.get("/ne/v1/bgp", params={"offset": 1500, "limit": 100, "virtualDeviceUuid": DEVICE}).json()
        connection = PAGE_CONNECTIONS[7]
        one = eq.get("/ne/v1/bgp", params={"offset": 0, "limit": 100, "connectionUuid": connection}).json()
    assert listed == uuids and hidden not in listed
    assert [item["uuid"] for item in device["data"]] == uuids[1500:1600]
    assert [item["uuid"] for item in one["data"]] == [u for i, u in enumerate(uuids) if i % 30 == 7]
    assert len(looked) == 33 and max(looked) <= 100 + 1, looked  # a page, plus the one record whose reads lag

    # Once the lag is over, the new config is listed (first: it was created first) and is no longer
    # looked at on every page. The clock moves instead of the test waiting.
    clock = core.now
    core.now = lambda: clock() + 61  # type: ignore[method-assign]
    with no_full_scans(core.store, "equinix_bgp") as looked:
        last = eq.get("/ne/v1/bgp", params={"offset": 2950, "limit": 100}).json()
        first = eq.get("/ne/v1/bgp", params={"offset": 0, "limit": 100}).json()
    assert last["pagination"]["total"] == 3001
    assert [item["uuid"] for item in last["data"]] == uuids[2949:]
    assert [item["uuid"] for item in first["data"]] == [hidden, *uuids[:99]]
    assert looked == [51 + 1, 100], looked  # the first page after the lag forgets it


def test_alibaba_describe_pages_look_at_their_page_only(sandbox: Sandbox, ali: Any) -> None:
    """2,000 peers in 50-item DescribeBgpPeers pages through the real SDK: each page looks at its
    50 peers, and the pages together are every peer of the region once, in creation order."""
    core = sandbox._core
    assert core is not None
    now = core.now()
    peers = []
    with core.store.lock:
        for g, vbr in enumerate((VBR_SG1, VBR_SG2)):
            group = AlibabaGroup(status="Available", created_at=now, group_id=f"bgpg-{g}", region_id=SG, router_id=vbr)
            core.store.put("alibaba_groups", group)
        for i in range(2000):
            peer = AlibabaPeer(
                status="Available",
                created_at=now,
                peer_id=f"bgp-{i:05d}",
                group_id=f"bgpg-{i % 2}",
                region_id=SG,
                router_id=(VBR_SG1, VBR_SG2)[i % 2],
                peer_ip_address=f"10.{i // 250}.{i % 250}.1",
            )
            core.store.put("alibaba_peers", peer)
            peers.append(peer.peer_id)
    listed: list[str] = []
    with no_full_scans(core.store, "alibaba_peers") as looked:
        for number in range(1, 42):
            body = describe_peers(ali, page_number=number, page_size=50)
            assert body.total_count == 2000
            listed += [peer.bgp_peer_id for peer in body.bgp_peers.bgp_peer]
        in_group = describe_peers(ali, bgp_group_id="bgpg-1", page_number=3, page_size=50)
    assert listed == peers
    assert [peer.bgp_peer_id for peer in in_group.bgp_peers.bgp_peer] == peers[1::2][100:150]
    assert in_group.total_count == 1000
    assert len(looked) == 42 and max(looked) <= 50, looked
