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
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from dataclasses import replace as replaced
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.clouds import CLOUDS, KINDS, make_provider, refresh_scopes
from reconciler.clouds.base import (
    ObjectRef,
    Presupposed,
    Provider,
    ProviderOptions,
    RefreshResult,
    RefreshScope,
    SessionEnds,
)
from reconciler.context import AppContext
from reconciler.log import get_logger
from reconciler.memory import prepare_for_large_run, release_free_memory
from reconciler.model import LiveObject, Resource, StateDoc

if TYPE_CHECKING:
    from reconciler.apply.recovery import Resend
    from reconciler.manifest import Manifests
    from reconciler.plan.model import Plan
    from reconciler.read_status import ReadStatus
    from reconciler.sandbox import Sandbox, Seed
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
    # The live status line of a command reading the clouds on a terminal (`read_status`), if any.
    status: ReadStatus | None = None
    _providers: dict[str, Provider] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def provider(self, name: str) -> Provider:
        with self._lock:
            if name not in self._providers:
                self._providers[name] = make_provider(name, self.env, self.options)
            return self._providers[name]

    def api_calls(self) -> dict[str, dict[str, int]]:
        with self._lock:  # the status line reads this from its own thread while providers are added
            providers = dict(self._providers)
        return {name: dict(p.api_calls()) for name, p in providers.items()}

    def close(self) -> None:
        for provider in self._providers.values():
            provider.close()
        self.backend.close()


def sandbox_data_file(app: AppContext) -> Path:
    """Where the embedded sandbox keeps its data: `--sandbox-data FILE`, else a file in the
    user's cache folder named after the repository (the Git work tree holding the current
    folder, else the current folder), so that each repository has its own. Never in the
    repository by default: the data holds the BGP keys in clear."""
    if app.sandbox_data is not None:
        return app.sandbox_data
    from hashlib import sha256

    from reconciler.manifest.files import git_top

    here = os.path.realpath(os.getcwd())
    repository = git_top(here) or here
    digest = sha256(repository.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return user_cache_folder() / "reconciler" / "sandbox" / f"{digest}.json"


def user_cache_folder() -> Path:
    """`$XDG_CACHE_HOME`, else `~/.cache` (the XDG rule; a relative XDG_CACHE_HOME is ignored, as
    the specification says)."""
    configured = os.environ.get("XDG_CACHE_HOME", "")
    return Path(configured) if os.path.isabs(configured) else Path.home() / ".cache"


def _earlier_sandbox_data_file(app: AppContext) -> Path:
    """Where versions before the cache folder kept the embedded sandbox's data: beside a local
    state file, else in `state/`."""
    if "://" in app.state_url:
        return Path("state/sandbox.json")
    return Path(app.state_url).parent / "sandbox.json"


def _make_private_folder(folder: Path) -> None:
    """Create `folder` (and its missing parents) readable by the user only: the data in it holds keys."""
    missing = [f for f in (folder, *folder.parents) if not f.exists()]
    for created in reversed(missing):
        created.mkdir(mode=0o700, exist_ok=True)


def _move_earlier_sandbox_data(app: AppContext, data_file: Path) -> None:
    """Move the data an earlier version kept in the repository (`state/sandbox.json`, keys in
    clear) to `data_file`, once, and say so: the sandbox keeps the objects the state records, and
    the keys leave the repository. Only for the default location, when it has no data yet."""
    earlier = _earlier_sandbox_data_file(app)
    if app.sandbox_data is not None or data_file.exists() or not earlier.is_file():
        return
    import shutil

    from filelock import FileLock, Timeout

    in_use = FileLock(f"{earlier}.lock")
    try:
        in_use.acquire(timeout=0)
    except Timeout:
        log.warning("the sandbox data of an earlier version is in use: not moved", data=str(earlier))
        return
    try:
        # The change log first: a crash in between leaves the snapshot to move next time.
        for source, target in ((Path(f"{earlier}.log"), Path(f"{data_file}.log")), (earlier, data_file)):
            if source.is_file():
                shutil.move(source, target)
    finally:
        in_use.release()
    log.warning(
        "moved the embedded sandbox's data out of the repository (it holds BGP keys in clear); "
        "--sandbox-data FILE chooses another place",
        moved_from=str(earlier),
        moved_to=str(data_file),
    )


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
    from reconciler.sandbox import Sandbox, SandboxConfig, load_seed
    from reconciler.sandbox.store import hold_data_file

    data_file = sandbox_data_file(app)
    _make_private_folder(data_file.parent)
    with hold_data_file(data_file, "a `reconciler --sandbox` run", app.lock_timeout):
        _move_earlier_sandbox_data(app, data_file)
        # Start merges the seed into the data of earlier runs: whatever the manifests now name exists.
        seed = load_seed(app.seed) if app.seed else derived_seed(presupposed, "seed derived from the manifests")
        config = SandboxConfig.for_profile(app.sandbox_profile)
        sandbox = Sandbox(seed, config=config, data_file=data_file).start()
        log.debug("embedded sandbox started", data=str(data_file), profile=app.sandbox_profile)
        try:
            yield sandbox
        finally:
            sandbox.stop()


def derived_seed(presupposed: Iterable[Presupposed], what: str) -> Seed:
    """What the sandbox must hold for `presupposed` (the devices, regions... each cloud needs)."""
    from reconciler.clouds import sandbox_seed
    from reconciler.sandbox import Seed

    return Seed.from_mapping(sandbox_seed(presupposed), what)


def seed_from_manifests(paths: Sequence[str], app: AppContext | None) -> Seed:
    """`sandbox serve --seed-from PATH...`: the seed `--sandbox` derives from those manifests
    (read without their keys; invalid manifests fail as they do for `validate`)."""
    _, resources = load_desired(paths, with_secrets=False, app=app)
    return derived_seed(presupposed_by(resources), f"seed derived from {', '.join(paths)}")


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
    scopes = scopes if scopes is not None else refresh_scopes(desired, state)
    results = refresh_providers(ws, scopes)
    objects = tuple(obj for result in results.values() for obj in result.objects)
    listed = {obj.cloud_id for obj in objects}
    objects += tuple(obj for obj in ws.recovered if obj.cloud_id not in listed)
    kinds = frozenset(k for name in results for k in scopes[name].kinds)
    objects += tuple(_just_created(ws, state, {obj.cloud_id for obj in objects}, kinds))
    calls = {name: dict(result.api_calls) for name, result in results.items()}
    log.debug("refresh complete", objects=len(objects), api_calls=calls)
    return Observed(objects, kinds, calls)


def refresh_providers(ws: Workspace, scopes: Mapping[str, RefreshScope]) -> dict[str, RefreshResult]:
    """Each provider of `scopes` refreshed over its scope, concurrently (`refresh.refresh_as_made`).
    The providers are made on this thread (a client library is imported once, never by a refresh
    thread), those with a heavy client last: its import overlaps the others' first requests."""
    from reconciler.refresh import refresh_as_made

    def make(name: str) -> Provider:
        provider = ws.provider(name)
        # The status line counts the objects each provider lists.
        return ws.status.watch(provider) if ws.status is not None else provider

    names = sorted(scopes, key=lambda name: (CLOUDS[name].heavy_client, name))
    return refresh_as_made(make, names, scopes)


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
    the manifests) or the allow-list. Its `--secrets-file`, when given, is read first (a broken
    one fails before anything else) and `fromEnv` names not in the environment are looked up there.
    """
    from reconciler.errors import ManifestError
    from reconciler.manifest import load_manifests, resolve_secrets, secret_files
    from reconciler.manifest.secretsfile import secret_env
    from reconciler.words import plural

    env = None if app is None else secret_env(app.secrets_file)
    roots = [Path(p) for p in paths] or [Path(".")]
    key_files = None if app is None else secret_files(roots, app.secrets.root, app.secrets.allow)
    manifests = load_manifests(roots, key_files)
    if not manifests.ok:
        errors = [d for d in manifests.diagnostics if getattr(d, "severity", "error") == "error"]
        lines = "\n".join(str(d) for d in errors[:50])
        more = f"\n... and {len(errors) - 50} more" if len(errors) > 50 else ""
        message = f"invalid manifests ({plural(len(errors), 'problem')}):\n{lines}{more}"
        raise ManifestError(message, manifests.diagnostics)
    resources = resolve_secrets(manifests.resources, key_files, env) if with_secrets else manifests.resources
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
    paths: Sequence[str] = (),
    prune: bool = False,
    replace: Sequence[str] = (),
    destroy: bool = False,
    manifests: Manifests | None = None,
    allow_address_mismatch: bool = False,
) -> tuple[Plan, StateDoc]:
    """Read state (resolving interrupted applies first), refresh, diff. Returns (plan, state).

    `paths` are the manifest paths as given: a state resource whose recorded manifest file lies
    outside them (and still exists) is left alone unless `prune`. `replace` lists addresses to
    replace anyway; `destroy` plans the removal of everything in state. With `manifests`, the
    session addresses of the plan are checked against what is live (`check_addresses`), and the
    manifests let their documents go once its session ends are made (`release_documents`)."""
    from reconciler.apply.recovery import resend_from
    from reconciler.plan.planner import make_plan

    # Only an apply (it holds the lock) may send an unconfirmed create again; a plan never calls
    # a mutating API.
    resend = resend_from(resources) if locked and operation == "apply" else None
    prepare_for_large_run(len(resources))
    state = recover_pending(ws, ws.backend.read(), operation, locked=locked, resend=resend)
    _check_replace(replace, resources, state)
    manifest_files = manifest_files_of(resources)
    declared = {r.address for r in resources}
    outside = {} if prune or destroy else outside_given_paths(paths, state, declared)
    scopes = plan_scopes(resources, state)
    ends: dict[str, list[SessionEnds]] | None = None  # for the address checks, when they run
    if manifests is not None and not refresh_only and not destroy:
        # The session ends are worked out while the refresh waits on the clouds. The refresh runs
        # on this thread, which makes the providers: a cloud SDK is imported by the main thread.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="session-ends") as pool:
            ending = pool.submit(session_ends_then_release, manifests)
            observed = observe(ws, resources, state, scopes)
            ends = ending.result()
    else:
        observed = observe(ws, resources, state, scopes)
    release_free_memory(len(observed.objects))  # the state's text and the pages read are garbage now
    plan = make_plan(
        resources,
        state,
        observed.objects,
        manifests_digest=manifests_digest,
        targets=targets,
        refresh_only=refresh_only,
        refreshed_kinds=observed.refreshed_kinds,
        api_calls=observed.api_calls,
        manifest_files=manifest_files,
        outside_paths=outside,
        replace=replace,
        destroy=destroy,
    )
    if ends is not None:
        plan = check_addresses(ws, ends, plan, allow_mismatch=allow_address_mismatch)
    return plan, state


def plan_scopes(resources: Sequence[Resource], state: StateDoc) -> dict[str, RefreshScope]:
    """What a plan refreshes (`refresh_scopes`), without the objects' extras: it reads none."""
    return {name: replaced(scope, extras=False) for name, scope in refresh_scopes(resources, state).items()}


def session_ends_then_release(manifests: Manifests) -> dict[str, list[SessionEnds]]:
    """`session_ends_of`, then the manifests' documents released: the ends keep what they need
    (`LinkEnd.detached`), and a large plan need not hold the documents while its refresh runs."""
    ends = session_ends_of(manifests)
    manifests.release_documents()
    return ends


def session_ends_of(manifests: Manifests) -> dict[str, list[SessionEnds]]:
    """The session ends the manifests declare in clouds that check addresses (`check_addresses`),
    by cloud, each with the end it is linked with (of any cloud)."""
    from reconciler.clouds import cloud_of
    from reconciler.plan.addresses import session_ends

    # The manifests keep each resource's document (valid, so of a registered kind); the checks
    # read them through `Cloud.link_end`.
    documents = manifests.documents_by_address()
    checked = frozenset(address for address, doc in documents.items() if cloud_of(doc.kind).checks_addresses)
    return session_ends(documents.values(), checked)


def check_addresses(
    ws: Workspace, ends_by_cloud: Mapping[str, Sequence[SessionEnds]], plan: Plan, *, allow_mismatch: bool
) -> Plan:
    """The live address checks of the plan's session ends (of `ends_by_cloud`, from
    `session_ends_of`; `plan/addresses.py`), by each cloud's `address_checks`: PlanError for a
    linked session's address that cannot form it (unless `allow_mismatch`), the rest as the
    plan's warnings. Their reads count among its API calls."""
    from reconciler.clouds.base import AddressFinding
    from reconciler.plan.addresses import refuse_mismatches, verdict

    in_plan = frozenset(c.address for c in plan.changes)
    findings: list[AddressFinding] = []
    calls = {name: dict(counts) for name, counts in plan.api_calls.items()}
    for cloud_name, all_ends in ends_by_cloud.items():
        ends = [e for e in all_ends if e.own.doc.address in in_plan]
        if not ends:
            continue
        provider = ws.provider(cloud_name)
        before = dict(provider.api_calls())
        findings.extend(CLOUDS[cloud_name].address_checks(ends, provider))
        for operation, count in provider.api_calls().items():
            if count > before.get(operation, 0):
                made = calls.setdefault(cloud_name, {})
                made[operation] = made.get(operation, 0) + count - before.get(operation, 0)
    found = verdict(findings, allow_mismatch)
    refuse_mismatches(found)
    return replaced(plan, warnings=(*plan.warnings, *found.warnings), api_calls=calls)


def presupposed_by(resources: Iterable[Resource]) -> Iterator[Presupposed]:
    """What the embedded sandbox must make exist for `resources`, made as it is read: only
    `--sandbox` reads it, and a plan of 50,000 peers would otherwise hold 50,000 of them."""
    return (Presupposed(r.kind, r.attrs, r.address, r.labels, r.refs) for r in resources)


# ---------------------------------------------------------------- subsets of the manifests


def _check_replace(replace: Sequence[str], resources: Sequence[Resource], state: StateDoc) -> None:
    from reconciler.errors import UsageError

    declared = {r.address for r in resources}
    for address in replace:
        if address not in declared:
            raise UsageError(f"--replace {address}: not in the manifests (give its address as Kind/name)")
        if address not in state.resources:
            raise UsageError(f"--replace {address}: not in the state: nothing to replace (it will be created)")


def manifest_files_of(resources: Iterable[Resource]) -> dict[str, str]:
    """Address -> the manifest file that declares it, as the state records it."""
    recorded = cache(recorded_file)  # once per file: a file declares many resources
    return {r.address: recorded(r.source.file) for r in resources if r.source is not None}


def recorded_file(path: str) -> str:
    """A manifest file as the state records it: relative to its Git work tree, else absolute
    (symbolic links resolved), so that it means the same from any folder and any checkout."""
    from reconciler.manifest.files import git_top

    real = os.path.realpath(path)
    top = git_top(os.path.dirname(real))
    return os.path.relpath(real, top) if top is not None else real


def outside_given_paths(paths: Sequence[str], state: StateDoc, declared: set[str]) -> dict[str, str]:
    """State addresses the manifests do not declare but whose recorded manifest file lies outside
    the given paths and still exists (so the resource was not removed, only not given), with why.
    A file that is gone means the resource was removed. Without a recorded file (a state from an
    earlier version) a resource is in the given paths only when they cover the whole Git work tree
    (or the current folder, outside Git)."""
    from reconciler.manifest.files import git_top, within

    given = [os.path.realpath(p) for p in paths or ["."]]
    tops = {top for p in given if (top := git_top(p if os.path.isdir(p) else os.path.dirname(p))) is not None}
    whole = tops or {os.path.realpath(".")}
    covers_all = any(within(top, p) for top in whole for p in given)
    outside: dict[str, str] = {}
    for address, recorded in state.resources.items():
        if address in declared:
            continue
        if recorded.manifest_file is None:
            if not covers_all:
                outside[address] = "its manifest file is not recorded yet: plan the whole work tree, or use --prune"
            continue
        candidates = (
            [recorded.manifest_file]
            if os.path.isabs(recorded.manifest_file)
            else [os.path.join(top, recorded.manifest_file) for top in sorted(tops)]
        )
        existing = [os.path.realpath(c) for c in candidates if os.path.isfile(c)]
        if not candidates:
            outside[address] = f"its manifest file {recorded.manifest_file} is in no Git work tree of the given paths"
        elif existing and not any(within(f, p) for f in existing for p in given):
            outside[address] = f"its manifest file {recorded.manifest_file} is not among them"
    return outside
