"""One call of one step, in a worker thread: one handler per `Op`.

Each handler journals its intent, makes at most one cloud call, journals the outcome (a delete's
once its object is gone: `settled`) and says what is left to wait for: a ready object showing
every desired value, keys included, or a gone one.
The call is never retried here: a busy cloud is answered with `CallBusy` and the engine calls
again later (docs/architecture.md, "Apply").

Every call of a step is an attempt, numbered from 1. Its idempotency token is the step's for the
first attempt and a token derived from it for each later one: the engine calls a step again only
after a definite refusal (`Busy`), and a cloud may remember a token together with its refusal.
An attempt whose outcome is unknown keeps its token in its open intent, and recovery sends it
again with that token. A `Busy` answer with nothing to watch is called again after a delay that
grows with each attempt, never below what the cloud asked for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Literal

from reconciler.apply.events import BusyWait, CallBusy, Called, CallEvent, CallFailed, Watch
from reconciler.apply.journal import JournalWriter
from reconciler.apply.settings import EngineSettings
from reconciler.apply.steps import Op, Step, client_token
from reconciler.clouds import KINDS
from reconciler.clouds.base import Busy, Desired, ObjectRef, Provider
from reconciler.errors import ProviderError, ReconcilerError
from reconciler.log import get_logger
from reconciler.masking import mask_secrets
from reconciler.model import Address, SecretValue

log = get_logger("reconciler.apply")


@dataclass(frozen=True, slots=True)
class _Attempt:
    """One attempt at a step: its step, its number, its idempotency token and its timing."""

    step: Step
    number: int  # 1 for the first call of the step, +1 for each call again
    token: str
    deadline: float  # the step's, monotonic: its calls, busy waits and settling all fit in it
    grace_until: float  # until then reads may lag the call: no object yet, or its values from before


@dataclass
class StepExecutor:
    """Runs one attempt at a step's call: the engine calls `run` from its worker threads."""

    providers: Mapping[str, Provider]
    journal: JournalWriter
    lineage: str
    serial: int
    run_id: str  # never repeats across runs: part of every token (steps.new_run_id)
    secrets: Mapping[str, SecretValue]  # secret reference id -> value
    settings: EngineSettings = field(default_factory=EngineSettings)
    known_ids: dict[str, str] = field(default_factory=dict)  # address -> cloud id, filled as creates finish
    _attempts: dict[str, int] = field(default_factory=dict, init=False, repr=False)  # step key -> calls so far
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def run(self, step: Step, deadline: float) -> CallEvent:
        """Make the step's call; never raises. `deadline` ends the whole step, retries included."""
        now = time.monotonic()
        with self._lock:
            number = self._attempts[step.key] = self._attempts.get(step.key, 0) + 1
        # A step is called again only after a definite refusal: a new token, derived from the first.
        token = client_token(self.lineage, step.address, step.op, self.serial, self.run_id, number)
        attempt = _Attempt(step, number, token, deadline, now + self.settings.create_grace)
        try:
            return _HANDLERS[step.op](self, attempt)
        except ReconcilerError as exc:
            # A refusal (validation, quota...) certainly changed nothing: settle the intent as
            # failed. After a timeout, a reset or a 5xx the outcome is unknown: the intent stays
            # open and the next run looks at the cloud to learn what happened.
            if self.journal.failure is not None:  # the journal itself failed: nothing to settle
                return CallFailed(step, f"cannot record it in the journal: {self.journal.failure}")
            try:
                if isinstance(exc, ProviderError) and exc.retryable:
                    self.journal.unknown(step)
                else:
                    self.journal.failed(step, str(exc))
            except ReconcilerError as journal_error:
                return CallFailed(step, f"{exc}; and cannot record it in the journal: {journal_error}")
            return CallFailed(step, str(exc))
        except Exception as exc:  # a bug: report it on this step, keep the others going
            message = mask_secrets(
                f"internal error: {type(exc).__name__}: {exc}", [v.reveal() for v in self.secrets.values()]
            )
            log.error("internal error in apply step", step=step.key, error=message)
            log.debug("traceback of the internal error", step=step.key, exc_info=True)  # shown with -v
            self.journal.unknown(step)  # writes nothing: it cannot fail
            return CallFailed(step, message)

    # ------------------------------------------------------------ one handler per Op

    def _create(self, attempt: _Attempt) -> CallEvent:
        step, provider = attempt.step, self._provider(attempt.step)
        desired = self._desired(step)
        region = self._region(step, desired)
        self.journal.intent(step, attempt=attempt.number, token=attempt.token, attributes=desired.attrs, region=region)
        created = provider.create(desired, attempt.token)
        if isinstance(created, Busy):
            return self._busy(attempt, created)
        self.known_ids[step.address] = created
        self.journal.done(step, cloud_id=created, attributes=desired.attrs, region=region)
        return Called(step, created, self._watch(attempt, created, region, "ready", desired))

    def _update(self, attempt: _Attempt) -> CallEvent:
        step, provider = attempt.step, self._provider(attempt.step)
        desired = self._desired(step)
        region = self._region(step, desired)
        cloud_id = self._cloud_id(step)
        self.known_ids[step.address] = cloud_id
        self.journal.intent(
            step,
            attempt=attempt.number,
            token=attempt.token,
            cloud_id=cloud_id,
            attributes=desired.attrs,
            region=region,
        )
        busy = provider.update(
            ObjectRef(step.change.kind, cloud_id, region), desired, _changed(step, desired), attempt.token
        )
        if busy is not None:
            return self._busy(attempt, busy)
        self.journal.done(step, cloud_id=cloud_id, attributes=desired.attrs, region=region)
        return Called(step, cloud_id, self._watch(attempt, cloud_id, region, "ready", desired))

    def _adopt(self, attempt: _Attempt) -> CallEvent:
        step = attempt.step
        desired = self._desired(step)
        if _changed(step, desired):  # the object is taken over and brought to the manifests' values
            return self._update(attempt)
        region = self._region(step, desired)
        cloud_id = self._cloud_id(step)
        self.known_ids[step.address] = cloud_id
        # The intent says what is taken over: recovery settles it as done, and a done adopt
        # records the object with these attributes.
        self.journal.intent(
            step, attempt=attempt.number, token=None, cloud_id=cloud_id, attributes=desired.attrs, region=region
        )
        self.journal.done(step, cloud_id=cloud_id, attributes=desired.attrs, region=region)
        watch = self._watch(attempt, cloud_id, region, "ready", desired) if step.change.settling else None
        return Called(step, cloud_id, watch)

    def _delete(self, attempt: _Attempt) -> CallEvent:
        step, provider = attempt.step, self._provider(attempt.step)
        cloud_id = self._cloud_id(step)
        region = step.change.region
        self.journal.intent(step, attempt=attempt.number, token=attempt.token, cloud_id=cloud_id)
        busy = provider.delete(ObjectRef(step.change.kind, cloud_id, region), attempt.token)
        if busy is not None:
            return self._busy(attempt, busy)
        # Accepted is not gone: a cloud may roll a delete back. The outcome is journaled once the
        # object is gone (`settled`), or as failed when it stays (`not_settled`).
        return Called(step, cloud_id, self._watch(attempt, cloud_id, region, "gone"))

    def _forget(self, attempt: _Attempt) -> CallEvent:
        step = attempt.step
        self.journal.intent(step, attempt=attempt.number, token=None)
        self.journal.done(step, cloud_id=step.change.cloud_id)
        return Called(step, step.change.cloud_id)

    def _record(self, attempt: _Attempt) -> CallEvent:
        step = attempt.step
        self.journal.intent(step, attempt=attempt.number, token=None)
        self.journal.done(step, cloud_id=step.change.cloud_id, attributes=dict(step.change.after or {}))
        return Called(step, step.change.cloud_id)

    def _wait(self, attempt: _Attempt) -> CallEvent:
        step = attempt.step
        desired = self._desired(step)
        cloud_id = self._cloud_id(step)
        self.known_ids[step.address] = cloud_id
        return Called(step, cloud_id, self._watch(attempt, cloud_id, step.change.region, "ready", desired))

    # ------------------------------------------------------------ after the wait

    def settled(self, step: Step) -> None:
        """The step's object settled: a delete is journaled as done only now, when it is gone."""
        if step.op is Op.DELETE:
            # Should this fail, `journal.failure` stops the run; the next run's recovery records it.
            with suppress(ReconcilerError):
                self.journal.done(step, cloud_id=step.change.cloud_id)

    def not_settled(self, step: Step, message: str) -> None:
        """The step's object did not settle. A delete whose object is still there (the cloud rolled
        it back, or is still deleting at the timeout) is failed: the state keeps the object, and
        the next run looks at it again."""
        if step.op is Op.DELETE:
            # Should this fail, `journal.failure` stops the run; the intent stays open for recovery.
            with suppress(ReconcilerError):
                self.journal.failed(step, message)

    # ------------------------------------------------------------ helpers

    def _busy(self, attempt: _Attempt, busy: Busy) -> CallBusy:
        # Nothing changed: settle this attempt's intent; the next attempt journals its own.
        self.journal.failed(attempt.step, f"the cloud was busy, will try again: {busy.reason}")
        retry_at = time.monotonic() + self._busy_delay(attempt, busy)
        return CallBusy(BusyWait(attempt.step, busy.reason, busy.wait_for, retry_at, attempt.deadline))

    def _busy_delay(self, attempt: _Attempt, busy: Busy) -> float:
        """How long to wait before calling a busy cloud again: what it asked for when it names
        an object to watch (the watcher calls again once that settled), else that delay grown
        by `busy_backoff` per attempt up to `busy_max`, never below what it asked for. Never
        at once: each attempt is a call to the cloud."""
        asked = max(busy.retry_after, self.settings.poll_min)
        if busy.wait_for is not None:
            return asked
        grown = asked * self.settings.busy_backoff ** (attempt.number - 1)
        return max(asked, min(grown, self.settings.busy_max))

    def _watch(
        self,
        attempt: _Attempt,
        cloud_id: str,
        region: str | None,
        target: Literal["ready", "gone"],
        desired: Desired | None = None,
    ) -> Watch:
        """What the step waits for. A ready object must also show every desired value and key
        (a key the provider does not report is not compared)."""
        kind = attempt.step.change.kind
        fields = KINDS[kind].fields
        return Watch(
            attempt.step,
            ObjectRef(kind, cloud_id, region),
            target,
            deadline=attempt.deadline,
            grace_until=attempt.grace_until,
            expect={k: v for k, v in desired.attrs.items() if k in fields} if desired is not None else {},
            secrets=dict(desired.secrets) if desired is not None else {},
        )

    def _provider(self, step: Step) -> Provider:
        return self.providers[step.provider]

    @staticmethod
    def _cloud_id(step: Step) -> str:
        if step.change.cloud_id is None:
            raise ReconcilerError(f"{step.address}: the plan gives no cloud id to {step.op.value}")
        return step.change.cloud_id

    @staticmethod
    def _region(step: Step, desired: Desired) -> str | None:
        return KINDS[step.change.kind].region_of(desired.attrs) or step.change.region

    def _desired(self, step: Step) -> Desired:
        """The change's target attributes, with ids known only now (a new parent's id) filled in."""
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


def _changed(step: Step, desired: Desired) -> list[str]:
    """The fields an update sends: those the plan changes, the secret ones included by name."""
    return [f.name for f in step.change.fields if not f.after_unknown or f.name in desired.attrs]


_HANDLERS: Mapping[Op, Callable[[StepExecutor, _Attempt], CallEvent]] = {
    Op.CREATE: StepExecutor._create,
    Op.UPDATE: StepExecutor._update,
    Op.ADOPT: StepExecutor._adopt,
    Op.DELETE: StepExecutor._delete,
    Op.FORGET: StepExecutor._forget,
    Op.RECORD: StepExecutor._record,
    Op.WAIT: StepExecutor._wait,
}
