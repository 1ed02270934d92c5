"""`reconciler import`: take existing cloud objects under management, in one of two modes.

- `import ADDRESS CLOUD_ID [PATH...]`: read one object, check it matches the natural key of a
  resource declared in the manifests at PATH (default `.`), record it in state. `--path PATH`
  still works (hidden, with a notice) for scripts written before the paths were positional.
- `import --from-terraform STATEFILE --out DIR`: migrate from Terraform. The Terraform state is
  read (`reconciler.terraform`), its instances of the types the clouds register become live
  objects, those without a region are placed with read-only list calls (in the regions given
  with `--region CLOUD=REGION`, spelt `--<cloud>-region REGION` too), each cloud turns them
  into drafts through its `generate` (with the arguments that name exactly them), and the
  manifests are written as `generate` writes them, every resource recorded in state with the
  cloud id Terraform tracked. Keys are used only to group identical ones under one variable;
  the output names each variable with the Terraform addresses that used it, and the next steps
  (docs/migrating-from-terraform.md).

A partial migration (ids that could not be read or placed) still writes and records what it
could, lists what was left out, and exits 1, so that a pipeline notices.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.clouds import CLOUDS, KINDS
from reconciler.commands.cloud_options import dest_of, per_cloud_option, values_by_cloud
from reconciler.context import AppContext
from reconciler.errors import ReconcilerError, UsageError
from reconciler.model import JournalAction, JournalEntry, LiveObject, Resource, SecretValue, StateDoc, utc_now

if TYPE_CHECKING:
    from reconciler.generate import Draft, Generated
    from reconciler.terraform import TerraformObject, TerraformState
    from reconciler.workflow import Workspace


def _region_clouds() -> list[str]:
    """The registered clouds with kinds that live in a region (those objects may need placing)."""
    return sorted(name for name, cloud in CLOUDS.items() if any(info.region_field for info in cloud.kinds))


@click.command(name="import")
@click.argument("address", required=False)
@click.argument("cloud_id", required=False)
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("--path", "path_options", multiple=True, hidden=True, help="Deprecated: give PATH after CLOUD_ID.")
@click.option(
    "--from-terraform",
    "statefile",
    metavar="STATEFILE",
    help="Migrate from a Terraform state file (- reads standard input); needs --out.",
)
@click.option("--out", "out", type=click.Path(path_type=Path), help="With --from-terraform: folder for the manifests.")
@per_cloud_option(
    "-region",
    "REGION",
    lambda cloud: f"With --from-terraform: a region of {cloud.title} to look objects up in. Repeatable.",
    _region_clouds(),
)
@click.option(
    "--region",
    "regions",
    multiple=True,
    metavar="CLOUD=REGION",
    help="With --from-terraform: as --CLOUD-region REGION (any cloud). Repeatable.",
)
@click.option("--force", is_flag=True, help="With --from-terraform: overwrite files that exist.")
@click.pass_obj
def command(
    app: AppContext,
    /,
    address: str | None,
    cloud_id: str | None,
    paths: tuple[str, ...],
    path_options: tuple[str, ...],
    statefile: str | None,
    out: Path | None,
    regions: tuple[str, ...],
    force: bool,
    **by_cloud: tuple[str, ...],
) -> int:
    """Record existing objects in state: ADDRESS CLOUD_ID [PATH]... (one object declared in the
    manifests at PATH, default .), or --from-terraform STATEFILE --out DIR (every BGP resource of
    a Terraform state, with manifests written for them)."""
    if path_options:
        click.echo("note: `import --path PATH` is deprecated: give the paths after CLOUD_ID", err=True)
        paths += path_options
    if statefile is not None:
        if address is not None or paths:
            raise UsageError(
                "--from-terraform takes no ADDRESS, CLOUD_ID or PATH",
                hint="reconciler import --from-terraform STATEFILE --out DIR",
            )
        if out is None:
            raise UsageError("--from-terraform needs --out DIR", hint="the folder to write the manifests to")
        cloud_regions = values_by_cloud("--region", regions, by_cloud, "-region", _region_clouds(), "REGION")
        return _migrate(app, statefile, out, cloud_regions, force)
    given = [name for name, value in (("--out", out), ("--force", force)) if value]
    given += [f"--{name}-region" for name in CLOUDS if by_cloud.get(dest_of(name, "-region"))]
    given += ["--region"] if regions else []
    if given:
        raise UsageError(f"{', '.join(given)} only go with --from-terraform", hint="reconciler import --help")
    if address is None or cloud_id is None:
        raise UsageError(
            "import needs ADDRESS CLOUD_ID, or --from-terraform STATEFILE --out DIR",
            hint="e.g. `reconciler import Kind/name CLOUD_ID`; see `reconciler import --help`",
        )
    return _import_one(app, address, cloud_id, paths)


def _import_one(app: AppContext, address: str, cloud_id: str, paths: tuple[str, ...]) -> int:
    """Read CLOUD_ID, check it matches the natural key of ADDRESS in the manifests, record it in state."""
    from reconciler.clouds.base import ObjectRef
    from reconciler.plan.diff import metadata_of
    from reconciler.plan.resolve import resolve_against_state
    from reconciler.workflow import load_desired, manifest_files_of, open_workspace, presupposed_by, recover_pending

    _, resources = load_desired(paths, with_secrets=False, app=app)
    declared = {r.address: r for r in resources}
    resource = declared.get(address)
    if resource is None:
        known = ", ".join(sorted(declared)[:10]) or "(none)"
        raise UsageError(f"{address} is not declared in the manifests", hint=f"declared addresses: {known}")
    info = KINDS[resource.kind]
    with open_workspace(app, presupposed_by(resources)) as ws, ws.backend.lock("import", timeout=app.lock_timeout):
        state = recover_pending(ws, ws.backend.read(), "import", locked=True)
        if address in state.resources:
            raise UsageError(
                f"{address} is already managed (cloud id {state.resources[address].cloud_id})",
                hint=f"to re-import, first `reconciler state rm {address}`",
            )
        owner = next((a for a, s in state.resources.items() if s.cloud_id == cloud_id), None)
        if owner:
            raise UsageError(f"{cloud_id} is already managed as {owner}")
        resolved = resolve_against_state(resources, state)[address]
        if resolved.unknown:
            raise UsageError(
                f"{address} depends on {', '.join(resource.refs.values())}, which is not in state yet",
                hint="import or apply that first",
            )
        region = info.region_of(resolved.attrs)
        live = ws.provider(info.cloud).get(ObjectRef(resource.kind, cloud_id, region))
        if live is None:
            where = f" in {region}" if region else ""
            raise ReconcilerError(f"no {resource.kind} with id {cloud_id} exists{where}")
        _check_natural_key(resource, resolved.attrs, live.attrs)
        intent = JournalEntry(
            id=f"import:{state.lineage}:{state.serial}:{address}",
            address=address,
            kind=resource.kind,
            action=JournalAction.ADOPT,
            phase="intent",
            time=utc_now(),
            cloud_id=cloud_id,
            region=live.region or region,
            attributes=dict(live.attrs),
            natural_key=info.key_of(live.attrs),
            dependencies=tuple(sorted(resource.refs.values())),
            # What the manifests say of it (file, deletion policy...), as an apply records it.
            metadata=metadata_of(resource, manifest_files_of([resource])),
        )
        ws.backend.journal_append(intent)
        ws.backend.journal_append(replace(intent, phase="done"))
        written: StateDoc = ws.backend.write(ws.backend.read())
    click.echo(
        f"Imported {address} ({cloud_id}). State serial {written.serial}. "
        "Run `reconciler plan` to see whether its settings match the manifests."
    )
    return 0


def _check_natural_key(resource: Resource, wanted: Mapping[str, Any], live: Mapping[str, Any]) -> None:
    info = KINDS[resource.kind]
    mismatched = [
        f"{name}: the manifests say {wanted.get(name)!r}, the object has {live.get(name)!r}"
        for name in info.natural_key
        if wanted.get(name) != live.get(name)
    ]
    if mismatched:
        raise ReconcilerError(
            f"{resource.address} does not match the object: " + "; ".join(mismatched),
            hint=f"import the object that this resource describes (same {info.key_words})",
        )


# -- migration from Terraform ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A Terraform instance that was not migrated, and why (never quoting a value)."""

    address: str
    cloud_id: str  # empty when it could not be read
    reason: str


@dataclass(frozen=True, slots=True)
class Migration:
    """What a migration turns into manifests, and what it leaves out."""

    drafts: tuple[Draft, ...]
    migrated: tuple[TerraformObject, ...]  # in the order of the Terraform state
    left_out: tuple[LeftOut, ...]


def _migrate(app: AppContext, statefile: str, out: Path, regions: Mapping[str, tuple[str, ...]], force: bool) -> int:
    from reconciler.generate import assemble
    from reconciler.generate.files import check_writable, schema_ref_for, write_files
    from reconciler.generate.record import record_in_state
    from reconciler.terraform import key_groups, next_steps, read_objects, read_state, terraform_types
    from reconciler.workflow import open_workspace

    state = read_state(statefile)
    types = terraform_types(CLOUDS.values())
    read = read_objects(state.instances, types)
    check_writable(out, [], force)
    source = "standard input" if statefile == "-" else statefile
    click.echo(f"Read {len(read.objects) + len(read.unread)} BGP resource instances from {source}{_version(state)}.")
    if not read.objects and not read.unread:
        click.echo(f"No instance of {', '.join(sorted(types))}: nothing to migrate, nothing written.")
        return 0
    with open_workspace(app) as ws:
        migration = _drafts(ws, read.objects, regions)
        generated = assemble(migration.drafts, schema_ref_for(out)) if migration.drafts else None
        if generated is not None:
            check_writable(out, list(generated.files), force)
            files = generated.files
            written = record_in_state(ws, "import", generated.resources, lambda: write_files(out, files))
            _report(out, generated, written)
    left_out = [LeftOut(u.address, "", u.reason) for u in read.unread] + list(migration.left_out)
    _report_left_out(left_out)
    if generated is not None:
        groups = key_groups(migration.migrated, _key_naming(generated))
        sandbox = "--sandbox " if app.sandbox else ""
        plan_command = f"reconciler {sandbox}plan {shlex.quote(str(out))}"
        click.echo("")
        click.echo(next_steps(groups, migration.migrated, state.instances, plan_command), nl=False)
    if left_out:
        raise ReconcilerError(
            f"{len(left_out)} of the Terraform state's BGP resource instances were not migrated (listed above)"
            + ("; the others were" if migration.migrated else ""),
            hint=_left_out_hint(),
        )
    return 0


def _version(state: TerraformState) -> str:
    return f" (Terraform {state.terraform_version})" if state.terraform_version else ""


def _drafts(ws: Workspace, objects: Sequence[TerraformObject], regions: Mapping[str, tuple[str, ...]]) -> Migration:
    """Per cloud: place the objects (read-only list calls), then have the cloud's `generate` turn
    them into drafts, with the arguments that name exactly them (as `drift` proposes them)."""
    from reconciler.terraform import place_in_regions

    drafts: list[Draft] = []
    migrated: set[tuple[str, str]] = set()
    left_out: list[LeftOut] = []
    for name in sorted({obj.cloud for obj in objects}):
        cloud = CLOUDS[name]
        provider = ws.provider(name)
        placement = place_in_regions([o for o in objects if o.cloud == name], cloud, provider, regions.get(name, ()))
        left_out += [LeftOut(u.address, u.cloud_id, u.reason) for u in placement.unplaced]
        live = [obj.live for obj in placement.placed]
        if not live:
            continue
        # Only the Terraform objects are given to `generate`, so its arguments keep exactly them.
        args = cloud.unmanaged_scope((), live).generate_args(live)
        wanted = {_identity(obj.live): obj for obj in placement.placed}
        made = [d for d in cloud.generate(args, live, provider) if _identity(d.live) in wanted]
        drafts += made
        done = {_identity(d.live) for d in made}
        migrated |= done
        left_out += [
            LeftOut(
                obj.address, obj.live.cloud_id, f"cannot be written as a manifest (its status is {obj.live.status})"
            )
            for key, obj in wanted.items()
            if key not in done
        ]
    in_order = tuple(obj for obj in objects if _identity(obj.live) in migrated)
    # Placement gave the objects their regions: the migrated ones are the drafts' live objects.
    placed = {_identity(d.live): d.live for d in drafts}
    in_order = tuple(replace(obj, live=placed[_identity(obj.live)]) for obj in in_order)
    return Migration(tuple(drafts), in_order, tuple(left_out))


def _identity(live: LiveObject) -> tuple[str, str]:
    return live.kind, live.cloud_id


def _key_naming(generated: Generated) -> Callable[[Sequence[LiveObject]], str]:
    """The variable the generated manifests give the key of a group of objects sharing one key.

    `assemble` names variables with `group_keys` over the keyed resources in output order;
    doing the same here gives each resource its variable (checked against what was written)."""
    from reconciler.generate.keys import group_keys

    keyed = [
        (resource, key)
        for resource in generated.resources
        if resource.draft.key_field
        and isinstance(key := resource.draft.live.secrets.get(resource.draft.key_field), SecretValue)
    ]
    variables, of_user = group_keys([(key, resource.name, resource.address) for resource, key in keyed])
    if [v.name for v in variables] != [k.name for k in generated.keys]:
        raise ReconcilerError("internal error: the key variables could not be matched to the manifests written")
    variable_of = {_identity(resource.draft.live): name for (resource, _), name in zip(keyed, of_user, strict=True)}

    def naming(objects: Sequence[LiveObject]) -> str:
        return variable_of[_identity(objects[0])]

    return naming


def _report(out: Path, generated: Generated, written: StateDoc) -> None:
    from reconciler.commands.generate import report_written

    report_written(out, generated)
    click.echo(f"Recorded them in state (serial {written.serial}) with the cloud ids Terraform tracked.")
    if generated.keys:
        click.echo(f"The key variables are listed in {out / 'keys.env.example'} (no value is written).")


def _report_left_out(left_out: Sequence[LeftOut]) -> None:
    if not left_out:
        return
    click.echo(f"Not migrated ({len(left_out)}):")
    for item in left_out:
        what = f"{item.address} ({item.cloud_id})" if item.cloud_id else item.address
        click.echo(f"  {what}: {item.reason}")


def _left_out_hint() -> str:
    options = " or ".join(f"--{name}-region REGION" for name in _region_clouds()) or "--region CLOUD=REGION"
    return (
        f"for an object not found, give the region its provider configuration uses ({options}) and run "
        "again with --force; what was migrated stays recorded"
    )
