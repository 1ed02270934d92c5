"""Where the embedded sandbox keeps its data (the user's cache folder, keyed by the repository;
`--sandbox-data FILE`), the move out of the repository of the data earlier versions kept in
`state/sandbox.json`, and `sandbox serve --data FILE` sharing the data file's lock with `--sandbox`
runs, and deriving its seed from manifests (`--seed-from`)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.conftest import EXAMPLE_KEYS, cli, run, spawn
from tests.sandbox.test_store import _read_exports


def cache_file(repository: Path) -> Path:
    digest = hashlib.sha256(os.path.realpath(repository).encode()).hexdigest()[:32]
    return Path(os.environ["XDG_CACHE_HOME"]) / "reconciler" / "sandbox" / f"{digest}.json"


def test_the_data_lives_in_the_cache_folder_keyed_by_the_repository(examples_repo: Path) -> None:
    applied = cli("--sandbox", "apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    data = cache_file(examples_repo)
    assert data.is_file()
    assert data.stat().st_mode & 0o777 == 0o600 and data.parent.stat().st_mode & 0o777 == 0o700
    assert EXAMPLE_KEYS["SG_BGP_KEY"] in data.read_text()  # the keys in clear: out of the repository
    for path in (p for p in examples_repo.rglob("*") if p.is_file() and ".git" not in p.parts):
        assert EXAMPLE_KEYS["SG_BGP_KEY"].encode() not in path.read_bytes(), path
        assert "sandbox" not in path.name
    # From a subfolder of the same work tree, the same sandbox: its objects are there.
    os.chdir(examples_repo / "bgp")
    again = cli(
        "--sandbox", "--state", str(examples_repo / "state" / "reconciler.json"), "plan", ".", "--detailed-exitcode"
    )
    assert again.code == 0, again.both


def test_sandbox_data_chooses_the_file(examples_repo: Path, tmp_path: Path) -> None:
    chosen = tmp_path / "elsewhere" / "box.json"
    applied = cli("--sandbox", "--sandbox-data", str(chosen), "apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    assert chosen.is_file() and not cache_file(examples_repo).exists()
    assert cli("--sandbox", "--sandbox-data", str(chosen), "plan", "bgp", "--detailed-exitcode").code == 0


def test_the_data_of_an_earlier_version_moves_out_of_the_repository_once(examples_repo: Path) -> None:
    earlier = examples_repo / "state" / "sandbox.json"
    # Where earlier versions kept it: their runs wrote exactly this file.
    assert cli("--sandbox", "--sandbox-data", str(earlier), "apply", "bgp", "--auto-approve").code == 0
    assert earlier.is_file()

    moved = cli("--sandbox", "plan", "bgp", "--detailed-exitcode")
    assert moved.code == 0, moved.both  # the objects the state records came along
    assert "moved the embedded sandbox's data out of the repository" in moved.err
    assert str(cache_file(examples_repo)) in moved.err
    assert not earlier.exists() and not (examples_repo / "state" / "sandbox.json.log").exists()
    assert cache_file(examples_repo).is_file()

    quiet = cli("--sandbox", "plan", "bgp", "--detailed-exitcode")
    assert quiet.code == 0 and "moved" not in quiet.err


def _wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@contextmanager
def holding_folder_lock(folder: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the local state's lock (a flock on its folder)."""
    code = (
        "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY); "
        "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(120)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def test_serve_and_sandbox_runs_take_turns_on_one_data_file(examples_repo: Path, tmp_path: Path) -> None:
    data = tmp_path / "shared.json"
    state = examples_repo / "state" / "reconciler.json"
    state.parent.mkdir()
    env = {"RECONCILER_STATE": str(state)}

    # A `--sandbox` run holds the data file for its whole run (here: waiting for the state lock).
    with holding_folder_lock(state.parent):
        applying = spawn(
            "--sandbox", "--sandbox-data", str(data), "--lock-timeout", "60", "apply", "bgp", "--auto-approve", env=env
        )
        _wait_for(Path(f"{data}.lock.json"), applying)
        refused = run("sandbox", "serve", "--data", str(data), env=env)
        assert refused.code == 1
        assert f"the sandbox data {data} is in use by a `reconciler --sandbox` run (pid {applying.pid}" in refused.err
        assert "Traceback" not in refused.both
    _, err = applying.communicate(timeout=120)
    assert applying.returncode == 0, err

    # A `sandbox serve --data` holds it for its whole life; it serves what the apply created.
    serving = spawn("sandbox", "serve", "--data", str(data), "--seed-from", "bgp", env=env)
    try:
        exports = _read_exports(serving)
        blocked = run("--sandbox", "--sandbox-data", str(data), "plan", "bgp", env=env)
        assert blocked.code == 1
        assert f"the sandbox data {data} is in use by `reconciler sandbox serve` (pid {serving.pid}" in blocked.err
        served = run("plan", "bgp", "--detailed-exitcode", env={**env, **exports})
        assert served.code == 0, served.both  # nothing lost: every object the apply made is there
    finally:
        serving.send_signal(signal.SIGINT)
        serving.communicate(timeout=30)
    assert serving.returncode == 0
    assert run("--sandbox", "--sandbox-data", str(data), "plan", "bgp", "--detailed-exitcode", env=env).code == 0


def test_serve_seeds_from_manifests_and_the_manifests_plan_against_it(examples_repo: Path, tmp_path: Path) -> None:
    serving = spawn("sandbox", "serve", "--seed-from", "bgp/alibaba", "--seed-from", "bgp/equinix")
    try:
        exports = _read_exports(serving)
        env = {**exports, "RECONCILER_STATE": str(tmp_path / "state.json")}
        applied = run("apply", "bgp", "--auto-approve", env=env)
        assert applied.code == 0, applied.both  # every device, connection, region and VBR exists
        assert run("plan", "bgp", "--detailed-exitcode", env=env).code == 0
    finally:
        serving.send_signal(signal.SIGINT)
        serving.communicate(timeout=30)
    assert serving.returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed-from", "bgp", "--seed", "seed.yaml"], "--seed and --seed-from are alternatives"),
        (["--seed-from", "bgp/broken"], "invalid manifests"),
        (["--seed-from", "nowhere"], "nowhere"),
    ],
)
def test_serve_refuses_bad_seed_manifests_without_starting(examples_repo: Path, args: list[str], message: str) -> None:
    broken = examples_repo / "bgp" / "broken" / "bad.yaml"
    broken.parent.mkdir()
    broken.write_text("apiVersion: reconciler/v1\nkind: NoSuchKind\nmetadata: {name: x}\nspec: {}\n")
    result = run("sandbox", "serve", *args, timeout=60)
    assert result.code == 1, result.both
    assert message in result.err
    assert "Traceback" not in result.both and "is running" not in result.out
