"""`reconciler apply`: make the clouds match the manifests, or apply exactly a saved plan once it is
shown to be authentic (its signature), current (its manifests, the state, the keys) and made by
this version."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from reconciler.clouds.base import Presupposed, ProviderOptions
from reconciler.commands.plan_options import PlanChoices, plan_choice_options
from reconciler.context import AppContext
from reconciler.errors import PlanError, ReconcilerError, UsageError
from reconciler.model import Resource, SecretValue, StateDoc
from reconciler.plan.model import Plan, PlanMode
from reconciler.words import plural

if TYPE_CHECKING:  # the engine, the workflow and the providers load only when apply runs
    from reconciler.apply.engine import StepResult
    from reconciler.apply.progress import LiveReporter, LogReporter
    from reconciler.apply.sessions import SessionResult
    from reconciler.apply.settings import EngineSettings
    from reconciler.workflow import Workspace

SignalHandler = Callable[[int, FrameType | None], None]

WAIT_ESTABLISHED_DEFAULT = 300.0  # seconds: `--wait-established` without a value


def _wait_seconds(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """Seconds, at least 1. The option's value is optional, so a path right after it is taken for
    its value: say how to write it instead."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a number of seconds: write --wait-established=SECONDS, or put "
            "--wait-established after the paths",
            ctx,
            param,
        ) from None
    if not 1 <= seconds < float("inf"):
        raise click.BadParameter(f"{value!r} is not a number of seconds of at least 1", ctx, param)
    return seconds


def _is_plan_file(paths: Sequence[str]) -> bool:
    if len(paths) != 1:
        return False
    path = Path(paths[0])
    return path.is_file() and path.suffix.lower() not in (".yaml", ".yml")


@click.command(name="apply")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option("--parallelism", type=click.IntRange(1, 256), default=10, show_default=True, help="Concurrent changes.")
@click.option(
    "--timeout", type=click.FloatRange(1), default=600, show_default=True, help="Per-resource timeout (seconds)."
)
@click.option(
    "--read-lag",
    envvar="RECONCILER_READ_LAG",
    type=click.FloatRange(0),
    default=ProviderOptions().create_grace,
    show_default=True,
    help="Seconds a change may take to show in the cloud's reads: a change is judged, and an "
    "interrupted create sent again, only after it (env RECONCILER_READ_LAG).",
)
@click.option(
    "--wait-established",
    envvar="RECONCILER_WAIT_ESTABLISHED",
    type=str,
    callback=_wait_seconds,
    is_flag=False,
    flag_value=str(WAIT_ESTABLISHED_DEFAULT),
    default=None,
    metavar="[SECONDS]",
    help="After the changes, wait up to SECONDS (default "
    f"{WAIT_ESTABLISHED_DEFAULT:.0f}) for every changed BGP session to be Established on each managed end; "
    "a session still down fails the apply (env RECONCILER_WAIT_ESTABLISHED).",
)
@plan_choice_options(
    refresh_only_help="Accept the live values into state; change nothing in the clouds.",
    destroy_help="Delete (or forget) everything in the state.",
)
@click.pass_obj
def command(
    app: AppContext,
    paths: tuple[str, ...],
    auto_approve: bool,
    parallelism: int,
    timeout: float,
    read_lag: float,
    wait_established: float | None,
    refresh_only: bool,
    targets: tuple[str, ...],
    prune: bool,
    replace: tuple[str, ...],
    destroy: bool,
    max_deletes: int | None,
    allow_address_mismatch: bool,
) -> int:
    """Apply PLANFILE exactly, or plan the manifests in PATHS (default: .) and apply after confirmation."""
    from reconciler.apply.settings import EngineSettings

    settings = EngineSettings(
        parallelism=parallelism, timeout=timeout, create_grace=read_lag, wait_established=wait_established
    )
    if _is_plan_file(paths):
        if refresh_only or targets or prune or replace or destroy or allow_address_mismatch:
            raise UsageError(
                "a saved plan is applied as it is: --refresh-only, --target, --prune, --replace, --destroy and "
                "--allow-address-mismatch belong to `plan`"
            )
        return _apply_plan_file(app, Path(paths[0]), settings, max_deletes)
    choices = PlanChoices(targets, refresh_only, prune, replace, destroy, max_deletes, allow_address_mismatch).check()
    return _apply_manifests(app, paths, settings, auto_approve, choices)


def _provider_options(settings: EngineSettings) -> ProviderOptions:
    """The providers may have as many requests in flight as the engine has calls, and wait out the
    same read lag."""
    return ProviderOptions(
        max_in_flight=max(ProviderOptions().max_in_flight, settings.parallelism), create_grace=settings.create_grace
    )


def _apply_manifests(
    app: AppContext,
    paths: Sequence[str],
    settings: EngineSettings,
    auto_approve: bool,
    choices: PlanChoices,
) -> int:
    from reconciler.plan.guards import refuse_too_many
    from reconciler.render import render_plan
    from reconciler.workflow import build_plan, load_desired, open_workspace, presupposed_by

    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if not auto_approve and not interactive:
        raise UsageError(
            "apply needs confirmation but there is no terminal to ask on",
            hint="review with `reconciler plan --out PLANFILE`, then `reconciler apply PLANFILE`, "
            "or pass --auto-approve",
        )
    refresh_only = choices.refresh_only
    manifests, resources = load_desired(paths, with_secrets=choices.reads_keys, app=app)
    secrets = {
        ref.id: value for r in resources for f, ref in r.secret_refs.items() if (value := r.secrets.get(f)) is not None
    }
    options = _provider_options(settings)
    with (
        open_workspace(app, presupposed_by(resources), options) as ws,
        ws.backend.lock("apply", timeout=app.lock_timeout),
    ):
        plan, state = build_plan(
            ws,
            resources,
            manifests.digest,
            operation="apply",
            targets=choices.targets,
            refresh_only=refresh_only,
            locked=True,
            paths=paths,
            prune=choices.prune,
            replace=choices.replace,
            destroy=choices.destroy,
            manifests=manifests,
            allow_address_mismatch=choices.allow_address_mismatch,
        )
        refuse_too_many(plan, choices.max_deletes)
        click.echo(render_plan(plan, "text"), nl=False)
        if not plan.to_apply:
            return _record_metadata(ws, plan, state)
        if not plan.has_changes:  # nothing to change, but objects are still provisioning
            return _execute(ws, plan, state, secrets, settings)
        if not auto_approve:
            answer = click.prompt(
                "\nDo you want to perform these actions? Only 'yes' will be accepted", default="", show_default=False
            )
            if answer.strip() != "yes":
                click.echo("Apply cancelled.")
                return 1
        return _execute(ws, plan, state, secrets, settings)


def _apply_plan_file(app: AppContext, path: Path, settings: EngineSettings, max_deletes: int | None) -> int:
    """Apply a saved plan, after every check that needs no cloud call: its signature, the version
    that made it, and its manifests (read again: their digest, and every secret reference, whose
    values come from them and never from the plan file); then, under the lock, the state."""
    from reconciler.plan.guards import refuse_prevented, refuse_too_many
    from reconciler.plan.planfile import load_saved_plan
    from reconciler.plan.signing import plan_key_from_env
    from reconciler.workflow import open_workspace, recover_pending

    saved = load_saved_plan(path, plan_key_from_env(os.environ))
    notice = saved.signature.check_for_apply(str(path))
    if notice:
        click.echo(notice, err=True)
    plan = saved.plan
    _check_tool_version(plan, path)
    refuse_too_many(plan, max_deletes)
    secrets = _secrets_from_manifests(app, plan, path)
    # Addresses, labels and references let the embedded sandbox pair linked sessions' ends.
    presupposed = [
        Presupposed(c.kind, c.after, c.address, c.metadata.labels if c.metadata else {}, c.refs)
        for c in plan.changes
        if c.after
    ]
    options = _provider_options(settings)
    with open_workspace(app, presupposed, options) as ws, ws.backend.lock("apply", timeout=app.lock_timeout):
        state = ws.backend.read()
        if state.pending or ws.backend.journal_entries():
            # An earlier apply stopped before it saved its results: whatever the plan was made
            # against has moved. Record what that apply did, then refuse the plan.
            recover_pending(ws, state, "apply", locked=True)
            raise PlanError(
                f"saved plan {path} is stale: an earlier apply was interrupted; what it did is now recorded",
                hint="run `reconciler plan` again and review the new plan",
            )
        _check_fresh(plan, state, path, secrets)
        refuse_prevented(plan, state)  # preventDestroy may have been recorded since the plan was made
        if not plan.to_apply:
            click.echo("No changes. The clouds match the manifests.")
            return _record_metadata(ws, plan, state)
        return _execute(ws, plan, state, secrets, settings)


def _check_tool_version(plan: Plan, path: Path) -> None:
    """Terraform's rule: a saved plan is applied by the version that made it, which planned it
    with its own understanding of the clouds and of the plan format."""
    from reconciler import __version__

    if plan.tool_version != __version__:
        made_by = f"reconciler {plan.tool_version}" if plan.tool_version else "an unknown version of reconciler"
        raise PlanError(
            f"saved plan {path} was made by {made_by}, and this is reconciler {__version__}: "
            "a saved plan is applied only by the version that made it",
            hint="run `reconciler plan` again with this version and review the new plan",
        )


def _secrets_from_manifests(app: AppContext, plan: Plan, path: Path) -> dict[str, SecretValue]:
    """Read the plan's manifests again and return their secret values by reference id.

    Refuses the plan when the manifests changed since it was made, or when its secret references
    are not the manifests': the values sent to the clouds come from the manifests' references
    only, so an edited plan cannot send another variable's or file's value as a key.
    """
    from reconciler.errors import ManifestError
    from reconciler.workflow import load_desired

    if plan.manifest_paths is None:
        raise PlanError(
            f"saved plan {path} does not record which manifests it was made from, so it cannot be checked against them",
            hint="run `reconciler plan PATH... --out PLANFILE` again with this version",
        )
    paths = list(plan.manifest_paths)
    where = ", ".join(paths)
    try:
        manifests, resources = load_desired(paths, with_secrets=plan.mode is PlanMode.NORMAL, app=app)
    except ManifestError as exc:
        raise PlanError(
            f"saved plan {path} cannot be checked against its manifests ({where}): {exc.message}",
            hint="apply a saved plan from the folder it was made in, with the same secrets, or plan again",
        ) from None
    if manifests.digest != plan.manifests_digest:
        _check_manifests_moved(plan, resources, path, where)
    problems = _secret_ref_mismatches(plan, resources)
    if problems:
        shown = "; ".join(problems[:_MISMATCHES_SHOWN])
        more = f" (and {len(problems) - _MISMATCHES_SHOWN} more)" if len(problems) > _MISMATCHES_SHOWN else ""
        raise PlanError(
            f"saved plan {path} is refused: its secret references are not those of its manifests: {shown}{more}",
            hint="the plan file was edited; make a new one with `reconciler plan --out PLANFILE`",
        )
    return {
        ref.id: value for r in resources for f, ref in r.secret_refs.items() if (value := r.secrets.get(f)) is not None
    }


_MISMATCHES_SHOWN = 5


def _secret_ref_mismatches(plan: Plan, resources: Sequence[Resource]) -> list[str]:
    """Where the plan's secret references (per change and field, and its salted digests) differ
    from those the manifests declare. A refresh-only plan changes no secret, so it names none."""
    normal = plan.mode is PlanMode.NORMAL
    declared = {r.address: {f: ref.id for f, ref in r.secret_refs.items()} for r in resources} if normal else {}
    # A plan with a footprint answers for it (and for whatever it applies): references elsewhere
    # may have changed since without concern to it.
    scope = None if plan.footprint is None else {*plan.footprint, *(c.address for c in plan.to_apply)}
    if scope is not None:
        declared = {address: refs for address, refs in declared.items() if address in scope}
    problems = []
    for change in plan.changes:
        if scope is not None and change.address not in scope:
            continue
        expected = declared.get(change.address, {})
        for field in sorted({*change.secret_refs, *expected}):
            in_plan, in_manifests = change.secret_refs.get(field), expected.get(field)
            if in_plan != in_manifests:
                problems.append(
                    f"{change.address} {field} is {in_plan or 'no secret'} in the plan "
                    f"but {in_manifests or 'no secret'} in the manifests"
                )
    referenced = {ref_id for refs in declared.values() for ref_id in refs.values()}
    problems.extend(
        f"the plan has a digest of {ref}, which no manifest references"
        for ref in sorted(set(plan.secret_digests) - referenced)
    )
    problems.extend(
        f"the plan has no digest of {ref}, which the manifests reference"
        for ref in sorted(referenced - set(plan.secret_digests))
    )
    return problems


_STALE_HINT = "run `reconciler plan` again and review the new plan"


def _check_manifests_moved(plan: Plan, resources: Sequence[Resource], path: Path, where: str) -> None:
    """The manifests changed since the plan was made: refuse it if they changed for an address of
    its footprint (another pull request's change elsewhere leaves it good). A plan that records
    no footprint (format 1.1) is refused, as it always was."""
    from reconciler.plan.staleness import moved_in_manifests

    moved = None if plan.footprint is None else moved_in_manifests(plan.footprint, resources)
    if moved is None or moved:
        names = "" if not moved else ", for what it changes: " + "; ".join(str(m) for m in moved)
        raise PlanError(
            f"saved plan {path} is stale: the manifests in {where} changed since the plan was made{names}",
            hint=_STALE_HINT,
        )


def _check_fresh(plan: Plan, state: StateDoc, path: Path, secrets: Mapping[str, SecretValue]) -> None:
    """The state (read under the lock) and the keys are still those the plan was made with.

    The lineage must be the plan's. A plan with a footprint is refused only when the state entry
    of one of its addresses, or a key they use, changed since (so it still applies after unrelated
    applies); one without (format 1.1) needs the very serial it was made at, and every key."""
    from reconciler.plan.digest import changed_refs
    from reconciler.plan.staleness import footprint_refs, moved_in_state, moved_keys

    if plan.lineage is not None and plan.lineage != state.lineage:
        raise PlanError(
            f"saved plan {path} does not match the state: it was created from a different state lineage "
            f"({plan.lineage}, the state is {state.lineage})",
            hint="check --state / RECONCILER_STATE, or plan again",
        )
    if plan.footprint is None:
        if plan.serial != state.serial:
            raise PlanError(
                f"saved plan {path} is stale: the state changed since the plan was made "
                f"(plan made at serial {plan.serial}, state is at serial {state.serial})",
                hint=_STALE_HINT,
            )
        stale = changed_refs(plan.secret_digests, secrets)
        if stale:
            raise PlanError(
                f"saved plan {path} is stale: secret {', '.join(stale)} changed since the plan was made",
                hint=_STALE_HINT,
            )
        return
    # The same serial is the same state: nothing to compare.
    moved = [] if plan.serial == state.serial else moved_in_state(plan.footprint, plan.changes, state)
    refs = footprint_refs(plan.footprint, plan.changes)
    stale = changed_refs({r: d for r, d in plan.secret_digests.items() if r in refs}, secrets)
    if not moved and not stale:
        return
    what = []
    if moved:
        what.append(
            f"the state changed since the plan was made (plan made at serial {plan.serial}, "
            f"state is at serial {state.serial})"
        )
    if stale:
        what.append(f"secret {', '.join(stale)} changed since the plan was made")
    names = "; ".join(str(m) for m in [*moved, *moved_keys(stale, refs)])
    raise PlanError(f"saved plan {path} is stale: {' and '.join(what)}, for what it changes: {names}", hint=_STALE_HINT)


def _execute(
    ws: Workspace, plan: Plan, state: StateDoc, secrets: Mapping[str, SecretValue], settings: EngineSettings
) -> int:
    from reconciler.apply.engine import Engine
    from reconciler.apply.progress import LiveReporter, LogReporter
    from reconciler.apply.steps import build_steps, serial_scopes
    from reconciler.collector import collecting

    if state.lineage is None:
        state = ws.backend.write(state)  # fix the lineage before the first cloud call: tokens derive from it
    _journal_metadata(ws, plan, state)
    refresh_only = plan.mode == PlanMode.REFRESH_ONLY
    # Serial scopes come from the whole plan, unchanged objects included: a change may find its
    # scope through an object it references.
    scopes = None if refresh_only else serial_scopes(plan.changes)
    steps = build_steps(plan.to_apply, refresh_only=refresh_only, scopes=scopes)
    needed = {s.provider for s in steps if s.op.value not in ("forget", "record")}
    providers = {name: ws.provider(name) for name in needed}
    reporter: LiveReporter | LogReporter = LiveReporter(steps) if sys.stderr.isatty() else LogReporter()
    engine = Engine(
        steps,
        providers,
        ws.backend.journal_append,
        lineage=str(state.lineage),
        serial=plan.serial,
        secrets=secrets,
        reporter=reporter,
        settings=settings,
    )
    with collecting():  # calls and waits may last hours (reconciler/collector.py)
        with _interrupts(engine.stop, engine.unconfirmed), reporter:
            results = engine.run()
        written = ws.backend.write(ws.backend.read())
        sessions = _wait_for_sessions(ws, results, written, settings, engine.stop)
    return _summarise(results, written, ws, sessions)


def _wait_for_sessions(
    ws: Workspace, results: Sequence[StepResult], state: StateDoc, settings: EngineSettings, stop: threading.Event
) -> list[SessionResult]:
    """With --wait-established, once the state is saved: wait for the sessions of what the apply
    changed (and the other managed end of each linked one) to be Established. Nothing to wait for
    after an interrupt."""
    from reconciler.apply.sessions import sessions_to_wait, wait_established

    if settings.wait_established is None or stop.is_set():
        return []
    changed = [r.step.address for r in results if r.outcome == "done" and r.step.op.value in _SESSION_CHANGES]
    sessions = sessions_to_wait(changed, state)
    if not sessions:
        return []
    providers = {name: ws.provider(name) for name in sorted({e.provider for s in sessions for e in s.ends})}
    with _interrupts(stop, lambda: 0, "no longer waiting for the sessions; the state is saved"):
        click.echo(
            f"\nWaiting up to {settings.wait_established:.0f} s for {plural(len(sessions), 'BGP session')} "
            "to be Established..."
        )
        return wait_established(
            sessions,
            providers,
            settings.wait_established,
            stop,
            poll_min=settings.poll_min,
            poll_max=settings.poll_max,
        )


# The steps that change a session's config (a replace is a delete and a create); deletes and
# forgets leave no session to wait for.
_SESSION_CHANGES = frozenset({"create", "update", "adopt"})


def _journal_metadata(ws: Workspace, plan: Plan, state: StateDoc) -> int:
    """Journal the state's new records of what the manifests say, for the resources nothing else
    changes (the others carry theirs on their outcomes); returns how many."""
    from reconciler.apply.journal import metadata_entries
    from reconciler.apply.steps import new_run_id

    entries = metadata_entries(plan.metadata_updates, str(state.lineage), plan.serial, new_run_id())
    ws.backend.journal_append_many(entries)  # one write and one sync for all of them
    return len(entries)


def _record_metadata(ws: Workspace, plan: Plan, state: StateDoc) -> int:
    """Nothing to send to a cloud: record the metadata updates alone (a new serial), if any."""
    if not plan.metadata_updates:
        return 0
    if state.lineage is None:
        state = ws.backend.write(state)
    recorded = _journal_metadata(ws, plan, state)
    written = ws.backend.write(ws.backend.read())
    click.echo(f"Recorded what the manifests say of {plural(recorded, 'resource')} in state (serial {written.serial}).")
    return 0


_FINISHING = "finishing the calls in flight and saving state"


def _interrupt_handler(stop: threading.Event, unconfirmed: Callable[[], int], doing: str = _FINISHING) -> SignalHandler:
    """First Ctrl-C (or SIGTERM): stop starting work, let calls in flight finish, save state.
    A second one exits at once, saying what is left unknown (`unconfirmed`: calls sent without a
    known result)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            click.echo(f"\nInterrupted again: exiting now; {_unknown(unconfirmed())}", err=True)
            os._exit(1)  # the journal still makes the next run converge
        stop.set()
        click.echo(f"\nInterrupted: {doing} (Ctrl-C again to quit at once)", err=True)

    return handler


def _unknown(calls: int) -> str:
    if calls == 0:
        return "no call was in flight; the next run resolves what the journal records"
    if calls == 1:
        return "1 call in flight is unknown, the next run confirms it from the journal"
    return f"{calls} calls in flight are unknown, the next run confirms them from the journal"


@contextmanager
def _interrupts(stop: threading.Event, unconfirmed: Callable[[], int], doing: str = _FINISHING) -> Iterator[None]:
    """Ctrl-C and SIGTERM go to `_interrupt_handler` while the engine runs (or the sessions are
    waited for: `doing` says what the first one still lets happen)."""
    handler = _interrupt_handler(stop, unconfirmed, doing)
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        if not stop.is_set():  # once interrupted, a second press must still exit at once
            for sig, old in previous.items():
                signal.signal(sig, old)


def _summarise(
    results: Sequence[StepResult], state: StateDoc, ws: Workspace, sessions: Sequence[SessionResult] = ()
) -> int:
    results = _with_sessions_down(results, sessions)
    by_address: dict[str, list[StepResult]] = {}
    for r in results:
        by_address.setdefault(r.step.address, []).append(r)
    counts: dict[str, int] = {}
    lines = []
    for address, rs in by_address.items():
        worst = next((r for r in rs if r.outcome != "done"), rs[-1])
        counts[worst.outcome] = counts.get(worst.outcome, 0) + 1
        ops = "+".join(r.step.op.value for r in rs)
        detail = f": {worst.message}" if worst.message else ""
        lines.append(f"  {worst.outcome:<9} {address} ({ops}){detail}")
    click.echo("\nApply summary:")
    click.echo("\n".join(lines))
    calls = ws.api_calls()
    total_calls = sum(sum(c.values()) for c in calls.values())
    sent = f", {counts['sent']} sent" if counts.get("sent") else ""
    click.echo(
        f"\n{counts.get('done', 0)} done, {counts.get('failed', 0)} failed, {counts.get('skipped', 0)} skipped, "
        f"{counts.get('cancelled', 0)} cancelled{sent}. State serial {state.serial}. "
        f"{plural(total_calls, 'API call')} for {plural(len(by_address), 'change')}."
    )
    if sessions:
        click.echo("\nSessions:")
        click.echo("\n".join(_session_line(s) for s in sessions))
    if any(r.outcome != "done" for r in results):
        raise ApplyIncomplete(results, state)
    return 0


def _with_sessions_down(results: Sequence[StepResult], sessions: Sequence[SessionResult]) -> list[StepResult]:
    """A session still down fails the changes of its ends, with each end's last state and a hint
    (their configs were applied and are in state all the same)."""
    import dataclasses

    down = {e.end.address: s.detail for s in sessions if not s.up for e in s.ends}
    return [
        dataclasses.replace(r, outcome="failed", message=f"BGP session not Established: {down[r.step.address]}")
        if r.outcome == "done" and r.step.address in down and r.step.op.value in _SESSION_CHANGES
        else r
        for r in results
    ]


def _session_line(result: SessionResult) -> str:
    ends = ", ".join(f"{e.end.cloud} end {e.state} ({e.end.address})" for e in result.ends)
    hint = f": {result.hint}" if result.hint else ""
    return f"  {'up' if result.up else 'down':<9} {result.session.name}: {ends}{hint}"


# Outcomes that another run finishes by itself: a call sent and not confirmed, a step never
# started. A failure needs its cause fixed first.
_PENDING = frozenset({"sent", "cancelled"})


class ApplyIncomplete(ReconcilerError):
    """The run ended with steps not done. "run apply again" is said only when something is
    pending (an open intent, a call sent and not confirmed, a step not started, or one skipped
    because another did not succeed); after failures alone, the cause must be fixed first."""

    def __init__(self, results: Sequence[StepResult], state: StateDoc) -> None:
        failed = sum(1 for r in results if r.outcome == "failed")
        skipped = sum(1 for r in results if r.outcome == "skipped")
        pending = bool(state.pending) or any(r.outcome in _PENDING for r in results)
        recorded = "the state records exactly what was done"
        if not failed:
            message = f"apply did not complete: {recorded}; run apply again to finish"
        else:
            failures = "the failure above" if failed == 1 else f"the {failed} failures above"
            message = f"apply failed: {recorded}; fix the cause of {failures}"
            if pending:
                message += ", then run apply again to finish"
            elif skipped:
                because = "it" if failed == 1 else "them"
                message += f", then run apply again for the {_changes(skipped)} skipped because of {because}"
        super().__init__(message)


def _changes(count: int) -> str:
    return plural(count, "change")
