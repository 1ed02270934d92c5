"""`reconciler show PLANFILE` through the CLI, in every format, with bad files, and what it says of the
plan's signature."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli, main
from reconciler.errors import PlanError
from reconciler.plan.planfile import load_plan, save_plan
from reconciler.plan.signing import PLAN_KEY_ENV
from reconciler.render import render_plan

# The sample plan (every action), saved by the rendering tests' JSON snapshot.
SAMPLE = Path(__file__).parents[1] / "render" / "snapshots" / "sample.plan.json"
UNSIGNED = "Signature: none (the plan is not signed)."
KEY = "a-plan-key-of-at-least-32-bytes!"


@pytest.fixture(autouse=True)
def _no_plan_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PLAN_KEY_ENV, raising=False)


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
    assert out == render_plan(load_plan(planfile), "text", color=False) + f"\n{UNSIGNED}\n"
    # The destructive-change warning comes first, then the actions.
    assert out.startswith("Warning: this plan will delete 1, replace 1 and forget 1 of the managed resources.")
    assert "Reconciler will perform the following actions:\n\n  + AlibabaBgpGroup/sg-vbr2 will be created\n" in out
    assert "  - (forget) EquinixBgpPeering/hk-ne1" in out
    assert out.endswith(
        "Plan: 2 to add, 2 to change, 1 to destroy, 1 to replace, 1 to forget, 1 to adopt. 1 unchanged.\n"
        f"\n{UNSIGNED}\n"
    )
    assert "\x1b[" not in out  # not a terminal: no colour
    assert _show(str(planfile), "--format", "text")[1] == out


def test_markdown(planfile: Path) -> None:
    code, out, _ = _show(str(planfile), "--format", "markdown")
    assert code == 0
    assert out.splitlines()[0] == "**Plan:** `+2 ~2 -1` · 1 to replace · 1 to forget · 1 to adopt · 1 unchanged"
    assert out.count("<details><summary>") == 8
    assert f"`reconciler apply {planfile}`" in out  # the hints name the file shown
    assert out == render_plan(load_plan(planfile), "markdown", plan_file=str(planfile)) + f"\n{UNSIGNED}\n"


def test_json_is_the_plan_file_itself(planfile: Path) -> None:
    code, out, err = _show(str(planfile), "--format", "json")
    assert code == 0
    assert out == planfile.read_text(encoding="utf-8")
    assert err == f"{UNSIGNED}\n"  # stdout stays one JSON document


@pytest.fixture
def signed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "signed.json"
    save_plan(load_plan(SAMPLE), path, manifest_paths=("bgp",), env={PLAN_KEY_ENV: KEY})
    monkeypatch.delenv(PLAN_KEY_ENV, raising=False)
    return path


def test_a_signed_plan_is_verified_when_the_key_is_set(signed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _show(str(signed))[1].endswith(f"\nSignature: present, not checked ({PLAN_KEY_ENV} is not set).\n")
    monkeypatch.setenv(PLAN_KEY_ENV, KEY)
    code, out, _ = _show(str(signed))
    assert code == 0
    assert out.endswith(f"\nSignature: verified with {PLAN_KEY_ENV}.\n")
    assert KEY not in out
    code, out, err = _show(str(signed), "--format", "json")
    assert code == 0 and err == f"Signature: verified with {PLAN_KEY_ENV}.\n"
    assert "signature" not in json.loads(out)  # the plan document, as `plan --format json` prints it


def test_a_tampered_or_foreign_plan_is_said_not_to_verify(signed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    document = json.loads(signed.read_text())
    document["resource_changes"][0]["after"]["description"] = "edited after signing"
    signed.write_text(json.dumps(document))
    monkeypatch.setenv(PLAN_KEY_ENV, KEY)
    code, out, _ = _show(str(signed))
    assert code == 0  # show is for reading: it says so, and apply refuses
    assert out.endswith(
        f"\nSignature: DOES NOT VERIFY with {PLAN_KEY_ENV}: the plan was changed after it was signed, "
        "or signed with another key. apply refuses it.\n"
    )


def test_an_unsigned_plan_while_a_key_is_set(planfile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PLAN_KEY_ENV, KEY)
    assert _show(str(planfile))[1].endswith(
        f"\nSignature: none. apply refuses an unsigned plan while {PLAN_KEY_ENV} is set.\n"
    )


def test_a_short_key_is_an_error(planfile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PLAN_KEY_ENV, "too-short")
    result = CliRunner().invoke(cli, ["show", str(planfile)])
    assert result.exit_code == 1
    assert str(result.exception).startswith(f"{PLAN_KEY_ENV} is too short")
    assert "too-short" not in str(result.exception)


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
