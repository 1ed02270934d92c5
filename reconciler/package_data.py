"""Find files the project ships: JSON Schemas, the examples' sandbox seed, and what `reconciler
init` writes (`examples/gitops/`: the example manifest and the GitOps workflows).

In a wheel they are packaged under `reconciler/_schemas` and `reconciler/_examples`; in a source
checkout (editable install) they sit at the repository top level. The packaged copy is looked up
first: installed, the package's parent folder is site-packages, where another distribution's
top-level `schemas/` or `examples/` must not be taken for ours.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent


def _find(top_level: str, packaged: str, name: str) -> Path:
    for candidate in (_PACKAGE / packaged / name, _PACKAGE.parent / top_level / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{top_level}/{name} is missing from this installation")


def schema_path(name: str) -> Path:
    """`manifest.schema.json`, `plan.schema.json`, `state.schema.json`, ..."""
    return _find("schemas", "_schemas", name)


@cache
def load_schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(schema_path(name).read_text(encoding="utf-8"))
    return data


def example_path(name: str) -> Path:
    """A file from `examples/`, e.g. `sandbox-seed.yaml`."""
    return _find("examples", "_examples", name)


def example_files(folder: str) -> dict[str, Path]:
    """Every file below `examples/<folder>` (hidden ones included), by its path relative to that
    folder, e.g. `example_files("gitops/github/workflows")`."""
    for root in (_PACKAGE / "_examples" / folder, _PACKAGE.parent / "examples" / folder):
        if root.is_dir():
            return {path.relative_to(root).as_posix(): path for path in sorted(root.rglob("*")) if path.is_file()}
    raise FileNotFoundError(f"examples/{folder} is missing from this installation")
