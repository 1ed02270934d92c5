"""Refresh every provider at once: each lists its scope with list APIs, all clouds concurrently.

This is the part of `plan` and `drift` users wait for. Each provider pages through its list
APIs with at most `max_in_flight` requests in flight (per region where the cloud's flow control
counts per region, as Alibaba's does); here the providers themselves run side by side, and how
many API calls each made (per operation) is logged at debug level (`-v`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from reconciler.clouds.base import Provider, RefreshResult, RefreshScope
from reconciler.log import get_logger

log = get_logger("reconciler.refresh")


def refresh_all(providers: Mapping[str, Provider], scopes: Mapping[str, RefreshScope]) -> dict[str, RefreshResult]:
    """Refresh each provider with its scope (an empty scope when none is given), concurrently.

    Every provider runs to the end; then the first failure (by provider name) is raised, so an
    outage of one cloud is reported once, not hidden behind another's results.
    """
    names = sorted(providers)

    def refresh_one(name: str) -> RefreshResult:
        started = time.perf_counter()
        result = providers[name].refresh(scopes.get(name, RefreshScope()))
        log.debug(
            "refresh.done",
            provider=name,
            objects=len(result.objects),
            api_calls=sum(result.api_calls.values()),
            by_operation=dict(result.api_calls),
            seconds=round(time.perf_counter() - started, 3),
        )
        return result

    with ThreadPoolExecutor(max_workers=max(1, len(names)), thread_name_prefix="refresh") as pool:
        futures = {name: pool.submit(refresh_one, name) for name in names}
    failures = [(name, error) for name, f in futures.items() if (error := f.exception()) is not None]
    for name, error in failures:
        log.debug("refresh.failed", provider=name, error=str(error))
    if failures:
        raise failures[0][1]
    return {name: future.result() for name, future in futures.items()}
