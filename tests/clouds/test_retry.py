"""call_with_retries: what is retried, how often, and how long it waits."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from reconciler.clouds.retry import RetryPolicy, TransientError, call_with_retries
from reconciler.errors import ProviderError
from tests.clouds.conftest import Logs

QUICK = RetryPolicy(max_retries=3, backoff_base=0.001, backoff_max=0.004)


def failing(times: int, error: Exception, calls: list[int]) -> Callable[[], str]:
    def attempt() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "done"

    return attempt


def test_transient_errors_are_retried_until_success() -> None:
    calls: list[int] = []
    result = call_with_retries(failing(2, TransientError("busy", cloud="x"), calls), QUICK, "op")
    assert result == "done" and len(calls) == 3


def test_retries_stop_at_the_limit_and_raise_the_last_error() -> None:
    calls: list[int] = []
    with pytest.raises(TransientError, match="busy"):
        call_with_retries(failing(10, TransientError("busy", cloud="x"), calls), QUICK, "op")
    assert len(calls) == QUICK.max_retries + 1


def test_other_errors_are_never_retried() -> None:
    calls: list[int] = []
    with pytest.raises(ProviderError, match="invalid"):
        call_with_retries(failing(1, ProviderError("invalid", cloud="x"), calls), QUICK, "op")
    assert len(calls) == 1


def test_the_servers_wait_wins_over_backoff_and_is_capped(debug_logs: Logs) -> None:
    calls: list[int] = []
    policy = RetryPolicy(max_retries=1, backoff_base=5.0, backoff_max=5.0)
    debug_logs.clear()
    logs = debug_logs
    call_with_retries(failing(1, TransientError("slow down", cloud="x", retry_after=0.01), calls), policy, "GET /x")
    assert [(e["operation"], e["wait"], e["attempt"]) for e in logs] == [("GET /x", 0.01, 1)]


def test_backoff_is_jittered_and_bounded(debug_logs: Logs) -> None:
    calls: list[int] = []
    debug_logs.clear()
    logs = debug_logs
    call_with_retries(failing(3, TransientError("busy", cloud="x"), calls), QUICK, "op")
    waits = [e["wait"] for e in logs]
    assert len(waits) == 3 and all(0 <= w <= QUICK.backoff_max for w in waits)


def test_throttling_is_retried_past_the_attempt_limit_within_its_budget() -> None:
    calls: list[int] = []
    policy = RetryPolicy(
        max_retries=1, backoff_base=0.001, backoff_max=0.002, throttle_budget=30.0, throttle_backoff_base=0.001
    )
    throttled = TransientError("slow down", cloud="x", status=429, throttled=True)
    assert call_with_retries(failing(6, throttled, calls), policy, "op") == "done"
    assert len(calls) == 7  # six throttled answers, far more than max_retries, then success


def test_throttling_stops_when_its_budget_is_spent() -> None:
    calls: list[int] = []
    policy = RetryPolicy(
        max_retries=50, backoff_base=0.001, backoff_max=0.02, throttle_budget=0.05, throttle_backoff_base=0.01
    )
    throttled = TransientError("slow down", cloud="x", status=429, throttled=True)
    with pytest.raises(TransientError, match="slow down"):
        call_with_retries(failing(10_000, throttled, calls), policy, "op")
    assert 1 < len(calls) < 50  # stopped by time, not by the attempt limit


def test_throttling_backs_off_from_its_own_base(debug_logs: Logs) -> None:
    calls: list[int] = []
    policy = RetryPolicy(max_retries=5, backoff_base=0.0001, backoff_max=0.05, throttle_backoff_base=0.02)
    debug_logs.clear()
    logs = debug_logs
    call_with_retries(failing(4, TransientError("slow down", cloud="x", throttled=True), calls), policy, "op")
    waits = [e["wait"] for e in logs]
    assert len(waits) == 4 and max(waits) > policy.backoff_base * 16  # not the ordinary, shorter backoff


def test_a_call_that_succeeds_at_once_never_enters_tenacity(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_retrying(*args: object, **kwargs: object) -> None:
        raise AssertionError("tenacity entered for a call that succeeded")

    monkeypatch.setattr("tenacity.Retrying", no_retrying)  # imported by the retry path only
    assert call_with_retries(lambda: "done", QUICK, "op") == "done"


def test_the_first_failure_counts_as_the_first_attempt(debug_logs: Logs) -> None:
    calls: list[int] = []
    debug_logs.clear()
    logs = debug_logs
    with pytest.raises(TransientError, match="busy"):
        call_with_retries(failing(10, TransientError("busy", cloud="x"), calls), QUICK, "op")
    assert len(calls) == QUICK.max_retries + 1
    assert [e["attempt"] for e in logs] == [1, 2, 3]


def test_the_throttle_budget_counts_the_first_attempt() -> None:
    """A first attempt that alone outlasts the budget is not retried: the budget starts with it."""
    calls: list[int] = []
    policy = RetryPolicy(max_retries=50, throttle_budget=0.05, throttle_backoff_base=0.001, backoff_max=0.001)

    def slow_then_throttled() -> str:
        calls.append(1)
        deadline = time.monotonic() + 0.06  # a call that takes longer than the whole budget
        while time.monotonic() < deadline:
            time.sleep(0.01)
        raise TransientError("slow down", cloud="x", status=429, throttled=True)

    with pytest.raises(TransientError, match="slow down"):
        call_with_retries(slow_then_throttled, policy, "op")
    assert len(calls) == 1
