"""CallCounter, map_bounded and poll_by_list."""

from __future__ import annotations

import threading
import time

import pytest

from reconciler.clouds import counters
from reconciler.clouds.counters import FEW_REFS, CallCounter, map_bounded, poll_by_list


def test_counts_from_many_threads_add_up() -> None:
    counter = CallCounter()
    before = counter.snapshot()

    def hammer() -> None:
        for _ in range(1000):
            counter.add("GET /x")

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counter.add("POST /y", 3)
    assert counter.snapshot() == {"GET /x": 8000, "POST /y": 3}
    assert counter.since(before) == {"GET /x": 8000, "POST /y": 3}
    mark = counter.snapshot()
    counter.add("POST /y")
    assert counter.since(mark) == {"POST /y": 1} and counter.total() == 8004


def test_map_bounded_keeps_order_and_the_bound() -> None:
    running, peak, lock = [0], [0], threading.Lock()

    def work(i: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        return i * i

    assert map_bounded(work, list(range(20)), 4) == [i * i for i in range(20)]
    assert peak[0] == 4


def test_map_bounded_raises_the_first_error() -> None:
    def work(i: int) -> int:
        if i == 3:
            raise ValueError("item 3")
        return i

    with pytest.raises(ValueError, match="item 3"):
        map_bounded(work, list(range(6)), 3)


def test_map_bounded_reuses_its_helper_threads() -> None:
    # Each call used to start a thread pool of its own: a poll round per call, hundreds of
    # threads in an apply. The helpers are shared and kept, so many calls use few threads.
    seen: set[threading.Thread] = set()  # the objects themselves: a dead thread's id may be reused
    lock = threading.Lock()

    def work(i: int) -> int:
        with lock:
            seen.add(threading.current_thread())
        return i

    for _ in range(100):
        assert map_bounded(work, [1, 2], 2) == [1, 2]
    assert len(seen) <= counters.HELPERS + 1


def test_nested_map_bounded_never_waits_for_a_busy_helper() -> None:
    # A poll lists pages inside a fan-out of its own; more nested items than helpers must finish.
    def inner(i: int) -> int:
        return sum(map_bounded(lambda j: i * j, list(range(10)), 10))

    outer = list(range(2 * counters.HELPERS))
    assert map_bounded(inner, outer, len(outer)) == [45 * i for i in outer]


@pytest.mark.parametrize(
    ("refs", "pages", "by_list"),
    [
        (1, 1, False),  # one read is as cheap as the page
        (2, 1, True),  # one page answers both: one call instead of two
        (3, 1, True),
        (2, None, False),  # no list seen yet: a few objects are read one by one
        (FEW_REFS, None, False),
        (FEW_REFS + 1, None, True),
        (3, 2, False),  # two pages take two round trips: read the few objects instead
        (FEW_REFS, 2, False),
        (FEW_REFS + 1, FEW_REFS + 1, True),  # no more pages than objects
        (FEW_REFS + 1, FEW_REFS + 2, False),
    ],
)
def test_poll_lists_when_that_takes_fewer_calls(refs: int, pages: int | None, by_list: bool) -> None:
    assert poll_by_list(refs, pages) is by_list
