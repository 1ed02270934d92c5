"""`reconciler plan` (not available yet)."""

from __future__ import annotations

import click

from reconciler.errors import NotImplementedYet


@click.command(name="plan", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def command() -> None:
    """Not available yet in this build."""
    raise NotImplementedYet("'reconciler plan' is not implemented yet in this build")
