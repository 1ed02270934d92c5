"""Shared pieces of the whole-process benchmarks: generated projects, a sandbox in its own
process (like a real cloud, so it does not share the reconciler's CPU), and timing of
`reconciler` runs as subprocesses (wall time, CPU time and peak memory)."""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
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
settings = json.loads(sys.argv[2])
profile = settings.pop("profile", None)
config = SandboxConfig.for_profile(profile, **settings) if profile else SandboxConfig(**settings)
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
            "vbrs": [
                {"vbrId": vbr(r, v), "regionId": region_name(r), "status": "active", "bfdEnabled": True}
                for r, v in vbr_list
            ],
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
    """No proxy (the Alibaba SDK would send even loopback calls through it), and bytecode caching
    on, as in a normal install: without it every run would compile every module it imports."""
    dropped = ("http_proxy", "https_proxy", "all_proxy", "pythondontwritebytecode")
    env = {k: v for k, v in os.environ.items() if k.lower() not in dropped}
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float
    code: int
    out: str
    peak_mb: float = 0.0  # the process's peak resident set size (ru_maxrss)


def run(args: list[str], cwd: Path, env: Mapping[str, str]) -> Timing:
    """Run `reconciler ARGS` as a whole process (`run_python`)."""
    return run_python(["-m", "reconciler", *args], cwd, env)


def run_python(args: list[str], cwd: Path, env: Mapping[str, str]) -> Timing:
    """Run `python ARGS` as a whole process; wall and CPU (user + system) seconds and peak
    memory, all of this one process (os.wait4 gives its own resource usage, not every child's)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=cwd,
        env=clean_env({**env, **KEY_ENV}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one pipe, read to its end: no deadlock on a full second pipe
        text=True,
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    cpu = usage.ru_utime + usage.ru_stime
    return Timing(wall, cpu, proc.returncode, out, usage.ru_maxrss / 1024)  # Linux: ru_maxrss in KiB


def line(label: str, t: Timing, extra: str = "") -> str:
    return f"{label:<44} wall {t.wall:6.2f} s   cpu {t.cpu:6.2f} s   exit {t.code}  {extra}"


RUNS = 5  # every figure is the median of this many whole-process runs
RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Measurement:
    """The runs of one benchmark case: what the results file records and the plot shows."""

    case: str
    walls: list[float]
    cpus: list[float]
    extra: str = ""
    peaks_mb: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    def summary(self) -> str:
        return (
            f"{self.case:<48} median {self.median:6.2f} s  (min {min(self.walls):.2f}, max {max(self.walls):.2f}, "
            f"cpu {statistics.median(self.cpus):.2f} s, peak {max(self.peaks_mb, default=0):.0f} MB, "
            f"{len(self.walls)} runs)  {self.extra}"
        )


def measure(case: str, timings: list[Timing], extra: str = "") -> Measurement:
    failed = [t for t in timings if t.code != 0]
    if failed:
        raise SystemExit(f"{case}: a run failed (exit {failed[0].code}):\n{failed[0].out[-3000:]}")
    result = Measurement(case, [t.wall for t in timings], [t.cpu for t in timings], extra, [t.peak_mb for t in timings])
    print(result.summary(), flush=True)
    return result


def save(bench: str, label: str, measurements: list[Measurement]) -> Path:
    """Record `measurements` under `label` (e.g. a commit) in bench/results/BENCH.json, keeping the
    other labels, and plot every label's medians side by side in bench/results/BENCH.png."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{bench}.json"
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    data[label] = [
        {
            "case": m.case,
            "median_s": round(m.median, 3),
            "walls_s": m.walls,
            "cpus_s": m.cpus,
            "peaks_mb": m.peaks_mb,
            "extra": m.extra,
        }
        for m in measurements
    ]
    path.write_text(json.dumps(data, indent=2) + "\n")
    plot(bench, data)
    print(f"results: {path} and {path.with_suffix('.png')}")
    return path


def plot(bench: str, data: dict[str, Any]) -> None:
    """Grouped bars: one group per case, one bar per label (median, with min-max whiskers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(data)
    cases = list(dict.fromkeys(row["case"] for rows in data.values() for row in rows))
    width = 0.8 / max(1, len(labels))
    fig, ax = plt.subplots(figsize=(max(6.0, 2.2 * len(cases)), 4.5))
    for i, label in enumerate(labels):
        rows = {row["case"]: row for row in data[label]}
        xs = [c + i * width for c, case in enumerate(cases) if case in rows]
        medians = [rows[case]["median_s"] for case in cases if case in rows]
        lows = [rows[case]["median_s"] - min(rows[case]["walls_s"]) for case in cases if case in rows]
        highs = [max(rows[case]["walls_s"]) - rows[case]["median_s"] for case in cases if case in rows]
        ax.bar(xs, medians, width, yerr=[lows, highs], capsize=3, label=label)
        for x, median in zip(xs, medians, strict=True):
            ax.annotate(f"{median:.2f}", (x, median), ha="center", va="bottom", fontsize=8)
    ax.set_xticks([c + width * (len(labels) - 1) / 2 for c in range(len(cases))])
    ax.set_xticklabels([case.replace(", ", ",\n") for case in cases], fontsize=8)
    ax.set_ylabel(f"seconds, median of {RUNS} whole-process runs")
    ax.set_title(f"reconciler bench: {bench}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / f"{bench}.png", dpi=120)
    plt.close(fig)
