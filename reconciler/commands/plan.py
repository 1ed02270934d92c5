"""`reconciler plan`: show what apply would change (read-only, except to resolve an interrupted apply)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from reconciler.commands.plan_options import PlanChoices, plan_choice_options
from reconciler.context import AppContext


@click.command(name="plan")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), help="Save the plan to this file.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 when nothing changes, 2 when something does.")
@plan_choice_options(
    refresh_only_help="Only show differences between the clouds and the state.",
    destroy_help="Plan to delete (or forget) everything in the state.",
)
@click.pass_obj
def command(
    app: AppContext,
    paths: tuple[str, ...],
    out: Path | None,
    fmt: str,
    detailed_exitcode: bool,
    refresh_only: bool,
    targets: tuple[str, ...],
    prune: bool,
    replace: tuple[str, ...],
    destroy: bool,
    max_deletes: int | None,
    allow_address_mismatch: bool,
) -> int:
    """Compare the manifests in PATHS (default: .) with the state and the clouds."""
    from reconciler.plan.guards import refuse_too_many
    from reconciler.read_status import reading
    from reconciler.render import render_plan
    from reconciler.workflow import build_plan, load_desired, open_workspace, presupposed_by

    choices = PlanChoices(targets, refresh_only, prune, replace, destroy, max_deletes, allow_address_mismatch).check()
    manifests, resources = load_desired(paths, with_secrets=choices.reads_keys, app=app)
    with open_workspace(app, presupposed_by(resources)) as ws, reading(ws):
        plan, _ = build_plan(
            ws,
            resources,
            manifests.digest,
            operation="plan",
            targets=targets,
            refresh_only=refresh_only,
            paths=paths,
            prune=prune,
            replace=replace,
            destroy=destroy,
            manifests=manifests,
            allow_address_mismatch=allow_address_mismatch,
        )
    refuse_too_many(plan, max_deletes)
    if out is not None:
        from reconciler.plan.planfile import save_plan  # with jsonschema: only when a plan is saved

        save_plan(plan, out, manifest_paths=paths)
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    click.echo(render_plan(plan, fmt, width=width, plan_file=str(out) if out else None), nl=False)
    if out is not None and fmt == "text":
        click.echo(f"\nSaved the plan to {out}. To apply exactly this plan: reconciler apply {out}")
    return 2 if detailed_exitcode and plan.has_changes else 0
