"""`reconciler show PLANFILE`: render a saved plan as text, a pull-request comment or JSON."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click


@click.command(name="show")
@click.argument("planfile", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="text: Terraform-like; markdown: a pull-request comment; json: the plan document.",
)
def command(planfile: Path, fmt: str) -> None:
    """Render the plan saved in PLANFILE (by `reconciler plan --out PLANFILE`)."""
    from reconciler.plan.planfile import load_plan
    from reconciler.render import color_wanted, render_plan

    plan = load_plan(planfile)
    # On a terminal, long explanations wrap at its width; piped output is never wrapped.
    width = shutil.get_terminal_size().columns if fmt == "text" and sys.stdout.isatty() else None
    click.echo(render_plan(plan, fmt, color=color_wanted(), width=width, plan_file=str(planfile)), nl=False)
