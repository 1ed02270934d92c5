"""The scheduler alone: a dependency graph, a ready queue and a bound on calls in flight."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from reconciler.apply.scheduler import Scheduler


@dataclass(frozen=True)
class Task:
    key: str
    after: frozenset[str] = frozenset()


def task(key: str, *after: str) -> Task:
    return Task(key, frozenset(after))


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
