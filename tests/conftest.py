"""Fixtures for the whole suite."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

pytest_plugins = ["pytester"]  # tests/test_conftest.py runs small suites of its own

PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # The Alibaba SDK (and httpx) would send even loopback calls through a proxy when one is set.
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _not_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    # CI systems set CI=true, and in CI reconciler refuses the default local state; the tests use
    # it on purpose (tests/e2e/test_ci_backend.py sets CI itself).
    monkeypatch.delenv("CI", raising=False)


@pytest.fixture(autouse=True)
def _own_cache_folder(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # `--sandbox` keeps its data in the user's cache folder: each test gets its own, never the real one.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    # A test that runs the CLI in-process points reconciler's logs at the stderr of that moment,
    # which may be a capture closed when the test ends: a later test that logs without running
    # the CLI would write to a closed file. Each test's logging configuration ends with it.
    from reconciler import log

    structlog = sys.modules.get("structlog")
    before = structlog.get_config() if structlog is not None and structlog.is_configured() else None
    pending, stream = log._pending.settings, log._output.stream
    yield
    structlog = sys.modules.get("structlog")
    if structlog is not None:
        if before is None:
            structlog.reset_defaults()
        else:
            structlog.configure(**before)
    log._pending.settings, log._output.stream = pending, stream
