"""Recovery: resolving the intents a killed apply left open against what the cloud shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from reconciler.apply.executor import StepExecutor
from reconciler.apply.journal import JournalWriter
from reconciler.apply.recovery import Resend, recover, resend_from, resolve_intent
from reconciler.apply.steps import client_token
from reconciler.clouds.base import Busy, Desired
from reconciler.errors import ProviderError
from reconciler.model import JournalAction, JournalEntry, Resource, SecretRef, SecretValue, utc_now
from reconciler.plan.model import Action
from tests.apply.fakes import (
    CLOUD,
    LINEAGE,
    ROUTER,
    RUN_ID,
    SERIAL,
    FakeProvider,
    MemoryJournal,
    answers,
    engine,
    live,
    router,
    run_to_end,
    steps,
)

A = f"{ROUTER}/a"
ATTRS = {"region": "r1", "name": "a", "asn": 65000}
TOKEN = "rcl-token-of-the-create"


def intent(action: JournalAction, **over: Any) -> JournalEntry:
    fields: dict[str, Any] = {
        "id": f"{LINEAGE}:{SERIAL}:{A}:{action}",
        "address": A,
        "kind": ROUTER,
        "action": action,
        "phase": "intent",
        "time": "2026-11-30T10:00:00.000Z",
        "token": TOKEN if action in (JournalAction.CREATE, JournalAction.DELETE) else None,
        "region": "r1",
    }
    if action in (JournalAction.CREATE, JournalAction.ADOPT):
        fields.update(attributes=ATTRS, natural_key=("r1", "a"))
    if action in (JournalAction.DELETE, JournalAction.ADOPT, JournalAction.UPDATE):
        fields.update(cloud_id="router-1")
    return JournalEntry(**{**fields, **over})


def resend_as_declared(entry: JournalEntry) -> Desired:
    return Desired(entry.kind, "a", dict(entry.attributes or {}))


@dataclass(frozen=True)
class Case:
    name: str
    intent: JournalEntry
    script: dict[str, Callable[..., Any]] = field(default_factory=dict)
    resend: Resend | None = None
    phase: str | None = None  # None: left open
    cloud_id: str | None = None
    error: str | None = None
    created_with: str | None = None  # the token a resent create carried


FOUND = live(ROUTER, "router-7", attrs=ATTRS)

CASES = [
    Case(
        "create that happened",
        intent(JournalAction.CREATE),
        {"on_find": answers(FOUND)},
        phase="done",
        cloud_id="router-7",
    ),
    Case(
        "create not visible, plan leaves it open",
        intent(JournalAction.CREATE),
        {"on_find": answers(None)},
    ),
    Case(
        "create not visible, apply resends it with its own token",
        intent(JournalAction.CREATE),
        {"on_find": answers(None), "on_create": answers("router-8")},
        resend=resend_as_declared,
        phase="done",
        cloud_id="router-8",
        created_with=TOKEN,
    ),
    Case(
        "create not visible, the cloud is busy: left open",
        intent(JournalAction.CREATE),
        {"on_find": answers(None), "on_create": answers(Busy("router is modifying"))},
        resend=resend_as_declared,
        created_with=TOKEN,
    ),
    Case(
        "create not visible, the resend is refused",
        intent(JournalAction.CREATE),
        {"on_find": answers(None), "on_create": answers(ProviderError("QuotaExceeded", cloud=CLOUD))},
        resend=resend_as_declared,
        phase="failed",
        error="sending the create again failed: QuotaExceeded",
        created_with=TOKEN,
    ),
    Case(
        "create that never happened and is no longer declared",
        intent(JournalAction.CREATE),
        {"on_find": answers(None)},
        resend=lambda entry: None,
        phase="failed",
        error="the create never took effect and the resource is no longer declared",
    ),
    Case(
        "create without a token is not resent",
        intent(JournalAction.CREATE, token=None),
        {"on_find": answers(None)},
        resend=resend_as_declared,
        phase="failed",
        error="the create never took effect and the resource is no longer declared",
    ),
    Case(
        "delete that took effect",
        intent(JournalAction.DELETE),
        {"on_get": answers(None)},
        phase="done",
        cloud_id="router-1",
    ),
    Case(
        "delete under way",
        intent(JournalAction.DELETE),
        {"on_get": answers(live(ROUTER, "router-1", "deleting", "Deleting"))},
        phase="done",
        cloud_id="router-1",
    ),
    Case(
        "delete that did not take effect",
        intent(JournalAction.DELETE),
        {"on_get": answers(live(ROUTER, "router-1", "ready"))},
        phase="failed",
        error="the delete did not take effect",
    ),
    Case("adopt", intent(JournalAction.ADOPT), phase="done", cloud_id="router-1"),
    Case("forget", intent(JournalAction.FORGET), phase="done"),
    Case(
        "update",
        intent(JournalAction.UPDATE),
        phase="failed",
        error="outcome unknown after an interruption; re-planned",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_an_open_intent_is_resolved_against_the_cloud(case: Case) -> None:
    provider = FakeProvider(**case.script)  # type: ignore[arg-type]
    outcome = resolve_intent(case.intent, provider, case.resend)
    if case.phase is None:
        assert outcome is None
    else:
        assert outcome is not None
        assert (outcome.id, outcome.phase, outcome.error) == (case.intent.id, case.phase, case.error)
        assert outcome.cloud_id == (case.cloud_id or case.intent.cloud_id)
    assert provider.tokens("create", A) == ([case.created_with] if case.created_with else [])


def test_recover_settles_what_it_can_and_leaves_the_rest_open() -> None:
    journal = MemoryJournal()
    other = f"{ROUTER}/b"
    open_create = intent(JournalAction.CREATE)
    open_delete = intent(JournalAction.DELETE, id="x:delete", address=other, cloud_id="router-2")
    for entry in (open_create, open_delete):
        journal.append(entry)
    provider = FakeProvider(on_find=answers(None), on_get=answers(None))
    asked: list[str] = []

    def providers(name: str) -> FakeProvider:
        asked.append(name)
        return provider

    settled = recover(journal.state(), providers, journal.append)  # a plan: nothing is resent
    assert settled == 1
    assert asked == [CLOUD, CLOUD]
    assert [e.id for e in journal.pending] == [open_create.id]


def test_a_create_busy_then_lost_in_flight_is_recovered_with_its_token() -> None:
    """The apply: busy (settled as failed), then a timeout (left open). The next run resends the
    create with the token of the attempt that timed out and records the object once."""
    timed_out = ProviderError("read timed out", cloud=CLOUD, retryable=True)
    provider = FakeProvider(on_create=answers(Busy("router is modifying", retry_after=0.01), timed_out))
    journal = MemoryJournal()
    results = run_to_end(engine(provider, journal, steps(router("a"))))
    assert [r.outcome for r in results] == ["failed"]
    (still_open,) = journal.pending
    first, second = provider.tokens("create", A)
    assert first != second  # refused for now: the next attempt had a token of its own
    assert still_open.token == second  # the intent records the token its attempt sent
    assert still_open.id == journal.entries[0].id + "#2"

    provider.on_create = answers("router-1")
    resend = resend_from([Resource(ROUTER, "a", ATTRS)])
    assert recover(journal.state(), lambda name: provider, journal.append, resend) == 1
    assert provider.tokens("create", A)[-1] == second
    state = journal.state()
    assert state.pending == () and state.resources[A].cloud_id == "router-1"


def test_a_move_interrupted_mid_adopt_is_settled_at_both_addresses() -> None:
    journal = MemoryJournal()
    adopt = intent(JournalAction.ADOPT, address=f"{ROUTER}/new")
    release = JournalEntry(
        id=adopt.id + ":moved", address=A, kind=ROUTER, action=JournalAction.FORGET, phase="intent", time=adopt.time
    )
    journal.append(release)
    journal.append(adopt)
    assert recover(journal.state(), lambda name: FakeProvider(), journal.append) == 2
    assert journal.pending == ()


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        (
            [Resource(ROUTER, "a", {"name": "a"}, {"password": SecretRef("env", "P")}, {"password": SecretValue("k")})],
            True,
        ),
        ([], False),  # no longer declared
        ([Resource("Link", "a", {})], False),  # declared as another kind now
    ],
    ids=["declared", "not declared", "another kind"],
)
def test_a_resent_create_uses_the_recorded_attributes_and_todays_secrets(
    declared: list[Resource], expected: bool
) -> None:
    desired = resend_from(declared)(replace(intent(JournalAction.CREATE), address=A))
    if not expected:
        assert desired is None
        return
    assert desired is not None
    assert (desired.kind, desired.name, dict(desired.attrs)) == (ROUTER, "a", ATTRS)
    assert desired.secrets == {"password": SecretValue("k")}


def test_an_adopt_killed_between_its_intent_and_its_outcome_is_recorded_by_recovery() -> None:
    journal = MemoryJournal()
    (adopt,) = steps(router("a", Action.ADOPT, cloud_id="router-1"))
    StepExecutor({}, JournalWriter(journal.append, LINEAGE, SERIAL, RUN_ID), LINEAGE, SERIAL, RUN_ID, {}).run(
        adopt, 0.0
    )
    killed = MemoryJournal()
    killed.append(journal.entries[0])  # the process died before the outcome was written
    assert recover(killed.state(), lambda name: FakeProvider(), killed.append) == 1
    assert killed.state().resources[A].attributes == ATTRS


@pytest.mark.parametrize("attempt", [1, 2, 5])
def test_a_create_interrupted_at_any_attempt_is_adopted_once_visible(attempt: int) -> None:
    """An apply killed during the `attempt`th call of a create (the earlier ones were refused):
    the next run records the object it made, found by its natural key."""
    token = client_token(LINEAGE, A, "create", SERIAL, RUN_ID, attempt)
    journal = MemoryJournal()
    for n in range(1, attempt):  # refused attempts, settled as failed
        journal.append(intent(JournalAction.CREATE, id=f"{intent(JournalAction.CREATE).id}#{n}", token="refused"))
        journal.append(replace(journal.entries[-1], phase="failed", error="busy"))
    killed = intent(JournalAction.CREATE, id=f"{intent(JournalAction.CREATE).id}#{attempt}", token=token)
    journal.append(killed)
    provider = FakeProvider(on_find=answers(FOUND))
    resend = resend_from([Resource(ROUTER, "a", ATTRS)])
    assert recover(journal.state(), lambda name: provider, journal.append, resend) == 1
    assert provider.tokens("create", A) == []  # found: nothing is sent again
    state = journal.state()
    assert state.pending == () and state.resources[A].cloud_id == "router-7"


@pytest.mark.parametrize("attempt", [1, 3])
def test_a_create_interrupted_at_any_attempt_is_sent_again_with_that_attempts_token(attempt: int) -> None:
    token = client_token(LINEAGE, A, "create", SERIAL, RUN_ID, attempt)
    journal = MemoryJournal()
    journal.append(intent(JournalAction.CREATE, token=token))
    provider = FakeProvider(on_find=answers(None), on_create=answers("router-8"))
    resend = resend_from([Resource(ROUTER, "a", ATTRS)])
    assert recover(journal.state(), lambda name: provider, journal.append, resend) == 1
    assert provider.tokens("create", A) == [token]
    assert journal.state().resources[A].cloud_id == "router-8"


def test_an_engine_run_killed_on_a_later_attempt_leaves_that_attempts_token_for_recovery() -> None:
    """Busy twice, then the third call's answer is lost: its intent, and its token, stay open."""
    lost = ProviderError("connection reset", cloud=CLOUD, retryable=True)
    busy = Busy("router is modifying", retry_after=0.01)
    provider = FakeProvider(on_create=answers(busy, busy, lost))
    journal = MemoryJournal()
    run_to_end(engine(provider, journal, steps(router("a"))))
    (still_open,) = journal.pending
    assert still_open.token == provider.tokens("create", A)[-1] == client_token(LINEAGE, A, "create", SERIAL, RUN_ID, 3)
    assert still_open.id.endswith("#3")
    provider.on_find = answers(live(ROUTER, "router-3", attrs=ATTRS))  # the lost call made it
    assert recover(journal.state(), lambda name: provider, journal.append, resend_from([])) == 1
    assert journal.state().resources[A].cloud_id == "router-3"


def test_a_recent_unconfirmed_create_is_looked_for_until_the_read_lag_passes_not_sent_again() -> None:
    """Reads may lag a create: an object made by the interrupted run can be invisible for a while.
    Within the read lag recovery looks again; it never sends the create twice meanwhile."""
    provider = FakeProvider(on_find=answers(None, None, FOUND))
    recent = intent(JournalAction.CREATE, time=utc_now())
    outcome = resolve_intent(recent, provider, resend_as_declared, read_lag=30.0)
    assert outcome is not None and outcome.phase == "done" and outcome.cloud_id == "router-7"
    assert [op for op, _, _ in provider.calls] == ["find", "find", "find"]


def test_an_unconfirmed_create_is_sent_again_once_the_read_lag_has_passed() -> None:
    provider = FakeProvider(on_find=answers(None), on_create=answers("router-9"))
    recent = intent(JournalAction.CREATE, time=utc_now())
    outcome = resolve_intent(recent, provider, resend_as_declared, read_lag=0.3)
    assert outcome is not None and outcome.phase == "done" and outcome.cloud_id == "router-9"
    finds = [op for op, _, _ in provider.calls if op == "find"]
    assert len(finds) >= 2  # looked again before giving up on seeing it
    assert [token for op, _, token in provider.calls if op == "create"] == [TOKEN]  # once, with its own token


def test_plan_does_not_wait_for_an_unconfirmed_create() -> None:
    provider = FakeProvider(on_find=answers(None))
    assert resolve_intent(intent(JournalAction.CREATE, time=utc_now()), provider, None, read_lag=30.0) is None
    assert [op for op, _, _ in provider.calls] == ["find"]
