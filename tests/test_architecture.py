"""The architecture's rules, checked on the source:

- the core names no cloud and no kind: what it knows of them comes from the registry
  (`reconciler.clouds`), so a new cloud is one package and one registry entry;
- the published manifest schema is what the registry builds, so its kind enum and the registered
  kinds cannot drift apart;
- cloud packages do not import each other, the core imports only the registry and the shared
  modules of `reconciler.clouds`, and the sandbox (an independent oracle of the real APIs)
  imports nothing of `reconciler.clouds`.

Names are taken from the registry, with the test cloud (tests/testcloud) registered too, so any
further cloud is covered with no change here.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

from reconciler.clouds import CLOUDS
from reconciler.manifest.schema import manifest_schema
from tests.testcloud import CLOUD as MEMCLOUD
from tests.testcloud import registered

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "reconciler"
CLOUDS_DIR = PACKAGE / "clouds"
SANDBOX_DIR = PACKAGE / "sandbox"
SCHEMA = REPO / "schemas" / "manifest.schema.json"
REGENERATE = "python -m reconciler.manifest.schema > schemas/manifest.schema.json"
# What the core may import from reconciler.clouds: the registry, the protocols and plain values,
# and the helpers every provider shares.
CORE_MAY_IMPORT = frozenset(
    {"reconciler.clouds", "reconciler.clouds.base", "reconciler.clouds.retry", "reconciler.clouds.counters"}
)


def relative(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def core_files(*suffixes: str) -> list[Path]:
    """The files of the core: reconciler/ without the cloud packages, the registry and the sandbox."""
    return sorted(
        path
        for suffix in suffixes
        for path in PACKAGE.rglob(f"*{suffix}")
        if not path.is_relative_to(CLOUDS_DIR) and not path.is_relative_to(SANDBOX_DIR)
    )


def cloud_packages() -> dict[str, Path]:
    """The cloud packages under reconciler/clouds/, by module name."""
    return {f"reconciler.clouds.{path.parent.name}": path.parent for path in sorted(CLOUDS_DIR.glob("*/__init__.py"))}


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in a module, wherever it is (functions, TYPE_CHECKING).
    `from package import name` yields `package.name` too, as `name` may be a module."""
    module = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def is_within(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


# -- the core names no cloud and no kind ----------------------------------------------------------


def test_the_core_names_no_cloud_and_no_kind() -> None:
    with registered():
        names = {cloud.name for cloud in CLOUDS.values()} | {info.kind for c in CLOUDS.values() for info in c.kinds}
    assert MEMCLOUD.name in names and len(names) >= 6  # the registry was read, the test cloud included
    found = []
    for path in core_files(".py", ".json"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            named = sorted(name for name in names if name.lower() in line.lower())
            if named:
                found.append(f"{relative(path)}:{number}: {', '.join(named)}: {line.strip()}")
    assert not found, (
        f"{len(found)} lines of the core name a cloud or a kind (the core learns about clouds and kinds "
        "from the registry only; say 'a cloud', or take the name from the registry):\n" + "\n".join(found)
    )


# -- the published manifest schema is the registry's --------------------------------------------


def test_the_published_manifest_schema_is_what_the_registry_builds() -> None:
    built = json.dumps(manifest_schema(), indent=2, ensure_ascii=False) + "\n"
    assert SCHEMA.read_text(encoding="utf-8") == built, (
        f"{relative(SCHEMA)} is not what the registered clouds build: regenerate it with `{REGENERATE}`"
    )
    registered_kinds = [info.kind for cloud in CLOUDS.values() for info in cloud.kinds]
    assert json.loads(built)["properties"]["kind"]["enum"] == registered_kinds


def test_the_manifest_schema_follows_the_registry_as_clouds_come_and_go() -> None:
    def kinds_and_specs() -> tuple[list[str], set[str]]:
        schema = manifest_schema()
        return schema["properties"]["kind"]["enum"], {k for k in schema["$defs"] if k.endswith("Spec")}

    before = kinds_and_specs()
    with registered():
        kinds, specs = kinds_and_specs()
        assert kinds == [*before[0], "MemRouterBgp", "MemBgpNeighbor"]
        assert specs == before[1] | {"MemRouterBgpSpec", "MemBgpNeighborSpec"}
    assert kinds_and_specs() == before


# -- imports ----------------------------------------------------------------------------------------


def test_cloud_packages_do_not_import_each_other() -> None:
    packages = cloud_packages()
    assert len(packages) >= 2
    found = [
        f"{relative(path)}:{line}: imports {module}"
        for name, folder in packages.items()
        for path in sorted(folder.rglob("*.py"))
        for line, module in imports(path)
        if any(is_within(module, other) for other in packages if other != name)
    ]
    assert not found, "a cloud package imports another one:\n" + "\n".join(found)


def test_the_core_imports_the_registry_not_the_cloud_packages() -> None:
    found = [
        f"{relative(path)}:{line}: imports {module}"
        for path in core_files(".py")
        for line, module in imports(path)
        if is_within(module, "reconciler.clouds") and not core_may_import(module)
    ]
    assert not found, (
        f"the core may import only {', '.join(sorted(CORE_MAY_IMPORT))} of reconciler.clouds:\n" + "\n".join(found)
    )


def core_may_import(module: str) -> bool:
    """An allowed module, or a name imported from one (`from reconciler.clouds import CLOUDS`
    gives `reconciler.clouds.CLOUDS`, a name; `reconciler.clouds.equinix` is a module)."""
    if module in CORE_MAY_IMPORT:
        return True
    path = REPO.joinpath(*module.split("."))
    return module.rpartition(".")[0] in CORE_MAY_IMPORT and not path.is_dir() and not path.with_suffix(".py").exists()


def test_the_sandbox_imports_nothing_of_the_clouds() -> None:
    found = [
        f"{relative(path)}:{line}: imports {module}"
        for path in sorted(SANDBOX_DIR.rglob("*.py"))
        for line, module in imports(path)
        if is_within(module, "reconciler.clouds")
    ]
    assert not found, "the sandbox is an independent emulator of the APIs; it must not use reconciler.clouds:\n" + (
        "\n".join(found)
    )
