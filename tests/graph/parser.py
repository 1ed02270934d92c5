"""Runs tools/mermaid-check (Mermaid's own parser, and a DOT parser) on diagrams; tests that need
it skip, saying how to install it, when its node_modules are missing."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "mermaid-check"
INSTALL = "npm ci --prefix tools/mermaid-check --no-audit --no-fund"


def require_parser() -> str:
    """The node binary, or skip the test saying why."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the diagram parser (tools/mermaid-check) needs Node 20")
    if not (TOOL / "node_modules" / "mermaid").is_dir() or not (TOOL / "node_modules" / "dotparser").is_dir():
        pytest.skip(f"tools/mermaid-check is not installed: run `{INSTALL}`")
    return node


def assert_parses(diagrams: list[str], *, dot: bool = False) -> None:
    """Every diagram parses (one run of the parser for all), or the test fails with its message."""
    node = require_parser()
    with tempfile.TemporaryDirectory() as folder:
        files = []
        for i, text in enumerate(diagrams):
            path = Path(folder) / f"diagram-{i}.{'dot' if dot else 'mmd'}"
            path.write_text(text, encoding="utf-8")
            files.append(str(path))
        args = [node, str(TOOL / "check.mjs"), *(["--dot"] if dot else []), *files]
        done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{done.stderr}\n{done.stdout}"
