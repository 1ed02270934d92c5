"""`reconciler show PLANFILE`: render a saved plan as text, a pull-request comment or JSON, and say
whether it is signed and, when `RECONCILER_PLAN_KEY` is set, whether its signature verifies."""

from __future__ import annotations

import os
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
    from reconciler.plan.planfile import load_saved_plan
    from reconciler.plan.signing import plan_key_from_env
    from reconciler.render import color_wanted, render_plan

    saved = load_saved_plan(planfile, plan_key_from_env(os.environ))
    # On a terminal, long explanations wrap at its width; piped output is never wrapped.
    width = shutil.get_terminal_size().columns if fmt == "text" and sys.stdout.isatty() else None
    rendered = render_plan(saved.plan, fmt, color=color_wanted(), width=width, plan_file=str(planfile))
    signature = saved.signature.describe()
    if fmt == "json":  # stdout stays one JSON document
        click.echo(rendered, nl=False)
        click.echo(signature, err=True)
    else:
        click.echo(f"{rendered}\n{signature}\n", nl=False)
