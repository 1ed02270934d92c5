"""The local file backend: atomic writes, backup, file modes, corrupt files, the journal file, the
folder lock and its holder record, and paths that are not a regular file."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from structlog.testing import capture_logs

from reconciler.errors import LockError, StateError
from reconciler.model import JournalEntry, StateDoc, StateResource
from reconciler.package_data import load_schema
from reconciler.state import local as local_module
from reconciler.state.base import LockInfo
from reconciler.state.local import LocalBackend
from tests.state.fixtures import Holder

GROUP = "AlibabaBgpGroup/sg-vbr1"
PEER = "AlibabaBgpPeer/sg-vbr1-peer1"
SCHEMA = Draft202012Validator(load_schema("state.schema.json"))
StartHolder = Callable[[str, str, str], Holder]


def group(description: str = "Singapore") -> StateResource:
    return StateResource(GROUP, "AlibabaBgpGroup", "bgpg-1", "ap-southeast-1", {"description": description})


def done(op_id: str, address: str = PEER, action: str = "create") -> JournalEntry:
    settles = action in ("create", "update", "adopt")
    return JournalEntry(
        id=op_id,
        address=address,
        kind=address.split("/", maxsplit=1)[0],
        action=action,
        phase="done",
        time="2024-05-01T10:00:00.000Z",
        cloud_id=f"bgp-{op_id}" if settles else None,
        attributes={"peerIpAddress": "10.0.0.1"} if settles else None,
    )


def write(local: LocalBackend, doc: StateDoc) -> StateDoc:
    with local.lock("test"):
        return local.write(doc)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_folder_is_created_and_every_file_is_private(local: LocalBackend, state_path: Path) -> None:
    assert not state_path.parent.exists()
    old_umask = os.umask(0)  # even with a permissive umask
    try:
        with local.lock("apply"):
            assert mode(local.lock_info_path) == 0o600
            local.journal_append(done("1"))
            local.write(local.read())
            local.write(replace(local.read(), resources={}))
    finally:
        os.umask(old_umask)
    for path in (state_path, local.backup_path, local.journal_path):
        assert mode(path) == 0o600, path
    assert mode(state_path.parent) == 0o700


def test_a_write_keeps_the_previous_version_as_backup_and_leaves_no_temp_files(
    local: LocalBackend, state_path: Path
) -> None:
    write(local, StateDoc(resources={GROUP: group("one")}))
    assert not local.backup_path.exists()  # nothing to back up the first time
    first_bytes = state_path.read_bytes()
    write(local, replace(local.read(), resources={GROUP: group("two")}))
    assert local.backup_path.read_bytes() == first_bytes
    assert json.loads(state_path.read_bytes())["resources"][GROUP]["attributes"] == {"description": "two"}
    leftovers = sorted(path.name for path in state_path.parent.iterdir())
    assert not any(name.endswith(".tmp") for name in leftovers), leftovers
    assert "reconciler.json.lock.json" not in leftovers  # no holder once released


def test_every_written_file_validates_against_the_schema(local: LocalBackend, state_path: Path) -> None:
    with local.lock("apply"):
        local.journal_append(done("1"))
        local.journal_append(done("2", address="AlibabaBgpPeer/sg-vbr1-peer2"))
        local.journal_append(replace(done("3", address="EquinixBgpPeering/sg"), phase="intent"))
        written = local.write(replace(local.read(), resources={**local.read().resources, GROUP: group()}))
    data = json.loads(state_path.read_text())
    assert list(SCHEMA.iter_errors(data)) == []
    assert data["serial"] == written.serial == 1
    assert sorted(data["resources"]) == [GROUP, PEER, "AlibabaBgpPeer/sg-vbr1-peer2"]
    assert [entry["id"] for entry in data["pending"]] == ["3"]


def test_equal_states_are_written_identically(tmp_path: Path) -> None:
    a = StateResource("AlibabaBgpGroup/a", "AlibabaBgpGroup", "bgpg-a", None, {"z": 1, "a": 2})
    b = StateResource("AlibabaBgpGroup/b", "AlibabaBgpGroup", "bgpg-b", None, {})
    lineage = "0b7c6a52-6f53-4a8e-9a57-3c1c2d9e8f10"
    one, two = LocalBackend(tmp_path / "one.json"), LocalBackend(tmp_path / "two.json")
    write(one, StateDoc(lineage=lineage, resources={a.address: a, b.address: b}))
    write(two, StateDoc(lineage=lineage, resources={b.address: b, a.address: a}))
    assert (tmp_path / "one.json").read_bytes() == (tmp_path / "two.json").read_bytes()


CORRUPT_FILES = [
    ("", "the state file is empty (truncated?)"),
    ('{\n  "format_version": 1,\n  "lineage": "0b7c', ":3:14: not valid JSON (Unterminated string)"),
    ("\xff\xfe garbage", "not UTF-8 text"),
    ('{"format_version": 7, "serial": 1}', "format_version 7 is newer than this reconciler understands (up to 1)"),
    ("[]", ": $: must be a JSON object, not an array"),
    (
        '{"format_version": 1, "lineage": "0b7c6a52-6f53-4a8e-9a57-3c1c2d9e8f10", "serial": "2", '
        '"resources": {}, "pending": []}',
        ": $.serial: must be an integer >= 1, not '2'",
    ),
]


@pytest.mark.parametrize(("content", "problem"), CORRUPT_FILES)
@pytest.mark.parametrize("with_backup", [True, False])
def test_a_bad_state_file_is_reported_and_never_overwritten(
    local: LocalBackend, state_path: Path, content: str, problem: str, with_backup: bool
) -> None:
    state_path.parent.mkdir(parents=True)
    raw = content.encode("latin-1") if content.startswith("\xff") else content.encode()
    state_path.write_bytes(raw)
    if with_backup:
        local.backup_path.write_text('{"serial": 41}')
    with pytest.raises(StateError) as on_read:
        local.read()
    message = str(on_read.value)
    assert problem in message
    assert message.startswith(str(state_path))
    if with_backup:
        assert f"the previous version is in {local.backup_path}, serial 41" in message
        assert f"cp {local.backup_path} {state_path}" in message
    else:
        assert f"there is no backup ({local.backup_path} does not exist)" in message
    with local.lock("apply"):
        with pytest.raises(StateError, match="the file was not modified"):
            local.write(StateDoc())
        with pytest.raises(StateError, match="the file was not modified"):
            local.journal_append(done("1"))  # appending needs the stored serial too
    assert state_path.read_bytes() == raw
    assert local.backup_path.exists() == with_backup
    if with_backup:
        assert local.backup_path.read_text() == '{"serial": 41}'


def test_a_failed_write_leaves_the_previous_state(local: LocalBackend, state_path: Path) -> None:
    write(local, StateDoc(resources={GROUP: group()}))
    before = state_path.read_bytes()
    leaky = StateResource(PEER, "AlibabaBgpPeer", "bgp-1", None, {"nested": {"authKey": "x"}})
    with local.lock("apply"), pytest.raises(StateError, match="refusing to write the state"):
        local.write(replace(local.read(), resources={PEER: leaky}))
    assert state_path.read_bytes() == before
    assert not local.backup_path.exists()


def test_journal_lines_are_json_with_the_serial_they_build_on(local: LocalBackend) -> None:
    with local.lock("apply"):
        local.journal_append(done("1"))
        local.write(local.read())
        local.journal_append(done("2", address="AlibabaBgpPeer/sg-vbr1-peer2"))
    lines = local.journal_path.read_text().splitlines()
    assert len(lines) == 1  # the write emptied the journal
    assert json.loads(lines[0])["base_serial"] == 1
    assert json.loads(lines[0])["id"] == "2"


def test_a_torn_last_line_is_ignored_with_a_warning_and_cut_before_the_next_append(local: LocalBackend) -> None:
    with local.lock("apply"):
        local.journal_append(done("1"))
    with local.journal_path.open("ab") as journal:
        journal.write(b'{"action":"create","address":"AlibabaBgpPe')  # killed mid-write
    with capture_logs() as logs:
        entries = local.journal_entries()
    assert [entry.id for entry in entries] == ["1"]
    assert [log["event"] for log in logs] == [
        "journal: ignoring a torn last line (a process was killed while appending it)"
    ]
    assert logs[0]["line"] == 2
    with capture_logs() as logs, local.lock("apply"):
        local.journal_append(done("2", address="AlibabaBgpPeer/sg-vbr1-peer2"))
    assert any(log["event"].startswith("journal: removed a torn last line") for log in logs)
    assert local.journal_path.read_bytes().endswith(b"}\n")
    assert [entry.id for entry in local.journal_entries()] == ["1", "2"]


def test_a_damaged_complete_journal_line_is_an_error_naming_the_line(local: LocalBackend) -> None:
    with local.lock("apply"):
        local.journal_append(done("1"))
        local.journal_append(done("2", address="AlibabaBgpPeer/sg-vbr1-peer2"))
    lines = local.journal_path.read_text().splitlines()
    local.journal_path.write_text(lines[0] + "\n" + lines[1].replace('"phase":"done"', '"phase":"maybe"') + "\n")
    with pytest.raises(StateError, match=r"reconciler\.json\.journal:2: corrupt journal entry \(\$\.phase: 'maybe'"):
        local.read()


def test_a_crash_between_the_state_write_and_emptying_the_journal_applies_nothing_twice(
    local: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    with local.lock("apply"):
        local.journal_append(done("1"))
        monkeypatch.setattr(local, "_empty_journal", lambda: None)  # "crash" right after the state write
        local.write(local.read())
    monkeypatch.undo()
    assert local.journal_path.read_text().count("\n") == 1  # the line is still there...
    assert local.journal_entries() == []  # ...but known to be folded into serial 1
    assert list(local.read().resources) == [PEER]
    # Forgetting the resource must stick: the leftover line must not bring it back.
    with local.lock("state rm"):
        local.write(replace(local.read(), resources={}))
    assert local.read().resources == {}
    assert local.read().serial == 2


def test_journal_entries_newer_than_the_state_file_are_folded_with_a_warning(
    local: LocalBackend, state_path: Path
) -> None:
    write(local, StateDoc())
    write(local, replace(local.read(), resources={GROUP: group()}))
    backup = local.backup_path.read_bytes()  # serial 1
    with local.lock("apply"):
        local.journal_append(done("1"))  # builds on serial 2
    state_path.write_bytes(backup)  # someone restores the backup
    with capture_logs() as logs:
        state = local.read()
    assert list(state.resources) == [PEER]  # the restored serial 1 has no group
    assert "restored from a backup" in logs[0]["event"]


def test_a_leftover_holder_record_is_taken_over(local: LocalBackend) -> None:
    local.lock_info_path.parent.mkdir(parents=True)
    local.lock_info_path.write_text(
        json.dumps(
            {
                "id": "dead-1",
                "operation": "apply",
                "user": "ci",
                "host": "runner-7",
                "pid": 4242,
                "created": "2024-05-01T10:00:00+00:00",
                "path": str(local.lock_info_path),
            }
        )
    )
    with capture_logs() as logs, local.lock("apply") as mine:
        assert json.loads(local.lock_info_path.read_text())["id"] == mine.id
    assert logs[0]["lock_id"] == "dead-1"
    assert logs[0]["holder"] == "ci@runner-7 (pid 4242)"
    assert not local.lock_info_path.exists()


def test_the_lock_record_says_who_holds_it(local: LocalBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_RUN_ID", "CI_JOB_URL"):
        monkeypatch.delenv(name, raising=False)
    with local.lock("import") as info:
        recorded = json.loads(local.lock_info_path.read_text())
    assert recorded == {
        "id": info.id,
        "operation": "import",
        "user": info.user,
        "host": info.host,
        "pid": os.getpid(),
        "created": info.created,
        "path": str(local.lock_info_path),
        "info": "",
    }
    assert info.created.endswith("+00:00")


def test_a_ci_job_holding_the_lock_is_linked(local: LocalBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example")
    monkeypatch.setenv("GITHUB_REPOSITORY", "neteng/bgp")
    monkeypatch.setenv("GITHUB_RUN_ID", "991")
    with local.lock("apply") as info:
        assert local.current_lock() == info
    assert info.info == "https://github.example/neteng/bgp/actions/runs/991"
    assert "  info:      https://github.example/neteng/bgp/actions/runs/991" in info.describe()


# -- the lock cannot be deleted by accident ------------------------------------------------------


def test_deleting_the_lock_files_lets_no_second_holder_in_and_the_holder_writes_nothing(
    local: LocalBackend, state_path: Path, start_holder: StartHolder
) -> None:
    holder = start_holder(str(state_path), "write-on-line", "apply")
    lock_id = holder.expect("locked")
    state_path.with_name("reconciler.json.lock").unlink(missing_ok=True)  # what older versions locked
    local.lock_info_path.unlink()  # a user "cleaning up" the folder
    with pytest.raises(LockError) as busy, local.lock("apply"):
        pass
    assert "is locked by another process" in str(busy.value)
    assert "no record says who holds it: the holder is just starting, or its record was deleted" in str(busy.value)
    holder.tell()
    for what in ("append", "write"):
        refused = holder.attempt(what)
        assert refused is not None, f"the holder could {what} after its lock record was deleted"
        assert f"the lock record {local.lock_info_path} was deleted (or damaged) while this process held" in refused
        assert f"the state lock {lock_id}; refusing to {what}" in refused
        assert "nothing was written (the state" in refused
    holder.expect("released")
    assert not state_path.exists()
    assert local.journal_entries() == []
    with local.lock("apply"):  # free again once its holder is gone
        pass


def test_a_lock_record_naming_another_holder_stops_every_write(local: LocalBackend, state_path: Path) -> None:
    write(local, StateDoc(resources={GROUP: group()}))
    before = state_path.read_bytes()
    with local.lock("apply") as mine:
        other = replace(mine, id="5f1d1f0e-0000-4000-8000-000000000001", pid=1, host="elsewhere")
        local.lock_info_path.write_text(json.dumps(other.to_json()))
        with pytest.raises(LockError) as on_append:
            local.journal_append(done("1"))
        with pytest.raises(LockError) as on_write:
            local.write(replace(local.read(), resources={}))
    for caught in (on_append, on_write):
        message = str(caught.value)
        assert f"no longer names this process's lock {mine.id}; it names:" in message
        assert "lock id:   5f1d1f0e-0000-4000-8000-000000000001" in message
        assert "nothing was written" in message
    assert state_path.read_bytes() == before
    assert local.journal_entries() == []
    assert json.loads(local.lock_info_path.read_text())["id"] == other.id  # not ours to remove


def test_a_replaced_state_folder_stops_every_write(local: LocalBackend, state_path: Path) -> None:
    with local.lock("apply") as mine:
        state_path.parent.rename(state_path.parent.with_name("moved"))
        state_path.parent.mkdir()
        local.lock_info_path.write_text(json.dumps(mine.to_json()))  # even with our record copied in
        with pytest.raises(LockError, match=r"the state folder .* was removed or replaced while this process"):
            local.journal_append(done("1"))
    assert not local.journal_path.exists()


def test_states_in_one_folder_share_its_lock_and_a_busy_message_names_the_holder(
    tmp_path: Path, start_holder: StartHolder
) -> None:
    prod, staging = tmp_path / "state" / "prod.json", tmp_path / "state" / "staging.json"
    holder = start_holder(str(prod), "hold", "apply")
    lock_id = holder.expect("locked")
    with pytest.raises(LockError) as busy, LocalBackend(staging).lock("apply"):
        pass
    assert f"lock id:   {lock_id}" in str(busy.value)
    assert f"path:      {prod}.lock.json" in str(busy.value)
    with pytest.raises(LockError) as live:
        LocalBackend(staging).force_unlock(lock_id)  # not staging's lock
    assert "there is no lock" in str(live.value)
    holder.release()
    with LocalBackend(staging).lock("apply"):
        pass


# -- a write that changes nothing ---------------------------------------------------------------


def test_a_write_that_changes_nothing_leaves_the_file_alone_and_empties_the_journal(
    local: LocalBackend, state_path: Path
) -> None:
    write(local, StateDoc(resources={GROUP: group()}))
    before = state_path.read_bytes()
    inode = state_path.stat().st_ino
    with local.lock("apply"):
        local.journal_append(replace(done("1"), phase="intent", cloud_id=None, attributes=None))
        local.journal_append(replace(done("1"), phase="failed", cloud_id=None, attributes=None, error="refused"))
        kept = local.write(local.read())
    assert kept.serial == 1
    assert state_path.read_bytes() == before
    assert state_path.stat().st_ino == inode  # not even replaced by an identical copy
    assert not local.backup_path.exists()
    assert local.journal_path.read_bytes() == b""


# -- paths that are not a regular file -----------------------------------------------------------


def finishes(action: Callable[[], object], seconds: float = 30.0) -> BaseException | None:
    """Run `action` in a daemon thread; it must end (a hang fails the test, not the suite).
    Returns what it raised."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            action()
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"still running after {seconds}s (blocked on a FIFO or a device?)"
    return outcome[0]


def make_special(kind: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        return Path(kind)
    return path


SPECIAL = [
    ("folder", "is a folder, not a regular file"),
    ("fifo", "is a named pipe (FIFO), not a regular file"),
    ("/dev/null", "is a character device, not a regular file"),
]


@pytest.mark.parametrize(("kind", "problem"), SPECIAL)
def test_a_state_path_that_is_not_a_regular_file_is_refused_without_blocking_or_writing(
    state_path: Path, kind: str, problem: str
) -> None:
    path = make_special(kind, state_path)
    backend = LocalBackend(path)
    listing = sorted(os.listdir(path.parent))

    def take_the_lock() -> None:
        with backend.lock("apply"):
            pass

    for action in (backend.read, take_the_lock):
        error = finishes(action)
        assert isinstance(error, StateError), error
        assert str(error).startswith(f"the state file {path} {problem}; nothing was read or written")
        assert "such as state/reconciler.json" in str(error)
    assert sorted(os.listdir(path.parent)) == listing  # nothing created beside it
    if kind == "folder":
        assert f"e.g. {path / 'reconciler.json'}" in str(error)


@pytest.mark.parametrize("companion", ["journal", "backup", "lock record"])
def test_a_companion_path_that_is_a_fifo_is_refused_without_blocking(
    local: LocalBackend, state_path: Path, companion: str
) -> None:
    write(local, StateDoc(resources={GROUP: group()}))
    path = {"journal": local.journal_path, "backup": local.backup_path, "lock record": local.lock_info_path}[companion]
    os.mkfifo(path)

    def take_the_lock() -> None:
        with local.lock("apply"):
            pass

    error = finishes(take_the_lock)
    assert isinstance(error, StateError), error
    assert str(error).startswith(f"the {companion} {path} is a named pipe (FIFO), not a regular file")
    if companion == "journal":
        assert isinstance(finishes(local.read), StateError)


def test_a_state_file_larger_than_the_bound_is_refused(
    local: LocalBackend, state_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(local, StateDoc(resources={GROUP: group("x" * 2000)}))
    monkeypatch.setattr(local_module, "MAX_FILE_BYTES", 1000)
    with pytest.raises(StateError, match=r"the state file .* is larger than 1000 bytes"):
        local.read()


def test_the_size_bound_counts_every_byte_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"x" * 100)
    monkeypatch.setattr(local_module, "MAX_FILE_BYTES", 100)
    assert local_module.read_regular_file(path, "the state file", "") == b"x" * 100
    monkeypatch.setattr(local_module, "MAX_FILE_BYTES", 99)
    with pytest.raises(StateError, match=r"larger than 99 bytes \(100 bytes read so far\)"):
        local_module.read_regular_file(path, "the state file", "")


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs Linux procfs")
def test_a_file_whose_size_stat_does_not_tell_is_read_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    # procfs files are regular files of st_size 0: the size from fstat is only a first guess,
    # and what it did not announce is read a chunk at a time.
    monkeypatch.setattr(local_module, "READ_CHUNK_BYTES", 3)
    path = Path("/proc/self/cmdline")
    assert path.stat().st_size == 0
    assert local_module.read_regular_file(path, "the file", "") == path.read_bytes() != b""


def test_an_unchanged_lock_record_is_not_read_before_every_journal_batch_and_a_changed_one_is(
    local: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Path] = []
    record = LocalBackend._record

    def counted(backend: LocalBackend, path: Path) -> LockInfo | None:
        reads.append(path)
        return record(backend, path)

    monkeypatch.setattr(LocalBackend, "_record", counted)
    with local.lock("apply") as mine:
        local.journal_append(done("0"))
        assert reads.count(local.lock_info_path) >= 1  # the first batch reads it...
        first = reads.count(local.lock_info_path)
        for n in range(1, 5):
            local.journal_append(done(str(n)))
        assert reads.count(local.lock_info_path) == first  # ...the others know it unchanged
        # Replaced by another holder's record (another size: the change shows at once).
        other = replace(mine, id="5f1d1f0e-0000-4000-8000-000000000001", pid=1, host="elsewhere.example")
        local.lock_info_path.write_text(json.dumps(other.to_json()))
        with pytest.raises(LockError, match="no longer names this process's lock"):
            local.journal_append(done("6"))
        local.lock_info_path.write_text(json.dumps(mine.to_json(), indent=2))
        local.journal_append(done("7"))
        # However unchanged it looks, it is read again once RECORD_RECHECK seconds have passed.
        monkeypatch.setattr("reconciler.state.local.RECORD_RECHECK", 0.0)
        before = reads.count(local.lock_info_path)
        local.journal_append(done("8"))
        assert reads.count(local.lock_info_path) == before + 1
    assert [e.id for e in local.journal_entries()] == ["0", "1", "2", "3", "4", "7", "8"]
