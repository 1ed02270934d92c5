"""How API calls are made and counted: thread-safe counts by operation, bounded fan-out.

Every HTTP attempt is counted (e.g. `GET /ne/v1/bgp`, `DescribeBgpPeers`), retries included:
the numbers are what the cloud saw.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


FEW_REFS = 5  # a poll reads up to this many objects one by one, whatever a list would take


def poll_by_list(refs: int, pages: int | None) -> bool:
    """Whether a poll of `refs` objects reads the list pages rather than each object: more than a
    few objects, and no more pages than objects as far as the last complete list tells (`pages`;
    None when there was none yet)."""
    return refs > FEW_REFS and (pages is None or pages <= refs)


def map_bounded(fn: Callable[[T], R], items: Sequence[T], limit: int) -> list[R]:
    """`fn` over `items` on up to `limit` threads; results in order, the first error raised."""
    if len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=max(1, min(limit, len(items)))) as pool:
        return list(pool.map(fn, items))


class CallCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, operation: str, n: int = 1) -> None:
        with self._lock:
            self._counts[operation] += n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def since(self, before: Mapping[str, int]) -> dict[str, int]:
        """Requests made after `before` (a `snapshot()`), without zero entries."""
        now = self.snapshot()
        delta = {op: n - before.get(op, 0) for op, n in now.items()}
        return {op: n for op, n in sorted(delta.items()) if n}

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())
