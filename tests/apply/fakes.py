"""Test doubles for the apply engine: a cloud of two made-up kinds, a provider whose answers each
test scripts (in the spirit of Crossplane's `ExternalClientFns`), an in-memory journal and a
reporter that records what it is told.

Everything here synchronises with conditions, never with sleeps: a test waits for "two calls are
in flight" or "the engine reported this step waiting", with a generous deadline.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

from reconciler.apply.engine import Engine, StepResult
from reconciler.apply.settings import EngineSettings
from reconciler.apply.steps import Step, build_steps, serial_scopes
from reconciler.clouds import register, unregister
from reconciler.clouds.base import Busy, Cloud, Desired, ObjectRef, RefreshResult, RefreshScope, UnmanagedLevel
from reconciler.kinds import KindInfo, RefField, as_int
from reconciler.model import JournalEntry, LiveObject, Resource, SecretValue, StateDoc, Status
from reconciler.plan.model import Action, Change, FieldChange
from reconciler.state.codec import check_entry
from reconciler.state.journal import fold

CLOUD = "fake"
ROUTER = "Router"
LINK = "Link"
REGION = "r1"
LINEAGE = "0b6e5d1e-1111-4222-8333-944455556666"
SERIAL = 7
RUN_ID = "5eed5eed5eed5eed"  # one apply run's own token component
WAIT = 20.0  # seconds: how long a test waits for something that should happen at once
POLL_MIN = 0.01  # the engine's first poll, and its shortest wait before calling a busy cloud again

ROUTER_KIND = KindInfo(
    kind=ROUTER,
    cloud=CLOUD,
    fields=("region", "name", "asn"),
    secret_fields=("password",),
    replace_only=frozenset({"region"}),
    natural_key=("region", "name"),
    defaults={},
    normalisers={"asn": as_int},
    region_field="region",
    deletable=True,
)
LINK_KIND = KindInfo(
    kind=LINK,
    cloud=CLOUD,
    fields=("region", "routerId", "peerIp"),
    secret_fields=(),
    replace_only=frozenset({"region", "routerId"}),
    natural_key=("routerId", "peerIp"),
    defaults={},
    normalisers={},
    region_field="region",
    deletable=True,
    ref_fields={"router": RefField(ROUTER, "routerId")},
)


@dataclass(frozen=True)
class FakeCloud:
    """Only what the engine, recovery and refresh ask a cloud for: its name, its kinds, its serial
    scopes (a router takes one change at a time, its links' included) and what to refresh."""

    name: str = CLOUD
    title: str = "a cloud of routers and links, for tests"
    kinds: tuple[KindInfo, ...] = (ROUTER_KIND, LINK_KIND)
    heavy_client: bool = False  # the order in which a refresh makes providers

    def refresh_scope(
        self,
        desired: Sequence[Resource],
        state: StateDoc,
        level: UnmanagedLevel = UnmanagedLevel.MANIFESTS,
        args: Sequence[str] = (),
    ) -> RefreshScope:
        return RefreshScope(kinds=frozenset(k.kind for k in self.kinds))

    def serial_scope(self, change: Change, changes: Mapping[str, Change]) -> str | None:
        if change.kind == ROUTER:
            return f"router {(change.after or change.before or {}).get('name')}"
        router_change = changes.get(change.refs.get("router", ""))
        router_id = (change.after or change.before or {}).get("routerId")
        if router_change is None and router_id:
            router_change = next((c for c in changes.values() if c.cloud_id == router_id), None)
        if router_change is not None:
            return self.serial_scope(router_change, changes)
        return f"router {router_id}" if router_id else None


def registered() -> Iterator[None]:
    """Fixture body: the fake cloud's kinds exist for the duration of a test."""
    register(cast(Cloud, FakeCloud()))
    try:
        yield
    finally:
        unregister(CLOUD)


# ---------------------------------------------------------------- changes and steps


def router(
    name: str,
    action: Action = Action.CREATE,
    *,
    cloud_id: str | None = None,
    asn: int = 65000,
    changed: Sequence[str] = (),
    **change: Any,
) -> Change:
    after = {"region": REGION, "name": name, "asn": asn}
    fields = tuple(FieldChange(f, after=after.get(f)) for f in changed)
    return Change(
        f"{ROUTER}/{name}",
        ROUTER,
        action,
        CLOUD,
        cloud_id=cloud_id,
        region=REGION,
        after=None if action is Action.DELETE else after,
        fields=fields,
        name=name,
        **change,
    )


def link(name: str, on: str, action: Action = Action.CREATE, *, cloud_id: str | None = None, **change: Any) -> Change:
    """A link on router `on`, created in the same apply: its router id is known only then."""
    return Change(
        f"{LINK}/{name}",
        LINK,
        action,
        CLOUD,
        cloud_id=cloud_id,
        region=REGION,
        after={"region": REGION, "peerIp": "10.0.0.1"},
        after_unknown=("routerId",),
        refs={"router": f"{ROUTER}/{on}"},
        depends_on=(f"{ROUTER}/{on}",),
        name=name,
        **change,
    )


def steps(*changes: Change, refresh_only: bool = False) -> list[Step]:
    """The steps of a plan of `changes`, each with its serial scope, as `reconciler apply` builds
    them (no-op changes make no step but count for the scopes)."""
    applied = [c for c in changes if c.applies]
    return build_steps(applied, refresh_only=refresh_only, scopes=serial_scopes(changes))


def live(
    kind: str, cloud_id: str, status: Status = "ready", raw: str = "", attrs: Mapping[str, Any] | None = None
) -> LiveObject:
    return LiveObject(kind, cloud_id, REGION, dict(attrs or {}), status=status, raw_status=raw)


def ref(kind: str, cloud_id: str) -> ObjectRef:
    return ObjectRef(kind, cloud_id, REGION)


# ---------------------------------------------------------------- the scripted provider


def answers(*script: Any) -> Callable[..., Any]:
    """A scripted call: each call takes the next answer (the last one repeats); an exception
    answer is raised, a callable one is called with the call's arguments."""
    remaining = list(script)
    lock = threading.Lock()

    def answer(*args: Any) -> Any:
        with lock:
            value = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        if isinstance(value, BaseException):
            raise value
        if callable(value):
            return value(*args)
        return value

    return answer


class Gate:
    """Holds calls until the test lets them through, one permit each."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._permits = 0

    def passage(self) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self._permits > 0, timeout=WAIT):
                raise AssertionError("a call waited at the gate for too long")
            self._permits -= 1

    def open(self, permits: int = 1) -> None:
        with self._changed:
            self._permits += permits
            self._changed.notify_all()


@dataclass
class FakeProvider:
    """The Provider protocol over an in-memory store, with scripted answers.

    Each `on_*` callable, when given, decides the answer of that call (its return value, an
    exception it raises, a `Busy`); the store then follows the answer: a created id gets a ready
    object, an accepted update changes the object's attributes, an accepted delete removes it.
    `seen` scripts what successive polls show of an object (the last entry repeats).
    """

    name: str = CLOUD
    on_create: Callable[[Desired, str], str | Busy] | None = None
    on_update: Callable[[ObjectRef, Desired, Sequence[str], str], Busy | None] | None = None
    on_delete: Callable[[ObjectRef, str], Busy | None] | None = None
    on_poll: Callable[[Sequence[ObjectRef]], dict[str, LiveObject | None]] | None = None
    on_find: Callable[[str, Mapping[str, Any]], LiveObject | None] | None = None
    on_get: Callable[[ObjectRef], LiveObject | None] | None = None
    seen: dict[str, list[LiveObject | None]] = field(default_factory=dict)
    objects: dict[str, LiveObject] = field(default_factory=dict)
    gate: Gate | None = None  # when set, every mutation waits for a permit
    timeline: list[str] = field(default_factory=list)  # shared with a MemoryJournal
    calls: list[tuple[str, str, str | None]] = field(default_factory=list)  # (op, target, token)
    polls: list[list[str]] = field(default_factory=list)  # the cloud ids of each poll
    in_flight: int = 0
    max_in_flight: int = 0

    def __post_init__(self) -> None:
        self._changed = threading.Condition()
        self._ids = 0

    # ------------------------------------------------------------ mutations

    def create(self, desired: Desired, token: str) -> str | Busy:
        with self._call("create", f"{desired.kind}/{desired.name}", token):
            answer = self.on_create(desired, token) if self.on_create else self._new_id(desired.kind)
            if isinstance(answer, str) and answer not in self.objects:
                self.objects[answer] = live(desired.kind, answer, attrs=desired.attrs)
            return answer

    def update(self, ref: ObjectRef, desired: Desired, changed: Sequence[str], token: str) -> Busy | None:
        with self._call("update", ref.cloud_id, token):
            answer = self.on_update(ref, desired, changed, token) if self.on_update else None
            current = self.objects.get(ref.cloud_id)
            if answer is None and current is not None:
                self.objects[ref.cloud_id] = replace(current, attrs={**current.attrs, **desired.attrs})
            return answer

    def delete(self, ref: ObjectRef, token: str) -> Busy | None:
        with self._call("delete", ref.cloud_id, token):
            answer = self.on_delete(ref, token) if self.on_delete else None
            if answer is None:
                self.objects.pop(ref.cloud_id, None)
            return answer

    # ------------------------------------------------------------ reads

    def poll(self, refs: Sequence[ObjectRef]) -> dict[str, LiveObject | None]:
        with self._changed:
            self.polls.append([r.cloud_id for r in refs])
            self._changed.notify_all()
        if self.on_poll is not None:
            return self.on_poll(refs)
        found: dict[str, LiveObject | None] = {}
        for r in refs:
            script = self.seen.get(r.cloud_id)
            if script:
                found[r.cloud_id] = script.pop(0) if len(script) > 1 else script[0]
            else:
                found[r.cloud_id] = self.objects.get(r.cloud_id)
        return found

    def get(self, ref: ObjectRef) -> LiveObject | None:
        self._log("get", ref.cloud_id, None)
        return self.on_get(ref) if self.on_get else self.objects.get(ref.cloud_id)

    def find(self, kind: str, attrs: Mapping[str, Any]) -> LiveObject | None:
        self._log("find", kind, None)
        if self.on_find is not None:
            return self.on_find(kind, attrs)
        info = ROUTER_KIND if kind == ROUTER else LINK_KIND
        key = info.key_of(attrs)
        matching = [o for o in self.objects.values() if o.kind == kind and info.key_of(o.attrs) == key]
        return next((o for o in matching if o.status != "deleting"), None)

    def refresh(self, scope: RefreshScope) -> RefreshResult:
        return RefreshResult(tuple(self.objects.values()))

    def api_calls(self) -> Mapping[str, int]:
        return Counter(op for op, _, _ in self.calls)

    def close(self) -> None:
        return None

    # ------------------------------------------------------------ for the tests

    def wait_until(self, condition: Callable[[FakeProvider], bool], what: str) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: condition(self), timeout=WAIT):
                raise AssertionError(f"timed out waiting until {what}")

    def tokens(self, op: str, target: str) -> list[str | None]:
        return [token for o, t, token in self.calls if (o, t) == (op, target)]

    def _new_id(self, kind: str) -> str:
        with self._changed:
            self._ids += 1
            return f"{kind.lower()}-{self._ids}"

    def _log(self, op: str, target: str, token: str | None) -> None:
        with self._changed:
            self.calls.append((op, target, token))
            self.timeline.append(f"call {op} {target}")
            self._changed.notify_all()

    def _call(self, op: str, target: str, token: str) -> _InFlight:
        return _InFlight(self, op, target, token)


class _InFlight:
    """Counts a mutation in flight (and holds it at the gate) for as long as it runs."""

    def __init__(self, provider: FakeProvider, op: str, target: str, token: str) -> None:
        self.provider, self.op, self.target, self.token = provider, op, target, token

    def __enter__(self) -> None:
        p = self.provider
        with p._changed:
            p.in_flight += 1
            p.max_in_flight = max(p.max_in_flight, p.in_flight)
            p._changed.notify_all()
        p._log(self.op, self.target, self.token)
        if p.gate is not None:
            p.gate.passage()

    def __exit__(self, *exc: object) -> None:
        p = self.provider
        with p._changed:
            p.in_flight -= 1
            p._changed.notify_all()


# ---------------------------------------------------------------- journal and reporter


class MemoryJournal:
    """The write-ahead journal in memory; each entry is checked as a state backend checks it."""

    def __init__(self, timeline: list[str] | None = None) -> None:
        self.entries: list[JournalEntry] = []
        self.timeline = timeline if timeline is not None else []
        self._lock = threading.Lock()

    def append(self, entry: JournalEntry) -> None:
        check_entry(entry)
        with self._lock:
            self.entries.append(entry)
            self.timeline.append(f"{entry.phase} {entry.action} {entry.address}")

    def state(self, start: StateDoc | None = None) -> StateDoc:
        """The entries folded into `start` (default: an empty state)."""
        return fold(start or StateDoc(), self.entries)

    @property
    def pending(self) -> tuple[JournalEntry, ...]:
        return self.state().pending

    def phases(self, address: str | None = None) -> list[str]:
        return [e.phase for e in self.entries if address is None or e.address == address]


class RecordingReporter:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []  # (what, step key)
        self.results: dict[str, StepResult] = {}
        self._changed = threading.Condition()

    def started(self, step: Step) -> None:
        self._note("started", step.key)

    def waiting(self, step: Step, cloud_id: str | None) -> None:
        self._note("waiting", step.key)

    def finished(self, result: StepResult) -> None:
        with self._changed:
            self.results[result.step.key] = result
        self._note("finished", result.step.key)

    def wait_for(self, what: str, key: str) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: (what, key) in self.events, timeout=WAIT):
                raise AssertionError(f"the engine never reported {key} {what}: {self.events}")

    def _note(self, what: str, key: str) -> None:
        with self._changed:
            self.events.append((what, key))
            self._changed.notify_all()


# ---------------------------------------------------------------- running the engine


def engine(
    provider: FakeProvider | None,
    journal: MemoryJournal,
    plan: Sequence[Step],
    *,
    reporter: RecordingReporter | None = None,
    parallelism: int = 4,
    timeout: float = 60.0,
    grace: float = 10.0,
    secrets: Mapping[str, SecretValue] | None = None,
) -> Engine:
    return Engine(
        plan,
        {CLOUD: provider} if provider is not None else {},
        journal.append,
        lineage=LINEAGE,
        serial=SERIAL,
        run_id=RUN_ID,
        secrets=secrets or {},
        reporter=reporter or RecordingReporter(),
        settings=EngineSettings(
            parallelism=parallelism, timeout=timeout, create_grace=grace, poll_min=POLL_MIN, poll_max=0.05
        ),
    )


def run_to_end(run: Engine) -> list[StepResult]:
    return Running(run).join()


class Running:
    """An engine run on its own thread, so the test can act while it runs, and so that an engine
    that never finishes fails the test instead of hanging it."""

    def __init__(self, run: Engine) -> None:
        self.engine = run
        self._results: list[StepResult] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self._results = self.engine.run()

    def join(self) -> list[StepResult]:
        self.thread.join(WAIT * 2)
        assert not self.thread.is_alive(), "the engine did not finish"
        return self._results
