"""One ready queue per cloud: a cloud with a backlog, or slow to answer, never delays the ready
steps of another cloud, while `parallelism` still bounds the calls of all clouds together."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import cast

import pytest

from reconciler.apply.engine import Engine
from reconciler.apply.settings import EngineSettings
from reconciler.clouds import register, unregister
from reconciler.clouds.base import Cloud
from reconciler.plan.model import Action, Change
from tests.apply.fakes import (
    LINEAGE,
    POLL_MIN,
    REGION,
    ROUTER_KIND,
    RUN_ID,
    SERIAL,
    FakeCloud,
    FakeProvider,
    Gate,
    MemoryJournal,
    RecordingReporter,
    Running,
    router,
    steps,
)

OTHER = "other"
SWITCH = "Switch"
SWITCH_KIND = replace(ROUTER_KIND, kind=SWITCH, cloud=OTHER)


@pytest.fixture(autouse=True)
def other_cloud() -> Iterator[None]:
    register(cast(Cloud, FakeCloud(name=OTHER, kinds=(SWITCH_KIND,))))
    try:
        yield
    finally:
        unregister(OTHER)


def switch(name: str) -> Change:
    after = {"region": REGION, "name": name, "asn": 65001}
    return Change(f"{SWITCH}/{name}", SWITCH, Action.CREATE, OTHER, region=REGION, after=after, name=name)


def run(slow: FakeProvider, fast: FakeProvider, plan: list[Change], reporter: RecordingReporter) -> Running:
    timeline: list[str] = []
    slow.timeline = fast.timeline = timeline
    journal = MemoryJournal(timeline)
    return Running(
        Engine(
            steps(*plan),
            {"fake": slow, OTHER: fast},
            journal.append,
            lineage=LINEAGE,
            serial=SERIAL,
            run_id=RUN_ID,
            secrets={},
            reporter=reporter,
            settings=EngineSettings(parallelism=2, timeout=60, create_grace=10, poll_min=POLL_MIN, poll_max=0.05),
        )
    )


def test_a_slow_cloud_does_not_delay_the_other_clouds_ready_steps() -> None:
    gate = Gate()  # the slow cloud's calls do not return until the test opens the gate
    slow, fast = FakeProvider(gate=gate), FakeProvider(name=OTHER)
    reporter = RecordingReporter()
    # The slow cloud's backlog is first in plan order: with one queue it would take every slot.
    plan = [*(router(f"r{i}") for i in range(5)), switch("s")]
    running = run(slow, fast, plan, reporter)
    reporter.wait_for("finished", "Switch/s:create")  # while the slow cloud's calls are all held
    assert reporter.results["Switch/s:create"].outcome == "done"
    assert not any(what == "finished" and key.startswith("Router/") for what, key in reporter.events)
    gate.open(5)
    results = running.join()
    assert [r.outcome for r in results] == ["done"] * 6
    assert slow.max_in_flight <= 2 and fast.max_in_flight <= 1


def test_calls_alternate_between_clouds_within_the_bound() -> None:
    slow, fast = FakeProvider(), FakeProvider(name=OTHER)
    reporter = RecordingReporter()
    plan = [*(router(f"r{i}") for i in range(3)), *(switch(f"s{i}") for i in range(3))]
    results = run(slow, fast, plan, reporter).join()
    assert [r.outcome for r in results] == ["done"] * 6
    started = [key for what, key in reporter.events if what == "started"]
    assert started[:2] == ["Router/r0:create", "Switch/s0:create"]
