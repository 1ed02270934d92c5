"""The scheduler alone: a dependency graph, a ready queue and a bound on calls in flight."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from reconciler.apply.scheduler import Scheduler


@dataclass(frozen=True)
class Task:
    key: str
    after: frozenset[str] = frozenset()
    concurrency_key: str | None = None
    lane: str | None = None


def task(key: str, *after: str, serial: str | None = None, lane: str | None = None) -> Task:
    return Task(key, frozenset(after), serial, lane)


def keys(tasks: list[Task]) -> list[str]:
    return [t.key for t in tasks]


@pytest.mark.parametrize(
    ("parallelism", "first_batch"),
    [(1, ["a"]), (2, ["a", "b"]), (3, ["a", "b", "c"]), (10, ["a", "b", "c", "d"]), (0, ["a"])],
)
def test_never_more_tasks_in_calls_than_the_bound(parallelism: int, first_batch: list[str]) -> None:
    scheduler = Scheduler([task("a"), task("b"), task("c"), task("d")], parallelism)
    assert keys(scheduler.start_ready()) == first_batch
    assert scheduler.start_ready() == []  # no slot is free until a call ends
    assert scheduler.in_calls == len(first_batch)


def test_a_slot_frees_when_the_call_ends_even_before_the_task_finishes() -> None:
    scheduler = Scheduler([task("a"), task("b"), task("c")], 1)
    assert keys(scheduler.start_ready()) == ["a"]
    scheduler.call_ended("a")  # `a` now waits for the cloud to settle: it holds no slot
    assert keys(scheduler.start_ready()) == ["b"]
    scheduler.succeeded("b")
    assert keys(scheduler.start_ready()) == ["c"]
    assert not scheduler.finished


def test_a_task_starts_once_everything_it_waits_for_succeeded() -> None:
    scheduler = Scheduler([task("a"), task("b"), task("c", "a", "b")], 5)
    assert keys(scheduler.start_ready()) == ["a", "b"]
    assert scheduler.succeeded("a") == []
    assert scheduler.start_ready() == []
    assert keys(scheduler.succeeded("b")) == ["c"]
    assert keys(scheduler.start_ready()) == ["c"]
    scheduler.succeeded("c")
    assert scheduler.finished


def test_keys_outside_the_graph_do_not_hold_a_task_back() -> None:
    scheduler = Scheduler([task("a", "elsewhere")], 1)
    assert keys(scheduler.start_ready()) == ["a"]


def test_a_failure_skips_its_dependents_transitively_and_independent_branches_go_on() -> None:
    tasks = [task("a"), task("b", "a"), task("c", "b"), task("x"), task("y", "x")]
    scheduler = Scheduler(tasks, 5)
    assert keys(scheduler.start_ready()) == ["a", "x"]
    skipped = scheduler.failed("a")
    assert [(s.task.key, s.cause.key) for s in skipped] == [("b", "a"), ("c", "b")]
    assert keys(scheduler.succeeded("x")) == ["y"]
    assert keys(scheduler.start_ready()) == ["y"]
    scheduler.succeeded("y")
    assert scheduler.finished


def test_a_task_reached_by_two_paths_is_skipped_once() -> None:
    scheduler = Scheduler([task("a"), task("b", "a"), task("c", "a", "b")], 5)
    scheduler.start_ready()
    assert [s.task.key for s in scheduler.failed("a")] == ["b", "c"]


def test_after_stop_nothing_new_starts_and_unfinished_tasks_say_whether_they_began() -> None:
    scheduler = Scheduler([task("a"), task("b"), task("c")], 1)
    assert keys(scheduler.start_ready()) == ["a"]
    scheduler.stop()
    scheduler.call_ended("a")
    assert scheduler.start_ready() == []
    assert scheduler.stopped and scheduler.in_calls == 0
    assert [(t.key, began) for t, began in scheduler.unfinished()] == [("a", True), ("b", False), ("c", False)]


def test_a_task_called_again_goes_back_to_the_ready_queue_but_not_after_stop() -> None:
    scheduler = Scheduler([task("a"), task("b")], 1)
    assert keys(scheduler.start_ready()) == ["a"]
    scheduler.call_ended("a")  # the cloud was busy
    assert keys(scheduler.start_ready()) == ["b"]
    scheduler.call_again("a")
    assert scheduler.start_ready() == []  # `b` holds the only slot
    scheduler.call_ended("b")
    assert keys(scheduler.start_ready()) == ["a"]
    scheduler.call_ended("a")
    scheduler.call_again("a")
    scheduler.stop()
    assert scheduler.start_ready() == []


def test_a_finished_task_called_again_does_not_start() -> None:
    scheduler = Scheduler([task("a")], 1)
    scheduler.start_ready()
    scheduler.failed("a")
    scheduler.call_again("a")
    assert scheduler.start_ready() == []
    assert scheduler.finished


# ---------------------------------------------------------------- concurrency keys


def test_tasks_of_one_concurrency_key_never_run_at_once_and_other_keys_go_on() -> None:
    scheduler = Scheduler([task("a", serial="k"), task("b", serial="k"), task("c", serial="j"), task("d")], 10)
    assert keys(scheduler.start_ready()) == ["a", "c", "d"]
    assert scheduler.in_calls == 3  # `b` waits for `a` without a slot
    scheduler.call_ended("a")  # `a` now waits for the cloud to settle: it keeps its key
    assert scheduler.start_ready() == []
    scheduler.succeeded("a")
    assert keys(scheduler.start_ready()) == ["b"]


def test_a_task_waiting_for_its_key_holds_no_slot() -> None:
    scheduler = Scheduler([task("a", serial="k"), task("b", serial="k"), task("c")], 1)
    assert keys(scheduler.start_ready()) == ["a"]
    scheduler.call_ended("a")
    assert keys(scheduler.start_ready()) == ["c"]  # `b` is ready but its key is held: `c` takes the slot
    scheduler.succeeded("c")
    scheduler.succeeded("a")
    assert keys(scheduler.start_ready()) == ["b"]


def test_a_task_called_again_keeps_its_key_while_it_waits() -> None:
    scheduler = Scheduler([task("a", serial="k"), task("b", serial="k")], 5)
    assert keys(scheduler.start_ready()) == ["a"]
    scheduler.call_ended("a")  # the cloud was busy
    assert scheduler.start_ready() == []
    scheduler.call_again("a")
    assert keys(scheduler.start_ready()) == ["a"]
    scheduler.call_ended("a")
    assert scheduler.start_ready() == []
    scheduler.failed("a")  # a failure frees the key too
    assert keys(scheduler.start_ready()) == ["b"]


def test_tasks_waiting_for_a_key_start_in_the_order_they_became_ready_before_later_ones() -> None:
    tasks = [task("a", serial="k"), task("b", serial="k"), task("c", serial="k"), task("d", "a"), task("e")]
    scheduler = Scheduler(tasks, 1)
    assert keys(scheduler.start_ready()) == ["a"]
    scheduler.call_ended("a")
    assert keys(scheduler.start_ready()) == ["e"]
    scheduler.succeeded("e")
    assert keys(scheduler.succeeded("a")) == ["d"]
    assert keys(scheduler.start_ready()) == ["b"]  # it waited for the key before `d` was ready
    scheduler.succeeded("b")
    assert keys(scheduler.start_ready()) == ["c"]
    scheduler.succeeded("c")
    assert keys(scheduler.start_ready()) == ["d"]
    scheduler.succeeded("d")
    assert scheduler.finished


def test_the_order_is_the_same_on_every_run() -> None:
    def run() -> list[str]:
        tasks = [task(f"t{i}", serial=f"k{i % 3}") for i in range(9)]
        scheduler = Scheduler(tasks, 2)
        order: list[str] = []
        while not scheduler.finished:
            started = scheduler.start_ready()
            order += keys(started)
            for t in started:
                scheduler.succeeded(t.key)
        return order

    assert run() == run() == [f"t{i}" for i in range(9)]


def test_a_skipped_task_never_takes_its_key_and_the_key_of_a_failure_is_free() -> None:
    scheduler = Scheduler([task("a", serial="k"), task("b", "a", serial="k"), task("c", serial="k")], 5)
    assert keys(scheduler.start_ready()) == ["a"]
    assert [s.task.key for s in scheduler.failed("a")] == ["b"]
    assert keys(scheduler.start_ready()) == ["c"]


def test_after_stop_a_task_waiting_for_its_key_never_started() -> None:
    scheduler = Scheduler([task("a", serial="k"), task("b", serial="k")], 5)
    assert keys(scheduler.start_ready()) == ["a"]
    scheduler.stop()
    scheduler.succeeded("a")
    assert scheduler.start_ready() == []
    assert [(t.key, began) for t, began in scheduler.unfinished()] == [("b", False)]


def test_lanes_take_free_slots_in_turn_so_one_backlog_never_holds_back_another_lane() -> None:
    # The slow lane's backlog became ready first; the other lane's tasks still get every other slot.
    backlog = [task(f"slow{i}", lane="slow") for i in range(6)]
    scheduler = Scheduler([*backlog, task("fast0", lane="fast"), task("fast1", lane="fast")], 4)
    assert keys(scheduler.start_ready()) == ["slow0", "fast0", "slow1", "fast1"]
    for key in ("slow0", "fast0", "slow1", "fast1"):
        scheduler.succeeded(key)
    assert keys(scheduler.start_ready()) == ["slow2", "slow3", "slow4", "slow5"]


def test_a_task_that_becomes_ready_late_starts_next_in_its_lane_not_behind_the_other_lanes_backlog() -> None:
    tasks = [task("group", lane="b"), task("peer", "group", lane="b"), *(task(f"x{i}", lane="a") for i in range(5))]
    scheduler = Scheduler(tasks, 1)
    assert keys(scheduler.start_ready()) == ["group"]
    scheduler.succeeded("group")  # `peer` is ready now, behind five ready tasks of lane a
    started = []
    for _ in range(3):
        [t] = scheduler.start_ready()
        started.append(t.key)
        scheduler.succeeded(t.key)
    assert started == ["x0", "peer", "x1"]


def test_the_bound_on_calls_in_flight_counts_every_lane_together() -> None:
    scheduler = Scheduler([task(f"{lane}{i}", lane=lane) for lane in "abc" for i in range(3)], 4)
    assert keys(scheduler.start_ready()) == ["a0", "b0", "c0", "a1"]
    assert scheduler.start_ready() == []
    assert scheduler.in_calls == 4


def test_a_task_queued_for_its_concurrency_key_starts_first_in_its_lane_once_the_key_is_free() -> None:
    tasks = [task("v1", serial="vbr", lane="b"), task("v2", serial="vbr", lane="b"), task("w", lane="b")]
    scheduler = Scheduler(tasks, 1)
    assert keys(scheduler.start_ready()) == ["v1"]
    scheduler.call_ended("v1")
    assert keys(scheduler.start_ready()) == ["w"]  # v2 waits for the key, without a slot
    scheduler.succeeded("w")
    assert scheduler.start_ready() == []
    scheduler.succeeded("v1")
    assert keys(scheduler.start_ready()) == ["v2"]


def test_tasks_waiting_for_a_concurrency_key_do_not_cost_their_lane_its_turns() -> None:
    # Lane b's queue starts with tasks of one busy key: they step aside without a slot, and the
    # lane's turn goes to its next task, not to lane a.
    serial = [task(f"v{i}", serial="vbr", lane="b") for i in range(4)]
    tasks = [*serial, task("w", lane="b"), *(task(f"x{i}", lane="a") for i in range(4))]
    scheduler = Scheduler(tasks, 3)
    assert keys(scheduler.start_ready()) == ["v0", "x0", "w"]
