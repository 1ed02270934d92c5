"""Which tasks may start now: a dependency graph, a ready queue per lane, a bound on calls in
flight and one task at a time per concurrency key.

Generic and single-threaded: it knows tasks only by `key`, `after` (the keys that must succeed
first), `concurrency_key` (or None) and `lane` (or None), and holds no thread, clock or cloud.
The engine tells it what happened; it answers with what to start next.

- At most `parallelism` tasks are in a call at once, all lanes together. A task that waits (for
  the cloud to settle, or to be called again) holds no slot.
- Each lane (the engine's: a cloud) has its own ready queue, and free slots go to the lanes in
  turn, so one lane's backlog never holds back another lane's ready tasks. Within a lane, tasks
  start in the order they became ready.
- Tasks that share a concurrency key never run at once: a task holds its key from its start until
  it has an outcome, through its waits and its calls again. A ready task whose key another task
  holds waits for it without a slot and, once the key is free, starts ahead of its lane's other
  ready tasks.
- A task that did not succeed skips everything that depends on it, directly or not; independent
  branches go on.
- After `stop()` nothing new starts (a task put back to be called again stays queued); the calls
  in flight end on their own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar


class Task(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def after(self) -> frozenset[str]: ...

    @property
    def concurrency_key(self) -> str | None:
        """Tasks that share a concurrency key never run at once (None: no such bound)."""
        ...

    @property
    def lane(self) -> str | None:
        """Tasks of one lane share a ready queue; lanes take free slots in turn."""
        ...


T = TypeVar("T", bound=Task)


@dataclass(frozen=True, slots=True)
class Skipped(Generic[T]):
    """`task` will not run because `cause`, which it depends on (maybe through others), did not
    succeed; `cause` is its direct predecessor: the failed task or another skipped one."""

    task: T
    cause: T


class Scheduler(Generic[T]):
    def __init__(self, tasks: Sequence[T], parallelism: int) -> None:
        self._by_key = {t.key: t for t in tasks}
        self._order = list(self._by_key)
        self._waiting_on = {t.key: {k for k in t.after if k in self._by_key} for t in tasks}
        self._dependents: dict[str, list[str]] = {}
        for t in tasks:
            for k in self._waiting_on[t.key]:
                self._dependents.setdefault(k, []).append(t.key)
        self._lane_of = {t.key: t.lane for t in tasks}
        # One ready queue per lane, in the order lanes first appear; `_turn` is the lane served next.
        self._ready: dict[str | None, deque[str]] = {lane: deque() for lane in dict.fromkeys(self._lane_of.values())}
        self._lanes = list(self._ready)
        self._lane_index = {lane: i for i, lane in enumerate(self._lanes)}
        self._turn = 0
        for t in tasks:
            if not self._waiting_on[t.key]:
                self._ready[t.lane].append(t.key)
        self._parallelism = max(1, parallelism)
        self._in_call: set[str] = set()
        self._started: set[str] = set()
        self._finished: set[str] = set()
        self._holder: dict[str, str] = {}  # concurrency key -> the task holding it
        self._queued: dict[str, deque[str]] = {}  # concurrency key -> ready tasks waiting for it
        self._stopped = False

    # ------------------------------------------------------------ questions

    @property
    def finished(self) -> bool:
        """Every task has an outcome."""
        return len(self._finished) == len(self._order)

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def in_calls(self) -> int:
        return len(self._in_call)

    def unfinished(self) -> list[tuple[T, bool]]:
        """The tasks without an outcome, in order, each with whether it ever started."""
        return [(self._by_key[k], k in self._started) for k in self._order if k not in self._finished]

    # ------------------------------------------------------------ what happened

    def start_ready(self) -> list[T]:
        """The tasks to call now, each taking a slot until `call_ended` and its concurrency key
        until it has an outcome."""
        starting: list[T] = []
        while len(self._in_call) < self._parallelism and not self._stopped:
            key = self._next_ready()
            if key is None:
                break
            if key in self._finished:
                continue
            concurrency = self._by_key[key].concurrency_key
            if concurrency is not None:
                holder = self._holder.setdefault(concurrency, key)
                if holder != key:  # another task of this key has no outcome yet: wait, with no slot
                    self._queued.setdefault(concurrency, deque()).append(key)
                    continue
            self._in_call.add(key)
            self._started.add(key)
            starting.append(self._by_key[key])
            # The next lane's turn comes only once this lane started a task: a lane whose queue
            # holds tasks waiting for a concurrency key must not lose its turns to them.
            self._turn = (self._lane_index[self._lane_of[key]] + 1) % len(self._lanes)
        return starting

    def call_ended(self, key: str) -> None:
        """The task's call returned, whatever its outcome: its slot is free (not its key)."""
        self._in_call.discard(key)

    def call_again(self, key: str) -> None:
        """Queue a task that started before (the cloud asked for it to be called again). It keeps
        its concurrency key meanwhile."""
        if key not in self._finished:
            self._ready[self._lane_of[key]].append(key)

    def succeeded(self, key: str) -> list[T]:
        """Record a success; returns the dependents that became ready."""
        self._finish(key)
        released: list[T] = []
        for k in self._dependents.get(key, []):
            waiting = self._waiting_on[k]
            waiting.discard(key)
            if not waiting and k not in self._finished:
                self._ready[self._lane_of[k]].append(k)
                released.append(self._by_key[k])
        return released

    def failed(self, key: str) -> list[Skipped[T]]:
        """Record a failure (or cancellation); returns every dependent skipped because of it,
        each once, in the order a depth-first walk meets them."""
        self._finish(key)
        skipped: list[Skipped[T]] = []
        self._skip_dependents(key, skipped)
        return skipped

    def stop(self) -> None:
        self._stopped = True

    def _finish(self, key: str) -> None:
        self._finished.add(key)
        self._in_call.discard(key)
        concurrency = self._by_key[key].concurrency_key
        if concurrency is not None and self._holder.get(concurrency) == key:
            del self._holder[concurrency]
            queued = self._queued.get(concurrency)
            while queued:  # the task that waited longest for the key goes first
                waiting = queued.popleft()
                if waiting not in self._finished:
                    self._ready[self._lane_of[waiting]].appendleft(waiting)
                    break

    def _next_ready(self) -> str | None:
        """The first ready task of the lane whose turn it is, or of the next lane that has one;
        None when none has."""
        for i in range(len(self._lanes)):
            queue = self._ready[self._lanes[(self._turn + i) % len(self._lanes)]]
            if queue:
                return queue.popleft()
        return None

    def _skip_dependents(self, key: str, skipped: list[Skipped[T]]) -> None:
        for k in self._dependents.get(key, []):
            if k not in self._finished:
                self._finish(k)
                skipped.append(Skipped(self._by_key[k], self._by_key[key]))
                self._skip_dependents(k, skipped)
