"""The local file backend: atomic writes, backup, file modes, corrupt files, the journal file."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from structlog.testing import capture_logs

from reconciler.errors import StateError
from reconciler.model import JournalEntry, StateDoc, StateResource
from reconciler.package_data import load_schema
from reconciler.state.local import LocalBackend

GROUP = "AlibabaBgpGroup/sg-vbr1"
PEER = "AlibabaBgpPeer/sg-vbr1-peer1"
SCHEMA = Draft202012Validator(load_schema("state.schema.json"))


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
            local.write(local.read())
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
    write(local, local.read())
    backup = local.backup_path.read_bytes()  # serial 1
    with local.lock("apply"):
        local.journal_append(done("1"))  # builds on serial 2
    state_path.write_bytes(backup)  # someone restores the backup
    with capture_logs() as logs:
        state = local.read()
    assert list(state.resources) == [PEER]
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
                "path": str(local.lock_path),
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
        "path": str(local.lock_path),
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
