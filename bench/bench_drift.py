"""Benchmark: `reconciler drift` over 10,000 managed peers (5,000 per cloud) at 50 ms latency.

Target (issue "Drift"): under 3 s, using the same batched refresh as plan.

    /work/venv/bin/python bench/bench_drift.py [--size 10000] [--latency-ms 50] [--runs 3]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import configure, generate, line, request_counts, reset_request_counts, run, sandbox_process


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project = generate(root / "bgp", equinix=args.size // 2, alibaba_peers=args.size // 2)
        with sandbox_process(root / "bgp-seed.yaml") as env:
            setup = run(["apply", "bgp", "--auto-approve"], root, env)
            assert setup.code == 0, setup.out[-3000:]
            configure(env, equinix={"latency_ms": args.latency_ms}, alibaba={"latency_ms": args.latency_ms})
            timings = []
            for _ in range(args.runs):
                reset_request_counts(env)
                timings.append(run(["drift", "bgp"], root, env))
                assert timings[-1].code == 0, timings[-1].out[-3000:]
            calls = request_counts(env)
            median = sorted(timings, key=lambda t: t.wall)[len(timings) // 2]
            label = f"drift, {args.size} peers (+{project.groups} groups), {args.latency_ms:g} ms"
            print(line(label, median, f"{sum(calls.values())} API calls: {calls}"))


if __name__ == "__main__":
    main()
