"""A drawing renders to a PNG with mmdc (mermaid-cli) in a real browser: run only where Chromium
is installed, skipped otherwise."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler.graph.build import build_graph, items_from_resources
from reconciler.graph.mermaid import render_mermaid
from tests.graph.parser import INSTALL, TOOL
from tests.graph.samples import linked

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium")) if p and Path(p).is_file()), None)


def test_mermaid_renders_to_png(tmp_path: Path) -> None:
    mmdc = TOOL / "node_modules" / ".bin" / "mmdc"
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium): mmdc needs a browser to render")
    if not mmdc.is_file():
        pytest.skip(f"tools/mermaid-check is not installed: run `{INSTALL}`")
    diagram = tmp_path / "graph.mmd"
    diagram.write_text(render_mermaid(build_graph(items_from_resources(linked()))), encoding="utf-8")
    config = tmp_path / "puppeteer.json"
    config.write_text(json.dumps({"executablePath": CHROMIUM, "args": ["--no-sandbox"]}), encoding="utf-8")
    png = tmp_path / "graph.png"
    done = subprocess.run(
        [str(mmdc), "-i", str(diagram), "-o", str(png), "-p", str(config)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
