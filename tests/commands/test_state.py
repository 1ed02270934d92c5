"""`reconciler state list | show | rm | unlock` through the CLI, on real state files (and one
PostgreSQL state), with another real process holding the lock where it matters."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli, main
from reconciler.commands.state import masked_attributes
from reconciler.model import JournalEntry, StateDoc, StateResource
from reconciler.state import open_backend
from reconciler.state.local import LocalBackend
from tests.state import fixtures
from tests.state.fixtures import Holder, environment_without_proxies

# Fixtures shared with tests/state (the PostgreSQL server, holder processes, no proxies).
pg_server = fixtures.pg_server
pg_dbname = fixtures.pg_dbname
pg_schema = fixtures.pg_schema
pg_url = fixtures.pg_url
start_holder = fixtures.start_holder

GROUP = StateResource(
    "AlibabaBgpGroup/sg-vbr1",
    "AlibabaBgpGroup",
    "bgpg-t4n0001",
    "ap-southeast-1",
    {"name": "sg-vbr1", "peerAsn": 65010, "description": "Singapore VBR 1", "isFakeAsn": False},
)
PEER = StateResource(
    "AlibabaBgpPeer/sg-vbr1-peer1",
    "AlibabaBgpPeer",
    "bgp-t4n0002",
    "ap-southeast-1",
    {"bgpGroupId": "bgpg-t4n0001", "peerIpAddress": "10.0.0.1", "enableBfd": True, "bfdMultiHop": 3},
    ("AlibabaBgpGroup/sg-vbr1",),
)
EQUINIX = StateResource(
    "EquinixBgpPeering/sg-ne1",
    "EquinixBgpPeering",
    "3f1e0c2a-0000-4000-8000-000000000001",
    None,
    {"connectionUuid": "80afc8be-0ce3-4950-be27-3d3e678e6873", "localAsn": 65010},
)
INTERRUPTED = JournalEntry(
    id="op-7",
    address="AlibabaBgpPeer/sg-vbr1-peer2",
    kind="AlibabaBgpPeer",
    action="create",
    phase="intent",
    time="2024-05-01T10:00:00.000Z",
    token="tok-7",
)
StartHolder = Callable[[str, str, str], Holder]


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    path = tmp_path / "state" / "reconciler.json"
    backend = LocalBackend(path)
    with backend.lock("test"):
        backend.write(StateDoc(resources={r.address: r for r in (GROUP, PEER, EQUINIX)}, pending=(INTERRUPTED,)))
    return path


def run(state: Path | str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--state", str(state), "state", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def fail(capsys: pytest.CaptureFixture[str], state: Path | str, *args: str) -> str:
    """Run through the real entry point; expect exit code 1; return stderr."""
    with pytest.raises(SystemExit) as exited:
        main(["--state", str(state), "state", *args])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


# -- list ------------------------------------------------------------------------------------


def test_list_prints_address_kind_cloud_id_and_region(state_file: Path) -> None:
    code, out, err = run(state_file, "list")
    assert code == 0
    assert out.splitlines() == [
        "AlibabaBgpGroup/sg-vbr1       AlibabaBgpGroup    bgpg-t4n0001                          ap-southeast-1",
        "AlibabaBgpPeer/sg-vbr1-peer1  AlibabaBgpPeer     bgp-t4n0002                           ap-southeast-1",
        "EquinixBgpPeering/sg-ne1      EquinixBgpPeering  3f1e0c2a-0000-4000-8000-000000000001  -",
    ]
    assert "1 unsettled journal intent(s) from an interrupted apply" in err
    assert "  create AlibabaBgpPeer/sg-vbr1-peer2 (intent op-7, 2024-05-01T10:00:00.000Z)" in err


def test_list_of_an_empty_state(tmp_path: Path) -> None:
    code, out, err = run(tmp_path / "none.json", "list")
    assert (code, out) == (0, "")
    assert err == f"No resources in the state {tmp_path / 'none.json'}.\n"
    assert not (tmp_path / "none.json").exists()  # reading never creates anything


def test_list_of_a_corrupt_state_fails_and_points_to_the_backup(
    state_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state_file.write_text('{"format_version": 1, "serial": ')
    err = fail(capsys, state_file, "list")
    assert err.startswith(f"Error: {state_file}:1:33: not valid JSON (Expecting value)")
    assert "there is no backup" in err


# -- show ------------------------------------------------------------------------------------


def test_show_prints_the_recorded_resource(state_file: Path) -> None:
    code, out, _ = run(state_file, "show", "AlibabaBgpPeer/sg-vbr1-peer1")
    assert code == 0
    assert out.splitlines() == [
        "# AlibabaBgpPeer/sg-vbr1-peer1",
        "kind       = AlibabaBgpPeer",
        "cloud_id   = bgp-t4n0002",
        "region     = ap-southeast-1",
        "depends_on = AlibabaBgpGroup/sg-vbr1",
        "attributes:",
        "  bfdMultiHop   = 3",
        '  bgpGroupId    = "bgpg-t4n0001"',
        "  enableBfd     = true",
        '  peerIpAddress = "10.0.0.1"',
    ]


def test_show_of_an_unknown_address_lists_the_valid_ones(state_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = fail(capsys, state_file, "show", "AlibabaBgpPeer/sg-vbr1-peer9")
    assert err == (
        f"Error: no resource AlibabaBgpPeer/sg-vbr1-peer9 in the state {state_file}\n"
        "  hint: the state has: AlibabaBgpGroup/sg-vbr1, AlibabaBgpPeer/sg-vbr1-peer1, EquinixBgpPeering/sg-ne1\n"
    )


def test_show_in_a_big_state_suggests_close_matches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "big.json"
    backend = LocalBackend(path)
    peers = {
        f"AlibabaBgpPeer/peer-{i}": StateResource(f"AlibabaBgpPeer/peer-{i}", "AlibabaBgpPeer", f"bgp-{i}", None, {})
        for i in range(30)
    }
    with backend.lock("test"):
        backend.write(StateDoc(resources=peers))
    err = fail(capsys, path, "show", "AlibabaBgpPeer/peer-300")
    assert "hint: did you mean AlibabaBgpPeer/peer-30 or" not in err  # peer-30 does not exist
    assert "did you mean AlibabaBgpPeer/peer-3" in err
    assert "the state has 30 resources: see `reconciler state list`" in err


def test_secret_fields_are_masked_at_any_depth() -> None:
    masked = masked_attributes(
        "AlibabaBgpGroup",
        {"authKey": "hunter2", "peerAsn": 65010, "nested": [{"authenticationKey": "k2"}], "other": {"a": 1}},
    )
    assert masked == {
        "authKey": "(sensitive)",
        "peerAsn": 65010,
        "nested": [{"authenticationKey": "(sensitive)"}],
        "other": {"a": 1},
    }


# -- rm --------------------------------------------------------------------------------------


def test_rm_forgets_the_resource_in_one_write(state_file: Path) -> None:
    before = state_file.read_bytes()
    code, out, err = run(state_file, "rm", "AlibabaBgpGroup/sg-vbr1")
    assert code == 0
    assert out.splitlines() == [
        "Removed AlibabaBgpGroup/sg-vbr1 (AlibabaBgpGroup bgpg-t4n0001) from the state; "
        "the cloud object was not changed.",
        f"State {state_file}: serial 1 -> 2.",
    ]
    assert (
        "note: AlibabaBgpPeer/sg-vbr1-peer1 depends on AlibabaBgpGroup/sg-vbr1, which is no longer in the state." in err
    )
    state = open_backend(str(state_file)).read()
    assert sorted(state.resources) == ["AlibabaBgpPeer/sg-vbr1-peer1", "EquinixBgpPeering/sg-ne1"]
    assert state.serial == 2
    assert state.pending == (INTERRUPTED,)  # untouched: the next apply resolves it
    assert state_file.with_name("reconciler.json.backup").read_bytes() == before
    assert not state_file.with_name("reconciler.json.lock.json").exists()  # lock released


def test_rm_of_several_addresses(state_file: Path) -> None:
    code, out, _ = run(state_file, "rm", "EquinixBgpPeering/sg-ne1", "AlibabaBgpPeer/sg-vbr1-peer1")
    assert code == 0
    assert out.count("Removed ") == 2
    assert list(open_backend(str(state_file)).read().resources) == ["AlibabaBgpGroup/sg-vbr1"]


def test_rm_of_an_unknown_address_changes_nothing(state_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = state_file.read_bytes()
    err = fail(capsys, state_file, "rm", "EquinixBgpPeering/sg-ne1", "EquinixBgpPeering/nope")
    assert err.startswith(
        f"Error: no resource EquinixBgpPeering/nope in the state {state_file}\n  hint: the state has:"
    )
    assert state_file.read_bytes() == before


def test_rm_while_another_process_holds_the_lock(
    state_file: Path, capsys: pytest.CaptureFixture[str], start_holder: StartHolder
) -> None:
    holder = start_holder(str(state_file), "hold", "apply")
    lock_id = holder.expect("locked")
    before = state_file.read_bytes()
    err = fail(capsys, state_file, "rm", "EquinixBgpPeering/sg-ne1")
    assert f"Error: the state {state_file} is locked by another process:" in err
    assert f"lock id:   {lock_id}" in err
    assert f"(pid {holder.pid})" in err
    assert "operation: apply" in err
    assert state_file.read_bytes() == before
    holder.release()
    with pytest.raises(SystemExit) as exited:  # --lock-timeout is honoured (global option)
        main(["--state", str(state_file), "--lock-timeout", "5", "state", "rm", "EquinixBgpPeering/sg-ne1"])
    assert exited.value.code == 0


# -- unlock ----------------------------------------------------------------------------------


@pytest.fixture
def dead_lock(state_file: Path, start_holder: StartHolder) -> tuple[str, int]:
    """A lock record left by a holder killed with SIGKILL: (lock id, its pid)."""
    holder = start_holder(str(state_file), "hold", "apply")
    lock_id = holder.expect("locked")
    holder.kill9()
    return lock_id, holder.pid


def test_unlock_without_a_terminal_and_without_yes_refuses(
    state_file: Path, dead_lock: tuple[str, int], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    err = fail(capsys, state_file, "unlock", dead_lock[0])
    assert "Error: refusing to remove the lock without confirmation: there is no terminal to ask on" in err
    assert "hint: pass --yes once you are sure its holder is gone" in err
    assert state_file.with_name("reconciler.json.lock.json").exists()


def test_unlock_with_yes_shows_the_holder_and_removes_the_lock(state_file: Path, dead_lock: tuple[str, int]) -> None:
    lock_id, pid = dead_lock
    code, out, _ = run(state_file, "unlock", lock_id, "--yes")
    assert code == 0
    for expected in (f"lock id:   {lock_id}", "operation: apply", f"(pid {pid})", "since:     "):
        assert expected in out
    assert out.splitlines()[-1].startswith(f"Removed lock {lock_id} (apply by ")
    assert not state_file.with_name("reconciler.json.lock.json").exists()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "removed"), [("y\n", True), ("n\n", False)])
def test_unlock_asks_on_a_terminal(
    state_file: Path,
    dead_lock: tuple[str, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    removed: bool,
) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal(answer))
    with pytest.raises(SystemExit) as exited:
        main(["--state", str(state_file), "state", "unlock", dead_lock[0]])
    captured = capsys.readouterr()
    assert "Remove this lock? Do it only if its holder is gone [y/N]" in captured.out
    assert exited.value.code == (0 if removed else 1)
    assert state_file.with_name("reconciler.json.lock.json").exists() != removed


def test_unlock_of_a_wrong_id_names_the_current_lock(
    state_file: Path, dead_lock: tuple[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    err = fail(capsys, state_file, "unlock", "0000", "--yes")
    assert f"Error: there is no lock '0000' on {state_file}; the current lock is:" in err
    assert f"lock id:   {dead_lock[0]}" in err


def test_unlock_when_nothing_is_locked(state_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = fail(capsys, state_file, "unlock", "0000", "--yes")
    assert err == f"Error: the state {state_file} is not locked: there is no lock '0000'\n"


def test_unlock_never_removes_a_live_holders_lock(
    state_file: Path, capsys: pytest.CaptureFixture[str], start_holder: StartHolder
) -> None:
    holder = start_holder(str(state_file), "hold", "apply")
    lock_id = holder.expect("locked")
    err = fail(capsys, state_file, "unlock", lock_id, "--yes")
    assert f"Error: lock {lock_id} is held by a live process" in err
    assert f"kill {holder.pid} on " in err
    holder.release()


# -- end to end ------------------------------------------------------------------------------


def test_the_installed_command_exits_1_with_one_clear_line(state_file: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "--state", str(state_file), "state", "show", "Nope/x"],
        capture_output=True,
        text=True,
        env=environment_without_proxies(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith(f"Error: no resource Nope/x in the state {state_file}\n")
    assert "Traceback" not in done.stderr


def test_state_commands_work_on_postgres_and_never_print_the_password(pg_url: str) -> None:
    url = pg_url.replace("postgres@", "postgres:Hush-pw@")  # trust auth: any password is accepted
    backend = open_backend(url)
    with backend.lock("test"):
        backend.write(StateDoc(resources={GROUP.address: GROUP}))
    backend.close()
    code, out, _ = run(url, "list")
    assert (code, out.split()[0]) == (0, "AlibabaBgpGroup/sg-vbr1")
    code, out, _ = run(url, "rm", "AlibabaBgpGroup/sg-vbr1")
    assert code == 0
    assert "serial 1 -> 2" in out
    assert "postgres:***@" in out
    assert "Hush" not in out
    code, out, err = run(url, "list")
    assert (code, out) == (0, "")
    assert "postgres:***@" in err and "Hush" not in err
    assert os.environ.get("PGPASSWORD") is None
