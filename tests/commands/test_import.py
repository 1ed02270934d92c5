"""`reconciler import` on the command line: the two modes and their options, refused with a
message that says what would be valid (exit 1, no traceback), before any state or cloud is
touched. The migration itself runs end to end in tests/e2e/test_migrate_terraform.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.clouds import CLOUDS
from tests.e2e.conftest import cli

REGION_CLOUDS = sorted(name for name, cloud in CLOUDS.items() if any(info.region_field for info in cloud.kinds))
NO_REGION_CLOUDS = sorted(set(CLOUDS) - set(REGION_CLOUDS))


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RECONCILER_STATE", raising=False)
    (tmp_path / "state.json").write_text(json.dumps({"version": 4, "resources": []}))
    return tmp_path


def test_every_cloud_with_regions_has_its_region_option() -> None:
    assert REGION_CLOUDS  # at least one registered cloud places objects in regions
    shown = cli("import", "--help")
    assert shown.code == 0
    for name in REGION_CLOUDS:
        assert f"--{name}-region REGION" in shown.out
    for name in NO_REGION_CLOUDS:
        assert f"--{name}-region" not in shown.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--out", "bgp"), "--out only go with --from-terraform"),
        (("Kind/x", "id-1", "--force"), "--force only go with --from-terraform"),
        (("--from-terraform", "state.json"), "--from-terraform needs --out DIR"),
        (("Kind/x", "id-1", "--from-terraform", "state.json", "--out", "bgp"), "--from-terraform takes no ADDRESS"),
        (("--from-terraform", "state.json", "--out", "bgp", "--region", "nowhere=r-1"), "is not CLOUD=REGION"),
        (("--from-terraform", "state.json", "--out", "bgp", "--region", "no-equals"), "is not CLOUD=REGION"),
        ((), "import needs ADDRESS CLOUD_ID, or --from-terraform STATEFILE --out DIR"),
    ],
)
def test_bad_combinations_are_refused(in_tmp: Path, args: tuple[str, ...], message: str) -> None:
    result = cli("import", *args)
    assert result.code == 1
    assert message in result.err, result.err
    assert "Traceback" not in result.both
    assert not (in_tmp / "bgp").exists() and not (in_tmp / "state").exists()


def test_a_region_option_for_a_cloud_with_no_regions_names_those_with_regions() -> None:
    name = NO_REGION_CLOUDS[0] if NO_REGION_CLOUDS else "nowhere"
    result = cli("import", "--from-terraform", "state.json", "--out", "bgp", "--region", f"{name}=r-1")
    assert result.code == 1
    assert f"clouds: {', '.join(REGION_CLOUDS)};" in result.err


def test_a_state_without_bgp_resources_writes_nothing(in_tmp: Path) -> None:
    result = cli("import", "--from-terraform", "state.json", "--out", "bgp")
    assert result.code == 0, result.both
    assert "nothing to migrate, nothing written" in result.out
    assert not (in_tmp / "bgp").exists() and not (in_tmp / "state").exists()


def test_manifest_paths_come_after_address_and_cloud_id(in_tmp: Path) -> None:
    positional = cli("import", "Kind/x", "id-1", "elsewhere")
    assert positional.code == 1
    assert "path not found: elsewhere" in positional.err and "Traceback" not in positional.both
    deprecated = cli("import", "Kind/x", "id-1", "--path", "elsewhere")
    assert deprecated.code == 1 and "path not found: elsewhere" in deprecated.err
    assert deprecated.err.count("`import --path PATH` is deprecated") == 1
    assert "--path" not in cli("import", "--help").out  # hidden: only old scripts use it
    assert not (in_tmp / "state").exists()
