"""`reconciler generate --out DIR`: manifests for what is live in the clouds (brownfield onboarding).

Each registered cloud gets its own option, `--<cloud> ARG` (a region, a router, `all`: the cloud
reads it), spelt `--scope CLOUD=ARG` too. The clouds' list APIs are read (never a mutating
call), each cloud turns what its arguments name into drafts, and `reconciler.generate` writes
them: one file per region or device, `keys.env.example`, and with `--import` every resource
recorded in state with its cloud id, so the next plan shows no changes.
"""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.clouds import CLOUDS
from reconciler.commands.cloud_options import per_cloud_option, values_by_cloud
from reconciler.context import AppContext
from reconciler.errors import UsageError
from reconciler.generate.assemble import Generated
from reconciler.model import StateDoc
from reconciler.words import plural


@click.command(name="generate")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Folder to write the manifests to.")
@per_cloud_option(
    "",
    "ARG",
    lambda cloud: f"Take {cloud.title} objects: what ARG names (README, 'Onboarding existing sessions'). Repeatable.",
)
@click.option("--scope", "scopes", multiple=True, metavar="CLOUD=ARG", help="As --CLOUD ARG (any cloud). Repeatable.")
@click.option("--import", "record", is_flag=True, help="Also record every generated resource in state.")
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
@click.pass_obj
def command(
    app: AppContext, /, out: Path, scopes: tuple[str, ...], record: bool, force: bool, **by_cloud: tuple[str, ...]
) -> int:
    """Write manifests for the live objects the cloud options name (read-only in the clouds)."""
    from reconciler.generate import assemble
    from reconciler.generate.files import check_writable, schema_ref_for, write_files
    from reconciler.read_status import reading
    from reconciler.workflow import open_workspace, refresh_providers

    args = values_by_cloud("--scope", scopes, by_cloud, "")
    if not args:
        options = " ".join(f"--{name} ARG" for name in sorted(CLOUDS))
        raise UsageError("generate needs at least one scope", hint=f"give one or more of {options}")
    refresh_scopes = {name: CLOUDS[name].generate_scope(values) for name, values in args.items()}
    check_writable(out, [], force)
    with open_workspace(app) as ws:
        with reading(ws):
            listed = refresh_providers(ws, refresh_scopes)
            drafts = [
                draft
                for name, values in sorted(args.items())
                for draft in CLOUDS[name].generate(values, listed[name].objects, ws.provider(name))
            ]
        if not drafts:
            click.echo("No live objects found in the scopes given: nothing written.")
            return 0
        generated = assemble(drafts, schema_ref_for(out))
        check_writable(out, list(generated.files), force)
        if record:
            from reconciler.generate.record import record_in_state

            written: StateDoc | None = record_in_state(
                ws, "generate", generated.resources, lambda: write_files(out, generated.files)
            )
        else:
            written = None
            write_files(out, generated.files)
    _report(out, generated, written)
    return 0


def report_written(out: Path, generated: Generated) -> None:
    """What was written: the files, the links inferred, the groups the first apply renames (also
    for the Terraform migration)."""
    manifests = sorted(p for p in generated.files if p.endswith(".yaml"))
    click.echo(f"Wrote {plural(len(generated.resources), 'resource')} in {plural(len(manifests), 'file')} under {out}:")
    for path in manifests:
        click.echo(f"  {out / path}")
    if generated.links:
        click.echo(f"Linked {generated.links} sessions across clouds (labels.link).")
    for note in generated.renames:
        click.echo(f"Note: {note}.")


def _report(out: Path, generated: Generated, written: StateDoc | None) -> None:
    report_written(out, generated)
    if written is not None:
        click.echo(f"Recorded them in state (serial {written.serial}).")
    if generated.keys:
        names = ", ".join(k.name for k in generated.keys)
        click.echo(f"Set the BGP key variables listed in {out / 'keys.env.example'}: {names}.")
    after = "no changes" if written is not None else "them as adopts"
    click.echo(f"Then `reconciler plan {out}` shows {after}.")
