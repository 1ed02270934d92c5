"""The settle watcher: one thread per provider, polling every object the engine waits for at once.

After a call is accepted the object settles (provisioning, deletion); a step the cloud was too busy
to take waits for what kept it busy. Neither holds a parallelism slot: the watcher polls all of
them together with the provider's batched `poll`, so waits overlap and cost list calls, not one
GET per object (a provider may keep its polls' requests on a budget of their own, apart from
the calls' requests; either way the watcher rests at least `POLL_REST` times as long as a round
took before the next). The interval is steady: polls start `poll_min` after the first wait of an idle
watcher and back off, up to `poll_steady` while things happen (a wait came or ended since the last
round: a step of a serial scope may be waiting for it) and up to `poll_max` while nothing does. A
wait added meanwhile joins the next round and never brings the interval back to `poll_min`, so a
stream of new waits never turns into a stream of list calls.
Whatever a poll returns, every wait ends by its step's deadline.

An object is settled only when a read shows it ready with every desired value, keys included (the
plan's own comparison, `field_changes`). Reads may lag a call: until the step's grace ends, a
ready object that does not show the change yet is still settling. After it, the cloud did not
keep the change (it rolled it back, or ignored part of it): the step fails, saying field by field
what the cloud shows, keys only as whether the cloud has one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

from reconciler.apply.events import BusyWait, RetryDue, Settled, SettleFailed, Watch, WatchEvent
from reconciler.clouds import KINDS
from reconciler.clouds.base import ObjectRef, Provider
from reconciler.errors import ReconcilerError
from reconciler.log import get_logger
from reconciler.model import LiveObject
from reconciler.plan.diff import field_changes
from reconciler.plan.model import FieldChange, SecretChange

log = get_logger("reconciler.apply")

BACKOFF = 1.6  # each poll round waits this much longer than the last, up to poll_max
# Polls have a budget of their own: after a round that took d seconds, the next starts at least
# POLL_REST * d later, so polling a slow cloud never fills the requests that calls need.
POLL_REST = 1.0
STILL_CHANGING = frozenset({"pending", "deleting"})
NEVER = float("inf")

# What a ready object's key is, against the desired one (never the key itself).
KEY_SHOWN: dict[SecretChange, str] = {
    SecretChange.ADDED: "the cloud has no key",
    SecretChange.REMOVED: "the cloud still has a key",
    SecretChange.CHANGED: "the cloud has another key",
}
KEY_KEPT = (
    "; the manifests want no key, but the cloud kept the one it had (a cloud may ignore a request to "
    "clear a key): remove the key in the cloud's console, or set a key in the manifests"
)


def status_of(obj: LiveObject | None) -> str:
    if obj is None:
        return "not found"
    return obj.raw_status or obj.status


def differences(watch: Watch, obj: LiveObject) -> tuple[FieldChange, ...]:
    """Where the object differs from what the watch expects: the attributes, and the keys the
    provider reports (the plan's comparison, so a settled object plans as unchanged)."""
    if watch.target != "ready":
        return ()
    reported = {f: v for f, v in obj.secrets.items() if f in watch.secrets}
    found = field_changes(KINDS[obj.kind], watch.expect, watch.secrets, replace(obj, secrets=reported))
    order = {name: i for i, name in enumerate([*watch.expect, *watch.secrets])}  # as the change lists them
    return tuple(sorted(found, key=lambda f: order.get(f.name, len(order))))


def not_kept(shown: Sequence[FieldChange]) -> str:
    """What the cloud shows instead of the change, field by field; keys only as whether the cloud
    has one, and what to do about a key the cloud would not remove."""
    parts = [
        f"{f.name} is (sensitive): {KEY_SHOWN[f.secret_change]}"
        if f.secret_change is not None
        else f"{f.name} is {f.before!r}, not {f.after!r}"
        for f in shown
    ]
    kept_key = any(f.secret_change is SecretChange.REMOVED for f in shown)
    return f"the cloud did not keep the change ({', '.join(parts)})" + (KEY_KEPT if kept_key else "")


def judge_watch(watch: Watch, obj: LiveObject | None, now: float) -> Settled | SettleFailed | None:
    """What one poll of the watched object means: settled, failed, or None (still settling)."""
    if watch.target == "gone":
        if obj is None:
            return Settled(watch.step)
        if obj.status not in STILL_CHANGING and now > watch.grace_until:
            # Reads may show it as it was for a while; after that, the cloud rolled the delete back.
            return SettleFailed(watch.step, f"the cloud did not keep the delete: the object is {status_of(obj)} again")
        return None
    if obj is None:
        if now > watch.grace_until:
            return SettleFailed(watch.step, "the object disappeared while provisioning")
        return None  # reads may lag a create
    if obj.status == "ready":
        shown = differences(watch, obj)
        if not shown:
            return Settled(watch.step)
        if now > watch.grace_until:
            return SettleFailed(watch.step, not_kept(shown))
        return None  # reads may lag the change: it may not show yet
    if obj.status == "failed":
        return SettleFailed(watch.step, f"provisioning ended {obj.raw_status or 'FAILED'}")
    return None


def judge_busy(wait: BusyWait, obj: LiveObject | None) -> RetryDue | None:
    """A busy step may be called again once what it waits for stops changing. Gone or failed
    counts too: the call then reports what is wrong."""
    return None if obj is not None and obj.status in STILL_CHANGING else RetryDue(wait.step)


class SettleWatcher(threading.Thread):
    """Waits for one provider's objects; reports each outcome through `emit`.

    Adding a wait costs O(1) and wakes the thread only when the wait is due before the thread's
    next wake-up; each wake-up looks at every wait once.
    """

    def __init__(
        self,
        provider: Provider,
        emit: Callable[[WatchEvent], None],
        *,
        timeout: float,
        poll_min: float,
        poll_max: float,
        poll_steady: float | None = None,
    ) -> None:
        super().__init__(name=f"settle-{provider.name}", daemon=True)
        self.provider = provider
        self._emit = emit
        self._timeout = timeout  # only to say how long a timed-out step waited
        self._poll_min = poll_min
        self._poll_max = poll_max
        self._poll_steady = min(poll_max, poll_steady if poll_steady is not None else poll_max)
        self._happened = False  # a wait came or ended since the last round
        self._watches: dict[str, Watch] = {}  # step key -> wait
        self._busy: dict[str, BusyWait] = {}
        self._last_status: dict[str, str] = {}  # step key -> what the last poll saw
        self._not_kept: dict[str, str] = {}  # step key -> what the last poll showed instead of the change
        self._wake = threading.Condition()
        self._stopping = False
        self._interval = poll_min
        self._next_poll = NEVER  # NEVER while there is nothing to poll
        self._sleeping_until = NEVER

    # ------------------------------------------------------------ from the engine

    def watch(self, watch: Watch) -> None:
        with self._wake:
            self._watches[watch.step.key] = watch
            self._last_status[watch.step.key] = "not seen yet"
            self._happened = True
            self._poll_soon()
            self._due_by(watch.deadline)

    def wait_busy(self, wait: BusyWait) -> None:
        with self._wake:
            self._busy[wait.step.key] = wait
            self._last_status[wait.step.key] = wait.reason
            self._happened = True
            if wait.wait_for is not None:
                self._poll_soon()
            else:
                self._due_by(wait.retry_at)
            self._due_by(wait.deadline)

    def stop(self) -> None:
        """Ask the thread to end; `join()` then waits for a poll in progress. Once stopped the
        watcher reports and logs nothing more, so nothing follows the engine's results."""
        with self._wake:
            self._stopping = True
            self._wake.notify()

    def _poll_soon(self) -> None:
        """A new object to poll. An idle watcher polls `poll_min` from now and backs off from there;
        a busy one polls it with the others, at the next round: the interval stays as it is."""
        if self._next_poll == NEVER:
            self._interval = self._poll_min
            self._next_poll = time.monotonic() + self._poll_min
            self._due_by(self._next_poll)

    def _due_by(self, when: float) -> None:
        if when < self._sleeping_until:
            self._wake.notify()

    # ------------------------------------------------------------ the watcher thread

    def run(self) -> None:
        while True:
            with self._wake:
                while not self._stopping:
                    wake_at = self._next_wake()
                    if wake_at <= time.monotonic():
                        break
                    self._sleeping_until = wake_at
                    self._wake.wait(None if wake_at == NEVER else wake_at - time.monotonic())
                    self._sleeping_until = NEVER
                if self._stopping:
                    return
                now = time.monotonic()
                poll_due = now >= self._next_poll
                if poll_due:
                    ceiling = self._poll_steady if self._happened else self._poll_max
                    self._interval = min(self._interval * BACKOFF, ceiling)
                    self._next_poll = now + self._interval
                    self._happened = False
                watches = list(self._watches.values())
                busy = list(self._busy.values())
            began = time.monotonic()
            seen = self._poll(_refs(watches, busy)) if poll_due else None
            if poll_due:
                ended = time.monotonic()
                with self._wake:
                    if self._next_poll != NEVER:
                        self._next_poll = max(self._next_poll, ended + POLL_REST * (ended - began))
            if self._stopped():
                return
            self._judge(watches, busy, seen, time.monotonic())

    def _stopped(self) -> bool:
        with self._wake:
            return self._stopping

    def _next_wake(self) -> float:
        """When something is due: a poll round, a retry or a deadline (NEVER: nothing waits)."""
        times = [self._next_poll]
        times += [w.deadline for w in self._watches.values()]
        for b in self._busy.values():
            times.append(b.deadline if b.wait_for is not None else min(b.deadline, b.retry_at))
        return min(times)

    def _poll(self, refs: Sequence[ObjectRef]) -> Mapping[str, LiveObject | None] | None:
        try:
            return self.provider.poll(refs)
        except ReconcilerError as exc:  # a failed poll is retried on the next round
            if self._stopped():  # the run is over: its result no longer depends on this poll
                return None
            log.warning("poll failed, will retry", provider=self.provider.name, error=str(exc))
        except Exception as exc:  # a bug must not kill the watcher: deadlines still apply
            if self._stopped():
                return None
            log.error("poll failed with an internal error", provider=self.provider.name, error=type(exc).__name__)
            log.debug("traceback of the internal error", exc_info=True)
        return None

    def _judge(
        self, watches: list[Watch], busy: list[BusyWait], seen: Mapping[str, LiveObject | None] | None, now: float
    ) -> None:
        verdicts: list[WatchEvent] = []
        with self._wake:
            for w in watches:
                verdict: WatchEvent | None = None
                if seen is not None and w.ref.cloud_id in seen:
                    obj = seen[w.ref.cloud_id]
                    verdict = judge_watch(w, obj, now)
                    self._last_status[w.step.key] = status_of(obj)
                    shown = differences(w, obj) if obj is not None and obj.status == "ready" else ()
                    if shown:
                        self._not_kept[w.step.key] = not_kept(shown)
                    else:
                        self._not_kept.pop(w.step.key, None)
                if verdict is None and now >= w.deadline:
                    unkept = self._not_kept.get(w.step.key)
                    waited = f"timed out after {self._timeout:.0f} s waiting to be {w.target}"
                    verdict = SettleFailed(
                        w.step,
                        f"{waited}: {unkept}"
                        if unkept
                        else f"{waited} (last status: {self._last_status.get(w.step.key, 'not seen yet')})",
                    )
                if verdict is not None:
                    verdicts.append(verdict)
            for b in busy:
                verdict = None
                if b.wait_for is not None and seen is not None and b.wait_for.cloud_id in seen:
                    obj = seen[b.wait_for.cloud_id]
                    verdict = judge_busy(b, obj)
                    waited = f"{b.wait_for.kind} {b.wait_for.cloud_id} is {status_of(obj)}"
                    self._last_status[b.step.key] = f"{b.reason}; {waited}"
                elif b.wait_for is None and now >= b.retry_at:
                    verdict = RetryDue(b.step)
                if now >= b.deadline:  # before any retry: a cloud that stays busy must not be called forever
                    verdict = SettleFailed(
                        b.step,
                        f"timed out after {self._timeout:.0f} s: the cloud was still busy "
                        f"({self._last_status.get(b.step.key, b.reason)})",
                    )
                if verdict is not None:
                    verdicts.append(verdict)
            if verdicts:
                self._happened = True
            for verdict in verdicts:  # forget the wait before reporting: the step may come back at once
                self._watches.pop(verdict.step.key, None)
                self._busy.pop(verdict.step.key, None)
                self._last_status.pop(verdict.step.key, None)
                self._not_kept.pop(verdict.step.key, None)
            if not self._watches and all(b.wait_for is None for b in self._busy.values()):
                self._next_poll = NEVER
        for verdict in verdicts:
            self._emit(verdict)


def _refs(watches: Iterable[Watch], busy: Iterable[BusyWait]) -> list[ObjectRef]:
    """What to poll, once each: a step may wait for an object that another step watches."""
    refs = [w.ref for w in watches] + [b.wait_for for b in busy if b.wait_for is not None]
    return list(dict.fromkeys(refs))
