"""Saved plan files: exact round trip, atomic 0600 writes, a clear error for every bad file, the
manifest paths recorded, and a signature when a plan key is set."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import PlanError, UsageError
from reconciler.plan.planfile import SavedPlan, load_plan, load_saved_plan, save_plan
from reconciler.plan.signing import PLAN_KEY_ENV, SignatureCheck, plan_key_from_env
from reconciler.render import render_plan
from tests.render.samples import FAKE_SECRET, sample_plan

SNAPSHOT = Path(__file__).parents[1] / "render" / "snapshots" / "sample.plan.json"


def _saved(tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    save_plan(sample_plan(), path)
    return path


def _edit(path: Path, change: Any) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def _error(path: Path) -> str:
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    return str(caught.value)


def test_load_gives_back_exactly_what_was_saved(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    assert load_plan(path) == sample_plan()
    assert load_plan(str(path)) == sample_plan()


def test_the_file_is_the_json_document_and_private(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    assert path.read_text(encoding="utf-8") == render_plan(sample_plan(), "json") == SNAPSHOT.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["plan.json"]  # no temp file left behind


def test_saving_over_an_existing_plan_replaces_it(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    path.chmod(0o644)
    save_plan(sample_plan(serial=8), path)
    assert load_plan(path).serial == 8
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_failed_write_leaves_the_old_plan_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _saved(tmp_path)
    before = path.read_bytes()

    def disk_full(src: str, dst: str) -> None:  # a full disk cannot be arranged here
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(PlanError, match=rf"^cannot write plan file {path}: No space left on device$"):
        save_plan(sample_plan(serial=9), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["plan.json"]


def test_saving_into_a_missing_directory(tmp_path: Path) -> None:
    target = tmp_path / "nope" / "plan.json"
    with pytest.raises(PlanError, match=rf"^cannot write plan file {target}: directory {target.parent} does not exist"):
        save_plan(sample_plan(), target)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    assert _error(path) == (
        f"plan file {path} does not exist\n  hint: make a new one with `reconciler plan --out {path}`"
    )


def test_a_directory(tmp_path: Path) -> None:
    assert _error(tmp_path) == f"plan file {tmp_path} is a directory, not a file"


def test_truncated_file(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    message = _error(path)
    assert message.startswith(f"plan file {path} is truncated: the JSON document ends early (line ")
    assert "reconciler plan --out" in message
    cut_in_a_string = text[: text.index("Singapore VBR 2") + 4]
    path.write_text(cut_in_a_string)
    assert _error(path).startswith(f"plan file {path} is truncated")
    path.write_text(text[:-3])
    assert _error(path).startswith(f"plan file {path} is truncated")


def test_corrupt_json(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    lines = path.read_text().splitlines()
    lines[3] = '  "created_at": oops,'
    path.write_text("\n".join(lines))
    assert _error(path).startswith(
        f"plan file {path} is corrupt: not valid JSON at line 4, column 17 (Expecting value)"
    )


def test_empty_and_binary_files(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text("  \n")
    assert _error(path).startswith(f"plan file {path} is empty")
    path.write_bytes(b'{"format_version": "1.0", \xff\xfe}')
    assert _error(path).startswith(
        f"plan file {path} is not a reconciler plan: the byte at offset 26 is not UTF-8 text"
    )


def test_json_that_is_not_a_plan(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"version": 4, "serial": 1}')
    assert _error(path).startswith(
        f"plan file {path} is not a reconciler plan: expected a JSON object with a format_version"
    )
    path.write_text("[1, 2]")
    assert "expected a JSON object with a format_version" in _error(path)


def test_schema_invalid(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    _edit(path, lambda d: d["resource_changes"][4].update(action="explode"))
    message = _error(path)
    assert message.startswith(
        f"plan file {path} does not match the plan schema (schemas/plan.schema.json): "
        "$.resource_changes[4].action: 'explode' is not one of ['create', "
    )
    assert "hint: was it edited by hand?" in message


def test_schema_errors_are_listed_up_to_three(tmp_path: Path) -> None:
    path = _saved(tmp_path)

    def break_four(d: dict[str, Any]) -> None:
        del d["serial"]
        d["mode"] = "yolo"
        d["targets"] = "all"
        d["warnings"] = [1]

    _edit(path, break_four)
    message = _error(path)
    assert message.count("$") == 3
    assert "(and 1 more)" in message


def test_schema_errors_never_quote_attribute_values(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    # A hand-edited file with a key in a sensitive field: refused, and the key is not echoed.
    _edit(path, lambda d: d["resource_changes"][2]["fields"][1].update(after=FAKE_SECRET))
    message = _error(path)
    assert '$.resource_changes[2].fields[1].after: value does not satisfy type "null"' in message
    assert FAKE_SECRET not in message


def test_too_new(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    _edit(path, lambda d: d.update(format_version="2.0", resource_changes="new shape"))
    assert _error(path) == (
        f"plan file {path} was made by a newer reconciler (format 2.0); this one reads 1.x\n"
        "  hint: upgrade reconciler, or make a new plan with this version"
    )


def test_older_major_and_bad_version(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    _edit(path, lambda d: d.update(format_version="0.9"))
    assert _error(path).startswith(f"plan file {path} was made by an older reconciler (format 0.9)")
    _edit(path, lambda d: d.update(format_version=1))
    assert _error(path) == f'plan file {path} has an invalid format_version 1; expected "1.<minor>"'


def test_a_newer_minor_version_with_extra_keys_is_read(tmp_path: Path) -> None:
    path = _saved(tmp_path)

    def newer(d: dict[str, Any]) -> None:
        d["format_version"] = "1.3"
        d["checks"] = []
        d["resource_changes"][0]["importing"] = {"id": "x"}

    _edit(path, newer)
    plan = load_plan(path)
    assert plan.format_version == "1.3"
    assert plan.changes == sample_plan().changes


PLAN_KEY = "a-plan-key-of-at-least-32-bytes!"


def test_the_manifest_paths_are_recorded_as_given(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    save_plan(sample_plan(), path, manifest_paths=("bgp/alibaba", "bgp/equinix/sg.yaml"))
    assert load_plan(path) == sample_plan(manifest_paths=("bgp/alibaba", "bgp/equinix/sg.yaml"))
    assert json.loads(path.read_text())["format_version"] == "1.2"
    save_plan(sample_plan(), path, manifest_paths=())  # `reconciler plan` with no PATH reads `.`
    assert load_plan(path).manifest_paths == (".",)
    save_plan(sample_plan(), path)
    assert load_plan(path).manifest_paths is None


def test_a_plan_from_before_manifest_paths_is_read(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    _edit(path, lambda d: (d.update(format_version="1.0"), d.pop("manifest_paths")))
    assert load_plan(path) == sample_plan(format_version="1.0")


def test_with_a_key_the_file_is_signed_and_otherwise_the_same(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    save_plan(sample_plan(), path, env={PLAN_KEY_ENV: PLAN_KEY})
    text = path.read_text()
    document = json.loads(text)
    signature = document.pop("signature")
    assert signature["algorithm"] == "hmac-sha256"
    assert json.dumps(document, indent=2, ensure_ascii=False) + "\n" == SNAPSHOT.read_text()
    assert PLAN_KEY not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = load_saved_plan(path, plan_key_from_env({PLAN_KEY_ENV: PLAN_KEY}))
    assert saved == SavedPlan(sample_plan(), SignatureCheck(signed=True, key_set=True, verified=True))
    assert load_plan(path) == sample_plan()  # `show` without the key still reads it


def test_without_a_key_nothing_is_signed(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    save_plan(sample_plan(), path, env={})
    assert "signature" not in json.loads(path.read_text())
    assert load_saved_plan(path, None).signature == SignatureCheck(signed=False, key_set=False)


def test_a_short_key_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    with pytest.raises(UsageError, match=f"^{PLAN_KEY_ENV} is too short"):
        save_plan(sample_plan(), path, env={PLAN_KEY_ENV: "short-key"})
    assert os.listdir(tmp_path) == []


def test_the_process_environment_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "plan.json"
    monkeypatch.setenv(PLAN_KEY_ENV, PLAN_KEY)
    save_plan(sample_plan(), path)
    assert "signature" in json.loads(path.read_text())


def test_the_schema_describes_the_signature(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    save_plan(sample_plan(), path, env={PLAN_KEY_ENV: PLAN_KEY})
    _edit(path, lambda d: d["signature"].update(algorithm="none"))
    assert "$.signature.algorithm: 'hmac-sha256' was expected" in _error(path)
