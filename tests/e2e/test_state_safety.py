"""The local state through the CLI when things go wrong around it: lock files deleted during an
apply, applies that change nothing, and state paths that are not a writable regular file.

Every command that could hang or run away (a FIFO, /dev/zero) runs as a real process with a
deadline and a memory limit, so a regression fails the test instead of the machine.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.sandbox import Sandbox
from tests.e2e.conftest import Result, cli, edit_document, spawn, write_documents

STATE = Path("state/reconciler.json")
DEADLINE = 120.0  # seconds: generous; a hang is what the tests catch
MEMORY_LIMIT = 2 * 1024**3  # bytes of address space for a CLI run

# Root ignores file permissions. A root test run drops the two capabilities that let it do so
# (setpriv, util-linux), so read-only files and folders refuse it as they refuse everyone else.
UNPRIVILEGED = (
    ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search"]
    if os.geteuid() == 0
    else []
)
needs_permissions = pytest.mark.skipif(
    os.geteuid() == 0 and shutil.which("setpriv") is None,
    reason="running as root, which file permissions do not stop, and setpriv (util-linux) is missing "
    "to drop the capabilities that let it through",
)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_cli(*args: str, prefix: list[str] | None = None) -> Result:
    """The CLI as a real process, with a deadline and a memory limit."""
    proc = subprocess.run(
        [*(prefix or []), sys.executable, "-m", "reconciler", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        preexec_fn=_limit_memory,
        env=dict(os.environ),
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def serial(project: Path) -> int:
    value: int = json.loads((project / STATE).read_text())["serial"]
    return value


def assert_clean_failure(result: Result, *expected: str) -> None:
    assert result.code == 1, result.both
    for text in expected:
        assert text in result.err, result.both
    assert "internal error" not in result.both
    assert "Traceback" not in result.both


# -- the lock survives deleted lock files -------------------------------------------------------


def test_deleting_the_lock_files_during_an_apply_lets_no_second_apply_in_and_no_serial_is_written_twice(
    project: Path, sandbox: Sandbox
) -> None:
    assert cli("apply", "bgp", "--auto-approve", "--target", "AlibabaBgpGroup/sg-vbr1").code == 0
    before = serial(project)
    sandbox.configure(provision_delay=3.0)
    # One create only: once it waits for the group to settle, it has nothing left to journal.
    first = spawn("apply", "bgp", "--auto-approve", "--target", "AlibabaBgpGroup/hk-office")
    try:
        assert first.stderr is not None
        for line in first.stderr:  # its create was accepted and journaled; it waits for it
            if "waiting for the cloud to settle" in line:
                break
        # A user "cleans up" the state folder while the apply runs.
        (project / "state" / "reconciler.json.lock").unlink(missing_ok=True)  # older versions' lock file
        (project / "state" / "reconciler.json.lock.json").unlink()
        second = run_cli("apply", "bgp", "--auto-approve")
        assert_clean_failure(second, "is locked by another process")
        assert "no record says who holds it" in second.err
        _, err = first.communicate(timeout=DEADLINE)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 1, err
    assert "the lock record state/reconciler.json.lock.json was deleted" in err
    assert "refusing to write the state: nothing was written" in err
    assert "internal error" not in err
    assert serial(project) == before  # neither apply wrote: the next serial is not written twice
    sandbox.configure(provision_delay=0.0)
    third = cli("apply", "bgp", "--auto-approve", "--target", "AlibabaBgpGroup/hk-office")  # records it, once
    assert third.code == 0, third.both
    assert serial(project) == before + 1
    assert json.loads((project / "state" / "reconciler.json.backup").read_text())["serial"] == before
    assert "AlibabaBgpGroup/hk-office" in json.loads((project / STATE).read_text())["resources"]
    groups = [g for g in sandbox.objects().alibaba_groups.values() if g["Name"] == "hk-office"]
    assert len(groups) == 1


# -- an apply that changes nothing keeps the serial ---------------------------------------------


def test_a_failed_apply_keeps_the_serial_so_a_plan_saved_before_it_still_applies(
    project: Path, sandbox: Sandbox
) -> None:
    assert cli("apply", "bgp", "--auto-approve").code == 0
    before = serial(project)
    # Two changes: one the cloud will take...
    edit_document(project / "bgp", "AlibabaBgpGroup", "sg-vbr1", description="Singapore VBR 1, renumbered")
    # ...and one it refuses: a group on a VBR that does not exist.
    group = {
        "apiVersion": "reconciler/v1",
        "kind": "AlibabaBgpGroup",
        "metadata": {"name": "sg-nowhere"},
        "spec": {
            "regionId": "ap-southeast-1",
            "virtualBorderRouterId": "vbr-t4nnowhere0000000000001",
            "peerAsn": 65010,
            "description": "on a VBR that does not exist",
        },
    }
    write_documents(project / "bgp" / "alibaba" / "nowhere.yaml", [group])
    # The first is reviewed and saved; the second is applied (and fails) before the review is applied.
    assert cli("plan", "bgp", "--out", "reviewed.plan", "--target", "AlibabaBgpGroup/sg-vbr1").code == 0
    state_bytes = (project / STATE).read_bytes()
    failed = cli("apply", "bgp", "--auto-approve", "--target", "AlibabaBgpGroup/sg-nowhere")
    assert failed.code == 1, failed.both
    assert "failed    AlibabaBgpGroup/sg-nowhere" in failed.out
    assert f"State serial {before}." in failed.out
    assert serial(project) == before
    assert (project / STATE).read_bytes() == state_bytes  # not rewritten either
    assert (project / "state" / "reconciler.json.journal").read_bytes() == b""  # its entries are cleared
    applied = cli("apply", "reviewed.plan")  # not stale: the state did not move
    assert applied.code == 0, applied.both
    assert serial(project) == before + 1  # a real change: exactly one more
    groups = [g for g in sandbox.objects().alibaba_groups.values() if g["Name"] == "sg-vbr1"]
    assert [g["Description"] for g in groups] == ["Singapore VBR 1, renumbered"]


# -- state paths that are not a writable regular file -------------------------------------------


@pytest.fixture
def special_path(request: pytest.FixtureRequest, project: Path) -> Iterator[tuple[Path, str]]:
    """(a state path, what the message must call it)."""
    kind: str = request.param
    if kind == "folder":
        path = project / "state" / "reconciler.json"
        path.mkdir(parents=True)
        yield path, "is a folder, not a regular file"
    elif kind == "fifo":
        path = project / "state" / "reconciler.json"
        path.parent.mkdir()
        os.mkfifo(path)
        yield path, "is a named pipe (FIFO), not a regular file"
    else:
        yield Path(kind), "is a character device, not a regular file"


def _listing(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


@pytest.mark.parametrize("special_path", ["folder", "fifo", "/dev/null", "/dev/zero"], indirect=True)
@pytest.mark.parametrize("command", [("plan", "bgp"), ("apply", "bgp", "--auto-approve"), ("state", "list")])
def test_a_state_path_that_is_not_a_regular_file_gets_a_message_and_nothing_is_written(
    project: Path, sandbox: Sandbox, special_path: tuple[Path, str], command: tuple[str, ...]
) -> None:
    path, kind = special_path
    companions = [path.with_name(path.name + suffix) for suffix in (".lock.json", ".journal", ".backup")]
    folder_before = _listing(path.parent) if path.parent != Path("/dev") else None
    objects_before = sandbox.objects().counts()
    result = run_cli("--state", str(path), *command)
    assert_clean_failure(result, f"Error: the state file {path} {kind}", "such as state/reconciler.json")
    if kind.startswith("is a folder"):
        assert f"e.g. {path / 'reconciler.json'}" in result.err
    assert not any(companion.exists() for companion in companions)
    if folder_before is not None:
        assert _listing(path.parent) == folder_before
    assert sandbox.objects().counts() == objects_before  # no cloud call was made


@needs_permissions
@pytest.mark.parametrize("read_only", ["folder", "file"])
def test_a_read_only_state_is_refused_before_any_cloud_call_and_can_still_be_planned(
    project: Path, sandbox: Sandbox, read_only: str
) -> None:
    assert cli("apply", "bgp", "--auto-approve", "--target", "AlibabaBgpGroup/sg-vbr1").code == 0
    state_bytes = (project / STATE).read_bytes()
    groups_before = set(sandbox.objects().alibaba_groups)
    target = project / "state" if read_only == "folder" else project / STATE
    target.chmod(0o555 if read_only == "folder" else 0o444)
    try:
        refused = run_cli("apply", "bgp", "--auto-approve", prefix=UNPRIVILEGED)
        planned = run_cli("plan", "bgp", "--detailed-exitcode", prefix=UNPRIVILEGED)
    finally:
        target.chmod(0o700 if read_only == "folder" else 0o600)
    if read_only == "folder":
        assert_clean_failure(refused, "the state folder state is not writable", "chmod u+w state")
    else:
        assert_clean_failure(refused, f"the state file {STATE} is read-only", f"chmod u+w {STATE}")
    assert "nothing was written" in refused.err
    assert set(sandbox.objects().alibaba_groups) == groups_before  # refused before any cloud call
    assert (project / STATE).read_bytes() == state_bytes
    assert stat.S_IMODE((project / STATE).stat().st_mode) == 0o600
    assert planned.code == 2, planned.both  # reading needs no write access
