"""Fault injection: latency, 5xx, throttling, commit-then-drop and provisioning failures.

Every request draws the same four random numbers in the same order, so with `random_seed` set
the faults a client sees depend only on the order of its requests. Provisioning failures use
their own random stream, so turning request faults on or off does not change which objects fail.
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aiohttp import web
from aiohttp.typedefs import Middleware

from reconciler.sandbox.config import FaultConfig

if TYPE_CHECKING:
    from reconciler.sandbox.core import Core


@dataclass(frozen=True)
class FaultDraw:
    delay: float  # seconds to wait before answering
    retry_after: float | None  # throttled: seconds until a request would be let through
    server_error: float | None  # a 5xx is due: a uniform number in [0, 1) to pick which one
    drop: bool  # close the connection after a successful mutating request


class FaultInjector:
    def __init__(self, faults: Callable[[], FaultConfig], seed: int | None, api: str) -> None:
        self._faults = faults
        self._api = api
        self._lock = threading.Lock()
        self.reseed(seed)
        self.reset_throttle()

    def reseed(self, seed: int | None) -> None:
        with self._lock:
            self._requests = random.Random(f"{seed}:{self._api}:requests") if seed is not None else random.Random()
            self._provision = random.Random(f"{seed}:{self._api}:provision") if seed is not None else random.Random()

    def reset_throttle(self) -> None:
        with self._lock:
            self._tokens: float | None = None  # token bucket, filled on first use
            self._last = 0.0

    def draw(self, now: float) -> FaultDraw:
        faults = self._faults()
        with self._lock:
            jitter, error, pick, drop = (self._requests.random() for _ in range(4))
            retry_after = self._throttle(faults.throttle_rps, now)
        return FaultDraw(
            delay=(faults.latency_ms + jitter * faults.jitter_ms) / 1000.0,
            retry_after=retry_after,
            server_error=pick if error < faults.error_rate else None,
            drop=drop < faults.drop_rate,
        )

    def provision_fails(self) -> bool:
        rate = self._faults().provision_failure_rate
        with self._lock:
            return self._provision.random() < rate

    def _throttle(self, rps: float | None, now: float) -> float | None:
        """Token bucket of `rps` tokens a second (burst max(1, rps)); None = let through."""
        if rps is None:
            return None
        capacity = max(1.0, rps)
        tokens = capacity if self._tokens is None else min(capacity, self._tokens + (now - self._last) * rps)
        self._last = now
        if tokens >= 1.0:
            self._tokens = tokens - 1.0
            return None
        self._tokens = tokens
        return (1.0 - tokens) / rps


class ApiHooks(Protocol):
    """What the fault middleware needs from one API module."""

    api: str

    async def describe(self, request: web.Request) -> tuple[str, bool]:
        """(request-count key, whether the request mutates)."""
        ...

    def throttled(self, request: web.Request, retry_after: float) -> web.StreamResponse: ...

    def server_error(self, request: web.Request, pick: float) -> web.StreamResponse: ...


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def fault_middleware(hooks: ApiHooks, core: Core) -> Middleware:
    """Counts every API request and applies the API's faults; `/_sandbox/` admin routes are exempt."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_sandbox/"):
            return await handler(request)
        key, mutating = await hooks.describe(request)
        core.count(key)
        draw = core.faults[hooks.api].draw(core.now())
        if draw.delay > 0:
            await asyncio.sleep(draw.delay)
        if draw.retry_after is not None:
            return hooks.throttled(request, draw.retry_after)
        if draw.server_error is not None:
            return hooks.server_error(request, draw.server_error)
        response = await handler(request)
        if draw.drop and mutating and 200 <= response.status < 300 and request.transport is not None:
            # Commit then drop: the change is made (and durable); the client never hears of it.
            request.transport.close()
        return response

    return middleware


def retry_after_seconds(retry_after: float) -> int:
    return max(1, math.ceil(retry_after))
