"""`reconciler drift`: report what changed outside reconciler. Read-only: no lock, no state write."""

from __future__ import annotations

import click

from reconciler.context import AppContext


@click.command(name="drift")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
@click.option(
    "--require-established", is_flag=True, help="Treat a BGP session that is not Established as drift (exit 2)."
)
@click.pass_obj
def command(app: AppContext, paths: tuple[str, ...], fmt: str, require_established: bool) -> int:
    """Compare the clouds with the state and the manifests in PATHS (default: .).

    Exit 0 when clean, 2 when drift (or, with --require-established, an unhealthy session) is
    found, 1 on error.
    """
    from reconciler.drift import DriftOptions, detect
    from reconciler.errors import ManifestError, SecretError
    from reconciler.manifest import resolve_secrets
    from reconciler.render.drift import render_drift
    from reconciler.workflow import load_desired, observe, open_workspace, presupposed_by

    manifests, resources = load_desired(paths, with_secrets=False, app=app)
    check_secrets = True
    try:
        resources = tuple(resolve_secrets(resources, manifests.key_files))
    except (SecretError, ManifestError):  # drift still runs; the report says keys were not compared
        check_secrets = False
    with open_workspace(app, presupposed_by(resources)) as ws:
        state = ws.backend.read()
        observed = observe(ws, resources, state)
    options = DriftOptions(
        require_established=require_established,
        refreshed_kinds=observed.refreshed_kinds,
        api_calls=observed.api_calls,
        check_secrets=check_secrets,
    )
    report = detect(resources, state, observed.objects, options)
    click.echo(render_drift(report, fmt, verbose=app.verbose), nl=False)
    return report.exit_code()
