"""Benchmark: `reconciler generate` from N live objects against a no-change `reconciler plan` of
the same size, both as whole processes against the sandbox (0 ms) in its own process.

Each size is set up once (an apply of a generated project), then planned and generated RUNS times
each; the medians are reported, written to bench/results/generate.json under --label and plotted
to bench/results/generate.png. Target: generate within 1.5x the plan.

    .venv/bin/python bench/bench_generate.py [--sizes 1000,10000] [--label NAME]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from common import (
    RUNS,
    Measurement,
    generate,
    measure,
    region_name,
    request_counts,
    reset_request_counts,
    run,
    sandbox_process,
    save,
)

REGIONS = 10  # common.generate's default


def bench(size: int) -> list[Measurement]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project = generate(root / "bgp", equinix=size // 2, alibaba_peers=size // 2, regions=REGIONS)
        with sandbox_process(root / "bgp-seed.yaml") as env:
            setup = run(["apply", "bgp", "--auto-approve"], root, env)
            assert setup.code == 0, setup.out[-3000:]
            plans = []
            for _ in range(RUNS):
                reset_request_counts(env)
                plans.append(run(["plan", "bgp", "--detailed-exitcode"], root, env))
                assert plans[-1].code == 0, plans[-1].out[-3000:]
            plan_calls = sum(request_counts(env).values())
            scopes = [arg for r in range(REGIONS) for arg in ("--alibaba", region_name(r))]
            command = ["generate", "--out", "onboard", "--force", "--equinix", "all", *scopes]
            generations = []
            for _ in range(RUNS):
                reset_request_counts(env)
                generations.append(run(command, root, env))
                assert generations[-1].code == 0, generations[-1].out[-3000:]
            generate_calls = sum(request_counts(env).values())
            ratio = statistics.median(t.wall for t in generations) / statistics.median(t.wall for t in plans)
            what = f"{project.resources} live objects"
            return [
                measure(f"no-change plan, {what}", plans, f"{plan_calls} API calls"),
                measure(f"generate, {what}", generations, f"{generate_calls} API calls, {ratio:.2f}x the plan"),
            ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--label", default="current")
    args = parser.parse_args()
    save("generate", args.label, [m for size in args.sizes.split(",") for m in bench(int(size))])


if __name__ == "__main__":
    main()
