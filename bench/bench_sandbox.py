"""Sandbox throughput, latency overlap and persistence cost.

    .venv/bin/python bench/bench_sandbox.py [--seconds 3] [--clients 2] [--threads 4] [--creates 5000]
                                            [--in-process]

Prints:
  - Equinix: concurrent httpx GETs of one BGP config and of list pages (100 items), in requests/s;
  - Alibaba: concurrent SDK DescribeBgpPeers pages of 50 (ACS3 signature verified each time), in requests/s;
  - the sandbox's own CPU time per request (Linux), i.e. what one core could serve;
  - 10 concurrent clients with 50 ms injected latency: wall time vs 5 s for a serialising server;
  - N Equinix creates with --data (one fsync per change): seconds per 1,000, to show it stays linear.

By default the sandbox runs as `reconciler sandbox serve` in its own process and the load comes from
`--clients` processes of `--threads` threads each (Python clients are the bottleneck otherwise);
`--in-process` runs it inside this process instead, sharing the GIL with the clients.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_vpc20160428 import models as vpc
from alibabacloud_vpc20160428.client import Client

from reconciler.sandbox import Sandbox, Seed

for _name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_name, None)

REGION = "ap-southeast-1"
DEVICE = "502267e5-ebd6-4487-b0d6-b35bf106cda8"


@dataclass
class Server:
    env: dict[str, str]
    pid: int | None  # the serving process (None: this one, CPU not separable)

    def cpu_seconds(self) -> float | None:
        if self.pid is None:
            return None
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_seed(connections: int, vbrs: int) -> Seed:
    return Seed.from_mapping(
        {
            "equinix": {
                "devices": [{"uuid": DEVICE, "status": "PROVISIONED", "licenseStatus": "REGISTERED", "asn": 65010}],
                "connections": [{"uuid": f"conn-{i:05d}", "deviceUuid": DEVICE} for i in range(connections)],
            },
            "alibaba": {
                "regions": [REGION],
                "vbrs": [
                    {
                        "vbrId": f"vbr-bench{i:016d}",
                        "regionId": REGION,
                        "status": "active",
                        "localGatewayIp": "10.0.0.2",
                        "peerGatewayIp": "10.0.0.1",
                        "peeringSubnetMask": "255.255.255.252",
                    }
                    for i in range(vbrs)
                ],
            },
        },
        "bench-seed",
    )


@contextmanager
def running(seed: Seed, *, in_process: bool, data_file: Path | None = None) -> Iterator[Server]:
    if in_process:
        with Sandbox(seed, data_file=data_file) as sandbox:
            yield Server(sandbox.env(), None)
        return
    with tempfile.TemporaryDirectory() as tmp:
        seed_file = Path(tmp) / "seed.yaml"
        seed_file.write_text(yaml.safe_dump(seed.to_mapping()))
        # The server's own speed: no realism profile (no throttling, no read lag).
        args = [
            sys.executable,
            "-m",
            "reconciler",
            "sandbox",
            "serve",
            "--profile",
            "lenient",
            "--seed",
            str(seed_file),
        ]
        if data_file:
            args += ["--data", str(data_file)]
        process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        env: dict[str, str] = {}
        while len(env) < 6:
            line = process.stdout.readline()
            if not line:
                raise SystemExit("the sandbox did not start")
            if line.startswith("export "):
                name, _, value = line[len("export ") :].strip().partition("=")
                env[name] = value
        try:
            yield Server(env, process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)


def equinix_headers(env: dict[str, str]) -> dict[str, str]:
    body = {
        "grant_type": "client_credentials",
        "client_id": env["EQUINIX_CLIENT_ID"],
        "client_secret": env["EQUINIX_CLIENT_SECRET"],
    }
    token = httpx.post(f"{env['EQUINIX_API_ENDPOINT']}/oauth2/v1/token", json=body).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def bgp_body(connection: str) -> dict[str, object]:
    return {
        "connectionUuid": connection,
        "localIpAddress": "10.0.0.1/30",
        "localAsn": 65010,
        "remoteIpAddress": "10.0.0.2",
        "remoteAsn": 45104,
        "authenticationKey": "benchKey1",
    }


def alibaba_client(env: dict[str, str]) -> Client:
    return Client(
        open_api_models.Config(
            access_key_id=env["ALIBABA_CLOUD_ACCESS_KEY_ID"],
            access_key_secret=env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
            endpoint=env["ALIBABA_CLOUD_VPC_ENDPOINT"],
            protocol="http",
            region_id=REGION,
        )
    )


# -- load generators (run in client processes) ---------------------------------------------------


def equinix_load(env: dict[str, str], paths: list[str], threads: int, seconds: float) -> int:
    headers = equinix_headers(env)
    counts = [0] * threads
    deadline = time.perf_counter() + seconds

    def worker(n: int) -> None:
        with httpx.Client(base_url=env["EQUINIX_API_ENDPOINT"], headers=headers) as http:
            i = n
            while time.perf_counter() < deadline:
                response = http.get(paths[i % len(paths)])
                assert response.status_code == 200, response.text
                counts[n] += 1
                i += threads

    _run_threads(worker, threads)
    return sum(counts)


def alibaba_load(env: dict[str, str], pages: int, threads: int, seconds: float) -> int:
    client = alibaba_client(env)  # one client shared by threads, as docs/cloud-apis.md (Alibaba §1) allows
    counts = [0] * threads
    deadline = time.perf_counter() + seconds

    def worker(n: int) -> None:
        page = n % pages + 1
        while time.perf_counter() < deadline:
            body = client.describe_bgp_peers(
                vpc.DescribeBgpPeersRequest(region_id=REGION, page_size=50, page_number=page)
            ).body
            assert body.bgp_peers.bgp_peer
            counts[n] += 1
            page = page % pages + 1

    _run_threads(worker, threads)
    return sum(counts)


LOADS = {"equinix": equinix_load, "alibaba": alibaba_load}


def _run_threads(worker: object, threads: int) -> None:
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]  # type: ignore[arg-type]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


def _client_process(kind: str, args: tuple[object, ...], queue: multiprocessing.Queue[int]) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        os.environ.pop(name, None)
    queue.put(LOADS[kind](*args))  # type: ignore[arg-type]


def measure(server: Server, kind: str, args: tuple[object, ...], clients: int, in_process: bool) -> tuple[float, str]:
    """(requests/s, server CPU per request text)."""
    cpu_before = server.cpu_seconds()
    started = time.perf_counter()
    if in_process:
        total = LOADS[kind](*args)  # type: ignore[arg-type]
    else:
        # Spawn, not fork: a forked child would share this process's pooled SDK connections (the
        # SDK caches sessions process-wide), and two processes reading one socket garble responses.
        context = multiprocessing.get_context("spawn")
        queue: multiprocessing.Queue[int] = context.Queue()
        processes = [context.Process(target=_client_process, args=(kind, args, queue)) for _ in range(clients)]
        for process in processes:
            process.start()
        total = sum(queue.get() for _ in processes)
        for process in processes:
            process.join()
    elapsed = time.perf_counter() - started
    cpu_after = server.cpu_seconds()
    if cpu_before is None or cpu_after is None:
        return total / elapsed, ""
    per_request = (cpu_after - cpu_before) / total
    return total / elapsed, f"; sandbox CPU {per_request * 1e3:.2f} ms/request (~{1 / per_request:.0f}/s on one core)"


# -- the benchmarks --------------------------------------------------------------------------------


def bench_reads(args: argparse.Namespace) -> None:
    vbrs = 25  # 25 VBRs x 8 peers = 200 peers = 4 pages of 50
    with running(make_seed(200, vbrs), in_process=args.in_process) as server:
        env = server.env
        headers = equinix_headers(env)
        with httpx.Client(base_url=env["EQUINIX_API_ENDPOINT"], headers=headers) as http:
            uuids = [http.post("/ne/v1/bgp", json=bgp_body(f"conn-{i:05d}")).json()["uuid"] for i in range(200)]
        client = alibaba_client(env)
        for v in range(vbrs):
            group = client.create_bgp_group(
                vpc.CreateBgpGroupRequest(region_id=REGION, router_id=f"vbr-bench{v:016d}", peer_asn=65010)
            ).body.bgp_group_id
            for p in range(8):
                client.create_bgp_peer(
                    vpc.CreateBgpPeerRequest(
                        region_id=REGION, bgp_group_id=group, peer_ip_address=f"192.168.{v}.{p + 1}"
                    )
                )
        load = f"{args.threads} threads" if args.in_process else f"{args.clients} processes x {args.threads} threads"
        single = [f"/ne/v1/bgp/{u}" for u in uuids]
        rate, cpu = measure(server, "equinix", (env, single, args.threads, args.seconds), args.clients, args.in_process)
        print(f"equinix  GET /ne/v1/bgp/{{uuid}}        {rate:7.0f} req/s  ({load}, httpx){cpu}")
        pages = ["/ne/v1/bgp?offset=0&limit=100", "/ne/v1/bgp?offset=100&limit=100"]
        rate, cpu = measure(server, "equinix", (env, pages, args.threads, args.seconds), args.clients, args.in_process)
        print(f"equinix  GET /ne/v1/bgp (100 per page) {rate:7.0f} req/s{cpu}")
        rate, cpu = measure(server, "alibaba", (env, 4, args.threads, args.seconds), args.clients, args.in_process)
        print(f"alibaba  DescribeBgpPeers (50 per page){rate:7.0f} req/s  ({load}, the real SDK){cpu}")


def bench_latency_overlap() -> None:
    """10 concurrent clients x 10 requests with 50 ms latency: ~0.5 s if sleeps overlap, ~5 s if serialised."""
    with Sandbox(make_seed(1, 0)) as sandbox:
        sandbox.configure(equinix={"latency_ms": 50.0})

        async def run() -> float:
            async with httpx.AsyncClient(base_url=sandbox.equinix_url) as client:

                async def one_client() -> None:
                    for _ in range(10):
                        await client.get("/ne/v1/bgp")

                started = time.perf_counter()
                await asyncio.gather(*(one_client() for _ in range(10)))
                return time.perf_counter() - started

        elapsed = asyncio.run(run())
    print(f"latency  10 clients x 10 GETs at 50 ms  {elapsed:7.2f} s wall (0.50 s if overlapped, 5.00 s if serialised)")


def bench_persistence(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "sandbox.json"
        with (
            running(make_seed(args.creates, 0), in_process=args.in_process, data_file=data) as server,
            httpx.Client(base_url=server.env["EQUINIX_API_ENDPOINT"]) as http,
        ):
            headers = equinix_headers(server.env)
            per_thousand: list[float] = []
            started = time.perf_counter()
            for i in range(args.creates):
                response = http.post("/ne/v1/bgp", json=bgp_body(f"conn-{i:05d}"), headers=headers)
                assert response.status_code == 202, response.text
                if (i + 1) % 1000 == 0:
                    per_thousand.append(time.perf_counter() - started)
                    started = time.perf_counter()
            log_size = data.with_name("sandbox.json.log").stat().st_size
            snapshot_during = data.stat().st_size
        print(
            f"persist  {args.creates} sequential creates with --data, one fsync each: "
            + ", ".join(f"{t:.2f}" for t in per_thousand)
            + " s per 1,000"
        )
        print(
            f"         change log {log_size / 1e6:.1f} MB; snapshot unchanged during the run "
            f"({snapshot_during / 1e6:.2f} MB), {data.stat().st_size / 1e6:.1f} MB after the stop's compaction"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each read benchmark")
    parser.add_argument("--clients", type=int, default=2, help="client processes (not with --in-process)")
    parser.add_argument("--threads", type=int, default=4, help="threads per client process")
    parser.add_argument("--creates", type=int, default=5000)
    parser.add_argument("--in-process", action="store_true", help="serve from this process (shares the GIL)")
    args = parser.parse_args()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, sandbox "
        f"{'in this process' if args.in_process else 'as `reconciler sandbox serve`'}"
    )
    bench_reads(args)
    bench_latency_overlap()
    bench_persistence(args)


if __name__ == "__main__":
    main()
