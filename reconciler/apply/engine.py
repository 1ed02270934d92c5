"""Run apply steps: bounded parallel cloud calls, batched waits, a write-ahead journal.

(docs/architecture.md, "Apply".) The engine wires four parts together and owns the loop that
handles their events, one at a time, on the calling thread:

- `Scheduler` (scheduler.py): what may start now. At most `parallelism` calls in flight, all
  clouds together, handed to the clouds in turn from a ready queue per cloud (`Step.lane`), so
  one cloud's backlog never delays another cloud's ready steps. Never two steps of one serial
  scope at once (`Step.serial_scope`: where a cloud takes one mutation at a time), from a step's
  first call until its object settled or it failed, its waits for a busy cloud included; a step
  waiting for its scope holds no slot. A failed step skips its dependents while independent
  branches go on; after an interrupt nothing new starts and the calls in flight finish. A step
  whose call was accepted but whose object had not settled yet ends as "sent": it took effect,
  and the next run confirms it from the journal.
- `StepExecutor` (executor.py): one call of one step, in a worker thread, one handler per `Op`.
  Each call again after a refusal has an idempotency token of its own.
- `JournalWriter` (journal.py): an intent, durably, before each mutating call; its outcome after.
- `SettleWatcher` (settle.py), one per provider: every object that is settling, and every step
  the cloud was too busy to take, polled together at a steady interval; neither holds a
  parallelism slot. A step is done once a read shows its object ready with every desired value
  and key; a change the cloud did not keep fails it. A busy step goes back to the ready queue
  once what kept the cloud busy settles, or after a delay that grows with each attempt, within
  the step's timeout.

Threads, not asyncio: the providers' clients are used synchronously and are thread-safe.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal, Protocol

from reconciler.apply.events import (
    CallBusy,
    Called,
    CallFailed,
    Event,
    RetryDue,
    Settled,
    SettleFailed,
)
from reconciler.apply.executor import StepExecutor
from reconciler.apply.journal import JournalWriter
from reconciler.apply.scheduler import Scheduler
from reconciler.apply.settings import EngineSettings
from reconciler.apply.settle import SettleWatcher
from reconciler.apply.steps import Step, new_run_id
from reconciler.clouds.base import Provider
from reconciler.log import get_logger
from reconciler.model import JournalEntry, SecretValue

log = get_logger("reconciler.apply")

# "sent": the cloud accepted the call and the object was still settling when the run was
# interrupted; the change took effect, the next run confirms its result from the journal.
Outcome = Literal["done", "failed", "skipped", "cancelled", "sent"]

SENT = "sent; the result will be confirmed by the next run"
NOT_STARTED = "not started: interrupted"
NOT_SENT = "not sent: the cloud was busy when interrupted"

EVENT_WAIT = 0.2  # seconds: how soon the loop notices an interrupt when nothing else happens


@dataclass(frozen=True, slots=True)
class StepResult:
    step: Step
    outcome: Outcome
    message: str = ""
    cloud_id: str | None = None
    elapsed: float = 0.0


class Reporter(Protocol):
    """Progress sink: a live terminal display, or one log line per event."""

    def started(self, step: Step) -> None: ...
    def waiting(self, step: Step, cloud_id: str | None) -> None: ...
    def finished(self, result: StepResult) -> None: ...


@dataclass
class Engine:
    """Executes steps; see the module docstring."""

    steps: Sequence[Step]
    providers: Mapping[str, Provider]
    journal: Callable[[JournalEntry], None]
    lineage: str
    serial: int
    secrets: Mapping[str, SecretValue]  # secret reference id -> value
    reporter: Reporter
    settings: EngineSettings = field(default_factory=EngineSettings)
    stop: threading.Event = field(default_factory=threading.Event)  # set on the first interrupt
    known_ids: dict[str, str] = field(default_factory=dict)  # address -> cloud id, filled as creates finish
    run_id: str = field(default_factory=new_run_id)  # part of every token and journal id of this run

    _current: _Run | None = field(default=None, init=False, repr=False)

    def run(self) -> list[StepResult]:
        self._current = _Run(self)
        return self._current.results()

    def unconfirmed(self) -> int:
        """How many calls were sent without a known result yet: in flight, or accepted and
        settling. Read by a signal handler on the loop's thread, so no lock."""
        return 0 if self._current is None else self._current.unconfirmed()


class _Run:
    """One run of an engine: its scheduler, executor, watchers and results."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.settings = engine.settings
        self.reporter = engine.reporter
        self.scheduler: Scheduler[Step] = Scheduler(engine.steps, engine.settings.parallelism)
        self.events: queue.Queue[Event] = queue.Queue()
        self.executor = StepExecutor(
            engine.providers,
            JournalWriter(engine.journal, engine.lineage, engine.serial, engine.run_id),
            engine.lineage,
            engine.serial,
            engine.run_id,
            engine.secrets,
            engine.settings,
            engine.known_ids,
        )
        self.watchers: dict[str, SettleWatcher] = {}
        self.started: dict[str, float] = {}  # step key -> when it first started
        self.sent: set[str] = set()  # step keys whose call the cloud accepted, settling
        self.outcomes: dict[str, StepResult] = {}

    def results(self) -> list[StepResult]:
        try:
            with ThreadPoolExecutor(max_workers=max(1, self.settings.parallelism), thread_name_prefix="apply") as pool:
                self._loop(pool)
        finally:
            # Ordered shutdown: no watcher may report (or log) anything after the run's results.
            for watcher in self.watchers.values():
                watcher.stop()
            for watcher in self.watchers.values():
                watcher.join()
        for step, began in self.scheduler.unfinished():
            if step.key in self.sent:
                self._finish(step, "sent", message=SENT)
            else:
                self._finish(step, "cancelled", message=NOT_SENT if began else NOT_STARTED)
        return [self.outcomes[s.key] for s in self.engine.steps]

    def unconfirmed(self) -> int:
        settling = sum(1 for key in self.sent if key not in self.outcomes)
        return self.scheduler.in_calls + settling

    def _loop(self, pool: ThreadPoolExecutor) -> None:
        while not self.scheduler.finished:
            if self.engine.stop.is_set():
                self.scheduler.stop()
            for step in self.scheduler.start_ready():
                now = time.monotonic()
                first = self.started.setdefault(step.key, now)
                self.reporter.started(step)
                pool.submit(self._call, step, first + self.settings.timeout)
            if self.scheduler.stopped and self.scheduler.in_calls == 0:
                return  # waits in progress are abandoned: the journal says what was done
            try:
                event = self.events.get(timeout=EVENT_WAIT)
            except queue.Empty:
                continue
            self._handle(event)
            failure = self.executor.journal.failure
            if failure is not None and not self.engine.stop.is_set():
                # Nothing more could be recorded: start nothing new (the calls in flight finish).
                log.error("the journal cannot be written: stopping", error=str(failure))
                self.engine.stop.set()

    def _call(self, step: Step, deadline: float) -> None:  # worker thread
        try:
            event: Event = self.executor.run(step, deadline)
        except Exception as exc:  # `run` never raises; should it, the loop must still hear of the step
            event = CallFailed(step, f"internal error: {type(exc).__name__}")
        self.events.put(event)

    def _handle(self, event: Event) -> None:
        match event:
            case Called(step=step, cloud_id=cloud_id, watch=watch):
                self.scheduler.call_ended(step.key)
                if watch is None:
                    self._succeed(step, cloud_id)
                else:
                    self.sent.add(step.key)
                    self.reporter.waiting(step, cloud_id)
                    self._watcher(step).watch(watch)
            case CallBusy(wait=wait):
                self.scheduler.call_ended(wait.step.key)
                log.info("the cloud is busy, will try again", address=wait.step.address, reason=wait.reason)
                self.reporter.waiting(wait.step, wait.step.change.cloud_id)
                self._watcher(wait.step).wait_busy(wait)
            case CallFailed(step=step, message=message):
                self.scheduler.call_ended(step.key)
                self._fail(step, message)
            case Settled(step=step):
                self.executor.settled(step)
                self._succeed(step, self.engine.known_ids.get(step.address))
            case SettleFailed(step=step, message=message):
                self.executor.not_settled(step, message)
                self._fail(step, message)
            case RetryDue(step=step):
                self.scheduler.call_again(step.key)

    def _succeed(self, step: Step, cloud_id: str | None) -> None:
        self.scheduler.succeeded(step.key)
        self._finish(step, "done", cloud_id=cloud_id)

    def _fail(self, step: Step, message: str) -> None:
        skipped = self.scheduler.failed(step.key)
        self._finish(step, "failed", message=message)
        for s in skipped:
            cause = s.cause.address if s.cause.address != s.task.address else s.cause.key
            self._finish(s.task, "skipped", message=f"skipped because {cause} did not succeed")

    def _finish(self, step: Step, outcome: Outcome, *, message: str = "", cloud_id: str | None = None) -> None:
        began = self.started.get(step.key)
        elapsed = time.monotonic() - began if began else 0.0
        result = StepResult(step, outcome, message, cloud_id, elapsed)
        self.outcomes[step.key] = result
        self.reporter.finished(result)

    def _watcher(self, step: Step) -> SettleWatcher:
        watcher = self.watchers.get(step.provider)
        if watcher is None:
            watcher = SettleWatcher(
                self.engine.providers[step.provider],
                self.events.put,
                timeout=self.settings.timeout,
                poll_min=self.settings.poll_min,
                poll_max=self.settings.poll_max,
                poll_steady=self.settings.poll_steady,
            )
            watcher.start()
            self.watchers[step.provider] = watcher
        return watcher


__all__ = ["Engine", "EngineSettings", "Reporter", "StepResult"]
