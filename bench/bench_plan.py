"""Benchmark: a no-change `reconciler plan` as a whole process against the sandbox (0 ms).

Targets (issue "Plan"): 1,000 peers under 1.0 s; 10,000 peers under 5 s, with CPU time growing
linearly. For reference, `terraform plan` over 1,000 trivial `terraform_data` resources takes
about 1.6 s on this kind of machine with no API calls at all.

    /work/venv/bin/python bench/bench_plan.py [--sizes 1000,10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from common import Timing, generate, line, request_counts, reset_request_counts, run, sandbox_process


def bench(size: int, runs: int) -> Timing:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project = generate(root / "bgp", equinix=size // 2, alibaba_peers=size // 2)
        with sandbox_process(root / "bgp-seed.yaml") as env:
            setup = run(["apply", "bgp", "--auto-approve"], root, env)
            assert setup.code == 0, setup.out[-3000:]
            timings = []
            for _ in range(runs):
                reset_request_counts(env)
                timings.append(run(["plan", "bgp", "--detailed-exitcode"], root, env))
                assert timings[-1].code == 0, timings[-1].out[-3000:]
            calls = sum(request_counts(env).values())
            median = sorted(timings, key=lambda t: t.wall)[len(timings) // 2]
            label = f"no-change plan, {size} peers (+{project.groups} groups)"
            spread = f"min {min(t.wall for t in timings):.2f} s, {calls} API calls"
            print(line(label, median, spread), flush=True)
            return Timing(statistics.median(t.wall for t in timings), statistics.median(t.cpu for t in timings), 0, "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {size: bench(size, args.runs) for size in sizes}
    if len(sizes) >= 2:
        small, big = sizes[0], sizes[-1]
        ratio = results[big].cpu / results[small].cpu
        print(f"CPU time x{ratio:.1f} for x{big / small:.0f} resources")


if __name__ == "__main__":
    main()
