"""Finding the files the project ships (`reconciler.package_data`), installed or in a source checkout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler import package_data


@pytest.fixture
def site_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The package as installed from a wheel: `<site-packages>/reconciler`."""
    package = tmp_path / "site-packages" / "reconciler"
    package.mkdir(parents=True)
    monkeypatch.setattr(package_data, "_PACKAGE", package)
    return package.parent


def write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")


def test_the_packaged_copy_wins_over_a_stray_top_level_folder(site_packages: Path) -> None:
    name = "packaged-first.schema.json"  # a name of its own: load_schema caches by name
    write(site_packages / "reconciler" / "_schemas" / name, '{"title": "packaged"}')
    write(site_packages / "schemas" / name, '{"title": "stray"}')  # another distribution's folder
    write(site_packages / "reconciler" / "_examples" / "sandbox-seed.yaml", "packaged: true\n")
    write(site_packages / "examples" / "sandbox-seed.yaml", "stray: true\n")

    assert package_data.schema_path(name) == site_packages / "reconciler" / "_schemas" / name
    assert package_data.load_schema(name) == {"title": "packaged"}
    assert package_data.example_path("sandbox-seed.yaml").read_text() == "packaged: true\n"


def test_a_source_checkout_uses_the_top_level_folders(site_packages: Path) -> None:
    write(site_packages / "schemas" / "plan.schema.json", json.dumps({"title": "checkout"}))
    assert package_data.schema_path("plan.schema.json") == site_packages / "schemas" / "plan.schema.json"
    with pytest.raises(FileNotFoundError, match=r"examples/sandbox-seed.yaml is missing from this installation"):
        package_data.example_path("sandbox-seed.yaml")


def test_this_checkout_finds_the_schemas_it_ships() -> None:
    repo = Path(__file__).resolve().parents[1]
    assert (
        package_data.schema_path("manifest.schema.json").read_bytes()
        == (repo / "schemas" / "manifest.schema.json").read_bytes()
    )
