"""Benchmark: `reconciler validate` on 10,000 resources in 200 files, and `reconciler --help`.

Runs the real command as a whole process (start-up, imports, YAML, schema, rules, output), the
way CI runs it: without the manifest cache (a first run, or CI), and with it warm (a repeated
local run; `reconciler/manifest/cache.py`). Targets: validate < 0.6 s, --help < 0.1 s on a
2-core machine. The cache lives in a temporary folder (`XDG_CACHE_HOME`), never the user's.

Then times `load_manifests` in this process, whole and phase by phase (the phases are the steps
`load_manifests` takes, called one after the other), on this tree and on the tree the plan,
apply and drift benchmarks use (`common.generate`: 10,625 resources in 100 files).

    .venv/bin/python bench/bench_validate.py [--files 200] [--per-file 50] [--runs 5]
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import generate

RECONCILER = [sys.executable, "-m", "reconciler"]


def write_manifests(folder: Path, files: int, per_file: int) -> int:
    """`files` files of `per_file` documents: per block of 5, one Equinix peering, one group and
    its three peers (one linked to the peering), so every rule has work to do. Returns the count."""
    count = 0
    for f in range(files):
        docs = []
        for b in range(per_file // 5):
            n = f * 1000 + b
            octet2, octet3 = divmod(n, 250)
            group = f"g{n}"
            docs.append(
                f"""apiVersion: reconciler/v1
kind: EquinixBgpPeering
metadata:
  name: eq{n}
  labels: {{team: neteng, link: l{n}}}
spec:
  connectionUuid: {uuid.UUID(int=n + 1)}
  localIpAddress: 10.{octet2 % 250}.{octet3}.1/30
  localAsn: {64512 + b}
  remoteIpAddress: 10.{octet2 % 250}.{octet3}.2
  remoteAsn: 45104
  authenticationKey: {{fromEnv: BGP_KEY_{n}}}
"""
            )
            docs.append(
                f"""apiVersion: reconciler/v1
kind: AlibabaBgpGroup
metadata:
  name: {group}
spec:
  regionId: ap-southeast-1
  virtualBorderRouterId: vbr-bench{n:016d}
  peerAsn: {64512 + b}
  authKey: {{fromEnv: BGP_KEY_{n}}}
  description: Bench group {n}
  routeQuota: 110
"""
            )
            for p in range(3):
                link = f"\n  labels: {{link: l{n}}}" if p == 0 else ""
                address = f"10.{octet2 % 250}.{octet3}.1" if p == 0 else f"192.168.{p}.{n % 250 + 1}"
                docs.append(
                    f"""apiVersion: reconciler/v1
kind: AlibabaBgpPeer
metadata:
  name: {group}-p{p}{link}
spec:
  bgpGroup: {group}
  peerIpAddress: {address}
  enableBfd: true
  bfdMultiHop: {p + 1}
"""
                )
        count += len(docs)
        (folder / f"m{f:03d}.yaml").write_text("---\n".join(docs), encoding="utf-8")
    return count


def timed(
    args: list[str], cwd: Path, runs: int, expect: int, extra_env: dict[str, str] | None = None
) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (user + system) seconds of each run of the command."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    env.update(extra_env or {})
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != expect:
            sys.exit(f"unexpected exit {done.returncode}: {done.stdout[-500:]} {done.stderr[-500:]}")
    return walls, cpus


def report(label: str, measured: tuple[list[float], list[float]], target: float) -> None:
    walls, cpus = measured
    median = statistics.median(walls)
    verdict = "ok" if median < target else "SLOW"
    print(
        f"{label}: median {median:.3f} s wall (min {min(walls):.3f}, max {max(walls):.3f}), "
        f"{statistics.median(cpus):.3f} s CPU, {len(walls)} runs (target < {target} s: {verdict})"
    )
    print(f"  load average while measuring: {os.getloadavg()[0]:.2f}")


def best_of(runs: int, work: Callable[[], Any]) -> tuple[float, float]:
    """Fastest and median wall seconds of `work()` over `runs` runs (after one warm-up run)."""
    work()
    times = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def phases(root: Path) -> dict[str, float]:
    """Seconds per step of `load_manifests`, each step run over every file or document."""
    from reconciler.manifest.cache import ManifestCache
    from reconciler.manifest.checked import Checked
    from reconciler.manifest.desired import to_resource
    from reconciler.manifest.load import find_files, load_file
    from reconciler.manifest.rules import semantic_diagnostics
    from reconciler.manifest.schema import check_envelope, schema_problems

    took: dict[str, float] = {}
    start = time.perf_counter()
    files = find_files([root])
    took["find files"] = time.perf_counter() - start

    start = time.perf_counter()
    documents = [doc for path, display in files for doc in load_file(path, display).documents]
    took["parse YAML + build data with positions"] = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as folder:
        cache = ManifestCache(Path(folder))
        for path, display in files:
            result = load_file(path, display)
            cache.put(display, result.content, result.documents)
        start = time.perf_counter()
        cached = [doc for path, display in files for doc in load_file(path, display, cache=cache).documents]
        took["or: read them from a warm manifest cache"] = time.perf_counter() - start
        assert len(cached) == len(documents)

    start = time.perf_counter()
    kinds = []
    for doc in documents:
        kind, _ = check_envelope(doc)
        assert kind is not None and not schema_problems(kind, doc.data, doc.plain_numbers)
        kinds.append(kind)
    took["envelope + JSON Schema"] = time.perf_counter() - start

    start = time.perf_counter()
    checked = [Checked.of(doc, kind, ()) for doc, kind in zip(documents, kinds, strict=True)]
    assert not semantic_diagnostics(checked, True)
    took["semantic rules"] = time.perf_counter() - start

    start = time.perf_counter()
    for item in checked:
        to_resource(item)
    took["build Resources (normalise)"] = time.perf_counter() - start
    return took


def gc_seconds(work: Callable[[], Any]) -> float:
    """Seconds the garbage collector ran during `work()`."""
    spent, started = [0.0], [0.0]

    def track(phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            spent[0] += time.perf_counter() - started[0]

    gc.callbacks.append(track)
    try:
        work()
    finally:
        gc.callbacks.remove(track)
    return spent[0]


def in_process(label: str, root: Path, expect: int, runs: int) -> None:
    from reconciler.manifest import load_manifests

    def load() -> None:
        manifests = load_manifests([root])
        if len(manifests.resources) != expect:
            sys.exit(f"{label}: expected {expect} resources, got {len(manifests.resources)}")

    fastest, median = best_of(runs, load)
    print(
        f"load_manifests, {label}: median {median:.3f} s (min {fastest:.3f}), {runs} runs in this process (warm cache)"
    )
    print(f"  garbage collector during a load: {min(gc_seconds(load) for _ in range(3)):.3f} s (least of 3)")
    print("  per phase (fastest of 3, garbage collector paused):")
    gc.disable()
    try:
        runs_of_phases = [phases(root) for _ in range(3)]
    finally:
        gc.enable()
    for phase in runs_of_phases[0]:
        print(f"    {phase:<40} {min(run[phase] for run in runs_of_phases):.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--per-file", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache_home:
        os.environ["XDG_CACHE_HOME"] = cache_home  # the manifest cache: this run's own
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            count = write_manifests(folder, args.files, args.per_file)
            print(f"{count} resources in {args.files} files ({sum(p.stat().st_size for p in folder.iterdir())} bytes)")
            no_cache = {"RECONCILER_MANIFEST_CACHE": "off"}
            validate = [*RECONCILER, "validate", "."]
            report("reconciler validate, no manifest cache", timed(validate, folder, args.runs, 0, no_cache), 0.6)
            timed(validate, folder, 1, 0)  # fills the cache
            report("reconciler validate, warm manifest cache", timed(validate, folder, args.runs, 0), 0.6)
            report("reconciler --help", timed([*RECONCILER, "--help"], folder, args.runs, 0), 0.1)
            in_process(f"{count} resources in {args.files} files", folder, count, args.runs)
        with tempfile.TemporaryDirectory() as tmp:
            project = generate(Path(tmp) / "manifests", equinix=5000, alibaba_peers=5000)
            label = f"common.generate: {project.resources} resources in 100 files"
            in_process(label, project.root, project.resources, args.runs)


if __name__ == "__main__":
    main()
