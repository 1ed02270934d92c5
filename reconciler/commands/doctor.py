"""`reconciler doctor [PATH...]`: read-only checks of the cloud accounts the manifests use.

For each cloud whose kinds the manifests declare, the cloud's own `doctor` hook checks the
credentials, reads once from every API the tool calls, and looks at the objects the manifests
presuppose (which ones is the cloud's business: this module names no cloud). Doctor never calls a
mutating API, never reads a BGP key and never touches the state: it neither locks nor writes it.

One line per check, then a summary:

    ok    <cloud>  <check>: <what was found>
    warn  <cloud>  <check>: <what could not be confirmed>; hint: <what it means or needs>
    FAIL  <cloud>  <check>: <what is wrong>; hint: <what to do>

A check that passed but carries a hint is a warning: nothing failed, but something could not be
confirmed (a mutating API cannot be tried read-only, an API does not say, a check could not run
because of an earlier failure). Exit 0 when no check failed, 1 otherwise; invalid manifests are
the usual manifest error (exit 1, no API call).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import click

from reconciler.clouds.base import Cloud, DoctorCheck
from reconciler.context import AppContext
from reconciler.errors import ReconcilerError

OK, WARN, FAIL = "ok", "warn", "FAIL"
_COLOURS = {OK: "green", WARN: "yellow", FAIL: "red"}


def verdict(check: DoctorCheck) -> str:
    if not check.ok:
        return FAIL
    return WARN if check.hint else OK


def format_check(check: DoctorCheck, cloud_width: int, *, color: bool = False) -> str:
    """One line: verdict, cloud, check name, detail and, for a failure or a warning, the hint."""
    word = verdict(check)
    shown = click.style(f"{word:<4}", fg=_COLOURS[word], bold=word == FAIL) if color else f"{word:<4}"
    line = f"{shown}  {check.cloud:<{cloud_width}}  {check.name}: {_one_line(check.detail) or '-'}"
    if check.hint:
        line += f"; hint: {_one_line(check.hint)}"
    return line


def _one_line(text: str) -> str:
    # Server messages may span lines; a check stays on one.
    return " ".join(text.split())


def summary(checks: Sequence[DoctorCheck]) -> str:
    counts = {word: sum(1 for c in checks if verdict(c) == word) for word in (OK, WARN, FAIL)}
    clouds = sorted({c.cloud for c in checks})
    text = (
        f"{len(checks)} checks of {len(clouds)} cloud{'s' if len(clouds) != 1 else ''} ({', '.join(clouds)}): "
        f"{counts[OK]} ok, {counts[WARN]} warning{'s' if counts[WARN] != 1 else ''}, {counts[FAIL]} failed"
    )
    if counts[FAIL]:
        return f"Doctor found problems: {text}. Fix the FAIL lines above, then run doctor again."
    return f"Doctor found no problem: {text}. Warnings name what a read-only check cannot confirm."


@click.command(name="doctor")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str), metavar="[PATH]...")
@click.pass_obj
def command(app: AppContext, paths: tuple[str, ...]) -> int:
    """Check the cloud accounts the manifests in PATHS use (default: .), read-only.

    Checks the credentials, one read of every API reconciler calls (and which permission a refused
    one needs), and that every connection, device, region and VBR the manifests name exists and is
    ready. Never calls a mutating API, never reads a BGP key, never touches the state.
    Exit 0 when no check failed, 1 otherwise.
    """
    from reconciler.clouds import clouds_involved
    from reconciler.clouds.base import ProviderOptions
    from reconciler.model import StateDoc
    from reconciler.read_status import read_status
    from reconciler.render import color_wanted
    from reconciler.workflow import load_desired, open_workspace, presupposed_by

    _, resources = load_desired(paths, with_secrets=False)
    # The clouds the manifests use (not the state's: doctor checks what the manifests presuppose).
    clouds: list[Cloud] = clouds_involved(resources, StateDoc())
    if not clouds:
        click.echo("Nothing to check: the manifests declare no resource.")
        return 0
    options = ProviderOptions()  # the retries and timeouts plan and apply use: doctor sees what they see
    color = color_wanted()
    width = max(len(cloud.name) for cloud in clouds)
    checks: list[DoctorCheck] = []
    # The workspace gives the environment (and, with --sandbox, the embedded sandbox's endpoints
    # and credentials); the state backend it opens is never read or written here.
    # Each cloud's doctor makes its own client, whose calls are not counted here: the line shows the checks.
    with open_workspace(app, presupposed_by(resources), options) as ws, read_status(app, dict, "checking") as status:
        for cloud in clouds:
            for check in _checks_of(cloud.name, cloud.doctor(resources, ws.env, ws.options)):
                checks.append(check)
                if status is None:
                    click.echo(format_check(check, width, color=color))
                    continue
                status.checked()
                with status.paused():  # the check's line on stdout, never across the status line
                    click.echo(format_check(check, width, color=color))
    click.echo(summary(checks))
    return 1 if any(not c.ok for c in checks) else 0


def _checks_of(cloud: str, checks: Iterator[DoctorCheck]) -> Iterator[DoctorCheck]:
    """The cloud's checks; an error it did not turn into a check ends them with a failed one."""
    try:
        yield from checks
    except ReconcilerError as error:
        yield DoctorCheck(cloud, "checks", False, f"stopped early: {error.message}", error.hint or "")
