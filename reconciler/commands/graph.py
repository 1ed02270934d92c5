"""`reconciler graph`: draw the topology the manifests declare (devices, connections, sessions,
routers, groups, peers; the two ends of a linked session joined), as Mermaid or Graphviz DOT.

Sessions are coloured by their health, from one refresh of the clouds (the list calls `plan`
makes; read-only, no lock); `--no-health` draws from the manifests alone, with no API call and no
credentials. With `--plan PLANFILE`, every address of a saved plan is coloured by its action and
nothing but the plan file is read: its signature is checked as `show` reads it, and a plan whose
signature does not verify is refused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.context import AppContext

if TYPE_CHECKING:
    from reconciler.graph.build import GraphItem
    from reconciler.graph.model import Graph


@click.command(name="graph")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot"]),
    default="mermaid",
    show_default=True,
    help="mermaid: a flowchart (GitHub and GitLab draw it in markdown); dot: Graphviz.",
)
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(path_type=Path),
    help="Colour the addresses of this saved plan by their action; no API call is made.",
)
@click.option("--no-health", is_flag=True, help="Draw from the manifests alone: no API call, no credentials.")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the drawing to this file (replaced atomically).",
)
@click.pass_obj
def command(
    app: AppContext, paths: tuple[str, ...], fmt: str, plan_file: Path | None, no_health: bool, out: Path | None
) -> None:
    """Draw the BGP topology of the manifests in PATHS (default: .), or of a saved plan."""
    from reconciler.errors import UsageError
    from reconciler.graph.build import build_graph

    if out is not None and not out.parent.is_dir():
        raise UsageError(f"--out {out}: folder {out.parent} does not exist", hint="create it, or name another file")
    if plan_file is not None:
        if paths:
            raise UsageError(
                f"--plan {plan_file} draws the plan's own addresses: give no PATH with it",
                hint=f"reconciler graph --plan {plan_file}",
            )
        items = _from_plan(plan_file)
    else:
        items = _from_manifests(app, paths, health=not no_health)
    rendered = _render(build_graph(items), fmt)
    click.echo(rendered, nl=False)
    if out is not None:
        _write(out, rendered)


def _from_plan(plan_file: Path) -> tuple[GraphItem, ...]:
    from reconciler.errors import PlanError
    from reconciler.graph.build import items_from_plan
    from reconciler.plan.planfile import load_saved_plan
    from reconciler.plan.signing import plan_key_from_env

    saved = load_saved_plan(plan_file, plan_key_from_env(os.environ))
    check = saved.signature
    if check.signed and check.key_set and not check.verified:  # a drawing of a tampered plan misleads
        raise PlanError(f"plan file {plan_file} is refused: {check.describe()}")
    click.echo(check.describe(), err=True)
    return items_from_plan(saved.plan)


def _from_manifests(app: AppContext, paths: tuple[str, ...], *, health: bool) -> tuple[GraphItem, ...]:
    """The declared resources, without their keys (a drawing never needs one); with `health`,
    each session coloured by one refresh (list calls), matched through the state's cloud ids."""
    from reconciler.graph.build import items_from_resources, session_health
    from reconciler.read_status import reading
    from reconciler.workflow import load_desired, observe, open_workspace, presupposed_by

    _, resources = load_desired(paths, with_secrets=False, app=app)
    if not health:
        return items_from_resources(resources)
    _check_backend_chosen(app)
    with open_workspace(app, presupposed_by(resources)) as ws, reading(ws):
        state = ws.backend.read()
        observed = observe(ws, resources, state)
    by_address, info = session_health(resources, state, observed.objects)
    return items_from_resources(resources, by_address, info)


def _check_backend_chosen(app: AppContext) -> None:
    """Health is read through the state's cloud ids: in CI, the state backend must have been chosen
    (as for `drift`); drawings from the manifests or a plan need none."""
    from reconciler.cli import check_ci_backend

    root = click.get_current_context().find_root()
    check_ci_backend(root.get_parameter_source("state_url"), app.sandbox)


def _render(graph: Graph, fmt: str) -> str:
    if fmt == "dot":
        from reconciler.graph.dot import render_dot

        return render_dot(graph)
    from reconciler.graph.mermaid import render_mermaid

    return render_mermaid(graph)


def _write(out: Path, text: str) -> None:
    from reconciler.durable import write_atomically
    from reconciler.errors import ReconcilerError

    try:
        write_atomically(out, text.encode("utf-8"), mode=0o644)  # a drawing holds no secret
    except OSError as exc:
        raise ReconcilerError(f"cannot write {out}: {exc.strerror or exc}") from None
