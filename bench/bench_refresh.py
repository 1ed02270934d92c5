"""Benchmark: refresh 10,000 BGP peers on both clouds through the sandbox, 50 ms per request.

Seeds a sandbox (in its own process, like a real cloud) with 5,000 Equinix connections and
10 Alibaba regions with enough VBRs for 5,000 peers (8 peers per VBR, one group each), creates
everything through the public APIs at zero latency, then injects 50 ms of latency per request
and times `refresh_all` over both providers. Target: under 3 s. For scale, one GET per resource
at a parallelism of 10 would need (objects x 50 ms / 10).

Reports the API calls made against the lower bound ceil(N / page size) per scope.

    .venv/bin/python bench/bench_refresh.py [--equinix 5000] [--peers 5000] [--regions 10]
                                                 [--latency-ms 50] [--runs 3]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import yaml
from common import sandbox_process

from reconciler import log
from reconciler.clouds import make_provider
from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER
from reconciler.clouds.alibaba.scope import AlibabaScope
from reconciler.clouds.base import Desired, Provider, ProviderOptions, RefreshScope
from reconciler.refresh import refresh_all

PEERS_PER_VBR = 8
EQUINIX_PAGE = 100  # what the client asks for (the sandbox's default cap is also 100)
ALIBABA_PAGE = 50
DEVICE = "5f1e8a52-3c1d-4d6e-9a7b-0c2f4e6a8b10"


def region_name(r: int) -> str:
    return f"bench-region-{r:02d}"


def connection(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def vbr(r: int, v: int) -> str:
    return f"vbr-bench{r:02d}{v:010d}"


def write_seed(path: Path, connections: int, regions: int, vbrs_per_region: int) -> None:
    seed = {
        "equinix": {
            "devices": [{"uuid": DEVICE, "name": "bench-ne", "status": "PROVISIONED", "licenseStatus": "REGISTERED"}],
            "connections": [{"uuid": connection(i), "deviceUuid": DEVICE} for i in range(connections)],
        },
        "alibaba": {
            "regions": [region_name(r) for r in range(regions)],
            "vbrs": [
                {"vbrId": vbr(r, v), "regionId": region_name(r), "status": "active"}
                for r in range(regions)
                for v in range(vbrs_per_region)
            ],
        },
    }
    path.write_text(yaml.safe_dump(seed), encoding="utf-8")


def populate_equinix(env: dict[str, str], n: int) -> None:
    """POST the configs directly (one request each, 16 at a time)."""
    base = env["EQUINIX_API_ENDPOINT"]
    with httpx.Client(base_url=base, timeout=30) as http:
        token = http.post(
            "/oauth2/v1/token",
            json={
                "grant_type": "client_credentials",
                "client_id": env["EQUINIX_CLIENT_ID"],
                "client_secret": env["EQUINIX_CLIENT_SECRET"],
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}

        def post(i: int) -> None:
            response = http.post(
                "/ne/v1/bgp",
                headers=headers,
                json={
                    "connectionUuid": connection(i),
                    "localIpAddress": "10.0.0.1/30",
                    "localAsn": 65010,
                    "remoteIpAddress": "10.0.0.2",
                    "remoteAsn": 45104,
                },
            )
            response.raise_for_status()

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(post, range(n)))


def populate_alibaba(provider: Provider, peers: int, regions: int, vbrs_per_region: int) -> int:
    """One group per VBR, up to 8 peers on each; returns how many groups were made."""
    per_region = math.ceil(peers / regions)
    tasks = [(r, v) for r in range(regions) for v in range(vbrs_per_region)]

    def make_group(task: tuple[int, int]) -> tuple[int, int, str]:
        r, v = task
        group_id = provider.create(
            Desired(
                ALIBABA_GROUP,
                f"g{v}",
                {"regionId": region_name(r), "virtualBorderRouterId": vbr(r, v), "name": f"g{v}", "peerAsn": 65010},
            ),
            f"bench-g-{r}-{v}",
        )
        return r, v, group_id

    with ThreadPoolExecutor(16) as pool:
        groups = list(pool.map(make_group, tasks))
    peer_tasks = [
        (r, gid, i) for r, v, gid in groups for i in range(PEERS_PER_VBR) if v * PEERS_PER_VBR + i < per_region
    ]

    def make_peer(task: tuple[int, str, int]) -> None:
        r, group_id, i = task
        provider.create(
            Desired(
                ALIBABA_PEER,
                f"p{i}",
                {"regionId": region_name(r), "bgpGroupId": group_id, "peerIpAddress": f"10.1.{i}.2"},
            ),
            f"bench-p-{group_id}-{i}",
        )

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(make_peer, peer_tasks))
    return len(groups)


def admin(env: dict[str, str], method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    response = httpx.request(method, env["EQUINIX_API_ENDPOINT"] + path, json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--equinix", type=int, default=5000, help="Equinix BGP configs")
    parser.add_argument("--peers", type=int, default=5000, help="Alibaba BGP peers")
    parser.add_argument("--regions", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    log.configure(verbose=False)  # the per-provider call counts are printed below instead
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        os.environ.pop(name, None)

    vbrs_per_region = math.ceil(math.ceil(args.peers / args.regions) / PEERS_PER_VBR)
    with tempfile.TemporaryDirectory() as tmp:
        seed_file = Path(tmp) / "seed.yaml"
        write_seed(seed_file, args.equinix, args.regions, vbrs_per_region)
        # The sandbox runs in a child process, so its request handling does not share our GIL.
        with sandbox_process(seed_file) as env:
            run(env, args, vbrs_per_region)


def run(env: dict[str, str], args: argparse.Namespace, vbrs_per_region: int) -> None:
    options = ProviderOptions()
    started = time.perf_counter()
    populate_equinix(env, args.equinix)
    loader = make_provider("alibaba", env, ProviderOptions(max_in_flight=16))
    n_groups = populate_alibaba(loader, args.peers, args.regions, vbrs_per_region)
    loader.close()
    print(
        f"populated {args.equinix} Equinix configs, {n_groups} Alibaba groups and {args.peers} peers "
        f"in {args.regions} regions in {time.perf_counter() - started:.1f} s (0 ms latency)"
    )

    admin(
        env,
        "POST",
        "/_sandbox/config",
        {"equinix": {"latency_ms": args.latency_ms}, "alibaba": {"latency_ms": args.latency_ms}},
    )
    regions = frozenset(region_name(r) for r in range(args.regions))
    scopes = {"equinix": RefreshScope(), "alibaba": AlibabaScope(regions=regions)}
    per_region_groups = math.ceil(n_groups / args.regions)
    per_region_peers = math.ceil(args.peers / args.regions)
    bound = {
        "equinix GET /ne/v1/bgp": math.ceil(args.equinix / EQUINIX_PAGE),
        "alibaba DescribeBgpGroups": args.regions * math.ceil(per_region_groups / ALIBABA_PAGE),
        "alibaba DescribeBgpPeers": args.regions * math.ceil(per_region_peers / ALIBABA_PAGE),
    }
    objects = args.equinix + n_groups + args.peers
    print(
        f"latency {args.latency_ms:g} ms per request; {objects} objects; max_in_flight {options.max_in_flight} "
        "per provider"
    )
    print(
        f"for scale: one GET per object at a parallelism of 10 would take {objects * args.latency_ms / 1000 / 10:.0f} s"
    )

    cold: list[float] = []
    warm: list[float] = []
    for n in range(args.runs):
        providers = {name: make_provider(name, env, options) for name in ("equinix", "alibaba")}
        for label, times in (("cold", cold), ("warm", warm)):
            admin(env, "DELETE", "/_sandbox/requests")
            started = time.perf_counter()
            results = refresh_all(providers, scopes)
            elapsed = time.perf_counter() - started
            times.append(elapsed)
            counts = admin(env, "GET", "/_sandbox/requests")
            found = sum(len(r.objects) for r in results.values())
            calls = ", ".join(f"{op}: {counts.get(op, 0)} (lower bound {b})" for op, b in bound.items())
            extra = {op: c for op, c in counts.items() if op not in bound}
            print(
                f"run {n + 1} {label}: {elapsed:.2f} s, {found} objects; {calls}" + (f"; plus {extra}" if extra else "")
            )
        for provider in providers.values():
            provider.close()
    print(
        f"median refresh: cold {statistics.median(cold):.2f} s (new providers: login, SDK clients), "
        f"warm {statistics.median(warm):.2f} s; target < 3 s"
    )


if __name__ == "__main__":
    main()
