"""`reconciler drift`: report what changed outside reconciler. Read-only: no lock, no state write.

`--unmanaged-scope` says how far unmanaged objects are looked for; each cloud decides what a level
covers (`Cloud.unmanaged_scope`, `Cloud.refresh_scope`). A cloud's own scope arguments come as
`--scope CLOUD=ARG` or as `--CLOUD ARG`, one such option per registered cloud.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
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
    from reconciler.render.drift import render_drift
    from reconciler.workflow import load_desired, observe, open_workspace, presupposed_by

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
    with open_workspace(app, presupposed_by(resources)) as ws:
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
    click.echo(render_drift(report, fmt, verbose=app.verbose), nl=False)
    return report.exit_code()


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
