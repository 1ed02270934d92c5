"""`reconciler validate [PATH...] [--format text|json]`: check manifests, change nothing.

Prints one line per problem (`file:line:col: json.path: message`) and a summary; exit 0 when
the manifests are valid, 1 when not. No API call is made and no secret is read, though every
`fromFile` reference is checked to point inside the secrets root or the allow-list.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from reconciler.errors import ManifestError


@click.command(name="validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="[PATH]...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one line per problem; json: the object described by schemas/diagnostics.schema.json.",
)
@click.pass_context
def command(ctx: click.Context, paths: tuple[Path, ...], fmt: str) -> None:
    """Check manifests against the schema and the rules (default PATH: the current folder).

    Every *.yaml/*.yml below each PATH is read, skipping hidden folders, state/ and what a
    .reconcilerignore file lists. Exit 0 when valid, 1 when not.
    """
    from reconciler.context import AppContext
    from reconciler.manifest import load_manifests, secret_files
    from reconciler.manifest.diagnostics import DIAGNOSTICS_FORMAT_VERSION, Diagnostic

    roots = paths or (Path("."),)
    app = ctx.find_object(AppContext)
    key_files = secret_files(roots, app.secrets.root, app.secrets.allow) if app is not None else None
    try:
        manifests = load_manifests(roots, key_files)
    except ManifestError as exc:
        if fmt != "json":
            raise
        diags = [d.to_json() for d in exc.diagnostics if isinstance(d, Diagnostic)]
        report = {
            "format_version": DIAGNOSTICS_FORMAT_VERSION,
            "valid": False,
            "error": exc.message,
            "diagnostics": diags,
        }
        click.echo(json.dumps(report, indent=2))
        ctx.exit(1)
    click.echo(manifests.report("json" if fmt == "json" else "text"))
    if not manifests.ok:
        ctx.exit(1)
