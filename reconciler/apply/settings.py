"""The apply engine's knobs."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.clouds.base import ProviderOptions


@dataclass(frozen=True, slots=True)
class EngineSettings:
    parallelism: int = 10  # cloud calls in flight at once
    timeout: float = 600.0  # per step, seconds: its calls, waits for a busy cloud and settling
    # Reads may lag a call this long: a just-created object may be invisible, and a changed one may
    # still show its values from before. After it, a ready object without the desired values failed.
    create_grace: float = ProviderOptions().create_grace
    poll_min: float = 0.05  # first settle poll after this many seconds, then backoff
    poll_max: float = 2.0
    # Settle polls back off only to this while waits come and go (a serial scope's next step may
    # wait for one), to `poll_max` while nothing happens.
    poll_steady: float = 0.1
    busy_backoff: float = 1.5  # a busy cloud with nothing to watch: each wait this much longer...
    busy_max: float = 30.0  # ...up to this many seconds (or what the cloud asked for, when longer)
    # After the calls, wait this many seconds for every changed BGP session to be Established (None: do not).
    wait_established: float | None = None
