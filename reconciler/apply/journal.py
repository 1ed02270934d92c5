"""The apply side of the write-ahead journal: an intent before each call, its outcome after.

(docs/architecture.md, "State and the journal".) Every attempt at a step's call has its own
intent, with an id of its own; its outcome reuses that id:

- `done`: the call was accepted; the entry says what is now in the cloud.
- `failed`: the call certainly changed nothing: the cloud refused it, or answered that it was
  busy (the step is then called again later, under a new intent with a new token: each attempt's
  intent records the token that attempt sends).
- nothing: the outcome is unknown (a timeout, a reset, a 5xx, a bug). The intent stays open and
  the next run looks at the cloud to learn what happened (reconciler/apply/recovery.py).

Appends come from worker threads. A step's entries are written in order by the thread working
on it; the lock guards only the bookkeeping, never a durable append, so that the appends of many
steps can be made durable together (group commit, reconciler/state/group_commit.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from reconciler.apply.steps import Op, Step
from reconciler.clouds import KINDS
from reconciler.errors import ReconcilerError
from reconciler.model import JournalAction, JournalEntry, utc_now
from reconciler.plan.model import Change

Phase = Literal["intent", "done", "failed"]


def entry_id(lineage: str, serial: int, run_id: str, step: Step, attempt: int) -> str:
    """Unique per attempt, across runs too (the serial repeats after a run that changed nothing);
    the first attempt's id is the step's own."""
    base = f"{lineage}:{serial}:{run_id}:{step.key}"
    return base if attempt <= 1 else f"{base}#{attempt}"


def journal_action(op: Op) -> JournalAction:
    # Recording live values (refresh-only) writes the state as an update does.
    return JournalAction.UPDATE if op is Op.RECORD else JournalAction(op.value)


class JournalWriter:
    def __init__(self, append: Callable[[JournalEntry], None], lineage: str, serial: int, run_id: str) -> None:
        self._append_durably = append
        # The first append that failed (the state lock was lost, the disk is full...): after it,
        # nothing more may be done, since nothing more could be recorded.
        self.failure: ReconcilerError | None = None
        self._lineage = lineage
        self._serial = serial
        self._run_id = run_id
        self._lock = threading.Lock()
        self._attempts: dict[str, int] = {}  # step key -> attempts journaled so far
        self._open: dict[str, list[JournalEntry]] = {}  # step key -> intents without an outcome

    def intent(
        self,
        step: Step,
        *,
        token: str | None,
        attempt: int | None = None,
        cloud_id: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        region: str | None = None,
    ) -> None:
        """Before the call: what is about to be asked for (durably, when `append` returns).
        `attempt` numbers the call (1, 2...; None: the one after the last journaled)."""
        with self._lock:
            number = self._attempts[step.key] = attempt if attempt is not None else self._attempts.get(step.key, 0) + 1
        self._write(step, "intent", number, token=token, cloud_id=cloud_id, attributes=attributes, region=region)

    def done(
        self,
        step: Step,
        *,
        cloud_id: str | None,
        attributes: Mapping[str, Any] | None = None,
        region: str | None = None,
    ) -> None:
        """After an accepted call: what is now in the cloud."""
        with self._lock:
            number = self._attempts.get(step.key, 1)
        self._write(step, "done", number, token=None, cloud_id=cloud_id, attributes=attributes, region=region)

    def failed(self, step: Step, error: str) -> None:
        """The call certainly changed nothing: settle the step's open intents as failed."""
        with self._lock:
            intents = self._open.pop(step.key, [])
        for intent in intents:
            self._append(replace(intent, phase="failed", time=utc_now(), error=error))

    def unknown(self, step: Step) -> None:
        """The outcome is unknown: leave the step's intents open for recovery."""
        with self._lock:
            self._open.pop(step.key, None)

    def _append(self, entry: JournalEntry) -> None:
        try:
            self._append_durably(entry)
        except ReconcilerError as exc:
            with self._lock:
                if self.failure is None:
                    self.failure = exc
            raise

    def _write(
        self,
        step: Step,
        phase: Phase,
        attempt: int,
        *,
        token: str | None,
        cloud_id: str | None,
        attributes: Mapping[str, Any] | None,
        region: str | None,
    ) -> None:
        change = step.change
        info = KINDS[change.kind]
        entry = JournalEntry(
            id=entry_id(self._lineage, self._serial, self._run_id, step, attempt),
            address=step.address,
            kind=change.kind,
            action=journal_action(step.op),
            phase=phase,
            time=utc_now(),
            token=token,
            cloud_id=cloud_id,
            region=region if region is not None else change.region,
            attributes=dict(attributes) if attributes is not None else None,
            natural_key=info.key_of(attributes) if attributes else None,
            dependencies=change.depends_on,
            # What the manifests say of it is recorded with the object (folded with the outcome).
            metadata=change.metadata if journal_action(step.op).records else None,
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
        if moved is not None and phase == "intent":
            self._append(moved)
        self._append(entry)
        if moved is not None and phase != "intent":
            self._append(moved)
        with self._lock:
            if phase == "intent":
                self._open[step.key] = [e for e in (moved, entry) if e is not None]
            else:
                self._open.pop(step.key, None)


def metadata_entries(changes: Sequence[Change], lineage: str, serial: int, run_id: str) -> list[JournalEntry]:
    """`done` metadata entries recording what the manifests say of resources nothing else changes
    (no API call; folding them sets the state's record, idempotently)."""
    time = utc_now()
    return [
        JournalEntry(
            id=f"{lineage}:{serial}:{run_id}:{c.address}:metadata",
            address=c.address,
            kind=c.kind,
            action=JournalAction.METADATA,
            phase="done",
            time=time,
            metadata=c.metadata,
        )
        for c in changes
        if c.metadata is not None
    ]
