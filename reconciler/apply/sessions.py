"""Waiting for BGP sessions to come up after an apply (`apply --wait-established[=SECONDS]`).

A green apply means the configs are provisioned; the session may still be down (a wrong address,
a key that differs from the other end's). Once the engine is done, `sessions_to_wait` takes every
session object the apply changed (created, updated, replaced or adopted) and, for a linked
session (`metadata.labels.link`, as recorded in state), the other end too when it is managed.
`wait_established` then polls all their ends with each provider's batched `poll` (list calls, like
the settle watcher; no parallelism slot: the engine's calls are over) until every session is
Established on every end, the deadline passes, or the run is interrupted.

A session still down gets a hint from what its ends show, by BGP's state machine: an Idle end
(or one not found) is not even trying to connect, so the addresses or the other end are wrong;
an end in Connect, Active or OpenSent reaches its peer but the OPEN exchange fails, which is what
a key or an ASN mismatch does. The core names no cloud: each end is called by its cloud's title.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from reconciler.apply.settle import BACKOFF, status_of
from reconciler.clouds import KINDS, cloud_of
from reconciler.clouds.base import ObjectRef, Provider
from reconciler.errors import ReconcilerError
from reconciler.log import get_logger
from reconciler.manifest.links import LINK_LABEL
from reconciler.model import LiveObject, StateDoc, StateResource

log = get_logger("reconciler.apply")

ESTABLISHED = "established"
# An end in these states is not trying to connect (or is not there): addresses or existence.
_MISSING = "not found"
_NOT_TRYING = frozenset({"idle", "down", _MISSING, ""})
# An end in these states reaches its peer, but the session does not open: key or ASNs.
_NOT_OPENING = frozenset({"connect", "active", "opensent"})

HINT_ADDRESSES = "check the addresses (peer IP, gateway) and that both ends exist"
HINT_KEY_ASNS = "check the key and the ASNs"
HINT_CONVERGING = "still converging: raise --wait-established"
NOT_CONFIRMED = "not confirmed: the wait was interrupted"


@dataclass(frozen=True, slots=True)
class SessionEnd:
    """One managed end of a session: its address, the object to poll and its cloud's name for people."""

    address: str
    ref: ObjectRef
    provider: str
    cloud: str


@dataclass(frozen=True, slots=True)
class Session:
    """A session to wait for: one end, or both ends of a linked session where both are managed."""

    name: str  # the link's name, else the one end's address
    ends: tuple[SessionEnd, ...]


@dataclass(frozen=True, slots=True)
class EndState:
    end: SessionEnd
    state: str  # the last session state seen, else what was seen of the object ("not seen yet")


@dataclass(frozen=True, slots=True)
class SessionResult:
    session: Session
    ends: tuple[EndState, ...]
    up: bool
    hint: str = ""  # why it may be down, and what to check ("" when up)

    @property
    def detail(self) -> str:
        """Each end's last state and the hint: "X end Active, Y end Idle: check ..."."""
        states = ", ".join(f"{e.end.cloud} end {e.state}" for e in self.ends)
        return f"{states}: {self.hint}" if self.hint else states


def cloud_label(kind: str) -> str:
    """What people call a kind's cloud: the first word of its title ("Example" for "Example Cloud
    Interconnect")."""
    title = cloud_of(kind).title.strip()
    return title.split()[0] if title else KINDS[kind].cloud


def sessions_to_wait(changed: Iterable[str], state: StateDoc) -> list[Session]:
    """The sessions of the `changed` addresses (those whose kind carries a session and that the
    state records), each with the other end of its link when the state has it, once each."""
    resources = state.resources
    by_link: dict[str, list[str]] = {}
    for address, recorded in resources.items():
        link = recorded.labels.get(LINK_LABEL)
        if link and _has_session(recorded.kind):
            by_link.setdefault(link, []).append(address)
    sessions: dict[str, Session] = {}
    for address in changed:
        entry = resources.get(address)
        if entry is None or not _has_session(entry.kind):
            continue
        link = entry.labels.get(LINK_LABEL)
        name = link or address
        if name not in sessions:
            addresses = sorted(by_link.get(link, [address])) if link else [address]
            sessions[name] = Session(name, tuple(_end(a, resources[a]) for a in addresses))
    return list(sessions.values())


def _end(address: str, entry: StateResource) -> SessionEnd:
    ref = ObjectRef(entry.kind, entry.cloud_id, entry.region)
    return SessionEnd(address, ref, KINDS[entry.kind].cloud, cloud_label(entry.kind))


def _has_session(kind: str) -> bool:
    info = KINDS.get(kind)
    return info is not None and info.has_session


def shown_state(obj: LiveObject | None) -> str:
    """An end's session state as the cloud reports it; the object's status when it reports none."""
    if obj is not None and obj.session:
        return obj.session
    return status_of(obj)


def is_established(state: str) -> bool:
    return state.strip().lower() == ESTABLISHED


def hint_for(states: Sequence[str]) -> str:
    """What to check for a session whose ends show `states` (by BGP's state machine). An end that
    tries to connect (Active, Connect, OpenSent) reaches its peer's address but is not answered in
    kind: a key or an ASN, whatever the other end shows (an MD5 mismatch drops its segments, so it
    may look Idle). Only when no end gets that far are the addresses the first thing to check."""
    seen = [s.strip().lower() for s in states]
    if _MISSING in seen:
        return HINT_ADDRESSES
    if any(s in _NOT_OPENING for s in seen):
        return HINT_KEY_ASNS
    if any(s in _NOT_TRYING for s in seen):
        return HINT_ADDRESSES
    return HINT_CONVERGING


def wait_established(
    sessions: Sequence[Session],
    providers: Mapping[str, Provider],
    timeout: float,
    stop: threading.Event,
    *,
    poll_min: float,
    poll_max: float,
    clock: Callable[[], float] = time.monotonic,
) -> list[SessionResult]:
    """Poll every end of `sessions` until each session is Established on all its ends, `timeout`
    seconds pass, or `stop` is set (then the sessions not up yet are reported as not confirmed).

    Each round is one batched `poll` per provider over the ends still waited for; a failed poll
    is retried on the next round. Rounds start `poll_min` apart and back off to `poll_max`."""
    deadline = clock() + timeout
    last: dict[str, str] = {}  # address -> last state seen
    waiting = list(sessions)
    interval = poll_min
    while waiting:
        _poll_round(waiting, providers, last)
        waiting = [s for s in waiting if not _up(s, last)]
        now = clock()
        if not waiting or now >= deadline or stop.is_set():
            break
        stop.wait(min(interval, max(0.0, deadline - now)))
        interval = min(interval * BACKOFF, poll_max)
        if stop.is_set():
            break
    interrupted = stop.is_set()
    return [_result(s, last, interrupted) for s in sessions]


def _poll_round(sessions: Sequence[Session], providers: Mapping[str, Provider], last: dict[str, str]) -> None:
    by_provider: dict[str, list[SessionEnd]] = {}
    for session in sessions:
        for end in session.ends:
            if not is_established(last.get(end.address, "")):
                by_provider.setdefault(end.provider, []).append(end)
    for name, ends in by_provider.items():
        refs = list(dict.fromkeys(e.ref for e in ends))
        try:
            seen = providers[name].poll(refs)
        except ReconcilerError as exc:  # retried on the next round; the deadline still applies
            log.warning("session poll failed, will retry", provider=name, error=str(exc))
            continue
        for end in ends:
            if end.ref.cloud_id in seen:
                last[end.address] = shown_state(seen[end.ref.cloud_id])


def _up(session: Session, last: Mapping[str, str]) -> bool:
    return all(is_established(last.get(e.address, "")) for e in session.ends)


def _result(session: Session, last: Mapping[str, str], interrupted: bool) -> SessionResult:
    ends = tuple(EndState(e, last.get(e.address, "not seen yet")) for e in session.ends)
    if _up(session, last):
        return SessionResult(session, ends, up=True)
    hint = NOT_CONFIRMED if interrupted else hint_for([e.state for e in ends])
    return SessionResult(session, ends, up=False, hint=hint)


__all__ = [
    "EndState",
    "Session",
    "SessionEnd",
    "SessionResult",
    "hint_for",
    "sessions_to_wait",
    "wait_established",
]
