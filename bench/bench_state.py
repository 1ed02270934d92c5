"""Benchmark: state backends with 10,000 resources, and the cost of journal appends.

For each backend (local file; PostgreSQL if a server can be started or is given): write and read
a 10,000-resource state, 5,000 journal appends (each durable: fsync / commit) timed in batches of
1,000 so a growing cost would show, a read that folds the 5,000 entries, and the write that
folds them into the next serial (one state write, however many appends).

    .venv/bin/python bench/bench_state.py [--resources 10000] [--appends 5000]
    RECONCILER_BENCH_PG_URL=postgresql://user:pw@host/db .venv/bin/python bench/bench_state.py

Without RECONCILER_BENCH_PG_URL a throwaway PostgreSQL server is started (fsync on), as the
tests do. Also reports what a jsonschema check of the document would cost (why the codec checks
by hand).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.state.pg_server

from jsonschema import Draft202012Validator

from reconciler.model import JournalEntry, StateDoc, StateResource
from reconciler.package_data import load_schema
from reconciler.state import StateBackend, dump_state, open_backend

BATCH = 1000


def make_state(count: int) -> StateDoc:
    """A realistic mix: per group of 5, one Equinix peering, one Alibaba group, three peers."""
    resources: dict[str, StateResource] = {}
    for n in range(count):
        block, slot = divmod(n, 5)
        if slot == 0:
            res = StateResource(
                f"EquinixBgpPeering/eq{block}",
                "EquinixBgpPeering",
                f"5c1b{block:08x}-0000-4000-8000-000000000000",
                None,
                {
                    "connectionUuid": f"80afc8be-0ce3-4950-be27-{block:012x}",
                    "localIpAddress": f"10.{block // 250 % 250}.{block % 250}.1/30",
                    "localAsn": 65010,
                    "remoteIpAddress": f"10.{block // 250 % 250}.{block % 250}.2",
                    "remoteAsn": 45104,
                },
            )
        elif slot == 1:
            res = StateResource(
                f"AlibabaBgpGroup/g{block}",
                "AlibabaBgpGroup",
                f"bgpg-t4n{block:012d}",
                "ap-southeast-1",
                {
                    "regionId": "ap-southeast-1",
                    "virtualBorderRouterId": f"vbr-t4n{block:014d}",
                    "name": f"g{block}",
                    "peerAsn": 65010,
                    "localAsn": 45104,
                    "description": f"group {block}",
                    "ipVersion": "IPv4",
                    "routeQuota": 110,
                    "isFakeAsn": False,
                },
            )
        else:
            res = StateResource(
                f"AlibabaBgpPeer/g{block}-p{slot}",
                "AlibabaBgpPeer",
                f"bgp-t4n{n:014d}",
                "ap-southeast-1",
                {
                    "regionId": "ap-southeast-1",
                    "bgpGroupId": f"bgpg-t4n{block:012d}",
                    "peerIpAddress": f"10.{block // 250 % 250}.{block % 250}.{slot}",
                    "ipVersion": "IPv4",
                    "enableBfd": True,
                    "bfdMultiHop": 3,
                },
                (f"AlibabaBgpGroup/g{block}",),
            )
        resources[res.address] = res
    return StateDoc(resources=resources)


def journal_entry(i: int) -> JournalEntry:
    """Intent, done, intent, done...: each pair creates one new peer."""
    n, settled = divmod(i, 2)
    return JournalEntry(
        id=f"run-1:{n}",
        address=f"AlibabaBgpPeer/new-{n}",
        kind="AlibabaBgpPeer",
        action="create",
        phase="done" if settled else "intent",
        time="2024-05-01T10:00:00.000Z",
        token=f"tok-{n}",
        cloud_id=f"bgp-new{n:010d}" if settled else None,
        region="ap-southeast-1",
        attributes={"bgpGroupId": "bgpg-t4n000000000001", "peerIpAddress": f"10.99.{n // 250}.{n % 250}"},
        natural_key=("bgpg-t4n000000000001", f"10.99.{n // 250}.{n % 250}"),
    )


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def report(backend: str, operation: str, seconds: float, count: int = 1) -> None:
    per = f"{seconds / count * 1000:9.3f} ms/op" if count > 1 else ""
    print(f"{backend:<10} {operation:<44} {seconds:8.3f} s  {per}", flush=True)


def bench_backend(label: str, backend: StateBackend, resources: int, appends: int) -> None:
    doc = make_state(resources)
    with backend.lock("bench"):
        report(label, f"write {resources:,} resources (first serial)", timed(lambda: backend.write(doc)))
    report(label, f"read {resources:,} resources", timed(backend.read))
    with backend.lock("bench"):
        batches = []
        for first in range(0, appends, BATCH):
            last = min(first + BATCH, appends)
            entries = [journal_entry(i) for i in range(first, last)]
            start = time.perf_counter()
            for entry in entries:
                backend.journal_append(entry)
            seconds = time.perf_counter() - start
            batches.append(seconds / len(entries))
            report(label, f"journal append (durable) #{first + 1:,}..{last:,}", seconds, len(entries))
        growth = batches[-1] / batches[0] if batches and batches[0] > 0 else float("nan")
        print(f"{label:<10} {'append cost, last batch / first batch':<44} {growth:8.2f} x  (1.0 = O(1))")
        folded: list[StateDoc] = []
        report(label, f"read + fold {appends:,} journal entries", timed(lambda: folded.append(backend.read())))
        written = folded[0]
        report(label, "write the folded state (journal emptied)", timed(lambda: backend.write(written)))
    after = backend.read()
    assert len(after.resources) == resources + appends // 2, len(after.resources)
    assert backend.journal_entries() == []
    report(label, f"read {len(after.resources):,} resources", timed(backend.read))


@contextmanager
def postgres_url() -> Iterator[str | None]:
    given = os.environ.get("RECONCILER_BENCH_PG_URL")
    if given:
        yield given
        return
    from tests.state.pg_server import temporary_server, why_unavailable

    reason = why_unavailable()
    if reason:
        print(f"postgres   skipped: {reason}")
        yield None
        return
    import psycopg

    with temporary_server(fast=False) as server:
        with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
            settings = conn.execute(
                "SELECT string_agg(name || '=' || setting, ', ') FROM pg_settings "
                "WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method')"
            ).fetchone()
            print(f"{'postgres':<10} local throwaway server: {settings[0] if settings else '?'}")
        yield server.url("bench", name="bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--appends", type=int, default=5_000)
    args = parser.parse_args()
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        os.environ.pop(name, None)

    print(f"{'backend':<10} {'operation':<44} {'total':>10}  per op")
    doc = make_state(args.resources)
    text = dump_state(StateDoc(lineage="0b7c6a52-6f53-4a8e-9a57-3c1c2d9e8f10", serial=1, resources=doc.resources))
    print(f"{'codec':<10} {'document size':<44} {len(text) / 1e6:8.2f} MB")
    validator = Draft202012Validator(load_schema("state.schema.json"))
    data = json.loads(text)
    report("codec", "jsonschema check of the document (not used)", timed(lambda: validator.is_valid(data)))

    with tempfile.TemporaryDirectory() as folder:
        local = open_backend(str(Path(folder) / "state" / "reconciler.json"))
        bench_backend("local", local, args.resources, args.appends)
        local.close()
    with postgres_url() as url:
        if url:
            pg = open_backend(url)
            bench_backend("postgres", pg, args.resources, args.appends)
            pg.close()


if __name__ == "__main__":
    main()
