"""open_backend: which backend a --state value selects."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import StateError
from reconciler.state import StateBackend, open_backend
from reconciler.state.local import LocalBackend
from reconciler.state.postgres import PostgresBackend


@pytest.mark.parametrize("value", ["state/reconciler.json", "/abs/s.json", "file:///abs/s.json"])
def test_paths_open_the_local_backend(value: str) -> None:
    backend = open_backend(value)
    assert isinstance(backend, LocalBackend)
    assert isinstance(backend, StateBackend)
    assert backend.path == Path(value.removeprefix("file://"))


def test_a_home_relative_path_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    backend = open_backend("~/team/state.json")
    assert isinstance(backend, LocalBackend)
    assert backend.path == tmp_path / "team" / "state.json"


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_postgres_urls_open_the_postgres_backend_without_connecting(scheme: str) -> None:
    backend = open_backend(f"{scheme}://ci:pw@unreachable.invalid:5432/state?name=prod")
    assert isinstance(backend, PostgresBackend)
    assert isinstance(backend, StateBackend)
    assert backend.name == "prod"
    assert backend.description == f"{scheme}://ci:***@unreachable.invalid:5432/state?name=prod"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("s3://bucket/state.json", "unsupported state backend s3://: use a file path"),
        ("", "the state location is empty"),
    ],
)
def test_other_values_are_refused(value: str, message: str) -> None:
    with pytest.raises(StateError, match=message):
        open_backend(value)
