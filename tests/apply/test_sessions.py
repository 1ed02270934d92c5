"""Waiting for BGP sessions after an apply: which sessions, the batched polls, the verdicts and hints."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from reconciler.apply.sessions import (
    HINT_ADDRESSES,
    HINT_CONVERGING,
    HINT_KEY_ASNS,
    NOT_CONFIRMED,
    Session,
    SessionEnd,
    SessionResult,
    hint_for,
    sessions_to_wait,
    wait_established,
)
from reconciler.clouds import KINDS
from reconciler.clouds.base import ObjectRef
from reconciler.errors import ProviderError
from reconciler.kinds import KindInfo
from reconciler.model import LiveObject, StateDoc, StateResource
from tests.apply.fakes import CLOUD, LINK, POLL_MIN, REGION, FakeProvider, live, ref


def end(address: str, cloud_id: str, cloud: str = "Left") -> SessionEnd:
    return SessionEnd(address, ref(LINK, cloud_id), CLOUD, cloud)


def session_of(*ends: SessionEnd) -> Session:
    return Session("the-link" if len(ends) > 1 else ends[0].address, ends)


def with_session(state: str, status: str = "ready") -> LiveObject:
    return replace(live(LINK, "x", "ready" if status == "ready" else "pending", status), session=state)


def wait(
    provider: FakeProvider, *sessions: Session, timeout: float = 20.0, stop: threading.Event | None = None
) -> list[SessionResult]:
    return wait_established(
        sessions, {CLOUD: provider}, timeout, stop or threading.Event(), poll_min=POLL_MIN, poll_max=0.05
    )


@pytest.mark.parametrize(
    ("states", "hint"),
    [
        (["Idle", "Idle"], HINT_ADDRESSES),
        # One end tries and is not answered in kind: a key or an ASN, though the other looks Idle
        # (an MD5 mismatch drops its segments).
        (["Active", "Idle"], HINT_KEY_ASNS),
        (["Active", "not found"], HINT_ADDRESSES),  # an end that is missing comes first
        (["Established", "not found"], HINT_ADDRESSES),
        (["Down"], HINT_ADDRESSES),
        (["Active", "Active"], HINT_KEY_ASNS),
        (["Connect", "Established"], HINT_KEY_ASNS),
        (["OpenSent", "Active"], HINT_KEY_ASNS),
        (["OpenConfirm", "Established"], HINT_CONVERGING),
        (["PROVISIONING", "Established"], HINT_CONVERGING),
        (["not seen yet"], HINT_CONVERGING),
    ],
)
def test_hint_follows_the_bgp_state_machine(states: list[str], hint: str) -> None:
    assert hint_for(states) == hint


def test_both_ends_are_polled_together_until_established() -> None:
    provider = FakeProvider(
        seen={
            "a": [with_session("Idle"), with_session("Active"), with_session("Established")],
            "b": [with_session("Connect"), with_session("Established")],
        }
    )
    (result,) = wait(provider, session_of(end("A/a", "a"), end("B/b", "b", "Right")))
    assert result.up and result.hint == ""
    assert result.detail == "Left end Established, Right end Established"
    assert provider.polls[0] == ["a", "b"]  # one batched poll for both ends
    assert all(poll == ["a"] for poll in provider.polls[2:])  # an Established end is not polled again
    assert len(provider.polls) == 3


def test_a_session_still_down_at_the_deadline_gets_a_hint() -> None:
    provider = FakeProvider(seen={"a": [with_session("Active")], "b": [with_session("Idle")], "c": [None]})
    down, gone = wait(
        provider, session_of(end("A/a", "a"), end("B/b", "b", "Right")), session_of(end("C/c", "c")), timeout=0.2
    )
    assert not down.up
    assert down.detail == f"Left end Active, Right end Idle: {HINT_KEY_ASNS}"
    assert [e.state for e in down.ends] == ["Active", "Idle"]
    assert not gone.up and gone.detail == f"Left end not found: {HINT_ADDRESSES}"


def test_provisioning_end_is_shown_by_its_status() -> None:
    provider = FakeProvider(seen={"a": [replace(live(LINK, "a", "pending", "PROVISIONING"), session=None)]})
    (result,) = wait(provider, session_of(end("A/a", "a")), timeout=0.1)
    assert result.detail == f"Left end PROVISIONING: {HINT_CONVERGING}"


def test_a_failed_poll_is_retried() -> None:
    polls: list[int] = []

    def flaky(refs: object) -> dict[str, LiveObject | None]:
        polls.append(1)
        if len(polls) == 1:
            raise ProviderError("throttled", cloud=CLOUD)
        return {"a": with_session("Established")}

    (result,) = wait(FakeProvider(on_poll=flaky), session_of(end("A/a", "a")))
    assert result.up and len(polls) == 2


def test_an_interrupt_ends_the_wait_unconfirmed() -> None:
    stop = threading.Event()

    def interrupted(refs: object) -> dict[str, LiveObject | None]:
        stop.set()  # Ctrl-C during the first poll
        return {"a": with_session("Active")}

    (result,) = wait(FakeProvider(on_poll=interrupted), session_of(end("A/a", "a")), stop=stop)
    assert not result.up and result.hint == NOT_CONFIRMED


# ---------------------------------------------------------------- which sessions


def session_kinds() -> tuple[KindInfo, KindInfo]:
    """Two registered kinds that carry a session, of two clouds (the ends of a linked session)."""
    kinds = [k for k in KINDS.values() if k.has_session]
    first = kinds[0]
    second = next(k for k in kinds if k.cloud != first.cloud)
    return first, second


def recorded(address: str, kind: str, cloud_id: str, **labels: str) -> StateResource:
    return StateResource(address, kind, cloud_id, REGION, {}, labels=labels)


def test_sessions_to_wait_takes_the_other_end_of_a_link() -> None:
    left, right = session_kinds()
    plain = next(k for k in KINDS.values() if not k.has_session)
    state = StateDoc(
        resources={
            "L/one": recorded("L/one", left.kind, "l1", link="one"),
            "R/one": recorded("R/one", right.kind, "r1", link="one"),
            "L/alone": recorded("L/alone", left.kind, "l2"),
            "P/x": recorded("P/x", plain.kind, "p1", link="one"),  # not a session: never an end
            "L/other": recorded("L/other", left.kind, "l3", link="other"),
        }
    )
    sessions = sessions_to_wait(["R/one", "L/one", "L/alone", "P/x", "L/gone"], state)
    assert [s.name for s in sessions] == ["one", "L/alone"]  # each session once, in the order changed
    linked, alone = sessions
    assert [e.address for e in linked.ends] == ["L/one", "R/one"]
    assert linked.ends[1].ref == ObjectRef(right.kind, "r1", REGION)
    assert linked.ends[1].provider == right.cloud
    assert [e.address for e in alone.ends] == ["L/alone"]
    assert all(e.cloud and " " not in e.cloud for e in linked.ends)  # a cloud's short name for people
