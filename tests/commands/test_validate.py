"""`reconciler validate`: exit codes, output, JSON format, and no traceback on bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from reconciler.cli import cli
from reconciler.package_data import load_schema
from tests.manifest.builders import dump, equinix, group, peer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CORPUS = ROOT / "tests" / "manifest" / "corpus"
LITERAL_SECRETS = ("hunter2LiteralKey", "S3cretLiteral99", "hunter2InAMapping")


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["validate", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def run_process(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The real entry point, as a user runs it (errors handled by `reconciler.cli.main`)."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    return subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_examples_are_valid() -> None:
    code, output = run_cli(str(EXAMPLES))
    assert (code, output) == (0, "OK: 15 resources in 4 files\n")


def test_the_current_folder_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.yaml").write_text(dump([group(), peer()]))
    monkeypatch.chdir(tmp_path)
    assert run_cli() == (0, "OK: 2 resources in 1 file\n")


def test_every_problem_is_listed_with_a_summary(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(dump([group(peerAsn=45104), peer(enableBfd=True, bfdMultiHop=0)]))
    (tmp_path / "b.yaml").write_text(dump([equinix(remoteIpAddress="10.0.1.2")]))
    (tmp_path / "c.yaml").write_text(dump([equinix("other", connectionUuid="11111111-0ce3-4950-be27-3d3e678e6873")]))
    code, output = run_cli(str(tmp_path))
    a, b = (tmp_path / "a.yaml").as_posix(), (tmp_path / "b.yaml").as_posix()
    assert code == 1
    assert output.splitlines() == [
        f"{a}:8:12: spec.peerAsn: 45104 is Alibaba Cloud's own ASN, so it cannot be the peer ASN: peerAsn is "
        "your side's ASN (e.g. the Equinix device's localAsn)",
        f"{a}:18:16: spec.bfdMultiHop: 0 is below the minimum 1 (BFD hop count 1..255)",
        f"{b}:9:20: spec.remoteIpAddress: 10.0.1.2 is outside localIpAddress's subnet 10.0.0.0/30: the remote "
        "address must be in 10.0.0.0/30 (10.0.0.1-10.0.0.2)",
        "3 problems in 2 files (4 documents checked)",
    ]


def test_json_output_follows_its_schema(tmp_path: Path) -> None:
    validator = Draft202012Validator(load_schema("diagnostics.schema.json"))
    code, output = run_cli(str(CORPUS), "--format", "json")
    report = json.loads(output)
    validator.validate(report)
    assert code == 1 and report["valid"] is False
    assert report["summary"]["files_checked"] == len(list(CORPUS.glob("*.yaml")))
    assert report["summary"]["errors"] == len(report["diagnostics"]) >= 70
    bfd = [d for d in report["diagnostics"] if d["file"].endswith("bfd-hop-zero.yaml") and d["line"] == 20]
    assert bfd == [
        {
            "file": (CORPUS / "bfd-hop-zero.yaml").as_posix(),
            "line": 20,
            "col": 16,
            "path": "spec.bfdMultiHop",
            "code": "schema.minimum",
            "severity": "error",
            "message": "0 is below the minimum 1 (BFD hop count 1..255)",
        }
    ]
    code, output = run_cli(str(EXAMPLES), "--format", "json")
    report = json.loads(output)
    validator.validate(report)
    assert (code, report["valid"], report["summary"]["resources"], report["diagnostics"]) == (0, True, 15, [])


def test_json_output_for_a_path_that_does_not_exist(tmp_path: Path) -> None:
    code, output = run_cli(str(tmp_path / "nope"), "--format", "json")
    report = json.loads(output)
    Draft202012Validator(load_schema("diagnostics.schema.json")).validate(report)
    assert code == 1
    assert report["diagnostics"][0]["code"] == "path-not-found"
    assert report["error"].startswith(f"path not found: {tmp_path / 'nope'}")


def test_missing_paths_and_empty_folders_are_clear_errors_without_traceback(tmp_path: Path) -> None:
    done = run_process(str(tmp_path / "nope"))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(f"Error: path not found: {tmp_path / 'nope'} ")
    (tmp_path / "README.md").write_text("hello\n")
    done = run_process(str(tmp_path))
    assert done.returncode == 1
    assert done.stderr.startswith(f"Error: no manifests found in {tmp_path}: expected *.yaml or *.yml files")
    assert "Traceback" not in done.stderr


def test_hostile_input_never_produces_a_traceback_or_echoes_a_secret(tmp_path: Path) -> None:
    shutil.copytree(CORPUS, tmp_path / "corpus")
    (tmp_path / "binary.yaml").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "nul.yaml").write_bytes(b"apiVersion: reconciler/v1\x00\nkind: x\n")
    (tmp_path / "deep.yaml").write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")  # libyaml's limit
    (tmp_path / "deeper.yaml").write_text("a: " + "[" * 900 + "]" * 900 + "\n")  # ours
    (tmp_path / "nested.yaml").write_text("".join("  " * i + "k:\n" for i in range(600)) + "  " * 600 + "k: 1\n")
    (tmp_path / "huge-int.yaml").write_text(dump([group(peerAsn=10**40)]))
    (tmp_path / "huger-int.yaml").write_text(dump([group()]).replace("65010", "9" * 5000))
    done = run_process(str(tmp_path))
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr and "internal error" not in done.stderr
    *problems, summary = done.stdout.splitlines()  # one line per problem, then the summary
    assert summary.startswith(f"{len(problems)} problems in {len(list(tmp_path.rglob('*.yaml')))} files (")
    nul = (tmp_path / "nul.yaml").as_posix()
    assert f"{nul}:1:26: invalid YAML: character #x0000 (control characters are not allowed); remove it" in problems
    assert any(
        line.startswith(f"{tmp_path.as_posix()}/deeper.yaml:1:") and "nests more than 64" in line for line in problems
    )
    huger = (tmp_path / "huger-int.yaml").as_posix()
    assert f"{huger}:8:12: spec.peerAsn: the number is too large to read" in problems
    for literal in LITERAL_SECRETS:
        assert literal not in done.stdout + done.stderr


def test_the_pre_commit_hook_runs_validate_once_per_commit() -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "reconciler-validate"
    assert hook["entry"] == "reconciler validate"
    assert hook["pass_filenames"] is False  # references cross files: validate the whole set
    assert hook["language"] == "python"
