"""Group commit for journal appends: entries appended at the same time are made durable together.

The apply engine appends from many worker threads, and each append must be durable (fdatasync,
or a committed row) before it returns. Syncing one entry at a time makes every thread wait for
every other thread's sync. Instead, appenders queue their entries; the first one to find no
write in progress becomes the leader, takes everything queued and makes it durable in one write
(one fdatasync, or one INSERT in one transaction), then wakes the others. While it writes, new
appenders queue up for the next write.

The contract of `journal_append` is unchanged: an appender returns only once a write that holds
its entries has succeeded. If that write fails, every appender of that batch gets its error;
appenders queued behind it are written by the next batch, which may well succeed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class _Ticket(Generic[T]):
    """One appender's items, and what became of the write that held them."""

    __slots__ = ("error", "finished", "items")

    def __init__(self, items: tuple[T, ...]) -> None:
        self.items = items
        self.finished = False
        self.error: BaseException | None = None


class GroupCommit(Generic[T]):
    """Calls `write` with the items of every appender queued at the time, one call at a time.

    `write(items)` must make all of `items` durable, in the order given, or raise. Items of one
    `append` call are written in one `write`, together and in order; appends are written in the
    order they were queued.
    """

    def __init__(self, write: Callable[[Sequence[T]], None]) -> None:
        self._write = write
        self._changed = threading.Condition()
        self._queue: list[_Ticket[T]] = []
        self._writing = False

    @property
    def queued(self) -> int:
        """How many appends wait for the next write (those of the write in progress excluded)."""
        with self._changed:
            return len(self._queue)

    def append(self, items: Sequence[T]) -> None:
        """Return once `items` are durable; raise what the write that held them raised."""
        if not items:
            return
        ticket = _Ticket(tuple(items))
        with self._changed:
            self._queue.append(ticket)
            while self._writing and not ticket.finished:
                self._changed.wait()
            if ticket.finished:  # a leader wrote it, or failed to
                if ticket.error is not None:
                    raise ticket.error
                return
            batch, self._queue = self._queue, []
            self._writing = True
        error: BaseException | None = None
        try:
            self._write([item for queued in batch for item in queued.items])
        except BaseException as exc:  # every waiter must wake, whatever happened (Ctrl-C included)
            error = exc
        with self._changed:
            for queued in batch:
                queued.finished = True
                queued.error = error
            self._writing = False
            self._changed.notify_all()
        if error is not None:
            raise error
