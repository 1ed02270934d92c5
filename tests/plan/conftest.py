"""Fixtures for the plan tests: the plan schema validator."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from reconciler.package_data import load_schema


@pytest.fixture(scope="session")
def plan_validator() -> Any:
    schema = load_schema("plan.schema.json")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)
