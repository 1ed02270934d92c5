"""Waiting for objects in tests: poll the provider until they settle (no fixed sleeps)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from reconciler.clouds.base import ObjectRef, Provider
from reconciler.model import LiveObject

DEADLINE = 30.0  # seconds: generous, a settled object ends the wait at once
INTERVAL = 0.02


def settle(
    provider: Provider, refs: Sequence[ObjectRef], *, gone: bool = False, deadline: float = DEADLINE
) -> dict[str, LiveObject | None]:
    """Poll `refs` until each is settled: ready or failed (not found yet counts as still
    appearing), or, with `gone`, no longer there. Returns cloud id -> the last observation."""
    until = time.monotonic() + deadline
    while True:
        observed = provider.poll(refs)
        if all(_settled(observed.get(ref.cloud_id), gone) for ref in refs):
            return observed
        if time.monotonic() > until:
            waiting = {r.cloud_id: _status(observed.get(r.cloud_id)) for r in refs}
            raise AssertionError(f"not {'gone' if gone else 'settled'} after {deadline:g}s: {waiting}")
        time.sleep(INTERVAL)


def _settled(live: LiveObject | None, gone: bool) -> bool:
    if gone:
        return live is None
    return live is not None and live.status in ("ready", "failed")


def _status(live: LiveObject | None) -> str:
    return "not found" if live is None else live.raw_status or live.status
