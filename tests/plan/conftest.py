"""Fixtures for the plan tests: the plan schema validator, and no plan key from the environment."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from reconciler.package_data import load_schema
from reconciler.plan.signing import PLAN_KEY_ENV


@pytest.fixture(scope="session")
def plan_validator() -> Any:
    schema = load_schema("plan.schema.json")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@pytest.fixture(autouse=True)
def _no_plan_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """`save_plan` signs when the environment has a key: a developer's own must not change the tests."""
    monkeypatch.delenv(PLAN_KEY_ENV, raising=False)
