"""Equinix's key rule (`reconciler.clouds.equinix.rules.key_problem`): 6-60 characters, as the
evidence supports (docs/cloud-apis.md, Equinix §10), and what the schema tells editors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import reconciler.clouds.equinix as equinix_package
from reconciler.clouds.equinix.rules import key_problem


@pytest.mark.parametrize(
    ("key", "ok"), [("a" * 5, False), ("a" * 6, True), ("9-any_chars!", True), ("a" * 60, True), ("a" * 61, False)]
)
def test_keys_are_checked_for_their_length_only(key: str, ok: bool) -> None:
    assert (key_problem(key) is None) is ok
    if not ok:
        assert key not in str(key_problem(key))


def test_the_schema_describes_the_rule_the_code_checks() -> None:
    schema = json.loads((Path(equinix_package.__file__).parent / "schema.json").read_text(encoding="utf-8"))
    description = schema["$defs"]["EquinixBgpPeeringSpec"]["properties"]["authenticationKey"]["description"]
    assert "6-60 characters" in description
    assert "letters or digits" not in description  # not checked: the API's own answer decides (U-E17)
