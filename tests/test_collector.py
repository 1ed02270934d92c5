"""The cycle collector is off while a run builds objects that live to its end
(`reconciler/collector.py`): in the program, and around the manifest loader; an apply's calls and
waits run with it on."""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.collector import collecting, paused
from tests.e2e.conftest import EXAMPLE_KEYS, EXAMPLES

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    gc.unfreeze()
    if not was:
        gc.disable()


@pytest.mark.usefixtures("collector_on")
def test_paused_restores_the_collector_as_it_was_even_after_an_error() -> None:
    with paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused():
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    with paused():
        pass
    assert not gc.isenabled()  # it was off: it stays off


@pytest.mark.usefixtures("collector_on")
def test_collecting_turns_the_collector_on_and_freezes_what_was_made_before() -> None:
    frozen = gc.get_freeze_count()
    with collecting():  # on already: nothing to do
        assert gc.isenabled()
    assert gc.get_freeze_count() == frozen
    gc.disable()
    with pytest.raises(RuntimeError), collecting():
        assert gc.isenabled()
        assert gc.get_freeze_count() > frozen
        raise RuntimeError("boom")
    assert not gc.isenabled()


# Runs the program on the examples, recording whether the collector is on when the plan is built
# and when the apply's engine runs (and how many objects are frozen then).
PROBE = """
import gc, json, sys
from reconciler import workflow
from reconciler.apply.engine import Engine
seen = []
def recording(owner, name):
    original = getattr(owner, name)
    def wrapped(*args, **kwargs):
        seen.append([name, gc.isenabled(), gc.get_freeze_count() > 0])
        return original(*args, **kwargs)
    setattr(owner, name, wrapped)
recording(workflow, "build_plan")
recording(Engine, "run")
sys.argv = ["reconciler", *sys.argv[2:]]
from reconciler.cli import program
try:
    program()
except SystemExit as exit:
    code = exit.code
with open(REPORT, "w") as out:
    json.dump({"code": code, "seen": seen, "collecting": gc.isenabled()}, out)
"""


def run_program(tmp_path: Path, *args: str) -> dict[str, object]:
    report = tmp_path / "report.json"
    env = {**os.environ, **EXAMPLE_KEYS, "PYTHONPATH": str(REPO)}
    env.pop("RECONCILER_STATE", None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE.replace("REPORT", repr(str(report))), "-", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert report.exists(), done.stderr[-3000:]
    found: dict[str, object] = json.loads(report.read_text())
    assert found["code"] in (0, None), done.stdout[-3000:] + done.stderr[-3000:]
    return found


def test_the_program_plans_with_the_collector_off_and_applies_with_it_on(tmp_path: Path) -> None:
    for cloud in ("alibaba", "equinix"):
        shutil.copytree(EXAMPLES / cloud, tmp_path / "bgp" / cloud)
    sandbox = ("--sandbox-data", str(tmp_path / "sandbox.json"), "--sandbox")
    planned = run_program(tmp_path, *sandbox, "plan", "bgp")
    assert planned["seen"] == [["build_plan", False, False]] and planned["collecting"] is False
    applied = run_program(tmp_path, *sandbox, "apply", "--auto-approve", "bgp")
    assert applied["seen"] == [["build_plan", False, False], ["run", True, True]]  # the plan's objects frozen
    assert applied["collecting"] is False  # off again once the calls are done
