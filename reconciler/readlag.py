"""Reads may lag a change: a just-created object can be invisible for a while (docs/cloud-apis.md,
read lag). Whoever must not take "not seen" for "not there" looks again until the read lag after
the change has passed (docs/architecture.md, "State and the journal")."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

LOOK_AGAIN_EVERY = 0.5  # seconds between looks

T = TypeVar("T")


def seconds_since_epoch(stamp: str) -> float:
    """An ISO 8601 time as seconds since the epoch; 0 for an unreadable one (its lag is over)."""
    try:
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return 0.0


def look_until(look: Callable[[], T | None], until: float, on_miss: Callable[[], None] | None = None) -> T | None:
    """`look()` until it finds something or the wall-clock time `until` has passed; `on_miss` is
    called before each wait."""
    while True:
        found = look()
        left = until - time.time()
        if found is not None or left <= 0:
            return found
        if on_miss is not None:
            on_miss()
        time.sleep(min(LOOK_AGAIN_EVERY, left))
