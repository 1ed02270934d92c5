"""The benchmark suite: every figure of the performance targets, as whole processes, written to
bench/results.json.

Each benchmark runs `reconciler` as a whole process (start-up and imports included) against a
sandbox in its own process (`common.sandbox_process`), like a real cloud that does not share the
tool's CPU. Every figure is the median of `--repeat` runs (default 5); each run records its wall
time, its CPU time (user + system) and its peak resident memory (the process's own `ru_maxrss`).

Benchmarks (names for `--only`):

    help           `reconciler --help`
    plan           a no-change `plan --detailed-exitcode` of N peers (half per cloud), 0 ms
    validate       `validate` of N resources in N / 50 files
    drift          `drift` of N peers at 50 ms latency per request (the estate the plan used)
    apply          `apply` of N creates (N peers, half per cloud, and their groups) into an empty
                   sandbox, 0 ms; a fresh project and sandbox per run
    apply-latency  the same at 50 ms latency and 2 s provisioning, against its floor
                   N / parallelism x latency + provisioning
    floor          what bounds a plan of 100 peers from below, beside that plan, run by run: the
                   same plan with Equinix peers only (no Alibaba SDK to import), and a process that
                   imports what the plan of both clouds imports and does nothing else

The results file holds the machine, the date, the commit, each case's runs with its target and
whether it met it, and the scaling series that `bench/plot.py` draws; `bench/readme.py` writes
the README's table from it.

    .venv/bin/python bench/run.py [--quick] [--only NAME[,NAME]] [--repeat K] [--out FILE]

`--quick` runs fewer and smaller sizes once each (to try it out, and as a CI smoke test). With
`--only`, the other benchmarks' entries already in the output file are kept. The results file is
rewritten after every case, so an interrupted run keeps what it measured; a run whose sandbox
process is killed from outside is set up and run again (up to ATTEMPTS times).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from common import (
    PEERS_PER_VBR,
    Project,
    Timing,
    configure,
    generate,
    request_counts,
    reset_request_counts,
    run,
    run_python,
    sandbox_process,
)

BENCH = Path(__file__).resolve().parent
RESULTS_FILE = BENCH / "results.json"
FORMAT = 1  # of the results file; bench/readme.py and bench/plot.py read this one

BENCHMARKS = ("help", "plan", "floor", "validate", "validate-cold", "drift", "apply", "apply-latency")
FULL_SIZES: dict[str, tuple[int, ...]] = {
    "plan": (100, 1000, 5000, 10000, 50000),
    "validate": (1000, 10000, 50000),
    "validate-cold": (10000, 50000),
    "drift": (1000, 10000),
    "apply": (100, 1000, 5000),
    "apply-latency": (1000,),
}
QUICK_SIZES: dict[str, tuple[int, ...]] = {
    "plan": (100, 1000),
    "validate": (1000,),
    "validate-cold": (1000,),
    "drift": (1000,),
    "apply": (100,),
    "apply-latency": (100,),
}
PER_FILE = 50  # validate: 10,000 resources in 200 files
LATENCY_MS = 50.0  # drift and apply-latency
PROVISIONING_S = 2.0  # apply-latency
PARALLELISM = 10  # apply's default, stated explicitly
SETUP_PARALLELISM = 64  # the apply that builds a plan/drift estate is not measured
ATTEMPTS = 3  # a run whose sandbox process is killed from outside is set up and run again
LINEAR_REFERENCE = 1000  # apply: per-create time at larger N is compared with this size's
FLOOR_SIZE = 100  # the plan whose floor the floor benchmark measures

# The floor process: what a plan imports (the modules named after the code), with the program's
# own settings, and nothing else. The Alibaba SDK is loaded first, as its provider loads it (its
# models package entered without the `__init__` that imports all 1,200 models), so that importing
# a model module named in the list does not run that `__init__`.
IMPORTS_ONLY = """
import importlib, sys
from reconciler.collector import program_runs
program_runs()
sys.modules.setdefault("httpx._main", None)
from reconciler.clouds.alibaba import sdk
sdk.load()
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError:  # the plan tried it and went on without it (sitecustomize; h2 for httpcore)
        pass
"""


@dataclass(frozen=True)
class Target:
    """A performance target, as the README states it, and what meeting it means."""

    text: str
    max_s: float | None = None  # the median wall time is below this
    max_mb: float | None = None  # the largest peak memory of the runs is below this
    max_floor_ratio: float | None = None  # median / floor at most this
    linear_within: float | None = None  # seconds per create at most this x LINEAR_REFERENCE's


TARGETS: dict[tuple[str, int | None], Target] = {
    ("help", None): Target("< 0.1 s", max_s=0.1),
    ("plan", 100): Target("< 0.45 s", max_s=0.45),
    ("plan", 1000): Target("< 0.6 s", max_s=0.6),
    ("plan", 10000): Target("< 1.6 s", max_s=1.6),
    ("plan", 50000): Target("< 7 s, < 300 MB", max_s=7.0, max_mb=300.0),
    ("validate", 10000): Target("< 0.6 s", max_s=0.6),
    ("drift", 10000): Target("< 2.0 s", max_s=2.0),
    ("apply", 1000): Target("< 3 s", max_s=3.0),
    ("apply", 5000): Target("< 12 s, linear", max_s=12.0, linear_within=1.2),
    ("apply-latency", 1000): Target("≤ 1.3× its floor", max_floor_ratio=1.3),
}


@dataclass(frozen=True)
class Case:
    """The runs of one benchmark at one size."""

    benchmark: str
    n: int | None
    work: str
    timings: tuple[Timing, ...]
    details: dict[str, float | int | str] = field(default_factory=dict)

    @property
    def median_s(self) -> float:
        return statistics.median(t.wall for t in self.timings)

    @property
    def peak_mb(self) -> float:
        return max(t.peak_mb for t in self.timings)


def say(text: str) -> None:
    print(text, flush=True)


def elapsed(start: float) -> str:
    return f"{time.perf_counter() - start:.1f} s"


def timed_runs(label: str, repeat: int, once: Callable[[], Timing], expect: int = 0) -> tuple[Timing, ...]:
    """`repeat` runs of `once()`, each printed as it ends; stops the suite on an unexpected exit."""
    return runs_in_turn({label: once}, repeat, expect)[label]


def runs_in_turn(
    cases: Mapping[str, Callable[[], Timing]], repeat: int, expect: int = 0
) -> dict[str, tuple[Timing, ...]]:
    """`repeat` rounds in which each case (label -> one run) runs once, in turn, so that the cases
    meet the machine at the same moments; as `timed_runs`, each run printed and its exit checked."""
    timings: dict[str, list[Timing]] = {label: [] for label in cases}
    for i in range(repeat):
        for label, once in cases.items():
            timing = once()
            which = f"  {label}" if len(cases) > 1 else ""
            say(
                f"    run {i + 1}/{repeat}: {timing.wall:7.3f} s wall  {timing.cpu:7.3f} s cpu  "
                f"{timing.peak_mb:6.0f} MB peak  exit {timing.code}{which}"
            )
            if timing.code != expect:
                raise SystemExit(f"{label}: exit {timing.code}, expected {expect}:\n{timing.out[-3000:]}")
            timings[label].append(timing)
    return {label: tuple(runs) for label, runs in timings.items()}


def bench_help(repeat: int) -> Iterator[Case]:
    say("[help] reconciler --help")
    with tempfile.TemporaryDirectory() as tmp:
        timings = timed_runs("help", repeat, lambda: run(["--help"], Path(tmp), {}))
    yield Case("help", None, "`reconciler --help`", timings)


def checked(timing: Timing, env: dict[str, str]) -> Timing:
    """`timing`, after making sure a failed run did not fail because the sandbox process is gone
    (then httpx.TransportError, which the callers take as "set up and run again")."""
    if timing.code != 0:
        request_counts(env)
    return timing


def no_change_plan(root: Path, env: dict[str, str]) -> Timing:
    return checked(run(["plan", "bgp", "--detailed-exitcode"], root, env), env)


@contextmanager
def estate(size: int, *, equinix_only: bool = False) -> Iterator[tuple[Path, Project, dict[str, str]]]:
    """`size` peers (half per cloud, or all of Equinix) applied to a sandbox in its own process,
    for plan and drift."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        equinix = size if equinix_only else size // 2
        project = generate(root / "bgp", equinix=equinix, alibaba_peers=size - equinix)
        say(f"  generated {project.resources:,} resources in {elapsed(start)}")
        with sandbox_process(root / "bgp-seed.yaml") as env:
            start = time.perf_counter()
            setup = checked(
                run(["apply", "bgp", "--auto-approve", "--parallelism", str(SETUP_PARALLELISM)], root, env), env
            )
            if setup.code != 0:
                raise SystemExit(f"setting up {size:,} peers failed (exit {setup.code}):\n{setup.out[-3000:]}")
            say(f"  applied them (setup, not measured) in {elapsed(start)}")
            yield root, project, env


def again_if_the_sandbox_stops(label: str, attempt: Callable[[], Iterator[Case]]) -> Iterator[Case]:
    """The cases `attempt()` yields; when its sandbox process stops (killed from outside: this is
    a shared machine), once more from a fresh set-up, without repeating the cases already done."""
    done: set[tuple[str, int | None, str]] = set()
    for tries_left in range(ATTEMPTS - 1, -1, -1):
        try:
            for case in attempt():
                if (case.benchmark, case.n, case.work) not in done:
                    done.add((case.benchmark, case.n, case.work))
                    yield case
            return
        except httpx.TransportError as error:
            if not tries_left:
                raise SystemExit(f"{label}: the sandbox process stopped ({error}); giving up") from None
            say(f"    {label}: the sandbox process stopped ({error}); setting up again")


def bench_plan_and_drift(wanted: set[str], sizes: dict[str, tuple[int, ...]], repeat: int) -> Iterator[Case]:
    """Plan and drift share each size's estate: set up once, planned at 0 ms, then drifted at 50 ms."""
    plan_sizes = sizes["plan"] if "plan" in wanted else ()
    drift_sizes = sizes["drift"] if "drift" in wanted else ()
    for size in sorted({*plan_sizes, *drift_sizes}):
        yield from again_if_the_sandbox_stops(
            f"estate of {size:,} peers", partial(plan_and_drift_of, size, plan_sizes, drift_sizes, repeat)
        )


def plan_and_drift_of(size: int, plan_sizes: Sequence[int], drift_sizes: Sequence[int], repeat: int) -> Iterator[Case]:
    """The plan and drift cases of one estate of `size` peers."""
    say(f"[plan/drift] estate of {size:,} peers")
    with estate(size) as (root, project, env):
        groups = f"(+{project.groups:,} groups)"
        if size in plan_sizes:
            say(f"  [plan] no-change plan, {size:,} peers {groups}, 0 ms")

            def plan_once() -> Timing:
                reset_request_counts(env)
                return no_change_plan(root, env)

            timings = timed_runs(f"plan {size}", repeat, plan_once)
            calls = sum(request_counts(env).values())
            work = f"no-change `plan`, {size:,} peers, 0 ms"
            yield Case("plan", size, work, timings, {"resources": project.resources, "api_calls": calls})
        if size in drift_sizes:
            configure(env, equinix={"latency_ms": LATENCY_MS}, alibaba={"latency_ms": LATENCY_MS})
            say(f"  [drift] drift, {size:,} peers {groups}, {LATENCY_MS:g} ms")

            def drift_once() -> Timing:
                reset_request_counts(env)
                return checked(run(["drift", "bgp"], root, env), env)

            timings = timed_runs(f"drift {size}", repeat, drift_once)
            calls = sum(request_counts(env).values())
            work = f"`drift`, {size:,} peers, {LATENCY_MS:g} ms latency"
            yield Case("drift", size, work, timings, {"resources": project.resources, "api_calls": calls})


def bench_floor(repeat: int) -> Iterator[Case]:
    """A no-change plan of FLOOR_SIZE peers of both clouds, and below it, measured run by run in
    turn so that all three meet the host at the same moment: the same plan of Equinix peers only,
    and a process that imports every module the plan of both clouds imported, then ends."""
    yield from again_if_the_sandbox_stops("floor", partial(floor_cases, repeat))


def floor_cases(repeat: int) -> Iterator[Case]:
    size = FLOOR_SIZE
    say(f"[floor] a plan of {size} peers, the same of Equinix peers only, and its imports alone")
    with estate(size) as (both, _, both_env), estate(size, equinix_only=True) as (equinix, _, equinix_env):
        modules = imported_by_plan(both, both_env)
        say(f"  the plan of both clouds imports {len(modules)} modules")
        rows: dict[str, Callable[[], Timing]] = {
            f"no-change `plan`, {size} peers, 0 ms, run in turn with the two below": partial(
                no_change_plan, both, both_env
            ),
            f"the same plan of {size} Equinix peers (no Alibaba SDK to import)": partial(
                no_change_plan, equinix, equinix_env
            ),
            f"importing what the plan of {size} peers of both clouds imports, and nothing else": partial(
                run_python, ["-c", IMPORTS_ONLY, *modules], both, {}
            ),
        }
        runs = runs_in_turn(rows, repeat)
    for work, timings in runs.items():
        yield Case("floor", None, work, timings, {"plan_imports": len(modules)})


def imported_by_plan(root: Path, env: dict[str, str]) -> list[str]:
    """The modules a no-change plan imports, in the order they finished importing (`-X importtime`)."""
    timing = checked(
        run_python(["-X", "importtime", "-m", "reconciler", "plan", "bgp", "--detailed-exitcode"], root, env), env
    )
    if timing.code != 0:
        raise SystemExit(f"floor: the plan under -X importtime exited {timing.code}:\n{timing.out[-3000:]}")
    modules = []
    for text in timing.out.splitlines():
        if text.startswith("import time:") and not text.endswith("imported package"):
            modules.append(text.rsplit("|", 1)[1].strip())
    return modules


def bench_validate(name: str, sizes: Sequence[int], repeat: int) -> Iterator[Case]:
    """`validate` of manifests in files of PER_FILE resources. "validate" runs with the user's
    manifest cache, so every run but the first of a new version reads it; "validate-cold" gives
    each run an empty cache, as a CI job's first command has (it parses every file and stores it)."""
    from bench_validate import write_manifests  # the manifests the validate benchmark has always used

    cold = name == "validate-cold"
    for size in sizes:
        files = max(1, size // PER_FILE)
        say(f"[{name}] {size:,} resources in {files:,} files{', an empty manifest cache each run' if cold else ''}")
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "bgp"
            folder.mkdir()
            start = time.perf_counter()
            count = write_manifests(folder, files, PER_FILE)
            say(f"  wrote {count:,} resources in {elapsed(start)}")
            once: Callable[[], Timing] = partial(run, ["validate", "."], folder, {})
            if cold:
                once = partial(validate_with_an_empty_cache, folder, Path(tmp))
            timings = timed_runs(f"{name} {size}", repeat, once)
        work = f"`validate`, {count:,} resources in {files:,} files"
        if cold:
            work += ", empty manifest cache (a CI job's first command)"
        yield Case(name, size, work, timings, {"resources": count, "files": files})


def validate_with_an_empty_cache(folder: Path, scratch: Path) -> Timing:
    with tempfile.TemporaryDirectory(dir=scratch) as cache_home:
        return run(["validate", "."], folder, {"XDG_CACHE_HOME": cache_home})


def apply_once(size: int, latency_ms: float, provisioning: float) -> tuple[Timing, int, int]:
    """One apply of `size` peers (half per cloud, and their groups) to a fresh sandbox; (timing,
    API calls, resources created). A plan after it must be empty."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project = generate(root / "bgp", equinix=size // 2, alibaba_peers=size - size // 2)
        with sandbox_process(root / "bgp-seed.yaml") as env:
            latency = {"latency_ms": latency_ms}
            configure(env, provision_delay=provisioning, equinix=latency, alibaba=latency)
            reset_request_counts(env)
            timing = run(["apply", "bgp", "--auto-approve", "--parallelism", str(PARALLELISM)], root, env)
            calls = sum(request_counts(env).values())
            if timing.code == 0:
                again = run(["plan", "bgp", "--detailed-exitcode"], root, env)
                if again.code != 0:
                    raise SystemExit(f"the plan after applying {size} creates is not empty:\n{again.out[-3000:]}")
            return timing, calls, project.resources


def bench_apply(name: str, sizes: Sequence[int], repeat: int, latency_ms: float, provisioning: float) -> Iterator[Case]:
    for size in sizes:
        label = f"apply {size:,} creates, {latency_ms:g} ms, {provisioning:g} s provisioning"
        say(f"[{name}] {label}, parallelism {PARALLELISM} (a fresh project and sandbox per run)")
        calls: list[int] = []
        resources: list[int] = []

        def once(
            size: int = size, label: str = label, calls: list[int] = calls, resources: list[int] = resources
        ) -> Timing:
            for tries_left in range(ATTEMPTS - 1, -1, -1):
                try:
                    timing, made, created = apply_once(size, latency_ms, provisioning)
                except httpx.TransportError as error:  # its sandbox process was killed from outside
                    if not tries_left:
                        raise SystemExit(f"{label}: the sandbox process stopped ({error}); giving up") from None
                    say(f"    the sandbox process stopped ({error}); running it again with a fresh one")
                    continue
                calls.append(made)
                resources.append(created)
                return timing
            raise AssertionError("unreachable")

        timings = timed_runs(label, repeat, once)
        details: dict[str, float | int | str] = {"resources": resources[0], "api_calls": int(statistics.median(calls))}
        if name == "apply-latency":
            # The floor (N / parallelism x latency + provisioning) ignores that one VBR takes
            # one change at a time: its group, then its peers, each waiting for the last to settle.
            parallel_floor = size / PARALLELISM * latency_ms / 1000 + provisioning
            serial_floor = (1 + PEERS_PER_VBR) * (provisioning + latency_ms / 1000)
            floor = max(parallel_floor, serial_floor)
            details.update(
                floor_s=round(floor, 3),
                parallel_floor_s=round(parallel_floor, 3),
                serial_floor_s=round(serial_floor, 3),
                floor_ratio=round(statistics.median(t.wall for t in timings) / floor, 3),
            )
            work = f"`apply` {size:,} creates, {latency_ms:g} ms latency, {provisioning:g} s provisioning"
        else:
            work = f"`apply` {size:,} creates, 0 ms"
        yield Case(name, size, work, timings, details)


def verdict(case: Case, target: Target | None, details: dict[str, float | int | str]) -> bool | None:
    """Whether `case` meets `target` (None: no target at this size)."""
    if target is None:
        return None
    ok = True
    if target.max_s is not None:
        ok = ok and case.median_s < target.max_s
    if target.max_mb is not None:
        ok = ok and case.peak_mb < target.max_mb
    if target.max_floor_ratio is not None:
        ok = ok and float(details["floor_ratio"]) <= target.max_floor_ratio
    if target.linear_within is not None and "per_create_ratio" in details:
        ok = ok and float(details["per_create_ratio"]) <= target.linear_within
    return ok


def entry(case: Case, mode: str, repeat: int, stamp: dict[str, Any], cases: Sequence[Case]) -> dict[str, Any]:
    target = TARGETS.get((case.benchmark, case.n))
    details = dict(case.details)
    reference = next((c for c in cases if c.benchmark == case.benchmark and c.n == LINEAR_REFERENCE), None)
    if target is not None and target.linear_within is not None and reference is not None and case.n:
        # Linear: a create costs no more at this N than at LINEAR_REFERENCE (within the target's factor).
        per_create = (case.median_s / case.n) / (reference.median_s / LINEAR_REFERENCE)
        details["per_create_ratio"] = round(per_create, 3)
    passed = verdict(case, target, details)
    return {
        "benchmark": case.benchmark,
        "n": case.n,
        "work": case.work,
        "median_s": round(case.median_s, 4),
        "runs_s": [round(t.wall, 4) for t in case.timings],
        "cpu_median_s": round(statistics.median(t.cpu for t in case.timings), 4),
        "cpu_runs_s": [round(t.cpu, 4) for t in case.timings],
        "peak_rss_mb": round(case.peak_mb, 1),
        "peak_rss_mb_runs": [round(t.peak_mb, 1) for t in case.timings],
        "target": target.text if target else None,
        "pass": passed,
        "details": details,
        "mode": mode,
        "repeat": repeat,
        **stamp,
    }


def series(entries: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The scaling curves: per benchmark with sizes, (N, median s, peak MB) in order of N."""
    curves: dict[str, list[dict[str, Any]]] = {}
    for item in sorted(entries, key=lambda e: (e["benchmark"], e["n"] or 0)):
        if item["n"] is not None:
            point = {"n": item["n"], "median_s": item["median_s"], "peak_rss_mb": item["peak_rss_mb"]}
            curves.setdefault(item["benchmark"], []).append(point)
    return curves


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=BENCH, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def machine() -> dict[str, Any]:
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for text in cpuinfo.read_text().splitlines():
            if text.startswith("model name"):
                model = text.split(":", 1)[1].strip()
                break
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write(path: Path, data: dict[str, Any]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(path)  # a reader never sees half a file


def parse_only(text: str | None) -> list[str]:
    if text is None:
        return list(BENCHMARKS)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown or not names:
        raise SystemExit(f"--only: unknown benchmark {', '.join(unknown) or '(none)'}; valid: {', '.join(BENCHMARKS)}")
    return names


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer, smaller sizes, one run each")
    parser.add_argument("--only", metavar="NAME[,NAME]", help=f"run only these: {', '.join(BENCHMARKS)}")
    parser.add_argument("--repeat", type=int, help="runs per case, the median is reported (default 5, 1 with --quick)")
    parser.add_argument("--out", type=Path, default=RESULTS_FILE, help="results file (default bench/results.json)")
    args = parser.parse_args(argv)
    wanted = parse_only(args.only)
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else 5)
    if repeat < 1:
        raise SystemExit("--repeat: at least 1")
    mode = "quick" if args.quick else "full"
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    commit = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no")) if commit != "unknown" else False
    stamp = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit,
        "dirty": dirty,
    }
    say(
        f"reconciler bench: {', '.join(wanted)}; {mode}, median of {repeat}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; results to {args.out}"
    )
    started = time.perf_counter()
    kept: list[dict[str, Any]] = []
    if args.only is not None and args.out.exists():
        previous = json.loads(args.out.read_text(encoding="utf-8"))
        if previous.get("format") == FORMAT:
            kept = [e for e in previous["benchmarks"] if e["benchmark"] not in wanted]
    cases: list[Case] = []
    load_before = os.getloadavg()[0]

    def save() -> None:
        entries = kept + [entry(case, mode, repeat, stamp, cases) for case in cases]
        order = {name: i for i, name in enumerate(BENCHMARKS)}
        entries.sort(key=lambda e: (order[e["benchmark"]], e["n"] or 0))
        data = {
            "format": FORMAT,
            **stamp,
            "mode": mode,
            "repeat": repeat,
            "machine": machine(),
            "load_average": {"start": round(load_before, 2), "end": round(os.getloadavg()[0], 2)},
            "benchmarks": entries,
            "series": series(entries),
        }
        write(args.out, data)

    # The largest set-ups (the plan and drift estates) last: an interrupted run has the rest.
    steps: list[tuple[str, Callable[[], Iterator[Case]]]] = [
        ("help", lambda: bench_help(repeat)),
        ("floor", lambda: bench_floor(repeat)),
        ("validate", lambda: bench_validate("validate", sizes["validate"], repeat)),
        ("validate-cold", lambda: bench_validate("validate-cold", sizes["validate-cold"], repeat)),
        ("apply", lambda: bench_apply("apply", sizes["apply"], repeat, 0, 0)),
        (
            "apply-latency",
            lambda: bench_apply("apply-latency", sizes["apply-latency"], repeat, LATENCY_MS, PROVISIONING_S),
        ),
        ("plan/drift", lambda: bench_plan_and_drift(set(wanted), sizes, repeat)),
    ]
    for name, step in steps:
        if not set(name.split("/")) & set(wanted):
            continue
        start = time.perf_counter()
        for case in step():
            cases.append(case)
            save()  # after every case: an interrupted run keeps what it measured
        say(f"  ({name} took {elapsed(start)})")
    save()
    say(f"\nwrote {args.out} in {elapsed(started)}; then `python bench/plot.py && python bench/readme.py`")
    for item in json.loads(args.out.read_text(encoding="utf-8"))["benchmarks"]:
        verdict_text = {True: "ok", False: "MISSED", None: ""}[item["pass"]]
        target = f"target {item['target']}" if item["target"] else ""
        say(
            f"  {item['work']:<58} {item['median_s']:8.3f} s  {item['peak_rss_mb']:6.0f} MB  "
            f"{target:<26} {verdict_text}"
        )


if __name__ == "__main__":
    main()
