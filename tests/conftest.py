"""Fixtures for the whole suite."""

from __future__ import annotations

import pytest

PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # The Alibaba SDK (and httpx) would send even loopback calls through a proxy when one is set.
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
