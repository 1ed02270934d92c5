"""The benchmark suite does not rot: its cheapest benchmark runs as a whole process and writes a
results file that bench/plot.py and bench/readme.py both read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"


def bench_script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH / name), *args], capture_output=True, text=True, check=False, timeout=120
    )


def test_a_quick_run_writes_a_results_file_the_plot_and_the_readme_read(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = bench_script("run.py", "--quick", "--only", "help", "--out", str(results))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[help] reconciler --help" in done.stdout and f"wrote {results}" in done.stdout

    data = json.loads(results.read_text(encoding="utf-8"))
    assert data["format"] == 1 and data["mode"] == "quick" and data["repeat"] == 1
    assert data["machine"]["cpu_count"] >= 1 and data["machine"]["python"]
    assert len(data["commit"]) == 40 or data["commit"] == "unknown"
    [help_entry] = data["benchmarks"]
    assert help_entry["benchmark"] == "help" and help_entry["n"] is None
    assert len(help_entry["runs_s"]) == 1 and help_entry["median_s"] == help_entry["runs_s"][0] > 0
    assert help_entry["cpu_median_s"] > 0 and help_entry["peak_rss_mb"] > 1
    assert help_entry["target"] == "< 0.1 s" and isinstance(help_entry["pass"], bool)
    assert data["series"] == {}

    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n<!-- bench:start -->\nold\n<!-- bench:end -->\n\nafter\n", encoding="utf-8")
    done = bench_script("readme.py", "--results", str(results), "--readme", str(readme))
    assert done.returncode == 0, done.stderr
    text = readme.read_text(encoding="utf-8")
    assert "| `reconciler --help` | < 0.1 s |" in text and "old" not in text and text.endswith("after\n")

    pytest.importorskip("matplotlib")
    picture = tmp_path / "bench.png"
    done = bench_script("plot.py", "--results", str(results), "--out", str(picture))
    assert done.returncode == 0, done.stderr
    assert picture.read_bytes().startswith(b"\x89PNG")


def test_an_unknown_benchmark_name_is_refused_with_the_valid_ones(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = bench_script("run.py", "--only", "plans", "--out", str(results))
    assert done.returncode == 1
    valid = "help, plan, floor, validate, validate-cold, drift, apply, apply-latency"
    assert f"--only: unknown benchmark plans; valid: {valid}" in done.stderr
    assert "Traceback" not in done.stderr and not results.exists()


def test_the_floor_benchmark_runs_a_plan_beside_the_same_of_equinix_only_and_its_imports_alone(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = bench_script("run.py", "--quick", "--only", "floor", "--out", str(results))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the plan of both clouds imports" in done.stdout

    rows = json.loads(results.read_text(encoding="utf-8"))["benchmarks"]
    assert [row["benchmark"] for row in rows] == ["floor"] * 3
    both, equinix, imports = rows
    assert both["work"] == "no-change `plan`, 100 peers, 0 ms, run in turn with the two below"
    assert equinix["work"] == "the same plan of 100 Equinix peers (no Alibaba SDK to import)"
    assert imports["work"] == "importing what the plan of 100 peers of both clouds imports, and nothing else"
    # The imports are read from a real plan: reconciler's, httpx's and the Alibaba SDK's modules.
    assert imports["details"]["plan_imports"] > 300
    for row in rows:
        assert row["n"] is None and row["target"] is None and row["pass"] is None
        assert len(row["runs_s"]) == 1 and row["runs_s"][0] > 0 and row["peak_rss_mb"] > 1
