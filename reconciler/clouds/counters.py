"""How API calls are made and counted: thread-safe counts by operation, bounded fan-out.

Every HTTP attempt is counted (e.g. `GET /ne/v1/bgp`, `DescribeBgpPeers`), retries included:
the numbers are what the cloud saw.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Generic, TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")


FEW_REFS = 5  # a poll reads up to this many objects one by one, whatever a list would take


def poll_by_list(refs: int, pages: int | None) -> bool:
    """Whether a poll of `refs` objects reads the list pages rather than each object, as far as the
    last complete list tells (`pages`; None when there was none yet):
    - a list of one page answers two objects or more in one call, in the time of one read (an
      apply's polls are mostly of two or three objects, in regions still small);
    - else more than a few objects, and no more pages than objects (the pages after the first
      take a second round trip)."""
    if pages == 1:
        return refs > 1
    return refs > FEW_REFS and (pages is None or pages <= refs)


# Threads that help `map_bounded` callers, shared by every caller and kept between calls: a poll
# round used to start a pool of its own, hundreds of threads in an apply of 1,000 creates. They are
# made only as concurrent callers need them, up to this many; beyond it, callers do more of their
# items themselves.
HELPERS = 64


class _Helpers:
    """The shared helper threads, made on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def submit(self, fn: Callable[[], None]) -> None:
        """Best effort: once the interpreter is shutting down no helper starts, and the caller
        does its items alone."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=HELPERS, thread_name_prefix="fan-out")
            pool = self._pool
        with suppress(RuntimeError):
            pool.submit(fn)


_helpers = _Helpers()


class _Items(Generic[T, R]):
    """One `map_bounded` call's items: whoever works on it (the caller, helpers) takes the next
    item not taken yet, until none is left."""

    def __init__(self, fn: Callable[[T], R], items: Sequence[T]) -> None:
        self._fn = fn
        self._items = items
        self._next = 0
        self._running = 0  # items taken and not finished yet
        self._results: list[R | None] = [None] * len(items)
        self._errors: dict[int, BaseException] = {}
        self._changed = threading.Condition()

    def work(self) -> None:
        while True:
            with self._changed:
                index = self._next
                if index >= len(self._items):
                    return
                self._next += 1
                self._running += 1
            try:
                self._results[index] = self._fn(self._items[index])
            except Exception as exc:  # kept for the caller, which raises the first one
                with self._changed:
                    self._errors[index] = exc
                    self._next = len(self._items)  # as `Executor.map`: nothing more starts
            except BaseException:  # Ctrl-C in the caller: start nothing more, and go
                self.stop()
                self._finished()
                raise
            self._finished()

    def stop(self) -> None:
        """Start no more items (those running finish)."""
        with self._changed:
            self._next = len(self._items)

    def _finished(self) -> None:
        with self._changed:
            self._running -= 1
            if not self._running:
                self._changed.notify_all()

    def results(self) -> list[R]:
        """Once no item is left to take: wait for those still running, then the results in
        order, or the error of the first item that failed."""
        with self._changed:
            while self._running:
                self._changed.wait()
        if self._errors:
            raise self._errors[min(self._errors)]
        return cast("list[R]", self._results)


def map_bounded(fn: Callable[[T], R], items: Sequence[T], limit: int) -> list[R]:
    """`fn` over `items` on up to `limit` threads; results in order, the first error raised.

    The calling thread works on the items too, with up to `limit - 1` shared helper threads. It
    waits only for items a helper already started, never for one queued: so a `fn` may itself
    call `map_bounded` (a poll that lists pages) without ever waiting for a helper that is busy
    waiting in turn. A helper that starts after the items are all taken finds nothing to do."""
    if len(items) <= 1 or limit <= 1:
        return [fn(i) for i in items]
    work = _Items(fn, items)
    for _ in range(min(limit, len(items)) - 1):
        _helpers.submit(work.work)
    try:
        work.work()
        return work.results()
    except BaseException:  # Ctrl-C while waiting: as `Executor.map`, no item starts after it
        work.stop()
        raise


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
