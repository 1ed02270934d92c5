"""What plan, apply, drift and import share.

A `Workspace` holds the state backend, the providers (created lazily, only for clouds that are
actually needed) and, with `--sandbox`, the embedded sandbox. Stages stay pure: this module
only wires I/O (state backends, providers) to the pure planner.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.clouds import KINDS, make_provider, refresh_scopes
from reconciler.clouds.base import ObjectRef, Presupposed, Provider, ProviderOptions, RefreshScope
from reconciler.context import AppContext
from reconciler.log import get_logger
from reconciler.model import LiveObject, Resource, StateDoc

if TYPE_CHECKING:
    from reconciler.apply.recovery import Resend
    from reconciler.manifest import Manifests
    from reconciler.plan.model import Plan
    from reconciler.sandbox import Sandbox
    from reconciler.state import StateBackend

log = get_logger("reconciler")


@dataclass
class Workspace:
    app: AppContext
    backend: StateBackend
    env: dict[str, str]
    options: ProviderOptions = field(default_factory=ProviderOptions)
    sandbox: Sandbox | None = None
    # Objects that resolving an interrupted apply found: a refresh right after may not list them
    # yet (reads may lag a create), and must not take them for deleted.
    recovered: list[LiveObject] = field(default_factory=list)
    _providers: dict[str, Provider] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def provider(self, name: str) -> Provider:
        with self._lock:
            if name not in self._providers:
                self._providers[name] = make_provider(name, self.env, self.options)
            return self._providers[name]

    def api_calls(self) -> dict[str, dict[str, int]]:
        return {name: dict(p.api_calls()) for name, p in self._providers.items()}

    def close(self) -> None:
        for provider in self._providers.values():
            provider.close()
        self.backend.close()


def sandbox_data_file(app: AppContext) -> Path:
    """The embedded sandbox keeps its data beside a local state file (else in `state/`)."""
    if "://" in app.state_url:
        return Path("state/sandbox.json")
    return Path(app.state_url).parent / "sandbox.json"


@contextmanager
def open_workspace(
    app: AppContext, presupposed: Iterable[Presupposed] = (), options: ProviderOptions | None = None
) -> Iterator[Workspace]:
    """Open the state backend and, with `--sandbox`, start the embedded sandbox.

    `presupposed` lists the resources whose surroundings (the devices, regions... that each
    cloud needs) the sandbox should make exist, unless `--seed` says exactly what exists.
    """
    from reconciler.state import open_backend

    ws = Workspace(app, open_backend(app.state_url), dict(os.environ), options or default_options(os.environ))
    try:
        with _embedded_sandbox(app, presupposed) as sandbox:
            if sandbox is not None:
                ws.sandbox = sandbox
                ws.env.update(sandbox.env())
            yield ws
    finally:
        ws.close()


def default_options(env: Mapping[str, str]) -> ProviderOptions:
    """Provider options for commands that do not set them: the read lag from RECONCILER_READ_LAG
    (as `apply --read-lag`), so that plan and drift wait out the same lag as apply."""
    from reconciler.errors import UsageError

    raw = env.get("RECONCILER_READ_LAG", "").strip()
    if not raw:
        return ProviderOptions()
    try:
        read_lag = float(raw)
    except ValueError:
        read_lag = -1.0
    if not 0 <= read_lag < float("inf"):
        raise UsageError(f"RECONCILER_READ_LAG={raw!r} is not a number of seconds (0 or more, e.g. 30)")
    return ProviderOptions(create_grace=read_lag)


@contextmanager
def _embedded_sandbox(app: AppContext, presupposed: Iterable[Presupposed]) -> Iterator[Sandbox | None]:
    """With `--sandbox`: the emulators, on their data file, for one process at a time."""
    if not app.sandbox:
        yield None
        return
    from filelock import FileLock, Timeout

    from reconciler.clouds import sandbox_seed
    from reconciler.errors import ReconcilerError
    from reconciler.sandbox import Sandbox, SandboxConfig, Seed, load_seed

    data_file = sandbox_data_file(app)
    data_file.parent.mkdir(parents=True, exist_ok=True)
    # Two processes each emulating the clouds from one data file would lose each other's objects.
    in_use = FileLock(f"{data_file}.lock")
    try:
        in_use.acquire(timeout=app.lock_timeout)
    except Timeout:
        raise ReconcilerError(
            f"the embedded sandbox ({data_file}) is in use by another `reconciler --sandbox` run",
            hint="wait for it to finish, or pass --lock-timeout SECONDS to wait",
        ) from None
    try:
        # Start merges the seed into the data of earlier runs: whatever the manifests now name exists.
        if app.seed:
            seed = load_seed(app.seed)
        else:
            seed = Seed.from_mapping(sandbox_seed(presupposed), "seed derived from the manifests")
        config = SandboxConfig.for_profile(app.sandbox_profile)
        sandbox = Sandbox(seed, config=config, data_file=data_file).start()
        log.debug("embedded sandbox started", data=str(data_file), profile=app.sandbox_profile)
        try:
            yield sandbox
        finally:
            sandbox.stop()
    finally:
        in_use.release()


# ---------------------------------------------------------------- refresh


@dataclass(frozen=True)
class Observed:
    objects: tuple[LiveObject, ...]
    refreshed_kinds: frozenset[str]
    api_calls: Mapping[str, Mapping[str, int]]


def observe(
    ws: Workspace,
    desired: Sequence[Resource],
    state: StateDoc,
    scopes: Mapping[str, RefreshScope] | None = None,
) -> Observed:
    """Refresh every provider the manifests or the state involve (or those of `scopes`, each over
    its scope), concurrently, with list APIs."""
    from reconciler.refresh import refresh_all

    scopes = scopes if scopes is not None else refresh_scopes(desired, state)
    providers = {name: ws.provider(name) for name in scopes}
    results = refresh_all(providers, scopes)
    objects = tuple(obj for result in results.values() for obj in result.objects)
    listed = {obj.cloud_id for obj in objects}
    objects += tuple(obj for obj in ws.recovered if obj.cloud_id not in listed)
    kinds = frozenset(k for name in results for k in scopes[name].kinds)
    objects += tuple(_just_created(ws, state, {obj.cloud_id for obj in objects}, kinds))
    calls = {name: dict(result.api_calls) for name, result in results.items()}
    log.debug("refresh complete", objects=len(objects), api_calls=calls)
    return Observed(objects, kinds, calls)


def _just_created(
    ws: Workspace, state: StateDoc, listed: set[str], refreshed_kinds: frozenset[str]
) -> Iterator[LiveObject]:
    """State resources created so recently that reads may not show them yet (`created_at` within
    the read lag, `ws.options.create_grace`), which the refresh did not list: each is looked for
    again until it shows, or the read lag has passed and it is really gone. Without this, an apply
    right after another (one killed after its create, for instance) would take the new object for
    deleted and create it again: a duplicate where the cloud has no idempotency token."""
    from reconciler.readlag import look_until, seconds_since_epoch

    now = time.time()
    for recorded in state.resources.values():
        if recorded.kind not in refreshed_kinds or recorded.cloud_id in listed or recorded.created_at is None:
            continue
        until = seconds_since_epoch(recorded.created_at) + ws.options.create_grace
        if until <= now:
            continue
        provider = ws.provider(KINDS[recorded.kind].cloud)
        found = look_until(
            partial(provider.get, ObjectRef(recorded.kind, recorded.cloud_id, recorded.region)),
            until,
            partial(log.info, "a just-created object is not listed yet: looking again", address=recorded.address),
        )
        if found is not None:
            yield found


# ---------------------------------------------------------------- interrupted applies


def recover_pending(
    ws: Workspace, state: StateDoc, operation: str, *, locked: bool = False, resend: Resend | None = None
) -> StateDoc:
    """Resolve intents left by a killed apply and fold them into state.

    Takes the state lock unless the caller (`locked=True`) already holds it. A caller holding
    the lock (apply, import) also persists journal entries that are settled but not folded yet
    (an apply killed after its last call), so the state file on disk is complete again. When
    another process holds the lock (an apply is running: its calls in flight look unresolved),
    a plan stays read-only and works from the last saved state instead of failing.
    """
    if not state.pending and not (locked and ws.backend.journal_entries()):
        return state
    if locked:
        return _resolve_and_fold(ws, resend)
    from reconciler.errors import LockError

    try:
        with ws.backend.lock(operation, timeout=ws.app.lock_timeout):
            return _resolve_and_fold(ws, resend)
    except LockError as busy:
        log.warning("the state is locked: planning against the last saved state", holder=str(busy).splitlines()[0])
        return state


def _resolve_and_fold(ws: Workspace, resend: Resend | None) -> StateDoc:
    from reconciler.apply.recovery import recover

    state = ws.backend.read()
    if state.pending:
        recover(
            state, ws.provider, ws.backend.journal_append, resend, read_lag=ws.options.create_grace, seen=ws.recovered
        )
    if ws.backend.journal_entries():
        state = ws.backend.write(ws.backend.read())
    return state


# ---------------------------------------------------------------- manifests -> plan


def load_desired(
    paths: Sequence[str], *, with_secrets: bool = True, app: AppContext | None = None
) -> tuple[Manifests, tuple[Resource, ...]]:
    """Load and validate manifests (no API call is made when they are invalid), then resolve secrets.

    With `app`, its `secrets` options (`--secrets-root`, `--secrets-allow`) say where `fromFile`
    references may point, and every reference is checked while loading, whether keys are read
    or not. Key files are only ever read inside the secrets root (by default the Git work tree of
    the manifests) or the allow-list.
    """
    from reconciler.errors import ManifestError
    from reconciler.manifest import load_manifests, resolve_secrets, secret_files
    from reconciler.words import plural

    roots = [Path(p) for p in paths] or [Path(".")]
    key_files = None if app is None else secret_files(roots, app.secrets.root, app.secrets.allow)
    manifests = load_manifests(roots, key_files)
    if not manifests.ok:
        errors = [d for d in manifests.diagnostics if getattr(d, "severity", "error") == "error"]
        lines = "\n".join(str(d) for d in errors[:50])
        more = f"\n... and {len(errors) - 50} more" if len(errors) > 50 else ""
        message = f"invalid manifests ({plural(len(errors), 'problem')}):\n{lines}{more}"
        raise ManifestError(message, manifests.diagnostics)
    resources = resolve_secrets(manifests.resources, key_files) if with_secrets else manifests.resources
    return manifests, tuple(resources)


def build_plan(
    ws: Workspace,
    resources: Sequence[Resource],
    manifests_digest: str,
    *,
    operation: str,
    targets: Sequence[str] = (),
    refresh_only: bool = False,
    locked: bool = False,
) -> tuple[Plan, StateDoc]:
    """Read state (resolving interrupted applies first), refresh, diff. Returns (plan, state)."""
    from reconciler.apply.recovery import resend_from
    from reconciler.plan.planner import make_plan

    # Only an apply (it holds the lock) may send an unconfirmed create again; a plan never calls
    # a mutating API.
    resend = resend_from(resources) if locked and operation == "apply" else None
    state = recover_pending(ws, ws.backend.read(), operation, locked=locked, resend=resend)
    observed = observe(ws, resources, state)
    plan = make_plan(
        resources,
        state,
        observed.objects,
        manifests_digest=manifests_digest,
        targets=targets,
        refresh_only=refresh_only,
        refreshed_kinds=observed.refreshed_kinds,
        api_calls=observed.api_calls,
    )
    return plan, state


def presupposed_by(resources: Iterable[Resource]) -> list[Presupposed]:
    return [Presupposed(r.kind, r.attrs) for r in resources]
