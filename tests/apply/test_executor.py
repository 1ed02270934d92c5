"""One call of one step against a scripted provider: what is journaled around it, in which order,
and what the engine is told."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from reconciler.apply.events import CallBusy, Called, CallFailed
from reconciler.apply.executor import StepExecutor
from reconciler.apply.journal import JournalWriter
from reconciler.apply.settings import EngineSettings
from reconciler.apply.steps import Step, client_token
from reconciler.clouds.base import Busy
from reconciler.errors import ProviderError
from reconciler.model import SecretValue
from reconciler.plan.model import Action, Change
from tests.apply.fakes import (
    CLOUD,
    LINEAGE,
    LINK,
    ROUTER,
    RUN_ID,
    SERIAL,
    FakeProvider,
    MemoryJournal,
    answers,
    ref,
    router,
    steps,
)
from tests.apply.fakes import link as link_change

REFUSED = ProviderError("QuotaExceeded: too many routers", cloud=CLOUD, status=400)
TIMED_OUT = ProviderError("the request timed out", cloud=CLOUD, retryable=True)
SERVER_ERROR = ProviderError("HTTP 503", cloud=CLOUD, status=503, retryable=True)
BUSY = Busy("router a is modifying", wait_for=ref(ROUTER, "router-1"))


def raising(error: BaseException) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        raise error

    return call


def returning(value: Any) -> Callable[..., Any]:
    return lambda *args: value


@dataclass(frozen=True)
class Case:
    name: str
    change: Change
    script: dict[str, Callable[..., Any]] = field(default_factory=dict)
    refresh_only: bool = False
    event: type = Called
    timeline: tuple[str, ...] = ()
    still_open: int = 0  # intents left for recovery
    watch: str | None = None  # what is left to wait for: "ready", "gone" or nothing


A = f"{ROUTER}/a"
UPDATE = router("a", Action.UPDATE, cloud_id="router-1", changed=("asn",), asn=65001)
DELETE = router("a", Action.DELETE, cloud_id="router-1")

CASES = [
    Case(
        "create accepted",
        router("a"),
        timeline=(f"intent create {A}", f"call create {A}", f"done create {A}"),
        watch="ready",
    ),
    Case(
        "create refused",
        router("a"),
        {"on_create": raising(REFUSED)},
        event=CallFailed,
        timeline=(f"intent create {A}", f"call create {A}", f"failed create {A}"),
    ),
    Case(
        "create timed out",
        router("a"),
        {"on_create": raising(TIMED_OUT)},
        event=CallFailed,
        timeline=(f"intent create {A}", f"call create {A}"),
        still_open=1,
    ),
    Case(
        "create hit a bug",
        router("a"),
        {"on_create": raising(RuntimeError("unexpected reply"))},
        event=CallFailed,
        timeline=(f"intent create {A}", f"call create {A}"),
        still_open=1,
    ),
    Case(
        "create busy",
        router("a"),
        {"on_create": returning(BUSY)},
        event=CallBusy,
        timeline=(f"intent create {A}", f"call create {A}", f"failed create {A}"),
    ),
    Case(
        "update accepted",
        UPDATE,
        timeline=(f"intent update {A}", "call update router-1", f"done update {A}"),
        watch="ready",
    ),
    Case(
        "update busy",
        UPDATE,
        {"on_update": returning(BUSY)},
        event=CallBusy,
        timeline=(f"intent update {A}", "call update router-1", f"failed update {A}"),
    ),
    Case(
        "update got a 5xx",
        UPDATE,
        {"on_update": raising(SERVER_ERROR)},
        event=CallFailed,
        timeline=(f"intent update {A}", "call update router-1"),
        still_open=1,
    ),
    Case(
        "delete accepted",
        DELETE,
        # Accepted is not gone: the outcome is journaled once a read shows it gone.
        timeline=(f"intent delete {A}", "call delete router-1"),
        watch="gone",
        still_open=1,
    ),
    Case(
        "delete busy",
        DELETE,
        {"on_delete": returning(Busy("another operation is running", retry_after=5.0))},
        event=CallBusy,
        timeline=(f"intent delete {A}", "call delete router-1", f"failed delete {A}"),
    ),
    Case(
        "delete refused",
        DELETE,
        {"on_delete": raising(REFUSED)},
        event=CallFailed,
        timeline=(f"intent delete {A}", "call delete router-1", f"failed delete {A}"),
    ),
    Case(
        "adopt as it is",
        router("a", Action.ADOPT, cloud_id="router-1"),
        timeline=(f"intent adopt {A}", f"done adopt {A}"),
    ),
    Case(
        "adopt an object still provisioning",
        router("a", Action.ADOPT, cloud_id="router-1", settling=True),
        timeline=(f"intent adopt {A}", f"done adopt {A}"),
        watch="ready",
    ),
    Case(
        "adopt and change",
        router("a", Action.ADOPT, cloud_id="router-1", changed=("asn",)),
        timeline=(f"intent adopt {A}", "call update router-1", f"done adopt {A}"),
        watch="ready",
    ),
    Case(
        "adopt and change, busy",
        router("a", Action.ADOPT, cloud_id="router-1", changed=("asn",)),
        {"on_update": returning(BUSY)},
        event=CallBusy,
        timeline=(f"intent adopt {A}", "call update router-1", f"failed adopt {A}"),
    ),
    Case(
        "forget",
        router("a", Action.FORGET, cloud_id="router-1"),
        timeline=(f"intent forget {A}", f"done forget {A}"),
    ),
    Case(
        "record live values",
        router("a", Action.UPDATE, cloud_id="router-1"),
        refresh_only=True,
        timeline=(f"intent update {A}", f"done update {A}"),
    ),
    Case(
        "wait for an object still provisioning",
        router("a", Action.NOOP, cloud_id="router-1", settling=True),
        watch="ready",
    ),
    Case(
        "a reference that was not applied",
        link_change("l", on="a"),
        event=CallFailed,
    ),
    Case(
        "a secret that is not available",
        router("a", secret_refs={"password": "env:ROUTER_PASSWORD"}),
        event=CallFailed,
    ),
]


def executor(provider: FakeProvider, journal: MemoryJournal, **kw: Any) -> StepExecutor:
    return StepExecutor(
        {CLOUD: provider},
        JournalWriter(journal.append, LINEAGE, SERIAL, RUN_ID),
        LINEAGE,
        SERIAL,
        RUN_ID,
        kw.pop("secrets", {}),
        EngineSettings(create_grace=5.0),
        **kw,
    )


def only_step(change: Change, refresh_only: bool = False) -> Step:
    (step,) = steps(change, refresh_only=refresh_only)
    return step


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_intent_is_journaled_before_the_call_and_the_outcome_after(case: Case) -> None:
    provider = FakeProvider(**case.script)  # type: ignore[arg-type]
    journal = MemoryJournal(provider.timeline)
    event = executor(provider, journal).run(only_step(case.change, case.refresh_only), time.monotonic() + 60)
    assert type(event) is case.event, event
    assert tuple(provider.timeline) == case.timeline
    assert len(journal.pending) == case.still_open
    watch = event.watch if isinstance(event, Called) else None
    assert (watch.target if watch else None) == case.watch


def test_a_busy_answer_says_what_to_wait_for_and_keeps_the_step_deadline() -> None:
    provider = FakeProvider(on_create=returning(Busy("router x is modifying", ref(ROUTER, "x"), retry_after=3.0)))
    journal = MemoryJournal()
    before = time.monotonic()
    event = executor(provider, journal).run(only_step(router("a")), before + 42)
    assert isinstance(event, CallBusy)
    assert event.wait.wait_for == ref(ROUTER, "x") and event.wait.reason == "router x is modifying"
    assert event.wait.deadline == before + 42
    assert before + 3.0 <= event.wait.retry_at <= time.monotonic() + 3.0
    assert journal.entries[-1].error == "the cloud was busy, will try again: router x is modifying"


def test_a_call_again_after_a_busy_answer_sends_a_new_token_under_a_new_intent() -> None:
    provider = FakeProvider(on_create=answers(BUSY, "router-1"))
    journal = MemoryJournal()
    run = executor(provider, journal)
    step = only_step(router("a"))
    assert isinstance(run.run(step, time.monotonic() + 60), CallBusy)
    assert isinstance(run.run(step, time.monotonic() + 60), Called)
    first = client_token(LINEAGE, A, "create", SERIAL, RUN_ID)
    second = client_token(LINEAGE, A, "create", SERIAL, RUN_ID, 2)
    assert first != second
    assert provider.tokens("create", A) == [first, second]
    assert [(e.phase, e.token) for e in journal.entries] == [
        ("intent", first),
        ("failed", first),
        ("intent", second),
        ("done", None),
    ]
    assert len({e.id for e in journal.entries if e.phase == "intent"}) == 2
    assert journal.state().resources[A].cloud_id == "router-1"


def test_a_dependent_gets_the_id_of_an_object_created_in_the_same_apply() -> None:
    provider = FakeProvider()
    journal = MemoryJournal()
    event = executor(provider, journal, known_ids={A: "router-9"}).run(
        only_step(link_change("l", on="a")), time.monotonic() + 60
    )
    assert isinstance(event, Called) and event.cloud_id is not None
    assert provider.objects[event.cloud_id].attrs["routerId"] == "router-9"
    assert journal.state().resources[f"{LINK}/l"].attributes["routerId"] == "router-9"


def test_an_internal_error_never_shows_a_secret() -> None:
    secret = "correct-horse-battery"

    def leaky(desired: Any, token: str) -> str:
        raise RuntimeError(f"could not send {desired.secrets['password'].reveal()}")

    provider = FakeProvider(on_create=leaky)
    journal = MemoryJournal()
    change = router("a", secret_refs={"password": "env:ROUTER_PASSWORD"})
    event = executor(provider, journal, secrets={"env:ROUTER_PASSWORD": SecretValue(secret)}).run(
        only_step(change), time.monotonic() + 60
    )
    assert isinstance(event, CallFailed)
    assert event.message.startswith("internal error: RuntimeError: could not send")
    assert secret not in event.message
    assert all(secret not in repr(e) for e in journal.entries)


GROWN = [1.0, 1.5, 2.25, 3.375, 5.0625, 7.59375, 11.390625, 17.0859375, 25.62890625, 30.0, 30.0]


@pytest.mark.parametrize(
    ("busy", "delays"),
    [
        (Busy("try later", retry_after=1.0), GROWN),  # x1.5 per attempt, up to 30 s
        (Busy("try later", retry_after=0.0), [0.05 * 1.5**n for n in range(11)]),  # "at once": from the shortest wait
        (Busy("try later", retry_after=45.0), [45.0] * 11),  # never less than the cloud asked for
        (Busy("router is modifying", ref(ROUTER, "x"), retry_after=3.0), [3.0] * 11),  # x is watched instead
    ],
    ids=["grows", "at once", "asked for longer", "waits for an object"],
)
def test_a_busy_cloud_is_called_again_later_and_later(busy: Busy, delays: list[float]) -> None:
    provider = FakeProvider(on_create=returning(busy))
    run = executor(provider, MemoryJournal())
    step = only_step(router("a"))
    for attempt, expected in enumerate(delays, start=1):
        before = time.monotonic()
        event = run.run(step, before + 600)
        after = time.monotonic()
        assert isinstance(event, CallBusy)
        assert before + expected - 1e-9 <= event.wait.retry_at <= after + expected + 1e-9, attempt
    assert len(set(provider.tokens("create", A))) == len(delays)  # each attempt had its own token
