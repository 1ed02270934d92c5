"""Fixtures for the manifest-layer tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.manifest.builders import dump

WriteDocs = Callable[..., Path]


@pytest.fixture
def write_docs(tmp_path: Path) -> Iterator[WriteDocs]:
    """write_docs("a.yaml", doc, doc, ...) -> the file, inside a fresh manifests folder."""

    def write(name: str, *docs: dict[str, Any]) -> Path:
        path = tmp_path / "manifests" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump(list(docs)), encoding="utf-8")
        return path

    yield write
