"""Fixtures for the whole suite."""

from __future__ import annotations

import pytest

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
