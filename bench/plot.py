"""Scaling curves from bench/results.json: wall time and peak memory against N for plan, drift,
validate and apply, each point the median of the runs, into docs/bench.png (shown in the README).

    .venv/bin/python bench/plot.py [--results bench/results.json] [--out docs/bench.png]

Needs matplotlib (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
CURVES = {  # benchmark: legend label
    "plan": "no-change plan, 0 ms",
    "drift": "drift, 50 ms latency",
    "validate": "validate (50 resources per file)",
    "validate-cold": "validate, empty manifest cache",
    "apply": "apply creates, 0 ms",
}


def plot(results: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display: write the file only
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fig, (times, memory) = plt.subplots(1, 2, figsize=(11, 4.5))
    for benchmark, label in CURVES.items():
        points = results["series"].get(benchmark, [])
        if not points:
            continue
        ns = [p["n"] for p in points]
        (line,) = times.plot(ns, [p["median_s"] for p in points], marker="o", label=label)
        memory.plot(ns, [p["peak_rss_mb"] for p in points], marker="o", label=label, color=line.get_color())
        # The targets at their sizes, in the curve's colour.
        targets = [e for e in results["benchmarks"] if e["benchmark"] == benchmark and e["target"]]
        for item in targets:
            seconds = target_seconds(item["target"])
            if seconds is not None:
                times.scatter([item["n"]], [seconds], marker="_", s=300, color=line.get_color(), zorder=3)
    for ax in (times, memory):
        ax.set_xscale("log")
        ax.set_xlabel("N (peers; resources for validate)")
        ax.grid(True, which="both", alpha=0.3)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    times.set_yscale("log")
    times.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    times.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    times.yaxis.set_minor_formatter(NullFormatter())
    times.set_ylabel(f"seconds, wall (median of {results['repeat']} runs)")
    times.set_title("time; short bars mark the targets", fontsize=10)
    memory.set_ylim(bottom=0)
    memory.set_ylabel("MB, peak resident memory")
    memory.set_title("memory of the reconciler process", fontsize=10)
    times.legend(fontsize=8)
    machine = results["machine"]
    # A run of some benchmarks (`run.py --only`) keeps the others' entries, from older commits.
    commits = sorted({e["commit"][:10] for e in results["benchmarks"]} or {results["commit"][:10]})
    fig.suptitle(
        f"reconciler {results['mode']} bench, {results['date'][:10]}, commit{'s' * (len(commits) > 1)} "
        f"{', '.join(commits)}; "
        f"{machine['cpu_count']} CPUs, Python {machine['python']}; whole processes, sandbox in its own process",
        fontsize=9,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def target_seconds(text: str) -> float | None:
    """The seconds of a target such as "< 1.6 s" or "< 7 s, < 300 MB" (None for a ratio)."""
    head = text.split(",", maxsplit=1)[0].strip()
    if head.startswith("<") and head.endswith(" s"):
        return float(head.lstrip("<= ").removesuffix(" s"))
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=BENCH / "results.json")
    parser.add_argument("--out", type=Path, default=BENCH.parent / "docs" / "bench.png")
    args = parser.parse_args()
    plot(json.loads(args.results.read_text(encoding="utf-8")), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
