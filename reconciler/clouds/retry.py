"""Retries with jittered exponential backoff (tenacity), shared by both cloud clients.

A client turns every retryable failure (throttling, 5xx, connection errors) into a
`TransientError` inside one attempt; `call_with_retries` repeats the attempt on exactly that
type, waiting what the server asked for (`Retry-After`) or a jittered exponential delay.
Anything else (validation errors, 404s...) surfaces at once. Most calls succeed at once, so the
first attempt is made without tenacity, which is entered (and imported) only after a retryable
failure: most runs never need it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from reconciler.clouds.base import ProviderOptions
from reconciler.errors import ProviderError
from reconciler.log import get_logger

if TYPE_CHECKING:
    import tenacity

T = TypeVar("T")

# A server may ask for a long pause; beyond this we would rather fail than hang a CI job.
RETRY_AFTER_CAP = 60.0

log = get_logger("reconciler.clouds.retry")


class TransientError(ProviderError):
    """A failure worth trying again (always `retryable`), optionally with the server's wait."""

    def __init__(
        self,
        message: str,
        *,
        cloud: str,
        status: int | None = None,
        codes: Sequence[str] = (),
        messages: Sequence[str] = (),
        request_id: str | None = None,
        retry_after: float | None = None,
        hint: str | None = None,
        throttled: bool = False,
    ) -> None:
        super().__init__(
            message,
            cloud=cloud,
            status=status,
            codes=codes,
            messages=messages,
            request_id=request_id,
            retryable=True,
            hint=hint,
        )
        self.retry_after = retry_after
        self.throttled = throttled  # the server asked us to slow down (HTTP 429, Throttling.*)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 5  # retries after the first attempt
    backoff_base: float = 0.2  # seconds
    backoff_max: float = 10.0
    # Being throttled is not a failure of the call: it is retried for this long, whatever the
    # number of attempts, with a backoff starting at a second (a server that asks for no
    # particular wait still wants fewer requests).
    throttle_budget: float = 120.0
    throttle_backoff_base: float = 1.0

    @classmethod
    def from_options(cls, options: ProviderOptions) -> RetryPolicy:
        return cls(options.max_retries, options.backoff_base, options.backoff_max, options.throttle_budget)


def _last_error(state: tenacity.RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome else None


def _wait(policy: RetryPolicy) -> Callable[[tenacity.RetryCallState], float]:
    import tenacity

    jittered = tenacity.wait_random_exponential(multiplier=policy.backoff_base, max=policy.backoff_max)
    throttled = tenacity.wait_random_exponential(multiplier=policy.throttle_backoff_base, max=policy.backoff_max)

    def wait(state: tenacity.RetryCallState) -> float:
        error = _last_error(state)
        if isinstance(error, TransientError) and error.retry_after is not None:
            return min(max(error.retry_after, 0.0), RETRY_AFTER_CAP)
        if isinstance(error, TransientError) and error.throttled:
            return float(throttled(state))
        return float(jittered(state))

    return wait


def _stop(policy: RetryPolicy, started: float) -> Callable[[tenacity.RetryCallState], bool]:
    """Throttling: retry until the throttle budget, counted from the first attempt (`started`,
    `time.monotonic`), is spent. Anything else: `max_retries` times."""
    import tenacity

    by_attempts = tenacity.stop_after_attempt(policy.max_retries + 1)

    def stop(state: tenacity.RetryCallState) -> bool:
        error = _last_error(state)
        if isinstance(error, TransientError) and error.throttled:
            return (state.outcome_timestamp or time.monotonic()) - started >= policy.throttle_budget
        return bool(by_attempts(state))

    return stop


def call_with_retries(attempt: Callable[[], T], policy: RetryPolicy, operation: str) -> T:
    """Run `attempt`, retrying on `TransientError`: up to `policy.max_retries` times, or for as long
    as the throttle budget lasts while the server throttles."""
    started = time.monotonic()
    try:
        return attempt()
    except TransientError as error:
        first: TransientError | None = error
    import tenacity

    def again() -> T:
        nonlocal first
        if first is not None:  # tenacity's first attempt is the one already made
            failed, first = first, None
            raise failed
        return attempt()

    def before_sleep(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.debug("api.retry", operation=operation, attempt=state.attempt_number, wait=round(wait, 3), error=str(error))

    retrying = tenacity.Retrying(
        stop=_stop(policy, started),
        wait=_wait(policy),
        retry=tenacity.retry_if_exception_type(TransientError),
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(again)
