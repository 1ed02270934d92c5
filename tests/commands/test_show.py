"""`reconciler show PLANFILE` through the CLI, in every format, and with bad files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli, main
from reconciler.errors import PlanError
from reconciler.plan.planfile import load_plan
from reconciler.render import render_plan

# The sample plan (every action), saved by the rendering tests' JSON snapshot.
SAMPLE = Path(__file__).parents[1] / "render" / "snapshots" / "sample.plan.json"


@pytest.fixture
def planfile(tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    shutil.copyfile(SAMPLE, path)
    return path


def _show(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["show", *args])
    return result.exit_code, result.stdout, result.stderr


def test_text_is_the_default(planfile: Path) -> None:
    code, out, _ = _show(str(planfile))
    assert code == 0
    assert out == render_plan(load_plan(planfile), "text", color=False)
    assert out.startswith(
        "Reconciler will perform the following actions:\n\n  + AlibabaBgpGroup/sg-vbr2 will be created\n"
    )
    assert "  - (forget) EquinixBgpPeering/hk-ne1" in out
    assert out.endswith(
        "Plan: 2 to add, 2 to change, 1 to destroy, 1 to replace, 1 to forget, 1 to adopt. 1 unchanged.\n"
    )
    assert "\x1b[" not in out  # not a terminal: no colour
    assert _show(str(planfile), "--format", "text")[1] == out


def test_markdown(planfile: Path) -> None:
    code, out, _ = _show(str(planfile), "--format", "markdown")
    assert code == 0
    assert out.splitlines()[0] == "**Plan:** `+2 ~2 -1` · 1 to replace · 1 to forget · 1 to adopt · 1 unchanged"
    assert out.count("<details><summary>") == 8
    assert f"`reconciler apply {planfile}`" in out  # the hints name the file shown
    assert out == render_plan(load_plan(planfile), "markdown", plan_file=str(planfile))


def test_json_is_the_plan_file_itself(planfile: Path) -> None:
    code, out, _ = _show(str(planfile), "--format", "json")
    assert code == 0
    assert out == planfile.read_text(encoding="utf-8")


def test_bad_file_exits_1_with_the_reason(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(SAMPLE.read_text()[:500])
    result = CliRunner().invoke(cli, ["show", str(broken)])
    assert result.exit_code == 1
    assert isinstance(result.exception, PlanError)
    assert str(result.exception).startswith(f"plan file {broken} is truncated")
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        ("{not json", "is corrupt: not valid JSON at line 1, column 2"),
        ('{"format_version": "2.0"}', "was made by a newer reconciler (format 2.0); this one reads 1.x"),
    ],
)
def test_the_real_entry_point_prints_one_error_line_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, expected: str
) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit) as exited:
        main(["show", str(path)])
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"Error: plan file {path} {expected}")
    assert "Traceback" not in captured.err


def test_usage_errors_exit_1(planfile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["show", str(planfile), "--format", "yaml"])
    assert exited.value.code == 1
    assert "'yaml' is not one of 'text', 'markdown', 'json'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["show"])
    assert exited.value.code == 1
    assert "Missing argument 'PLANFILE'" in capsys.readouterr().err
