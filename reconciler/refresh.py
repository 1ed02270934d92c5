"""Refresh every provider at once: each lists its scope with list APIs, all clouds concurrently.

This is the part of `plan` and `drift` users wait for. Each provider pages through its list
APIs with at most `max_in_flight` requests in flight (per region, where the cloud's flow control
counts requests per region); here the providers themselves run side by side, and how many API
calls each made (per operation) is logged at debug level (`-v`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from reconciler.clouds.base import Provider, RefreshResult, RefreshScope
from reconciler.log import get_logger

log = get_logger("reconciler.refresh")


def refresh_as_made(
    make: Callable[[str], Provider], names: Sequence[str], scopes: Mapping[str, RefreshScope]
) -> dict[str, RefreshResult]:
    """Refresh each provider of `names` with its scope (an empty scope when none is given),
    concurrently. Each provider is made by `make` on the calling thread, in the order of `names`,
    and its refresh starts as soon as it is made: a provider that is slow to make (a large client
    library to import) is made while the refreshes started before it wait on their first replies.

    Every refresh started runs to the end; then the first failure (by provider name) is raised, so
    an outage of one cloud is reported once, not hidden behind another's results. A provider that
    cannot be made is its failure; none is made after it.
    """
    results: dict[str, Future[RefreshResult]] = {}
    failures: dict[str, BaseException] = {}

    def refresh_one(name: str, provider: Provider) -> RefreshResult:
        started = time.perf_counter()
        result = provider.refresh(scopes.get(name, RefreshScope()))
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
        for name in names:
            try:
                provider = make(name)
            except Exception as not_made:  # the refreshes already started still run to the end
                failures[name] = not_made
                break
            results[name] = pool.submit(refresh_one, name, provider)
    failures.update((name, failed) for name, f in results.items() if (failed := f.exception()) is not None)
    for name, error in sorted(failures.items()):
        log.debug("refresh.failed", provider=name, error=str(error))
    if failures:
        raise failures[min(failures)]
    return {name: results[name].result() for name in sorted(results)}
