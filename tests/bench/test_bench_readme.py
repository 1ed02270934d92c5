"""The README's performance figures are the ones bench/results.json holds: `bench/readme.py --check`
fails on a hand edit of the generated block, and passes on the committed README."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README_SCRIPT = REPO / "bench" / "readme.py"


def readme_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(README_SCRIPT), "--check", *args], capture_output=True, text=True, check=False
    )


def test_the_readme_block_is_what_the_committed_results_give() -> None:
    done = readme_check()
    assert done.returncode == 0, done.stderr


def test_a_hand_edited_figure_fails_the_check(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start, end = readme.index("<!-- bench:start -->"), readme.index("<!-- bench:end -->")
    block = readme[start:end]
    edited = block.replace(" s (", " s (0", 1)  # one figure changed by hand
    assert edited != block
    copy = tmp_path / "README.md"
    copy.write_text(readme[:start] + edited + readme[end:], encoding="utf-8")
    done = readme_check("--readme", str(copy))
    assert done.returncode == 1
    assert str(copy) in done.stderr and "bench/readme.py" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_readme_without_the_markers_is_a_clear_error(tmp_path: Path) -> None:
    copy = tmp_path / "README.md"
    copy.write_text("# reconciler\n\nNo figures here.\n", encoding="utf-8")
    done = readme_check("--readme", str(copy))
    assert done.returncode == 1
    assert "<!-- bench:start -->" in done.stderr and "Traceback" not in done.stderr


def test_figures_kept_from_an_earlier_run_name_the_commit_they_were_measured_at() -> None:
    # `bench/run.py --only` keeps the other benchmarks' entries: the block must not credit them
    # to the commit of the last run.
    spec = importlib.util.spec_from_file_location("bench_readme", README_SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    commits = script.commits

    def entry(name: str, commit: str, dirty: bool = False) -> dict[str, object]:
        return {"benchmark": name, "commit": commit, "dirty": dirty}

    one = {"commit": "a" * 40, "dirty": False, "benchmarks": [entry("plan", "a" * 40), entry("plan", "a" * 40)]}
    assert commits(one) == "at commit `aaaaaaaaaa`"
    mixed = {
        "commit": "b" * 40,
        "dirty": False,
        "benchmarks": [entry("help", "a" * 40), entry("plan", "b" * 40, dirty=True), entry("apply", "a" * 40)],
    }
    assert commits(mixed) == "at commits `aaaaaaaaaa` (help, apply) and `bbbbbbbbbb` with uncommitted changes (plan)"
