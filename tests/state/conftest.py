"""Fixtures for tests/state (defined in fixtures.py, shared with tests/commands/test_state.py)."""

from tests.state.fixtures import (
    backend,
    backend_url,
    local,
    pg_dbname,
    pg_schema,
    pg_server,
    pg_url,
    start_holder,
    state_path,
)

__all__ = [
    "backend",
    "backend_url",
    "local",
    "pg_dbname",
    "pg_schema",
    "pg_server",
    "pg_url",
    "start_holder",
    "state_path",
]
