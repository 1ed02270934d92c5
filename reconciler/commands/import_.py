"""`reconciler import ADDRESS CLOUD_ID`: take an existing cloud object under management."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import click

from reconciler.clouds import KINDS
from reconciler.context import AppContext
from reconciler.errors import ReconcilerError, UsageError
from reconciler.model import JournalAction, JournalEntry, Resource, StateDoc, utc_now


@click.command(name="import")
@click.argument("address")
@click.argument("cloud_id")
@click.option("--path", "paths", multiple=True, help="Manifest paths (default: .).")
@click.pass_obj
def command(app: AppContext, address: str, cloud_id: str, paths: tuple[str, ...]) -> int:
    """Read CLOUD_ID, check it matches the natural key of ADDRESS in the manifests, record it in state."""
    from reconciler.clouds.base import ObjectRef
    from reconciler.plan.resolve import resolve_against_state
    from reconciler.workflow import load_desired, open_workspace, presupposed_by, recover_pending

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
