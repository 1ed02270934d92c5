"""The plan package sits below its consumers: it never imports the renderers, drift or the commands.

Renderers, drift and the commands use plans; a plan module that imported one of them would make a
cycle (render -> plan -> render). Checked twice: statically, so that an import inside a function
counts too, and in a fresh interpreter, so that an indirect import through another module counts.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import reconciler.plan

PLAN_PACKAGE = Path(reconciler.plan.__file__).parent
# Packages and modules that consume plans, and so must never be imported by one.
CONSUMERS = ("reconciler.render", "reconciler.drift", "reconciler.commands", "reconciler.workflow", "reconciler.cli")


def _plan_modules() -> list[str]:
    return sorted(f"reconciler.plan.{path.stem}" for path in PLAN_PACKAGE.glob("*.py") if path.stem != "__init__")


def _is_consumer(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in CONSUMERS)


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return found


def test_no_plan_module_names_a_consumer_of_plans_in_an_import() -> None:
    offending = {
        path.name: sorted(m for m in _imported_modules(path) if _is_consumer(m))
        for path in sorted(PLAN_PACKAGE.glob("*.py"))
    }
    assert {name: found for name, found in offending.items() if found} == {}


def test_importing_every_plan_module_loads_no_consumer_of_plans() -> None:
    modules = _plan_modules()
    assert "reconciler.plan.planfile" in modules and "reconciler.plan.codec" in modules
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded = json.loads(result.stdout)
    assert [m for m in loaded if _is_consumer(m)] == []
