"""The settle watcher: what a poll means for a wait, and the watcher thread's timing."""

from __future__ import annotations

import queue
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Literal

import pytest

from reconciler.apply.events import BusyWait, RetryDue, Settled, SettleFailed, Watch, WatchEvent
from reconciler.apply.settle import SettleWatcher, judge_busy, judge_watch
from reconciler.apply.steps import Step
from reconciler.errors import ProviderError
from reconciler.model import LiveObject, SecretValue
from tests.apply.fakes import (
    ROUTER,
    WAIT,
    FakeProvider,
    answers,
    live,
    ref,
    router,
    steps,
)


def a_step(name: str = "a") -> Step:
    (only,) = steps(router(name))
    return only


Target = Literal["ready", "gone"]


def watch(
    target: Target = "ready",
    *,
    grace: float = 10.0,
    secrets: Mapping[str, SecretValue | None] | None = None,
    **expect: object,
) -> Watch:
    now = time.monotonic()
    return Watch(a_step(), ref(ROUTER, "router-1"), target, now + 60, now + grace, dict(expect), dict(secrets or {}))


READY = live(ROUTER, "router-1", "ready", "Available", {"asn": 65000})


@pytest.mark.parametrize(
    ("case", "target", "grace", "obj", "expected"),
    [
        ("ready", "ready", 10.0, READY, "settled"),
        ("still provisioning", "ready", 10.0, live(ROUTER, "router-1", "pending", "PROVISIONING"), None),
        ("not visible yet, within the grace", "ready", 10.0, None, None),
        ("gone after the grace", "ready", -1.0, None, "the object disappeared while provisioning"),
        (
            "provisioning failed",
            "ready",
            10.0,
            live(ROUTER, "router-1", "failed", "FAILED"),
            "provisioning ended FAILED",
        ),
        ("failed without a word", "ready", 10.0, live(ROUTER, "router-1", "failed"), "provisioning ended FAILED"),
        ("deleted", "gone", 10.0, None, "settled"),
        ("still deleting", "gone", 10.0, live(ROUTER, "router-1", "deleting", "Deleting"), None),
    ],
)
def test_what_one_poll_of_a_watched_object_means(
    case: str, target: Target, grace: float, obj: LiveObject | None, expected: str | None
) -> None:
    verdict = judge_watch(watch(target, grace=grace), obj, time.monotonic())
    if expected is None:
        assert verdict is None, case
    elif expected == "settled":
        assert isinstance(verdict, Settled), case
    else:
        assert isinstance(verdict, SettleFailed) and verdict.message == expected, case


def test_a_ready_object_without_the_desired_attributes_fails_the_step_after_the_grace() -> None:
    verdict = judge_watch(watch(asn=65001, name="a", grace=-1.0), READY, time.monotonic())
    assert isinstance(verdict, SettleFailed)
    assert verdict.message == "the cloud did not keep the change (asn is 65000, not 65001, name is None, not 'a')"
    assert isinstance(judge_watch(watch(asn=65000, grace=-1.0), READY, time.monotonic()), Settled)


def test_a_ready_object_without_the_desired_attributes_is_still_settling_within_the_grace() -> None:
    """Reads may lag the change: the old values may show a while after the cloud took it."""
    assert judge_watch(watch(asn=65001), READY, time.monotonic()) is None
    assert isinstance(judge_watch(watch(asn=65000), READY, time.monotonic()), Settled)


OLD, NEW = SecretValue("old-key-value"), SecretValue("new-key-value")
HINT = (
    "; the manifests want no key, but the cloud kept the one it had (a cloud may ignore a request to clear a "
    "key): remove the key in the cloud's console, or set a key in the manifests"
)


@pytest.mark.parametrize(
    ("desired", "shown", "message"),
    [
        (NEW, {"password": NEW}, None),
        (None, {"password": None}, None),
        (NEW, {}, None),  # the provider does not report the key: not compared
        (
            NEW,
            {"password": OLD},
            "the cloud did not keep the change (password is (sensitive): the cloud has another key)",
        ),
        (NEW, {"password": None}, "the cloud did not keep the change (password is (sensitive): the cloud has no key)"),
        (
            None,
            {"password": OLD},
            f"the cloud did not keep the change (password is (sensitive): the cloud still has a key){HINT}",
        ),
    ],
    ids=["same key", "no key, as wanted", "key not reported", "another key", "no key", "a key it should not have"],
)
def test_keys_are_compared_and_never_shown(
    desired: SecretValue | None, shown: dict[str, SecretValue | None], message: str | None
) -> None:
    obj = replace(READY, secrets=shown)
    within = judge_watch(watch(asn=65000, secrets={"password": desired}), obj, time.monotonic())
    after = judge_watch(watch(asn=65000, secrets={"password": desired}, grace=-1.0), obj, time.monotonic())
    if message is None:
        assert isinstance(within, Settled) and isinstance(after, Settled)
        return
    assert within is None  # reads may lag the change
    assert isinstance(after, SettleFailed)
    assert after.message == message
    assert "key-value" not in after.message


def test_a_wrong_value_and_a_wrong_key_are_both_reported() -> None:
    obj = replace(READY, secrets={"password": OLD})
    verdict = judge_watch(watch(asn=65001, secrets={"password": NEW}, grace=-1.0), obj, time.monotonic())
    assert isinstance(verdict, SettleFailed)
    assert verdict.message == (
        "the cloud did not keep the change "
        "(asn is 65000, not 65001, password is (sensitive): the cloud has another key)"
    )


@pytest.mark.parametrize(
    ("obj", "retry"),
    [
        (live(ROUTER, "x", "pending", "Modifying"), False),
        (live(ROUTER, "x", "deleting", "Deleting"), False),
        (live(ROUTER, "x", "ready"), True),
        (live(ROUTER, "x", "failed"), True),  # the call will say what is wrong
        (None, True),  # gone: likewise
    ],
)
def test_a_busy_step_is_called_again_once_what_it_waits_for_stops_changing(obj: LiveObject | None, retry: bool) -> None:
    wait = BusyWait(a_step(), "busy", ref(ROUTER, "x"), 0.0, time.monotonic() + 60)
    assert isinstance(judge_busy(wait, obj), RetryDue) is retry


# ---------------------------------------------------------------- the watcher thread


class Watcher:
    """A running watcher and the events it emits."""

    def __init__(self, provider: FakeProvider, timeout: float = 60.0, *, start: bool = True) -> None:
        self.events: queue.Queue[WatchEvent] = queue.Queue()
        self.thread = SettleWatcher(provider, self.events.put, timeout=timeout, poll_min=0.01, poll_max=0.05)
        if start:
            self.thread.start()

    def next(self) -> WatchEvent:
        return self.events.get(timeout=WAIT)

    def stop(self) -> None:
        self.thread.stop()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


def test_objects_settle_through_batched_polls(provider: FakeProvider) -> None:
    pending = live(ROUTER, "router-1", "pending", "PROVISIONING")
    provider.seen = {"router-1": [pending, pending, READY], "router-2": [pending, READY]}
    watcher = Watcher(provider, start=False)
    now = time.monotonic()
    a, b = a_step("a"), a_step("b")
    watcher.thread.watch(Watch(a, ref(ROUTER, "router-1"), "ready", now + 60, now + 10))
    watcher.thread.watch(Watch(b, ref(ROUTER, "router-2"), "ready", now + 60, now + 10))
    watcher.thread.start()
    settled = {watcher.next().step.key, watcher.next().step.key}
    watcher.stop()
    assert settled == {a.key, b.key}
    assert provider.polls == [["router-1", "router-2"], ["router-1", "router-2"], ["router-1"]]


def test_a_step_still_settling_at_its_deadline_fails_with_the_last_status(provider: FakeProvider) -> None:
    provider.seen = {"router-1": [live(ROUTER, "router-1", "pending", "PROVISIONING")]}
    watcher = Watcher(provider, timeout=0.2)
    now = time.monotonic()
    watcher.thread.watch(Watch(a_step(), ref(ROUTER, "router-1"), "ready", now + 0.2, now + 10))
    event = watcher.next()
    watcher.stop()
    assert isinstance(event, SettleFailed)
    assert event.message == "timed out after 0 s waiting to be ready (last status: PROVISIONING)"


def test_a_failed_poll_is_tried_again(provider: FakeProvider) -> None:
    provider.on_poll = answers(
        ProviderError("throttled", cloud="fake", retryable=True),
        RuntimeError("a bug in the provider"),
        {"router-1": READY},
    )
    watcher = Watcher(provider)
    now = time.monotonic()
    watcher.thread.watch(Watch(a_step(), ref(ROUTER, "router-1"), "ready", now + 60, now + 10))
    assert isinstance(watcher.next(), Settled)
    watcher.stop()
    assert len(provider.polls) >= 3


def test_a_busy_step_with_nothing_to_watch_is_called_again_after_the_delay_without_polls(
    provider: FakeProvider,
) -> None:
    watcher = Watcher(provider)
    now = time.monotonic()
    watcher.thread.wait_busy(BusyWait(a_step(), "try later", None, now + 0.05, now + 60))
    event = watcher.next()
    watcher.stop()
    assert isinstance(event, RetryDue)
    assert time.monotonic() >= now + 0.05
    assert provider.polls == []


def test_a_busy_step_is_called_again_when_the_object_it_waits_for_settles(provider: FakeProvider) -> None:
    modifying = live(ROUTER, "x", "pending", "Modifying")
    provider.seen = {"x": [modifying, modifying, modifying, READY]}
    watcher = Watcher(provider)
    now = time.monotonic()
    watcher.thread.wait_busy(BusyWait(a_step(), "router x is modifying", ref(ROUTER, "x"), now, now + 60))
    event = watcher.next()
    watcher.stop()
    assert isinstance(event, RetryDue)
    assert len(provider.polls) == 4


def test_a_step_still_busy_at_its_deadline_fails_naming_the_reason(provider: FakeProvider) -> None:
    provider.seen = {"x": [live(ROUTER, "x", "pending", "Modifying")]}
    watcher = Watcher(provider, timeout=0.2)
    now = time.monotonic()
    watcher.thread.wait_busy(BusyWait(a_step("a"), "router x is modifying", ref(ROUTER, "x"), now, now + 0.2))
    watcher.thread.wait_busy(BusyWait(a_step("b"), "another operation is running", None, now + 60, now + 0.2))
    events = {e.step.key: e for e in (watcher.next(), watcher.next())}
    watcher.stop()
    a, b = events[a_step("a").key], events[a_step("b").key]
    assert isinstance(a, SettleFailed) and isinstance(b, SettleFailed)
    assert a.message == ("timed out after 0 s: the cloud was still busy (router x is modifying; Router x is Modifying)")
    assert b.message == "timed out after 0 s: the cloud was still busy (another operation is running)"


def test_an_object_a_step_waits_for_and_another_watches_is_polled_once_per_round(provider: FakeProvider) -> None:
    provider.objects["router-1"] = READY
    watcher = Watcher(provider, start=False)
    now = time.monotonic()
    watcher.thread.watch(Watch(a_step("a"), ref(ROUTER, "router-1"), "ready", now + 60, now + 10))
    watcher.thread.wait_busy(BusyWait(a_step("b"), "busy", ref(ROUTER, "router-1"), now, now + 60))
    watcher.thread.start()
    events = [watcher.next(), watcher.next()]
    watcher.stop()
    assert provider.polls == [["router-1"]]
    assert {type(e) for e in events} == {Settled, RetryDue}


def test_a_wait_due_before_the_watcher_would_wake_wakes_it(provider: FakeProvider) -> None:
    watcher = Watcher(provider)
    now = time.monotonic()
    watcher.thread.wait_busy(BusyWait(a_step("a"), "later", None, now + 600, now + 600))
    deadline = time.monotonic() + WAIT
    while watcher.thread._sleeping_until != now + 600:  # asleep until the first wait is due
        assert time.monotonic() < deadline, "the watcher never went to sleep"
        time.sleep(0.001)
    watcher.thread.wait_busy(BusyWait(a_step("b"), "soon", None, now + 0.05, now + 600))
    event = watcher.next()
    watcher.stop()
    assert isinstance(event, RetryDue) and event.step == a_step("b")


def test_an_object_that_shows_the_change_late_settles(provider: FakeProvider) -> None:
    changed = live(ROUTER, "router-1", "ready", "Available", {"asn": 65001})
    provider.seen = {"router-1": [READY, READY, changed]}  # ready, but the reads lag the change
    watcher = Watcher(provider)
    now = time.monotonic()
    watcher.thread.watch(Watch(a_step(), ref(ROUTER, "router-1"), "ready", now + 60, now + 30, {"asn": 65001}))
    event = watcher.next()
    watcher.stop()
    assert isinstance(event, Settled)
    assert len(provider.polls) == 3


def test_a_change_still_not_shown_at_the_deadline_fails_with_what_the_cloud_shows(provider: FakeProvider) -> None:
    provider.seen = {"router-1": [replace(READY, secrets={"password": OLD})]}
    watcher = Watcher(provider, timeout=0.2)
    now = time.monotonic()
    watcher.thread.watch(
        Watch(a_step(), ref(ROUTER, "router-1"), "ready", now + 0.2, now + 30, {"asn": 65001}, {"password": NEW})
    )
    event = watcher.next()
    watcher.stop()
    assert isinstance(event, SettleFailed)
    assert event.message == (
        "timed out after 0 s waiting to be ready: the cloud did not keep the change "
        "(asn is 65000, not 65001, password is (sensitive): the cloud has another key)"
    )


def test_a_new_wait_joins_the_next_round_without_bringing_the_interval_back_down(provider: FakeProvider) -> None:
    # Each accepted create adds a wait; were each one to reset the interval to `poll_min`, a steady
    # stream of creates would keep the watcher listing at its fastest rate.
    pending = live(ROUTER, "router-1", "pending", "PROVISIONING")
    provider.seen = {"router-1": [pending]}
    events: queue.Queue[WatchEvent] = queue.Queue()
    thread = SettleWatcher(provider, events.put, timeout=60, poll_min=0.01, poll_max=10.0)
    thread.start()
    now = time.monotonic()
    thread.watch(Watch(a_step("a"), ref(ROUTER, "router-1"), "ready", now + 60, now + 10))
    provider.wait_until(lambda p: len(p.polls) >= 4, "four poll rounds")
    grown = thread._interval
    assert grown > 0.01
    thread.watch(Watch(a_step("b"), ref(ROUTER, "router-2"), "ready", now + 60, now + 10))
    assert thread._interval >= grown
    provider.objects["router-2"] = READY
    event = events.get(timeout=WAIT)  # the new wait is still polled, with the others
    thread.stop()
    thread.join(WAIT)
    assert isinstance(event, Settled) and event.step == a_step("b")
    assert ["router-1", "router-2"] in provider.polls


def test_an_idle_watcher_polls_its_first_wait_soon_again(provider: FakeProvider) -> None:
    provider.objects["router-1"] = READY
    events: queue.Queue[WatchEvent] = queue.Queue()
    thread = SettleWatcher(provider, events.put, timeout=60, poll_min=0.01, poll_max=10.0)
    thread.start()
    now = time.monotonic()
    thread.watch(Watch(a_step("a"), ref(ROUTER, "router-1"), "ready", now + 60, now + 10))
    assert isinstance(events.get(timeout=WAIT), Settled)
    provider.objects["router-2"] = READY
    thread.watch(Watch(a_step("b"), ref(ROUTER, "router-2"), "ready", now + 60, now + 10))
    assert isinstance(events.get(timeout=WAIT), Settled)
    thread.stop()
    thread.join(WAIT)
