"""Benchmark: `reconciler apply` of many creates, as a whole process, against the sandbox.

Each case applies a fresh project to a fresh sandbox RUNS times; the median is reported, written
to bench/results/apply.json under --label and plotted to bench/results/apply.png, with API calls
per change. Cases: 1,000 creates (500 per cloud) at 0 ms latency and no provisioning delay, and
the same at 50 ms latency with a 2 s provisioning delay (waits overlap). For reference,
`terraform apply` of 1,000 no-op `terraform_data` resources takes about 20 s on this kind of
machine.

Each run also prints the sandbox's request counts by operation (`/_sandbox/requests`).

    .venv/bin/python bench/bench_apply.py [--sizes 1000] [--slow 1000] [--runs 5] [--parallelism 10] [--label NAME]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import (
    RUNS,
    Measurement,
    Timing,
    configure,
    generate,
    line,
    measure,
    request_counts,
    reset_request_counts,
    run,
    sandbox_process,
    save,
)


def apply_once(size: int, latency_ms: float, delay: float, parallelism: int) -> tuple[Timing, float]:
    """One apply of `size` creates; (timing, API calls per change). A second plan must be empty."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project = generate(root / "bgp", equinix=size // 2, alibaba_peers=size // 2)
        with sandbox_process(root / "bgp-seed.yaml") as env:
            latency = {"latency_ms": latency_ms}
            configure(env, provision_delay=delay, equinix=latency, alibaba=latency)
            reset_request_counts(env)
            timing = run(["apply", "bgp", "--auto-approve", "--parallelism", str(parallelism)], root, env)
            counts = request_counts(env)
            calls = sum(counts.values())
            print(line(f"  apply {size}, {latency_ms:g} ms", timing, f"{calls} requests"), flush=True)
            for op, n in sorted(counts.items(), key=lambda kv: -kv[1]):
                print(f"    {n:6d}  {op}", flush=True)
            again = run(["plan", "bgp", "--detailed-exitcode"], root, env)
            assert again.code == 0, f"the plan after apply shows changes:\n{again.out[-3000:]}"
            return timing, calls / project.resources


def bench(size: int, latency_ms: float, delay: float, runs_wanted: int, parallelism: int) -> Measurement:
    runs = [apply_once(size, latency_ms, delay, parallelism) for _ in range(runs_wanted)]
    per_change = sorted(calls for _, calls in runs)[len(runs) // 2]
    case = f"apply {size} creates, {latency_ms:g} ms, {delay:g} s provisioning"
    return measure(case, [timing for timing, _ in runs], f"{per_change:.2f} API calls per change")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000")
    parser.add_argument("--slow", default="1000", help="sizes to run at 50 ms latency and 2 s provisioning")
    parser.add_argument("--runs", type=int, default=RUNS, help="runs per case (the median is reported)")
    parser.add_argument("--parallelism", type=int, default=10)
    parser.add_argument("--label", default="current")
    args = parser.parse_args()
    results = [bench(int(size), 0, 0, args.runs, args.parallelism) for size in args.sizes.split(",") if size]
    results += [bench(int(size), 50, 2, args.runs, args.parallelism) for size in args.slow.split(",") if size]
    save("apply", args.label, results)


if __name__ == "__main__":
    main()
