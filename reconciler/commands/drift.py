"""`reconciler drift`: report what changed outside reconciler. Read-only: no lock, no state write.

`--format openmetrics` writes metrics for node_exporter's textfile collector; with `--out FILE`
the file is replaced atomically, and only by a run without an error, so that the collector never
reads half a file and `reconciler_last_success_timestamp_seconds` goes stale while runs fail.

`--unmanaged-scope` says how far unmanaged objects are looked for; each cloud decides what a level
covers (`Cloud.unmanaged_scope`, `Cloud.refresh_scope`). A cloud's own scope arguments come as
`--scope CLOUD=ARG` or as `--CLOUD ARG`, one such option per registered cloud.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.clouds import CLOUDS
from reconciler.clouds.base import UnmanagedLevel
from reconciler.commands.cloud_options import per_cloud_option, values_by_cloud
from reconciler.context import AppContext

if TYPE_CHECKING:
    pass

LEVELS = [level.value for level in UnmanagedLevel]


@click.command(name="drift")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json", "openmetrics"]),
    default="text",
    show_default=True,
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --format openmetrics: replace this file (e.g. node_exporter's textfile folder/reconciler.prom) "
    "atomically, and only when the run had no error.",
)
@click.option(
    "--require-established", is_flag=True, help="Treat a BGP session that is not Established as drift (exit 2)."
)
@click.option(
    "--unmanaged-scope",
    "level_name",
    type=click.Choice(LEVELS),
    default=UnmanagedLevel.MANIFESTS.value,
    show_default=True,
    help="Where to look for unmanaged objects: what the manifests name, the regions and devices they use, "
    "or everything the credentials can list.",
)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    metavar="CLOUD=ARG",
    help="With --unmanaged-scope account: what else to list for CLOUD, e.g. a region (repeatable).",
)
@per_cloud_option(
    "",
    "ARG",
    lambda cloud: (
        f"With --unmanaged-scope account: what else to list for {cloud.name} (repeatable; as --scope {cloud.name}=ARG)."
    ),
)
@click.pass_obj
def command(
    app: AppContext,
    /,  # click passes it first; the clouds' options come by name
    paths: tuple[str, ...],
    fmt: str,
    out: Path | None,
    require_established: bool,
    level_name: str,
    scopes: tuple[str, ...],
    **cloud_args: tuple[str, ...],
) -> int:
    """Compare the clouds with the state and the manifests in PATHS (default: .).

    Exit 0 when clean, 2 when drift (or, with --require-established, an unhealthy session) is
    found, 1 on error.
    """
    from reconciler.clouds import refresh_scopes
    from reconciler.drift import DriftOptions, detect
    from reconciler.errors import ManifestError, SecretError
    from reconciler.manifest import resolve_secrets
    from reconciler.manifest.secretsfile import secret_env
    from reconciler.read_status import reading
    from reconciler.render.drift import render_drift
    from reconciler.workflow import load_desired, observe, open_workspace, presupposed_by

    _check_out(out, fmt)
    level = UnmanagedLevel(level_name)
    scope_args = _scope_args(scopes, cloud_args, level)
    manifests, resources = load_desired(paths, with_secrets=False, app=app)
    for name, args in scope_args.items():  # a cloud refuses arguments it cannot use, before any call
        CLOUDS[name].unmanaged_scope(resources, (), level, args)
    check_secrets = True
    try:
        resources = tuple(resolve_secrets(resources, manifests.key_files, secret_env(app.secrets_file)))
    except (SecretError, ManifestError):  # drift still runs; the report says keys were not compared
        check_secrets = False
    with open_workspace(app, presupposed_by(resources)) as ws, reading(ws):
        state = ws.backend.read()
        observed = observe(ws, resources, state, refresh_scopes(resources, state, level, scope_args))
    options = DriftOptions(
        require_established=require_established,
        refreshed_kinds=observed.refreshed_kinds,
        api_calls=observed.api_calls,
        check_secrets=check_secrets,
        unmanaged_level=level,
        scope_args=scope_args,
    )
    report = detect(resources, state, observed.objects, options)
    rendered = render_drift(report, fmt, verbose=app.verbose)
    if out is None:
        click.echo(rendered, nl=False)
    elif report.errors:  # the file keeps the last good run: its success time goes stale
        from reconciler.render.text import escape_invisible

        for error in report.errors:
            click.echo(f"error: {escape_invisible(error)}", err=True)
        click.echo(f"{out} left as it was: the run had errors.", err=True)
    else:
        _write_metrics(out, rendered)
    return report.exit_code()


def _check_out(out: Path | None, fmt: str) -> None:
    """`--out` is for the metrics file only, in a folder that exists: said before any API call."""
    from reconciler.errors import UsageError

    if out is None:
        return
    if fmt != "openmetrics":
        raise UsageError(
            f"--out {out}: only --format openmetrics writes a file", hint="the other formats go to standard output"
        )
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: folder {out.parent} does not exist", hint="create it, or name another file")


def _write_metrics(out: Path, text: str) -> None:
    from reconciler.durable import write_atomically
    from reconciler.errors import ReconcilerError

    try:
        # Readable by all: the collector runs as another user, and metrics hold no secret.
        write_atomically(out, text.encode("utf-8"), mode=0o644)
    except OSError as exc:
        raise ReconcilerError(f"cannot write the metrics file {out}: {exc.strerror or exc}") from None


def _scope_args(
    scopes: Sequence[str], cloud_args: Mapping[str, tuple[str, ...]], level: UnmanagedLevel
) -> dict[str, tuple[str, ...]]:
    """Each cloud's scope arguments, from `--scope CLOUD=ARG` and `--CLOUD ARG`, checked."""
    from reconciler.errors import UsageError

    out = values_by_cloud("--scope", scopes, cloud_args, "")
    if out and level is not UnmanagedLevel.ACCOUNT:
        given = " ".join(f"--{name} {arg}" for name, args in out.items() for arg in args)
        raise UsageError(
            f"{given}: scope arguments name what else to list, and apply only with --unmanaged-scope account"
        )
    return out
