"""Run apply steps: bounded parallel cloud calls, batched waits, a write-ahead journal.

Threads, not asyncio: the Alibaba SDK and httpx are used synchronously and are thread-safe.

- At most `parallelism` mutating calls are in flight at once.
- After a call is accepted the object "settles" (provisioning, deletion). Settling objects do
  not hold a parallelism slot: one watcher per provider polls all of them together with the
  provider's batched `poll`, so waits overlap and cost list calls, not one GET per object.
- Before each mutating call an intent is appended to the journal (durably); right after it,
  the outcome. A killed apply leaves intents the next run resolves against live objects.
- A failed step stops its dependents; independent branches go on.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from reconciler.apply.steps import Op, Step, client_token
from reconciler.clouds import KINDS
from reconciler.clouds.base import Busy, Desired, ObjectRef, Provider, ProviderOptions
from reconciler.errors import ProviderError, ReconcilerError
from reconciler.log import get_logger
from reconciler.masking import mask_secrets
from reconciler.model import Address, JournalAction, JournalEntry, SecretValue, utc_now

log = get_logger("reconciler.apply")

Outcome = Literal["done", "failed", "skipped", "cancelled"]


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


@dataclass(frozen=True, slots=True)
class EngineSettings:
    parallelism: int = 10
    timeout: float = 600.0  # per resource, seconds: call plus settling
    create_grace: float = ProviderOptions().create_grace  # a just-created object may be invisible this long
    poll_min: float = 0.05  # first settle poll after this many seconds, then backoff
    poll_max: float = 2.0


@dataclass(slots=True)
class _Watch:
    step: Step
    ref: ObjectRef
    target: Literal["ready", "gone"]
    deadline: float
    grace_until: float
    last_status: str = "not seen yet"
    expect: Mapping[str, Any] = field(default_factory=dict)  # attributes the settled object must show


class _Settler(threading.Thread):
    """Polls one provider for every object that is still provisioning or deleting."""

    def __init__(self, provider: Provider, events: queue.Queue[tuple[Any, ...]], settings: EngineSettings) -> None:
        super().__init__(name=f"settle-{provider.name}", daemon=True)
        self.provider = provider
        self.events = events
        self.settings = settings
        self.watches: dict[str, _Watch] = {}
        self.wake = threading.Condition()
        self.stopping = False
        self.interval = settings.poll_min

    def add(self, watch: _Watch) -> None:
        with self.wake:
            self.watches[watch.step.key] = watch
            self.interval = self.settings.poll_min
            self.wake.notify()

    def stop(self) -> None:
        with self.wake:
            self.stopping = True
            self.wake.notify()

    def run(self) -> None:
        while True:
            with self.wake:
                while not self.watches and not self.stopping:
                    self.wake.wait()
                if self.stopping:
                    return
                self.wake.wait(self.interval)
                if self.stopping:
                    return
                watches = list(self.watches.values())
                self.interval = min(self.interval * 1.6, self.settings.poll_max)
            self._check(watches)

    def _check(self, watches: list[_Watch]) -> None:
        try:
            seen = self.provider.poll([w.ref for w in watches])
        except ReconcilerError as exc:  # a failed poll is retried on the next round
            log.warning("poll failed, will retry", provider=self.provider.name, error=str(exc))
            seen = None
        except Exception as exc:  # a bug must not kill the watcher: deadlines still apply
            log.error("poll failed with an internal error", provider=self.provider.name, error=type(exc).__name__)
            log.debug("traceback of the internal error", exc_info=True)
            seen = None
        now = time.monotonic()
        for w in watches:
            verdict: tuple[Any, ...] | None = None
            if seen is not None and w.ref.cloud_id in seen:
                obj = seen[w.ref.cloud_id]
                if w.target == "gone":
                    if obj is None:
                        verdict = ("settled", w.step)
                    else:
                        w.last_status = obj.raw_status or obj.status
                elif obj is None:
                    w.last_status = "not found"
                    if now > w.grace_until:
                        verdict = ("settle_failed", w.step, "the object disappeared while provisioning")
                elif obj.status == "ready":
                    wrong = [k for k, v in w.expect.items() if obj.attrs.get(k) != v]
                    if wrong:
                        shown = ", ".join(f"{k} is {obj.attrs.get(k)!r}, not {w.expect[k]!r}" for k in wrong)
                        verdict = ("settle_failed", w.step, f"the cloud did not keep the change ({shown})")
                    else:
                        verdict = ("settled", w.step)
                elif obj.status == "failed":
                    verdict = ("settle_failed", w.step, f"provisioning ended {obj.raw_status or 'FAILED'}")
                else:
                    w.last_status = obj.raw_status or obj.status
            if verdict is None and now > w.deadline:
                verdict = (
                    "settle_failed",
                    w.step,
                    f"timed out after {self.settings.timeout:.0f} s waiting to be {w.target} "
                    f"(last status: {w.last_status})",
                )
            if verdict is not None:
                with self.wake:
                    self.watches.pop(w.step.key, None)
                self.events.put(verdict)


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
    stop: threading.Event = field(default_factory=threading.Event)
    known_ids: dict[str, str] = field(default_factory=dict)  # address -> cloud id, filled as creates finish

    def __post_init__(self) -> None:
        self._events: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._settlers: dict[str, _Settler] = {}
        self._journal_lock = threading.Lock()
        self._open_intents: dict[str, list[JournalEntry]] = {}  # step key -> intents without outcome
        self._started: dict[str, float] = {}

    # ------------------------------------------------------------ scheduling

    def run(self) -> list[StepResult]:
        by_key = {s.key: s for s in self.steps}
        waiting_on = {s.key: {k for k in s.after if k in by_key} for s in self.steps}
        dependents: dict[str, list[str]] = {}
        for s in self.steps:
            for k in waiting_on[s.key]:
                dependents.setdefault(k, []).append(s.key)
        ready = deque(s for s in self.steps if not waiting_on[s.key])
        results: dict[str, StepResult] = {}
        in_calls = 0

        def finish(result: StepResult) -> None:
            results[result.step.key] = result
            self.reporter.finished(result)
            if result.outcome == "done":
                for k in dependents.get(result.step.key, []):
                    waiting_on[k].discard(result.step.key)
                    if not waiting_on[k] and k not in results:
                        ready.append(by_key[k])
            else:
                self._skip_dependents(result.step, by_key, dependents, results, finish)

        with ThreadPoolExecutor(max_workers=max(1, self.settings.parallelism), thread_name_prefix="apply") as pool:
            while len(results) < len(self.steps):
                while ready and in_calls < self.settings.parallelism and not self.stop.is_set():
                    step = ready.popleft()
                    if step.key in results:
                        continue
                    in_calls += 1
                    self._started[step.key] = time.monotonic()
                    self.reporter.started(step)
                    pool.submit(self._call, step)
                if self.stop.is_set() and in_calls == 0:
                    break
                try:
                    event = self._events.get(timeout=0.2)
                except queue.Empty:
                    continue
                kind, step = event[0], event[1]
                if kind in ("called", "call_failed"):
                    in_calls -= 1
                if kind == "called":
                    cloud_id, watch = event[2], event[3]
                    if watch is None:
                        finish(self._result(step, "done", cloud_id=cloud_id))
                    else:
                        self.reporter.waiting(step, cloud_id)
                        self._settler(step.provider).add(watch)
                elif kind == "settled":
                    finish(self._result(step, "done", cloud_id=self.known_ids.get(step.address)))
                else:  # call_failed | settle_failed
                    finish(self._result(step, "failed", message=event[2]))
        for settler in self._settlers.values():
            settler.stop()
        for s in self.steps:
            if s.key not in results:
                message = "interrupted before it finished" if s.key in self._started else "not started: interrupted"
                results[s.key] = self._result(s, "cancelled", message=message)
                self.reporter.finished(results[s.key])
        return [results[s.key] for s in self.steps]

    def _skip_dependents(
        self,
        failed: Step,
        by_key: Mapping[str, Step],
        dependents: Mapping[str, list[str]],
        results: dict[str, StepResult],
        finish: Callable[[StepResult], None],
    ) -> None:
        for k in dependents.get(failed.key, []):
            if k not in results:
                cause = failed.address if failed.address != by_key[k].address else failed.key
                finish(self._result(by_key[k], "skipped", message=f"skipped because {cause} did not succeed"))

    def _result(self, step: Step, outcome: Outcome, *, message: str = "", cloud_id: str | None = None) -> StepResult:
        started = self._started.get(step.key)
        elapsed = time.monotonic() - started if started else 0.0
        return StepResult(step, outcome, message, cloud_id, elapsed)

    def _settler(self, provider_name: str) -> _Settler:
        settler = self._settlers.get(provider_name)
        if settler is None:
            settler = _Settler(self.providers[provider_name], self._events, self.settings)
            settler.start()
            self._settlers[provider_name] = settler
        return settler

    # ------------------------------------------------------------ one step (worker thread)

    def _call(self, step: Step) -> None:
        try:
            cloud_id, watch = self._execute(step)
            self._events.put(("called", step, cloud_id, watch))
        except ReconcilerError as exc:
            # A refusal (validation, quota...) certainly changed nothing: settle the intent as
            # failed. After a timeout, a reset or a 5xx the outcome is unknown: the intent stays
            # open and the next run looks at the cloud to learn what happened.
            ambiguous = isinstance(exc, ProviderError) and exc.retryable
            self._close_intent(step, None if ambiguous else str(exc))
            self._events.put(("call_failed", step, str(exc)))
        except Exception as exc:  # a bug: report it on this step, keep the others going
            message = mask_secrets(
                f"internal error: {type(exc).__name__}: {exc}", [v.reveal() for v in self.secrets.values()]
            )
            log.error("internal error in apply step", step=step.key, error=message)
            log.debug("traceback of the internal error", step=step.key, exc_info=True)  # shown with -v
            self._close_intent(step, None)
            self._events.put(("call_failed", step, message))

    def _close_intent(self, step: Step, failure: str | None) -> None:
        """Forget the step's open intent; journal it as failed when the failure is certain."""
        with self._journal_lock:
            opened = self._open_intents.pop(step.key, [])
            if failure is not None:
                for intent in opened:
                    self.journal(replace(intent, phase="failed", time=utc_now(), error=failure))

    def _execute(self, step: Step) -> tuple[str | None, _Watch | None]:
        change = step.change
        info = KINDS[change.kind]
        token = client_token(self.lineage, step.address, step.op, self.serial)
        now = time.monotonic()
        started = self._started.get(step.key, now)

        def watch(
            cloud_id: str, region: str | None, target: Literal["ready", "gone"], expect: Mapping[str, Any] | None = None
        ) -> _Watch:
            return _Watch(
                step,
                ObjectRef(change.kind, cloud_id, region),
                target,
                deadline=started + self.settings.timeout,
                grace_until=now + self.settings.create_grace,
                expect={k: v for k, v in (expect or {}).items() if k in info.fields},
            )

        if step.op is Op.WAIT:
            assert change.cloud_id is not None
            self.known_ids[step.address] = change.cloud_id
            return change.cloud_id, watch(change.cloud_id, change.region, "ready")
        if step.op is Op.FORGET:
            self._record(step, "intent", token=None)
            self._record(step, "done", cloud_id=change.cloud_id)
            return change.cloud_id, None
        if step.op is Op.RECORD:
            self._record(step, "intent", token=None)
            self._record(step, "done", cloud_id=change.cloud_id, attributes=dict(change.after or {}))
            return change.cloud_id, None

        provider = self.providers[info.cloud]
        if step.op is Op.DELETE:
            assert change.cloud_id is not None
            ref = ObjectRef(change.kind, change.cloud_id, change.region)
            self._record(step, "intent", token=token, cloud_id=change.cloud_id)
            provider.delete(ref, token)
            self._record(step, "done", cloud_id=change.cloud_id)
            return change.cloud_id, watch(change.cloud_id, change.region, "gone")

        desired = self._desired(step)
        region = info.region_of(desired.attrs) or change.region
        if step.op is Op.CREATE:
            self._record(step, "intent", token=token, attributes=dict(desired.attrs), region=region)
            created = provider.create(desired, token)
            if isinstance(created, Busy):
                raise ReconcilerError(f"{step.address}: {created.reason}")
            cloud_id = created
            self.known_ids[step.address] = cloud_id
            self._record(step, "done", cloud_id=cloud_id, attributes=dict(desired.attrs), region=region)
            return cloud_id, watch(cloud_id, region, "ready", desired.attrs)

        assert change.cloud_id is not None
        ref = ObjectRef(change.kind, change.cloud_id, region)
        self.known_ids[step.address] = change.cloud_id
        changed = [f.name for f in change.fields if not f.after_unknown or f.name in desired.attrs]
        if step.op is Op.ADOPT and not changed:
            self._record(step, "intent", token=None, cloud_id=change.cloud_id, region=region)
            self._record(step, "done", cloud_id=change.cloud_id, attributes=dict(desired.attrs), region=region)
            return change.cloud_id, watch(change.cloud_id, region, "ready") if change.settling else None
        self._record(
            step, "intent", token=token, cloud_id=change.cloud_id, attributes=dict(desired.attrs), region=region
        )
        provider.update(ref, desired, changed, token)
        self._record(step, "done", cloud_id=change.cloud_id, attributes=dict(desired.attrs), region=region)
        return change.cloud_id, watch(change.cloud_id, region, "ready", desired.attrs)

    def _desired(self, step: Step) -> Desired:
        """The change's target attributes, with ids known only now (a new group's id) filled in."""
        change = step.change
        info = KINDS[change.kind]
        attrs = dict(change.after or {})
        for ref_field, target in change.refs.items():
            ref_spec = info.ref_fields.get(ref_field)
            if ref_spec and ref_spec.id_attr in change.after_unknown:
                cloud_id = self.known_ids.get(target)
                if cloud_id is None:
                    raise ReconcilerError(f"{step.address}: the id of {target} is not known (was it applied?)")
                attrs[ref_spec.id_attr] = cloud_id
        secrets: dict[str, SecretValue | None] = {}
        for secret_field in info.secret_fields:
            ref_id = change.secret_refs.get(secret_field)
            secrets[secret_field] = self.secrets.get(ref_id) if ref_id else None
            if ref_id and secrets[secret_field] is None:
                raise ReconcilerError(f"{step.address}: secret {ref_id} is not available")
        return Desired(change.kind, change.name or Address.parse(step.address).name, info.normalise(attrs), secrets)

    def _record(
        self,
        step: Step,
        phase: Literal["intent", "done", "failed"],
        *,
        token: str | None = None,
        cloud_id: str | None = None,
        attributes: dict[str, Any] | None = None,
        region: str | None = None,
        error: str | None = None,
    ) -> None:
        change = step.change
        info = KINDS[change.kind]
        action = {Op.RECORD: JournalAction.UPDATE}.get(step.op) or JournalAction(step.op.value)
        entry = JournalEntry(
            id=f"{self.lineage}:{self.serial}:{step.key}",
            address=step.address,
            kind=change.kind,
            action=action,
            phase=phase,
            time=utc_now(),
            token=token,
            cloud_id=cloud_id,
            region=region if region is not None else change.region,
            attributes=attributes,
            natural_key=info.key_of(attributes) if attributes else None,
            dependencies=change.depends_on,
            error=error,
        )
        moved = None
        if step.op is Op.ADOPT and change.previous_address:
            # The object moves to a new address and the old address lets go of it. The release is
            # journaled before the takeover and settled after it: whatever the moment of a crash,
            # no two addresses ever hold the same object (recovery settles a pending forget).
            moved = JournalEntry(
                id=f"{entry.id}:moved",
                address=change.previous_address,
                kind=change.kind,
                action=JournalAction.FORGET,
                phase=phase,
                time=entry.time,
            )
        with self._journal_lock:
            if moved is not None and phase == "intent":
                self.journal(moved)
            self.journal(entry)
            if moved is not None and phase != "intent":
                self.journal(moved)
            if phase == "intent":
                self._open_intents[step.key] = [e for e in (moved, entry) if e is not None]
            else:
                self._open_intents.pop(step.key, None)
