"""Accepted drift: the `metadata.driftIgnore` entries of the manifests.

An entry accepts a differing field of its resource, or an unmanaged object (by cloud id) in the
resource's scope. Accepted drift is still listed, marked ignored. An entry holds through its
`expires` date; from the day after, the drift is reported again and a warning says the entry
expired (docs/architecture.md, "Drift").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import NamedTuple

from reconciler.clouds import KINDS
from reconciler.model import DriftIgnore, Resource


class Acceptance(NamedTuple):
    """Whether a finding is accepted drift, and the entry's reason and expiry."""

    ignored: bool = False
    reason: str = ""
    expires: str | None = None


def acceptance(ignore: DriftIgnore | None, default_reason: str = "") -> Acceptance:
    """What an ignore entry (None: no entry) says about the finding it covers."""
    if ignore is None:
        return Acceptance()
    return Acceptance(True, ignore.reason or default_reason, ignore.expires)


def expired(ignore: DriftIgnore, today: date) -> bool:
    """Past its `expires` date (the date itself still counts). An unreadable date counts as
    expired, so a typo cannot silence drift forever (validation rejects it anyway)."""
    if not ignore.expires:
        return False
    try:
        return date.fromisoformat(ignore.expires) < today
    except ValueError:
        return True


def active_ignores(resource: Resource, today: date) -> tuple[DriftIgnore, ...]:
    """The entries of `resource` that have not expired."""
    return tuple(i for i in resource.drift_ignore if not expired(i, today))


def _drift_fields_of(kind: str, spec_field: str) -> set[str]:
    """The drift fields a `driftIgnore` spec field covers: itself, and for a reference field the
    attribute its target's cloud id fills (`KindInfo.ref_fields`)."""
    names = {spec_field}
    for ref_field, ref in KINDS[kind].ref_fields.items():
        if ref_field == spec_field:
            names.add(ref.id_attr)
    return names


def field_ignores(kind: str, ignores: Iterable[DriftIgnore]) -> dict[str, DriftIgnore]:
    """Drift field name -> the active ignore entry that covers it."""
    out: dict[str, DriftIgnore] = {}
    for entry in ignores:
        if entry.field:
            out.update(dict.fromkeys(_drift_fields_of(kind, entry.field), entry))
    return out


def expiry_warnings(desired: Sequence[Resource], today: date) -> list[str]:
    """One warning per expired entry: the drift it accepted is reported again."""
    out = []
    for resource in desired:
        for ignore in resource.drift_ignore:
            if expired(ignore, today):
                what = f"field {ignore.field}" if ignore.field else f"unmanaged {ignore.unmanaged}"
                out.append(
                    f"{resource.address}: metadata.driftIgnore entry for {what} expired on {ignore.expires}; "
                    "that drift is reported again (renew or remove the entry)"
                )
    return out
