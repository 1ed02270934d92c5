"""The fake cloud of `tests.apply.fakes` is registered for every test here, and removed after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.apply.fakes import registered


@pytest.fixture(autouse=True)
def fake_cloud() -> Iterator[None]:
    yield from registered()
