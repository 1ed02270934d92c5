"""Shared pieces of the whole-process benchmarks: generated projects, a sandbox in its own
process (like a real cloud, so it does not share the reconciler's CPU), and timing of
`reconciler` runs as subprocesses (wall time and CPU time)."""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

PEERS_PER_VBR = 8
DEVICE = "5f1e8a52-3c1d-4d6e-9a7b-0c2f4e6a8b10"
KEY_ENV = {"BENCH_KEY": "BenchKeyNotReal1"}

CHILD = """
import json, sys
from reconciler.sandbox import Sandbox, SandboxConfig, load_seed
config = SandboxConfig(**json.loads(sys.argv[2]))
box = Sandbox(load_seed(sys.argv[1]), config=config).start()
print(json.dumps(box.env()), flush=True)
sys.stdin.read()
box.stop()
"""


def region_name(r: int) -> str:
    return f"bench-region-{r:02d}"


def connection(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def vbr(r: int, v: int) -> str:
    return f"vbr-bench{r:02d}{v:012d}"


@dataclass(frozen=True)
class Project:
    root: Path
    equinix: int
    alibaba_peers: int
    groups: int

    @property
    def resources(self) -> int:
        return self.equinix + self.alibaba_peers + self.groups


def generate(root: Path, equinix: int, alibaba_peers: int, regions: int = 10, files: int = 100) -> Project:
    """Manifests for `equinix` peerings and `alibaba_peers` peers (8 per VBR, one group per VBR)."""
    root.mkdir(parents=True, exist_ok=True)
    docs: list[dict[str, Any]] = []
    for i in range(equinix):
        docs.append(
            {
                "apiVersion": "reconciler/v1",
                "kind": "EquinixBgpPeering",
                "metadata": {"name": f"eq-{i}"},
                "spec": {
                    "connectionUuid": connection(i),
                    "localIpAddress": f"10.{i // 16384}.{(i // 64) % 256}.{(i % 64) * 4 + 1}/30",
                    "localAsn": 65010,
                    "remoteIpAddress": f"10.{i // 16384}.{(i // 64) % 256}.{(i % 64) * 4 + 2}",
                    "remoteAsn": 45104,
                },
            }
        )
    vbrs_needed = math.ceil(alibaba_peers / PEERS_PER_VBR)
    per_region = math.ceil(vbrs_needed / regions) if vbrs_needed else 0
    vbr_list = [(r, v) for r in range(regions) for v in range(per_region)][:vbrs_needed]
    made = 0
    for g, (r, v) in enumerate(vbr_list):
        group = f"grp-{r}-{v}"
        docs.append(
            {
                "apiVersion": "reconciler/v1",
                "kind": "AlibabaBgpGroup",
                "metadata": {"name": group},
                "spec": {
                    "regionId": region_name(r),
                    "virtualBorderRouterId": vbr(r, v),
                    "peerAsn": 65010,
                    "description": f"Bench group {g}",
                },
            }
        )
        for p in range(min(PEERS_PER_VBR, alibaba_peers - made)):
            docs.append(
                {
                    "apiVersion": "reconciler/v1",
                    "kind": "AlibabaBgpPeer",
                    "metadata": {"name": f"{group}-p{p}"},
                    "spec": {"bgpGroup": group, "peerIpAddress": f"172.16.{p}.1", "enableBfd": True, "bfdMultiHop": 1},
                }
            )
            made += 1
    chunk = math.ceil(len(docs) / files)
    for f in range(files):
        part = docs[f * chunk : (f + 1) * chunk]
        if part:
            (root / f"bgp-{f:03d}.yaml").write_text(yaml.safe_dump_all(part, sort_keys=False))
    seed = {
        "equinix": {
            "devices": [{"uuid": DEVICE, "name": "bench-ne", "asn": 65010}],
            "connections": [{"uuid": connection(i), "deviceUuid": DEVICE} for i in range(equinix)],
        },
        "alibaba": {
            "regions": [region_name(r) for r in range(regions)],
            "vbrs": [{"vbrId": vbr(r, v), "regionId": region_name(r), "status": "active"} for r, v in vbr_list],
        },
    }
    (root.parent / f"{root.name}-seed.yaml").write_text(yaml.safe_dump(seed))
    return Project(root, equinix, made, len(vbr_list))


@contextmanager
def sandbox_process(seed: Path, **config: Any) -> Iterator[dict[str, str]]:
    """A sandbox in a child process; yields the environment variables that point at it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(seed), json.dumps(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    assert proc.stdout is not None and proc.stdin is not None
    env = json.loads(proc.stdout.readline())
    try:
        yield env
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def configure(env: Mapping[str, str], **config: Any) -> None:
    """Change the running sandbox's knobs (latency, delays) through its admin route."""
    response = httpx.post(f"{env['EQUINIX_API_ENDPOINT']}/_sandbox/config", json=config, timeout=10)
    response.raise_for_status()


def request_counts(env: Mapping[str, str]) -> dict[str, int]:
    response = httpx.get(f"{env['EQUINIX_API_ENDPOINT']}/_sandbox/requests", timeout=10)
    response.raise_for_status()
    return dict(response.json())


def reset_request_counts(env: Mapping[str, str]) -> None:
    httpx.delete(f"{env['EQUINIX_API_ENDPOINT']}/_sandbox/requests", timeout=10).raise_for_status()


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float
    code: int
    out: str


def run(args: list[str], cwd: Path, env: Mapping[str, str]) -> Timing:
    """Run `reconciler ARGS` as a whole process; wall and CPU (user + system) seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        env=clean_env({**env, **KEY_ENV}),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(wall, cpu, proc.returncode, proc.stdout + proc.stderr)


def line(label: str, t: Timing, extra: str = "") -> str:
    return f"{label:<44} wall {t.wall:6.2f} s   cpu {t.cpu:6.2f} s   exit {t.code}  {extra}"
