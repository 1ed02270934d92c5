"""Benchmark: a no-change `reconciler plan` as a whole process against the sandbox (0 ms).

Each size is set up once (an apply), then planned RUNS times; the median is reported, written to
bench/results/plan.json under --label and plotted to bench/results/plan.png. For reference,
`terraform plan` over 1,000 trivial `terraform_data` resources takes about 0.8-1.6 s on this kind
of machine with no API calls at all.

    .venv/bin/python bench/bench_plan.py [--sizes 1000,10000] [--label NAME]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import (
    RUNS,
    Measurement,
    generate,
    measure,
    request_counts,
    reset_request_counts,
    run,
    sandbox_process,
    save,
)


def bench(size: int) -> Measurement:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project = generate(root / "bgp", equinix=size // 2, alibaba_peers=size // 2)
        with sandbox_process(root / "bgp-seed.yaml") as env:
            setup = run(["apply", "bgp", "--auto-approve"], root, env)
            assert setup.code == 0, setup.out[-3000:]
            timings = []
            for _ in range(RUNS):
                reset_request_counts(env)
                timings.append(run(["plan", "bgp", "--detailed-exitcode"], root, env))
            calls = sum(request_counts(env).values())
            return measure(f"no-change plan, {size} peers (+{project.groups} groups)", timings, f"{calls} API calls")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--label", default="current")
    args = parser.parse_args()
    save("plan", args.label, [bench(int(size)) for size in args.sizes.split(",")])


if __name__ == "__main__":
    main()
