"""Benchmark: apply 1,000 creates under the sandbox's pessimistic profile, against its floor.

1,000 Alibaba peers on 125 VBRs of 8 (10 regions), each VBR with its group: 3 s read lag, one
change at a time per VBR (`OperationConflict` otherwise), 50 ms latency and 2 s provisioning.
Throttling is off: it is an account quota, not part of the floor. Each VBR is a chain of 9
creates (the group, then 8 peers, one after another), and the VBRs run in parallel, so the
floor is 9 x (one call + the time until a read shows the object ready). The apply should stay
within 2x of it. RUNS applies of a fresh project to a fresh sandbox; the median is written to
bench/results/pessimistic.json under --label and plotted to bench/results/pessimistic.png.

    .venv/bin/python bench/bench_pessimistic.py [--peers 1000] [--label NAME]
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
from pathlib import Path

from common import PEERS_PER_VBR, RUNS, Timing, configure, generate, measure, run, sandbox_process, save

LATENCY_MS = 50.0
PROVISIONING = 2.0
READ_LAG = 3.0


def floor_seconds() -> float:
    """One VBR's chain: the group and its peers, each a call, then ready once provisioning is done
    and the reads show it (the lag counts from the call, so it covers the provisioning)."""
    per_create = LATENCY_MS / 1000 + max(PROVISIONING, READ_LAG)
    return (1 + PEERS_PER_VBR) * per_create


def apply_once(peers: int) -> Timing:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root / "bgp", equinix=0, alibaba_peers=peers)
        pessimistic = {"profile": "pessimistic", "alibaba": {"throttle_rps": None}, "equinix": {"throttle_rps": None}}
        with sandbox_process(root / "bgp-seed.yaml", **pessimistic) as env:
            latency = {"latency_ms": LATENCY_MS, "throttle_rps": None}
            configure(env, provision_delay=PROVISIONING, alibaba=latency, equinix=latency)
            timing = run(["apply", "bgp", "--auto-approve"], root, env)
            again = run(["plan", "bgp", "--detailed-exitcode"], root, env)
            assert again.code == 0, f"the plan after apply shows changes:\n{again.out[-3000:]}"
            return timing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peers", type=int, default=1000)
    parser.add_argument("--label", default="current")
    args = parser.parse_args()
    vbrs = math.ceil(args.peers / PEERS_PER_VBR)
    timings = [apply_once(args.peers) for _ in range(RUNS)]
    floor = floor_seconds()
    median = statistics.median(t.wall for t in timings)
    case = f"apply {args.peers} peers on {vbrs} VBRs, pessimistic"
    result = measure(case, timings, f"floor {floor:.1f} s, {median / floor:.2f}x the floor")
    save("pessimistic", args.label, [result])


if __name__ == "__main__":
    main()
