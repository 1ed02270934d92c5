"""The apply engine's knobs."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.clouds.base import ProviderOptions


@dataclass(frozen=True, slots=True)
class EngineSettings:
    parallelism: int = 10  # cloud calls in flight at once
    timeout: float = 600.0  # per step, seconds: its calls, waits for a busy cloud and settling
    create_grace: float = ProviderOptions().create_grace  # a just-created object may be invisible this long
    poll_min: float = 0.05  # first settle poll after this many seconds, then backoff
    poll_max: float = 2.0
