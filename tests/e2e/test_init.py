"""`reconciler init [DIR]` end to end: what it writes, that it never overwrites a file, that what it
writes works (the example validates and plans against the embedded sandbox; Git ignores what must
stay out of the repository), and that a wheel carries the files it copies."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from reconciler import package_data
from tests.e2e.conftest import REPO, cli

GITOPS = REPO / "examples" / "gitops"
BASE_FILES = [".gitignore", ".reconcilerignore", "bgp/example.yaml", "bgp/keys.env.example"]
GITHUB_FILES = [f".github/workflows/{p.name}" for p in sorted((GITOPS / "github" / "workflows").iterdir())]


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_init_writes_a_clean_repository_layout_that_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"  # missing: created
    result = cli("init", str(repo), "--ci", "github")
    assert result.code == 0, result.both
    assert sorted(snapshot(repo)) == sorted(BASE_FILES + GITHUB_FILES)
    for path in BASE_FILES + GITHUB_FILES:
        assert f"  written  {path}\n" in result.out  # relative to DIR
    for name in GITHUB_FILES:
        assert (repo / name).read_bytes() == (GITOPS / "github" / "workflows" / Path(name).name).read_bytes()
    first = (repo / "bgp" / "example.yaml").read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    schema = (repo / "bgp" / first.split("$schema=", 1)[1]).resolve()
    assert schema == (REPO / "schemas" / "manifest.schema.json").resolve()
    assert "EXAMPLE_BGP_KEY=\n" in (repo / "bgp" / "keys.env.example").read_text()

    # The example is a valid manifest, and plans against the embedded sandbox with no account.
    monkeypatch.chdir(repo)
    monkeypatch.setenv("EXAMPLE_BGP_KEY", "ExampleKeyNotReal1")
    monkeypatch.delenv("RECONCILER_STATE", raising=False)
    assert cli("validate", "bgp").code == 0
    planned = cli("--sandbox", "plan", "bgp", "--out", "plan.json")
    assert planned.code == 0, planned.both
    assert "Plan: 3 to add" in planned.out

    # Git ignores what reconciler writes beside the manifests, and not the manifests.
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    ignored = ["plan.json", "state/reconciler.json.journal", "state/reconciler.json.backup"]
    ignored += ["state/reconciler.json.lock.json", "review.plan.json", "state/sandbox.json"]
    ignored += ["state/sandbox.json.log", "state/sandbox.json.lock", "sandbox.json.lock.json"]
    kept = ["bgp/example.yaml", "state/reconciler.json", ".reconcilerignore", GITHUB_FILES[0]]
    checked = subprocess.run(
        ["git", "-C", str(repo), "check-ignore", "--no-index", *ignored, *kept],
        capture_output=True,
        text=True,
        check=False,
    )
    assert sorted(checked.stdout.split()) == sorted(ignored)


def test_init_never_overwrites_and_appends_only_missing_gitignore_entries(tmp_path: Path) -> None:
    (tmp_path / "bgp").mkdir()
    (tmp_path / "bgp" / "example.yaml").write_text("# mine\n")
    (tmp_path / ".gitignore").write_text("node_modules/\n*.journal\nplan.json")  # no final newline
    before = snapshot(tmp_path)

    result = cli("init", str(tmp_path), "--ci", "gitlab")
    assert result.code == 0, result.both
    assert "  kept     bgp/example.yaml (it exists)\n" in result.out
    assert "  updated  .gitignore (6 missing entries added at its end)\n" in result.out
    for path in [".reconcilerignore", "bgp/keys.env.example", ".gitlab-ci.yml"]:
        assert f"  written  {path}\n" in result.out
    after = snapshot(tmp_path)
    assert after["bgp/example.yaml"] == b"# mine\n"
    gitignore = after[".gitignore"].decode()
    assert gitignore.startswith("node_modules/\n*.journal\nplan.json\n")  # every line kept, in place
    assert gitignore.splitlines().count("plan.json") == 1 and "sandbox.json.*" in gitignore.splitlines()
    assert after[".gitlab-ci.yml"] == (GITOPS / "gitlab" / ".gitlab-ci.yml").read_bytes()
    assert set(after) == set(before) | {".reconcilerignore", "bgp/keys.env.example", ".gitlab-ci.yml"}

    again = cli("init", str(tmp_path), "--ci", "gitlab")
    assert again.code == 0, again.both
    assert "written" not in again.out and "updated" not in again.out
    assert "  kept     .gitignore (it has every entry)\n" in again.out
    assert snapshot(tmp_path) == after


@pytest.mark.parametrize("blocker", ["bgp", ".github"])
def test_a_file_in_the_way_is_refused_before_anything_is_written(tmp_path: Path, blocker: str) -> None:
    (tmp_path / blocker).write_text("a file, not a folder\n")
    before = snapshot(tmp_path)
    result = cli("init", str(tmp_path), "--ci", "github")
    assert result.code == 1
    assert f"{blocker} is not a folder; nothing was written" in result.err
    assert "Traceback" not in result.both
    assert snapshot(tmp_path) == before


def test_init_refuses_a_dir_that_is_a_file_and_an_unknown_ci(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x\n")
    result = cli("init", str(tmp_path / "file"))
    assert result.code == 1 and "is not a folder" in result.err and "Traceback" not in result.both
    unknown = cli("init", str(tmp_path / "new"), "--ci", "jenkins")
    assert unknown.code == 1 and "'jenkins' is not one of 'github', 'gitlab'" in unknown.err
    assert not (tmp_path / "new").exists()


def test_init_needs_no_state_and_no_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # init writes files only: a state in a missing folder, or none chosen in CI, is no reason to refuse.
    monkeypatch.setenv("RECONCILER_STATE", str(tmp_path / "missing" / "state.json"))
    monkeypatch.setenv("CI", "true")
    result = cli("init", str(tmp_path / "repo"))
    assert result.code == 0, result.both
    assert (tmp_path / "repo" / "bgp" / "example.yaml").is_file()
    assert not (tmp_path / "missing").exists()


def test_a_wheel_carries_every_file_init_copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # pyproject's force-include puts examples/gitops in the wheel as reconciler/_examples/gitops ...
    include = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert include["force-include"]["examples/gitops"] == "reconciler/_examples/gitops"
    # ... where an installed package finds them (hidden files included).
    package = tmp_path / "site-packages" / "reconciler"
    for path in (p for p in GITOPS.rglob("*") if p.is_file()):
        target = package / "_examples" / "gitops" / path.relative_to(GITOPS)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    (package / "_schemas").mkdir()
    shutil.copyfile(REPO / "schemas" / "manifest.schema.json", package / "_schemas" / "manifest.schema.json")
    monkeypatch.setattr(package_data, "_PACKAGE", package)
    files = package_data.example_files("gitops/gitlab")
    assert files == {".gitlab-ci.yml": package / "_examples" / "gitops" / "gitlab" / ".gitlab-ci.yml"}
    result = cli("init", str(tmp_path / "repo"), "--ci", "gitlab")
    assert result.code == 0, result.both
    assert (tmp_path / "repo" / ".gitlab-ci.yml").read_bytes() == (GITOPS / "gitlab" / ".gitlab-ci.yml").read_bytes()
