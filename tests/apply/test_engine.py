"""The engine end to end against a scripted provider: parallelism, failures and their dependents,
settling, a busy cloud, interrupts. Timings are tiny and deadlines generous; nothing sleeps."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import pytest

from reconciler.apply.engine import StepResult
from reconciler.apply.settle import SettleWatcher
from reconciler.apply.steps import client_token
from reconciler.clouds.base import Busy, ObjectRef
from reconciler.errors import LockError, ProviderError
from reconciler.model import JournalEntry, LiveObject, SecretValue, StateDoc, StateResource
from reconciler.plan.model import Action, Change, FieldChange
from tests.apply.fakes import (
    CLOUD,
    LINEAGE,
    LINK,
    POLL_MIN,
    ROUTER,
    RUN_ID,
    SERIAL,
    WAIT,
    FakeProvider,
    Gate,
    MemoryJournal,
    RecordingReporter,
    Running,
    answers,
    engine,
    link,
    live,
    ref,
    router,
    run_to_end,
    steps,
)

A, B = f"{ROUTER}/a", f"{ROUTER}/b"
LA, LB = f"{LINK}/la", f"{LINK}/lb"
PROVISIONING = live(ROUTER, "router-1", "pending", "PROVISIONING")
PROVISIONED = live(ROUTER, "router-1", "ready", "PROVISIONED", {"region": "r1", "name": "a", "asn": 65000})


def outcomes(results: Sequence[StepResult]) -> dict[str, str]:
    return {r.step.address: r.outcome for r in results}


def message(results: Sequence[StepResult], address: str) -> str:
    (result,) = [r for r in results if r.step.address == address]
    return result.message


# ---------------------------------------------------------------- order, parallelism, failures


def test_a_dependent_is_created_after_its_parent_and_with_its_id() -> None:
    provider = FakeProvider()
    journal = MemoryJournal(provider.timeline)
    reporter = RecordingReporter()
    results = run_to_end(engine(provider, journal, steps(router("a"), link("la", on="a")), reporter=reporter))
    assert outcomes(results) == {A: "done", LA: "done"}
    assert [r.step.address for r in results] == [A, LA]  # in step order
    router_id = results[0].cloud_id
    assert router_id is not None and results[1].cloud_id is not None
    assert provider.objects[results[1].cloud_id].attrs["routerId"] == router_id
    assert provider.timeline.index(f"done create {A}") < provider.timeline.index(f"call create {LA}")
    state = journal.state()
    assert state.pending == () and set(state.resources) == {A, LA}
    assert [what for what, key in reporter.events if key == f"{LA}:create"] == ["started", "waiting", "finished"]


@pytest.mark.parametrize("parallelism", [1, 2, 3])
def test_never_more_calls_in_flight_than_the_parallelism(parallelism: int) -> None:
    gate = Gate()
    provider = FakeProvider(gate=gate)
    names = [f"r{i}" for i in range(6)]
    run = Running(engine(provider, MemoryJournal(), steps(*(router(n) for n in names)), parallelism=parallelism))
    for left in range(len(names), 0, -1):  # let the calls through one at a time
        expected = min(parallelism, left)
        provider.wait_until(lambda p: p.in_flight == expected, f"{expected} calls in flight")  # noqa: B023
        gate.open()
    results = run.join()
    assert provider.max_in_flight == parallelism
    assert set(outcomes(results).values()) == {"done"}


def test_a_refused_call_fails_its_step_skips_its_dependents_and_independent_branches_go_on() -> None:
    refused = ProviderError("InvalidRouter: no such network", cloud=CLOUD, status=400)
    provider = FakeProvider(on_create=lambda desired, token: _refuse_router_a(desired.name, refused))
    journal = MemoryJournal()
    plan = steps(router("a"), link("la", on="a"), router("b"), link("lb", on="b"))
    results = run_to_end(engine(provider, journal, plan))
    assert outcomes(results) == {A: "failed", LA: "skipped", B: "done", LB: "done"}
    assert message(results, A) == "InvalidRouter: no such network"
    assert message(results, LA) == f"skipped because {A} did not succeed"
    assert provider.tokens("create", f"{LINK}/la") == []  # never called
    assert journal.pending == ()  # refused: settled as failed
    assert set(journal.state().resources) == {B, LB}


def _refuse_router_a(name: str, error: ProviderError) -> str:
    if name == "a":
        raise error
    return f"id-{name}"


def test_an_ambiguous_failure_leaves_the_intent_open_for_the_next_run() -> None:
    provider = FakeProvider(on_create=answers(ProviderError("read timed out", cloud=CLOUD, retryable=True)))
    journal = MemoryJournal()
    results = run_to_end(engine(provider, journal, steps(router("a"), link("la", on="a"))))
    assert outcomes(results) == {A: "failed", LA: "skipped"}
    (intent,) = journal.pending
    assert (intent.address, intent.token) == (A, client_token(LINEAGE, A, "create", SERIAL, RUN_ID))


# ---------------------------------------------------------------- settling


@pytest.mark.parametrize(
    ("seen", "grace", "expected"),
    [
        ([PROVISIONING, PROVISIONING, PROVISIONED], 10.0, ""),
        ([None, None, PROVISIONED], 10.0, ""),  # reads lag the create
        ([PROVISIONING, live(ROUTER, "router-1", "failed", "FAILED")], 10.0, "provisioning ended FAILED"),
        ([PROVISIONING, None], 0.0, "the object disappeared while provisioning"),
    ],
    ids=["provisioned", "visible after a while", "provisioning failed", "disappeared after the grace"],
)
def test_a_created_object_settles_or_fails_its_step(seen: list[Any], grace: float, expected: str) -> None:
    provider = FakeProvider(seen={"router-1": seen})  # the router is the first object created: router-1
    journal = MemoryJournal()
    results = run_to_end(engine(provider, journal, steps(router("a"), link("la", on="a")), grace=grace))
    if expected:
        assert outcomes(results) == {A: "failed", LA: "skipped"}
        assert message(results, A) == expected
    else:
        assert outcomes(results) == {A: "done", LA: "done"}
    assert journal.state().resources[A].cloud_id == "router-1"  # the create itself was accepted


def test_an_update_the_cloud_did_not_keep_fails_the_step() -> None:
    kept_old = live(ROUTER, "router-1", "ready", attrs={"region": "r1", "name": "a", "asn": 65000})
    provider = FakeProvider(seen={"router-1": [kept_old]})
    change = router("a", Action.UPDATE, cloud_id="router-1", changed=("asn",), asn=65001)
    results = run_to_end(engine(provider, MemoryJournal(), steps(change), grace=0.0))
    assert outcomes(results) == {A: "failed"}
    assert message(results, A) == "the cloud did not keep the change (asn is 65000, not 65001)"


def test_a_step_still_settling_at_its_timeout_fails() -> None:
    provider = FakeProvider(on_create=answers("router-1"), seen={"router-1": [PROVISIONING]})
    results = run_to_end(engine(provider, MemoryJournal(), steps(router("a")), timeout=0.3))
    assert outcomes(results) == {A: "failed"}
    assert message(results, A) == "timed out after 0 s waiting to be ready (last status: PROVISIONING)"


def test_a_delete_is_done_once_the_object_is_gone() -> None:
    deleting = live(ROUTER, "router-1", "deleting", "Deleting")
    provider = FakeProvider(seen={"router-1": [deleting, deleting, None]})
    journal = MemoryJournal()
    results = run_to_end(engine(provider, journal, steps(router("a", Action.DELETE, cloud_id="router-1"))))
    assert outcomes(results) == {A: "done"}
    assert len(provider.polls) == 3
    assert journal.phases() == ["intent", "done"]


@pytest.mark.parametrize(
    ("grace", "outcome", "phases", "resources"),
    [
        # The rollback shows after the read lag: the delete failed, the state keeps the object.
        (0.0, "failed", ["intent", "failed"], {A}),
        # Within the read lag, reads may still show the object as it was: it is waited for.
        (30.0, "done", ["intent", "done"], set()),
    ],
    ids=["rolled back", "reads lag"],
)
def test_a_delete_is_journaled_only_once_the_object_is_gone(
    grace: float, outcome: str, phases: list[str], resources: set[str]
) -> None:
    deleting, back = live(ROUTER, "router-1", "deleting", "Deleting"), live(ROUTER, "router-1", raw="Available")
    provider = FakeProvider(seen={"router-1": [deleting, back, back, None]})
    provider.objects["router-1"] = back
    journal = MemoryJournal()
    change = router("a", Action.DELETE, cloud_id="router-1")
    results = run_to_end(engine(provider, journal, steps(change), grace=grace))
    assert outcomes(results) == {A: outcome}
    if outcome == "failed":
        assert message(results, A) == "the cloud did not keep the delete: the object is Available again"
    assert journal.phases() == phases
    recorded = StateDoc(resources={A: StateResource(A, ROUTER, "router-1", None, {})})
    assert set(journal.state(recorded).resources) == resources


def test_an_object_still_provisioning_is_waited_for_without_a_call_or_a_journal_entry() -> None:
    provider = FakeProvider(seen={"router-1": [PROVISIONING, PROVISIONED]})
    journal = MemoryJournal()
    change = router("a", Action.NOOP, cloud_id="router-1", settling=True)
    results = run_to_end(engine(provider, journal, steps(change, link("la", on="a"))))
    assert outcomes(results) == {A: "done", LA: "done"}
    assert provider.tokens("create", A) == [] and journal.phases(A) == []
    assert journal.state().resources[LA].attributes["routerId"] == "router-1"


def test_refresh_only_records_and_forgets_without_any_provider() -> None:
    journal = MemoryJournal()
    plan = steps(
        router("a", Action.UPDATE, cloud_id="router-1"),
        router("b", Action.FORGET, cloud_id="router-2"),
        refresh_only=True,
    )
    results = run_to_end(engine(None, journal, plan))
    assert outcomes(results) == {A: "done", B: "done"}
    assert set(journal.state().resources) == {A}


# ---------------------------------------------------------------- a busy cloud


def test_a_busy_step_holds_no_slot_and_is_called_again_once_what_it_waits_for_settles() -> None:
    provider = FakeProvider()
    provider.objects["x"] = live(ROUTER, "x", "pending", "Modifying")
    b_created = threading.Event()

    def create(desired: Any, token: str) -> str | Busy:
        if desired.name == "b":  # creating `b` is what lets `x` settle
            provider.objects["x"] = live(ROUTER, "x", "ready", "Available")
            b_created.set()
        elif not b_created.is_set():
            return Busy("router x is modifying", wait_for=ref(ROUTER, "x"))
        return f"id-{desired.name}"

    provider.on_create = create
    journal = MemoryJournal(provider.timeline)
    # Were `a` to keep its slot while the cloud is busy, `b` could never start and `a` would time out.
    results = run_to_end(engine(provider, journal, steps(router("a"), router("b")), parallelism=1, timeout=WAIT))
    assert outcomes(results) == {A: "done", B: "done"}
    assert [target for op, target, _ in provider.calls if op == "create"] == [A, B, A]
    # The cloud may remember a token with its refusal: the call again carries a token of its own.
    first, second = (client_token(LINEAGE, A, "create", SERIAL, RUN_ID, attempt) for attempt in (1, 2))
    assert provider.tokens("create", A) == [first, second] and first != second
    assert journal.phases(A) == ["intent", "failed", "intent", "done"]
    assert [e.token for e in journal.entries if e.address == A and e.phase == "intent"] == [first, second]
    ids = [e.id for e in journal.entries if e.address == A]
    assert ids[0] == ids[1] != ids[2] == ids[3]
    assert journal.state().pending == ()


def test_a_busy_step_with_nothing_to_watch_is_called_again_after_the_delay() -> None:
    provider = FakeProvider(on_create=answers(Busy("try again later", retry_after=0.05), "router-1"))
    journal = MemoryJournal()
    reporter = RecordingReporter()
    results = run_to_end(engine(provider, journal, steps(router("a")), reporter=reporter))
    assert outcomes(results) == {A: "done"}
    assert len(provider.tokens("create", A)) == 2
    assert [what for what, _ in reporter.events] == ["started", "waiting", "started", "waiting", "finished"]


def test_a_step_waiting_for_an_object_that_is_gone_is_called_again_and_the_call_reports() -> None:
    refused = ProviderError("InvalidRouter.NotFound", cloud=CLOUD, status=404)
    provider = FakeProvider(on_create=answers(Busy("router x is modifying", wait_for=ref(ROUTER, "x")), refused))
    results = run_to_end(engine(provider, MemoryJournal(), steps(router("a"))))
    assert outcomes(results) == {A: "failed"}
    assert message(results, A) == "InvalidRouter.NotFound"
    assert provider.polls == [["x"]]


@pytest.mark.parametrize(
    ("busy", "reason"),
    [
        (Busy("another operation is running", retry_after=0.02), "(another operation is running)"),
        (Busy("another operation is running", retry_after=0.0), "(another operation is running)"),
        (Busy("router x is modifying", wait_for=ref(ROUTER, "x")), "(router x is modifying"),
    ],
    ids=["after a delay", "at once", "once an object settles"],
)
def test_a_step_still_busy_at_its_timeout_fails_naming_the_reason(busy: Busy, reason: str) -> None:
    provider = FakeProvider(on_create=answers(busy))
    provider.objects["x"] = live(ROUTER, "x", "pending", "Modifying")
    journal = MemoryJournal()
    results = run_to_end(engine(provider, journal, steps(router("a"), link("la", on="a")), timeout=1.0))
    assert outcomes(results) == {A: "failed", LA: "skipped"}
    assert message(results, A).startswith(f"timed out after 1 s: the cloud was still busy {reason}")
    tokens = provider.tokens("create", A)
    assert len(set(tokens)) == len(tokens)  # every attempt after a refusal has a token of its own
    assert len(tokens) <= 1.0 / POLL_MIN + 1  # a cloud that says "at once" is not hammered
    assert journal.pending == () and journal.state().resources == {}  # every attempt settled as failed
    intents = [e.id for e in journal.entries if e.phase == "intent"]
    assert len(intents) == len(set(intents)) == len(tokens)


# ---------------------------------------------------------------- interrupts


def test_after_an_interrupt_nothing_new_starts_and_the_call_in_flight_finishes() -> None:
    gate = Gate()
    provider = FakeProvider(gate=gate)
    journal = MemoryJournal()
    run = Running(engine(provider, journal, steps(router("a"), router("b"), router("c")), parallelism=1))
    provider.wait_until(lambda p: p.in_flight == 1, "the first call is in flight")
    run.engine.stop.set()  # the first Ctrl-C
    gate.open(10)
    results = run.join()
    assert [(r.outcome, r.message) for r in results] == [
        ("sent", "sent; the result will be confirmed by the next run"),  # the cloud took it
        ("cancelled", "not started: interrupted"),
        ("cancelled", "not started: interrupted"),
    ]
    assert provider.tokens("create", B) == provider.tokens("create", f"{ROUTER}/c") == []
    assert journal.phases() == ["intent", "done"]  # what the call did is recorded
    assert set(journal.state().resources) == {A}


def test_an_interrupt_while_the_cloud_is_busy_calls_nothing_again() -> None:
    provider = FakeProvider(on_create=answers(Busy("another operation is running", retry_after=WAIT * 3)))
    reporter = RecordingReporter()
    journal = MemoryJournal()
    run = Running(engine(provider, journal, steps(router("a")), reporter=reporter, timeout=WAIT * 6))
    reporter.wait_for("waiting", f"{A}:create")
    run.engine.stop.set()
    results = run.join()
    assert [(r.outcome, r.message) for r in results] == [("cancelled", "not sent: the cloud was busy when interrupted")]
    assert len(provider.tokens("create", A)) == 1
    assert journal.pending == ()


def test_after_an_interrupt_the_watchers_end_before_the_results(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ordered shutdown: a poll still running when the run is told to end finishes (and reports
    nothing) before the run reports its results, so nothing is printed after the summary."""
    stopping = threading.Event()
    stop_watcher = SettleWatcher.stop

    def stop_and_note(watcher: SettleWatcher) -> None:
        stop_watcher(watcher)
        stopping.set()

    monkeypatch.setattr(SettleWatcher, "stop", stop_and_note)
    timeline: list[str] = []

    class Reporter(RecordingReporter):
        def finished(self, result: StepResult) -> None:
            timeline.append(f"{result.outcome} {result.step.address}")
            super().finished(result)

    reporter = Reporter()
    polling = threading.Event()

    def poll_failing_after_the_stop(refs: Sequence[ObjectRef]) -> dict[str, LiveObject | None]:
        polling.set()
        assert stopping.wait(WAIT)
        # Give a run that does not wait for its watchers the time to report; one that waits
        # reports nothing until this poll ended.
        with reporter._changed:
            reporter._changed.wait_for(lambda: reporter.results, timeout=0.5)
        timeline.append("poll ended")
        raise ProviderError("the list call failed")

    provider = FakeProvider(on_poll=poll_failing_after_the_stop)
    run = Running(engine(provider, MemoryJournal(), steps(router("a")), reporter=reporter))
    assert polling.wait(WAIT)
    run.engine.stop.set()
    results = run.join()
    assert outcomes(results) == {A: "sent"}
    assert timeline == ["poll ended", f"sent {A}"]
    assert [t.name for t in threading.enumerate() if t.name.startswith("settle-")] == []


# ---------------------------------------------------------------- serial scopes


def link_update(name: str, on: str) -> Change:
    """An existing link on router `on` (whose id is `router-<on>`), moved to another peer IP."""
    router_id = f"router-{on}"
    return Change(
        f"{LINK}/{name}",
        LINK,
        Action.UPDATE,
        CLOUD,
        cloud_id=f"link-{name}",
        region="r1",
        before={"region": "r1", "routerId": router_id, "peerIp": "10.0.0.1"},
        after={"region": "r1", "routerId": router_id, "peerIp": "10.0.0.2"},
        fields=(FieldChange("peerIp", "10.0.0.1", "10.0.0.2"),),
        refs={"router": f"{ROUTER}/{on}"},
        depends_on=(f"{ROUTER}/{on}",),
        name=name,
    )


ON_A = (router("a", Action.NOOP, cloud_id="router-a"), link_update("l1", "a"), link_update("l2", "a"))
ON_B = (router("b", Action.NOOP, cloud_id="router-b"), link_update("l3", "b"))


def links_provider(settles: Callable[[FakeProvider, str], bool] = lambda p, cloud_id: True) -> FakeProvider:
    """Links l1..l3 exist; a link shows its update once `settles(provider, its id)` says so."""
    provider = FakeProvider()
    for change in (*ON_A, *ON_B):
        if change.kind == LINK and change.cloud_id is not None:
            provider.objects[change.cloud_id] = live(LINK, change.cloud_id, attrs=change.before)

    def poll(refs: Sequence[ObjectRef]) -> dict[str, LiveObject | None]:
        return {
            r.cloud_id: provider.objects[r.cloud_id]
            if settles(provider, r.cloud_id)
            else live(LINK, r.cloud_id, "pending", "Modifying")
            for r in refs
        }

    provider.on_poll = poll
    return provider


def order(reporter: RecordingReporter, what: str, address: str) -> int:
    (key,) = {key for _, key in reporter.events if key.startswith(address)}
    return reporter.events.index((what, key))


def test_steps_of_one_scope_never_run_at_once_from_the_call_until_settled_and_other_scopes_go_on() -> None:
    # l1 settles only once l3 (on another router) was called: the scope of l1 is not the others'.
    provider = links_provider(lambda p, cloud_id: cloud_id != "link-l1" or bool(p.tokens("update", "link-l3")))
    reporter = RecordingReporter()
    results = run_to_end(engine(provider, MemoryJournal(), steps(*ON_A, *ON_B), reporter=reporter, timeout=10.0))
    assert set(outcomes(results).values()) == {"done"}
    l1, l2, l3 = (f"{LINK}/{n}" for n in ("l1", "l2", "l3"))
    assert order(reporter, "started", l3) < order(reporter, "finished", l1)  # another router: at once
    assert order(reporter, "waiting", l1) < order(reporter, "finished", l1) < order(reporter, "started", l2)
    assert [target for op, target, _ in provider.calls if op == "update"][-1] == "link-l2"


def test_a_step_waiting_for_its_scope_holds_no_slot() -> None:
    """One slot: were l2 (waiting for l1's router) to take it, l3 could not start, and l1, which
    settles only once l3 was called, would time out."""
    provider = links_provider(lambda p, cloud_id: cloud_id != "link-l1" or bool(p.tokens("update", "link-l3")))
    results = run_to_end(engine(provider, MemoryJournal(), steps(*ON_A, *ON_B), parallelism=1, timeout=10.0))
    assert set(outcomes(results).values()) == {"done"}
    assert [target for op, target, _ in provider.calls if op == "update"] == ["link-l1", "link-l3", "link-l2"]


@pytest.mark.parametrize(
    "busy",
    [Busy("router a is modifying", wait_for=ref(ROUTER, "x")), Busy("another operation is running", retry_after=0.01)],
    ids=["waiting for an object", "after a delay"],
)
def test_a_busy_step_keeps_its_scope_while_it_waits(busy: Busy) -> None:
    provider = links_provider()
    provider.objects["x"] = live(ROUTER, "x", "ready")
    busy_twice = answers(busy, busy, None)
    provider.on_update = lambda r, desired, changed, token: busy_twice() if r.cloud_id == "link-l1" else None
    reporter = RecordingReporter()
    results = run_to_end(engine(provider, MemoryJournal(), steps(*ON_A), reporter=reporter))
    assert set(outcomes(results).values()) == {"done"}
    assert [target for op, target, _ in provider.calls if op == "update"] == ["link-l1"] * 3 + ["link-l2"]
    assert order(reporter, "finished", f"{LINK}/l1") < order(reporter, "started", f"{LINK}/l2")


# ---------------------------------------------------------------- settling verifies everything

KEY_REF = "env:ROUTER_PASSWORD"
OLD_KEY, NEW_KEY = SecretValue("old-router-password"), SecretValue("new-router-password")


def key_rotation() -> Change:
    return router("a", Action.UPDATE, cloud_id="router-1", changed=("password",), secret_refs={"password": KEY_REF})


@pytest.mark.parametrize(
    ("shown", "grace", "expected"),
    [
        ([OLD_KEY, OLD_KEY, NEW_KEY], 10.0, ""),  # the reads lag the change
        ([OLD_KEY], 0.0, "the cloud did not keep the change (password is (sensitive): the cloud has another key)"),
        ([None], 0.0, "the cloud did not keep the change (password is (sensitive): the cloud has no key)"),
    ],
    ids=["shown late", "rolled back", "dropped"],
)
def test_a_key_change_is_done_only_once_a_read_shows_the_new_key(
    shown: list[SecretValue | None], grace: float, expected: str
) -> None:
    seen: list[LiveObject | None] = [replace(PROVISIONED, secrets={"password": key}) for key in shown]
    provider = FakeProvider(seen={"router-1": seen})
    results = run_to_end(
        engine(provider, MemoryJournal(), steps(key_rotation()), grace=grace, secrets={KEY_REF: NEW_KEY})
    )
    if not expected:
        assert outcomes(results) == {A: "done"}
        assert len(provider.polls) == 3
        return
    assert outcomes(results) == {A: "failed"}
    assert message(results, A) == expected
    assert "router-password" not in message(results, A)


def test_a_change_the_cloud_rolled_back_fails_at_the_timeout_with_what_the_cloud_shows() -> None:
    """The grace outlasts the step's timeout: the step still says what the cloud shows."""
    provider = FakeProvider(seen={"router-1": [replace(PROVISIONED, secrets={"password": OLD_KEY})]})
    plan = steps(key_rotation())
    results = run_to_end(engine(provider, MemoryJournal(), plan, timeout=0.3, secrets={KEY_REF: NEW_KEY}))
    assert outcomes(results) == {A: "failed"}
    assert message(results, A) == (
        "timed out after 0 s waiting to be ready: "
        "the cloud did not keep the change (password is (sensitive): the cloud has another key)"
    )


def test_a_journal_that_cannot_be_written_stops_the_run_instead_of_hanging_it() -> None:
    """The state lock lost mid-run (its record deleted, the database session ended): every append
    fails from then on. Nothing more may be done, since nothing more could be recorded, and the
    run must end, not wait forever for a step whose worker died."""
    journal = MemoryJournal()
    appended: list[JournalEntry] = []

    def append_until_the_lock_is_lost(entry: JournalEntry) -> None:
        if len(appended) >= 2:
            raise LockError("the state lock was lost")
        appended.append(entry)
        journal.append(entry)

    provider = FakeProvider()
    run = engine(provider, journal, steps(*(router(n) for n in "abcdef")), parallelism=1)
    run.journal = append_until_the_lock_is_lost
    results = run_to_end(run)
    # `a` was created and journaled; `b`'s intent could not be written, so `b` was never called.
    assert outcomes(results)[B] == "failed"
    assert message(results, B) == "cannot record it in the journal: the state lock was lost"
    assert [target for op, target, _ in provider.calls if op == "create"] == [A]
    assert outcomes(results)[A] in ("sent", "done")  # accepted: settled, or settling when the run stopped
    assert {outcome for address, outcome in outcomes(results).items() if address not in (A, B)} == {"cancelled"}
