"""Benchmark: `reconciler drift` over 10,000 managed peers (5,000 per cloud) at 50 ms latency.

Set up once, then RUNS drift runs; the median is written to bench/results/drift.json under
--label and plotted to bench/results/drift.png.

    .venv/bin/python bench/bench_drift.py [--size 10000] [--latency-ms 50] [--label NAME]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import RUNS, configure, generate, measure, request_counts, reset_request_counts, run, sandbox_process, save


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--label", default="current")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project = generate(root / "bgp", equinix=args.size // 2, alibaba_peers=args.size // 2)
        with sandbox_process(root / "bgp-seed.yaml") as env:
            setup = run(["apply", "bgp", "--auto-approve"], root, env)
            assert setup.code == 0, setup.out[-3000:]
            configure(env, equinix={"latency_ms": args.latency_ms}, alibaba={"latency_ms": args.latency_ms})
            timings = []
            for _ in range(RUNS):
                reset_request_counts(env)
                timings.append(run(["drift", "bgp"], root, env))
            calls = sum(request_counts(env).values())
            case = f"drift, {args.size} peers (+{project.groups} groups), {args.latency_ms:g} ms"
            save("drift", args.label, [measure(case, timings, f"{calls} API calls")])


if __name__ == "__main__":
    main()
