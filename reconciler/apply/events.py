"""What the parts of the apply engine tell each other: small immutable values.

The executor answers every call with a `CallEvent`; the settle watchers answer every wait with a
`WatchEvent`. The engine's loop handles them one at a time with `match`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler.apply.steps import Step
from reconciler.clouds.base import ObjectRef
from reconciler.model import SecretValue


@dataclass(frozen=True, slots=True)
class Watch:
    """An accepted change: the step is done once its object is `target` and, when that is
    "ready", a read shows every `expect`ed attribute and every expected key (`secrets`: a value,
    or None for "no key"; a key the provider does not report is not compared)."""

    step: Step
    ref: ObjectRef
    target: Literal["ready", "gone"]
    deadline: float  # monotonic time
    # Until then reads may lag the call: an object that is not found yet is still appearing, and a
    # ready one without the expected values may not show the change yet.
    grace_until: float
    expect: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, SecretValue | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BusyWait:
    """A change the cloud could not take yet: call again once `wait_for` no longer changes, or at
    `retry_at` when there is nothing to watch."""

    step: Step
    reason: str
    wait_for: ObjectRef | None
    retry_at: float  # monotonic time
    deadline: float


# ---------------------------------------------------------------- from the executor (worker threads)


@dataclass(frozen=True, slots=True)
class Called:
    """The call was accepted (or the step needed none); `watch` is what remains to wait for."""

    step: Step
    cloud_id: str | None
    watch: Watch | None = None


@dataclass(frozen=True, slots=True)
class CallBusy:
    """The cloud changed nothing and asks to be called again later."""

    wait: BusyWait  # its step, and what to wait for before calling again


@dataclass(frozen=True, slots=True)
class CallFailed:
    step: Step
    message: str


# ---------------------------------------------------------------- from the settle watchers


@dataclass(frozen=True, slots=True)
class Settled:
    step: Step


@dataclass(frozen=True, slots=True)
class SettleFailed:
    step: Step
    message: str


@dataclass(frozen=True, slots=True)
class RetryDue:
    """A busy step may be called again."""

    step: Step


CallEvent = Called | CallBusy | CallFailed
WatchEvent = Settled | SettleFailed | RetryDue
Event = CallEvent | WatchEvent
