"""Benchmark: rendering a plan (text, colour text, markdown, JSON) and saving / loading a plan file.

Builds a plan of N changes (mostly updates and creates, some deletes, forgets and replaces, a
secret field here and there), then times each step, median of several runs, plus
`reconciler show` as a whole process.

    .venv/bin/python bench/bench_render.py [--changes 3000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.plan.model import Action, Change, FieldChange, Plan, SecretChange
from reconciler.plan.planfile import load_plan, parse_plan, save_plan
from reconciler.render import render_plan


def make_plan(n: int) -> Plan:
    changes = []
    for i in range(n):
        name = f"r{i:05d}"
        if i % 50 == 0:
            change = Change(
                address=f"{EQUINIX_PEERING}/{name}",
                kind=EQUINIX_PEERING,
                name=name,
                action=Action.REPLACE,
                provider="equinix",
                reason="connectionUuid cannot be changed in place",
                before={"connectionUuid": f"a-{i}", "localAsn": 65010},
                after={"connectionUuid": f"b-{i}", "localAsn": 65010},
                fields=(FieldChange("connectionUuid", before=f"a-{i}", after=f"b-{i}", forces_replacement=True),),
                replace_fields=("connectionUuid",),
            )
        elif i % 10 == 0:
            change = Change(
                address=f"{ALIBABA_PEER}/{name}",
                kind=ALIBABA_PEER,
                name=name,
                action=Action.DELETE,
                provider="alibaba",
                reason="removed from the manifests",
                cloud_id=f"bgpp-{i:020d}",
                before={"peerIpAddress": "10.0.0.1", "enableBfd": True, "bfdMultiHop": 1},
            )
        else:
            change = Change(
                address=f"{ALIBABA_GROUP}/{name}",
                kind=ALIBABA_GROUP,
                name=name,
                action=Action.UPDATE,
                provider="alibaba",
                cloud_id=f"bgpg-{i:020d}",
                region="ap-southeast-1",
                before={"regionId": "ap-southeast-1", "peerAsn": 65010, "description": f"old {i}"},
                after={"regionId": "ap-southeast-1", "peerAsn": 65020, "description": f"new {i}"},
                fields=(
                    FieldChange("peerAsn", before=65010, after=65020),
                    FieldChange("description", before=f"old {i}", after=f"new {i}"),
                    FieldChange("authKey", sensitive=True, secret_change=SecretChange.CHANGED),
                ),
                secret_refs={"authKey": "env:KEY"},
            )
        changes.append(change)
    return Plan(changes=tuple(changes), lineage="6f1c2a9e-3b7d-4c55-9a2e-1d2f3a4b5c6d", serial=7, tool_version="0.1.0")


def timed(label: str, runs: int, fn: Callable[[], object]) -> None:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    print(f"{label:<34} median {statistics.median(samples) * 1000:8.1f} ms   min {min(samples) * 1000:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    plan = make_plan(args.changes)
    print(f"plan of {args.changes} changes")
    timed("render text (plain)", args.runs, lambda: render_plan(plan, "text", color=False))
    timed("render text (colour, rich)", args.runs, lambda: render_plan(plan, "text", color=True))
    timed("render markdown (65,536 cap)", args.runs, lambda: render_plan(plan, "markdown"))
    timed("render json", args.runs, lambda: render_plan(plan, "json"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.json"
        timed("save_plan (atomic, fsync)", args.runs, lambda: save_plan(plan, path))
        raw = path.read_bytes()
        print(f"{'plan file size':<34} {len(raw) / 1024:8.0f} KiB")
        timed("load_plan (parse + schema + build)", args.runs, lambda: load_plan(path))
        timed("parse_plan from memory", args.runs, lambda: parse_plan(raw, "mem"))
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
        command = [sys.executable, "-m", "reconciler", "show", str(path)]
        timed(
            "`reconciler show` (whole process)",
            args.runs,
            lambda: subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env),
        )


if __name__ == "__main__":
    main()
