"""`reconciler state list | show ADDRESS | rm ADDRESS... | unlock LOCK_ID`.

Results go to stdout; notes (unsettled journal intents, dependents) go to stderr, so that
`reconciler state list | awk '{print $1}'` lists addresses only. The backend comes from the global `--state`.
"""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import click

from reconciler.clouds import KINDS
from reconciler.context import AppContext
from reconciler.errors import UsageError
from reconciler.model import JournalEntry, StateDoc
from reconciler.state import StateBackend, open_backend
from reconciler.state.codec import secret_field_names
from reconciler.words import plural

SENSITIVE = "(sensitive)"
LIST_ALL_UP_TO = 20  # an unknown-address error lists the valid ones if there are no more than this


@click.group(name="state")
def command() -> None:
    """Inspect or edit the state: list, show, rm, unlock.

    The state is chosen with the global --state option (a file path or a postgresql:// URL).
    """


@command.command(name="list", short_help="List managed resources: address, kind, cloud id, region.")
@click.pass_obj
def list_command(app: AppContext) -> None:
    """List managed resources: address, kind, cloud id, region."""
    with _opened(app) as backend:
        doc = backend.read()
    if not doc.resources:
        click.echo(f"No resources in the state {backend.description}.", err=True)
    rows = [(res.address, res.kind, res.cloud_id, res.region or "-") for res in doc.resources.values()]
    for line in _columns(sorted(rows)):
        click.echo(line)
    _note_pending(doc.pending)


@command.command(name="show", short_help="Show what the state records for ADDRESS.")
@click.argument("address")
@click.pass_obj
def show_command(app: AppContext, address: str) -> None:
    """Show what the state records for ADDRESS (secret fields are never stored; shown masked)."""
    with _opened(app) as backend:
        doc = backend.read()
    _require_addresses(doc, [address], backend.description)
    res = doc.resources[address]
    click.echo(f"# {res.address}")
    header = [
        ("kind", res.kind),
        ("cloud_id", res.cloud_id),
        ("region", res.region or "-"),
        ("depends_on", ", ".join(res.dependencies) or "-"),
    ]
    for line in _pairs(header):
        click.echo(line)
    click.echo("attributes:")
    attributes = masked_attributes(res.kind, res.attributes)
    for line in _pairs([(key, _value(attributes[key])) for key in sorted(attributes)]):
        click.echo(f"  {line}")
    _note_pending([entry for entry in doc.pending if entry.address == address])


@command.command(name="rm", short_help="Forget ADDRESS without calling any cloud API.")
@click.argument("addresses", metavar="ADDRESS...", nargs=-1, required=True)
@click.pass_obj
def rm_command(app: AppContext, addresses: tuple[str, ...]) -> None:
    """Forget ADDRESS: drop it from the state without calling any cloud API.

    The cloud object stays as it is; reconciler stops managing it. If a manifest still
    declares it, the next plan finds it by its natural key and adopts it again.
    """
    wanted = list(dict.fromkeys(addresses))
    with _opened(app) as backend, backend.lock("state rm", timeout=app.lock_timeout):
        doc = backend.read()
        _require_addresses(doc, wanted, backend.description)
        kept = {address: res for address, res in doc.resources.items() if address not in wanted}
        written = backend.write(replace(doc, resources=kept))
    for address in wanted:
        res = doc.resources[address]
        click.echo(f"Removed {address} ({res.kind} {res.cloud_id}) from the state; the cloud object was not changed.")
    click.echo(f"State {backend.description}: serial {doc.serial} -> {written.serial}.")
    for res in kept.values():
        gone = [dep for dep in res.dependencies if dep in wanted]
        if gone:
            click.echo(f"note: {res.address} depends on {', '.join(gone)}, which is no longer in the state.", err=True)


@command.command(name="unlock", short_help="Remove a lock left behind by a holder that died.")
@click.argument("lock_id")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def unlock_command(app: AppContext, lock_id: str, yes: bool) -> None:
    """Remove the state lock LOCK_ID left behind by a holder that died.

    Shows who held it and asks first (--yes skips the question; without a terminal --yes is
    required). A lock still held (by a live process, or a live PostgreSQL session) is never
    removed. A holder whose lock record is gone can no longer write the state.
    """
    with _opened(app) as backend:
        holder = backend.current_lock()
        if holder is None:
            raise UsageError(f"the state {backend.description} is not locked: there is no lock {lock_id!r}")
        if holder.id != lock_id:
            raise UsageError(
                f"there is no lock {lock_id!r} on {backend.description}; the current lock is:\n{holder.describe()}"
            )
        click.echo(f"Lock on the state {backend.description}:\n{holder.describe()}")
        if not yes:
            if not sys.stdin.isatty():
                raise UsageError(
                    "refusing to remove the lock without confirmation: there is no terminal to ask on",
                    hint="pass --yes once you are sure its holder is gone",
                )
            click.confirm("Remove this lock? Do it only if its holder is gone", abort=True)
        removed = backend.force_unlock(lock_id)
    click.echo(f"Removed lock {removed.id} ({removed.operation} by {removed.who} since {removed.created}).")


def masked_attributes(kind: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """`attributes` with every secret field shown as "(sensitive)", at any depth.

    State never holds secrets (the writer refuses them); this is a second line of defence.
    """
    info = KINDS.get(kind)
    secret_names = secret_field_names() | set(info.secret_fields if info else ())

    def mask(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {key: SENSITIVE if key in secret_names else mask(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [mask(item) for item in value]
        return value

    masked: dict[str, Any] = mask(attributes)
    return masked


@contextmanager
def _opened(app: AppContext) -> Iterator[StateBackend]:
    backend = open_backend(app.state_url)
    try:
        yield backend
    finally:
        backend.close()


def _require_addresses(doc: StateDoc, addresses: Sequence[str], description: str) -> None:
    """UsageError naming the unknown addresses and the valid ones (or close matches)."""
    unknown = [address for address in addresses if address not in doc.resources]
    if not unknown:
        return
    known = sorted(doc.resources)
    names = ", ".join(unknown)
    if not known:
        raise UsageError(f"no resource {names} in the state {description}: the state is empty")
    if len(known) <= LIST_ALL_UP_TO:
        hint = "the state has: " + ", ".join(known)
    else:
        close = difflib.get_close_matches(unknown[0], known, n=3)
        hint = (f"did you mean {' or '.join(close)}? " if close else "") + (
            f"the state has {plural(len(known), 'resource')}: see `reconciler state list`"
        )
    raise UsageError(f"no resource {names} in the state {description}", hint=hint)


def _note_pending(pending: Sequence[JournalEntry]) -> None:
    if not pending:
        return
    click.echo(
        f"note: {len(pending)} unsettled journal intent(s) from an interrupted apply; "
        "the next plan or apply resolves them against the clouds:",
        err=True,
    )
    for entry in pending:
        click.echo(f"  {entry.action} {entry.address} (intent {entry.id}, {entry.time})", err=True)


def _columns(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as left-aligned columns separated by two spaces (the last column is not padded)."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]) for row in rows
    ]


def _pairs(pairs: Sequence[tuple[str, str]]) -> list[str]:
    """`name = value` lines with the `=` signs aligned."""
    width = max((len(name) for name, _ in pairs), default=0)
    return [f"{name.ljust(width)} = {value}" for name, value in pairs]


def _value(value: Any) -> str:
    return value if value == SENSITIVE else json.dumps(value, sort_keys=True, ensure_ascii=False)
