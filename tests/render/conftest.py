"""Fixtures for the rendering tests: golden-file snapshots.

Snapshots live in `tests/render/snapshots/`. After an intended change to the output, regenerate
them and review the diff in git:

    UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/render
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.fixture
def snapshot() -> Callable[[str, str], None]:
    """`snapshot(name, text)`: fail on any difference from `snapshots/name` (or rewrite it)."""

    def check(name: str, text: str) -> None:
        path = SNAPSHOTS / name
        if os.environ.get("UPDATE_SNAPSHOTS"):
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"missing snapshot {path}; create it with UPDATE_SNAPSHOTS=1"
        expected = path.read_text(encoding="utf-8")
        if text != expected:
            diff = "".join(
                difflib.unified_diff(
                    expected.splitlines(keepends=True), text.splitlines(keepends=True), str(path), "rendered"
                )
            )
            pytest.fail(f"output differs from {path} (UPDATE_SNAPSHOTS=1 to accept):\n{diff}")

    return check
