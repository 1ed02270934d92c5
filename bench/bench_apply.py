"""Benchmark: `reconciler apply` of many creates, as a whole process, against the sandbox.

Targets (issue "Apply"): 1,000 creates (500 per cloud) at 0 ms latency and 0 s provisioning
delay under 5 s; the same at 50 ms latency and a 2 s provisioning delay under 30 s (waits
overlap); 5,000 creates at 0 ms under 25 s (linear). For reference, `terraform apply` of 1,000
no-op `terraform_data` resources takes about 20 s on this kind of machine, and 521 s for 5,000.
Reports API calls per change.

    /work/venv/bin/python bench/bench_apply.py [--sizes 1000,5000] [--slow 1000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import configure, generate, line, request_counts, reset_request_counts, run, sandbox_process


def bench(size: int, latency_ms: float, delay: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project = generate(root / "bgp", equinix=size // 2, alibaba_peers=size // 2)
        with sandbox_process(root / "bgp-seed.yaml") as env:
            latency = {"latency_ms": latency_ms}
            configure(env, provision_delay=delay, equinix=latency, alibaba=latency)
            reset_request_counts(env)
            t = run(["apply", "bgp", "--auto-approve"], root, env)
            calls = sum(request_counts(env).values())
            changes = project.resources
            label = f"apply {size} peers (+{project.groups} groups), {latency_ms:g} ms, {delay:g} s"
            print(line(label, t, f"{calls} calls, {calls / changes:.2f} per change"), flush=True)
            if t.code != 0:
                print(t.out[-3000:])
            again = run(["plan", "bgp", "--detailed-exitcode"], root, env)
            print(line("  then plan (must be no changes)", again), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--slow", default="1000", help="sizes to run at 50 ms latency and 2 s provisioning")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",") if s):
        bench(size, 0, 0)
    for size in (int(s) for s in args.slow.split(",") if s):
        bench(size, 50, 2)


if __name__ == "__main__":
    main()
