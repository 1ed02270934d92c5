"""Keep secret values out of every form a plan leaves memory in, whatever the planner put in a Change.

The planner is meant to hand over changes with no secret values in them. Nothing downstream relies
on that: the plan codec (JSON output, saved plan files) and every renderer pass a change through
`redact_change` first, so a `SecretValue` or a secret field's value that slipped into `before`,
`after` or a field change is masked, never written or printed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from reconciler.clouds import KINDS
from reconciler.model import SecretValue
from reconciler.plan.model import Change, FieldChange, SecretChange

MASK = "(sensitive)"


def scrub(value: Any) -> Any:
    """`value` with every `SecretValue` inside it replaced by the mask."""
    if isinstance(value, SecretValue):
        return MASK
    if isinstance(value, Mapping):
        return {key: scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub(item) for item in value)
    return value


def secret_fields_of(change: Change) -> frozenset[str]:
    """Every field of this change that holds a secret: by kind, by reference or by flag."""
    info = KINDS.get(change.kind)
    names = set(info.secret_fields if info else ())
    names.update(change.secret_refs)
    names.update(f.name for f in change.fields if f.sensitive)
    return frozenset(names)


def _secret_change_of(field: FieldChange) -> SecretChange:
    if field.secret_change is not None:
        return field.secret_change
    if field.before is None and field.after is not None:
        return SecretChange.ADDED
    if field.before is not None and field.after is None:
        return SecretChange.REMOVED
    if field.before is not None and field.before == field.after:
        return SecretChange.UNCHANGED
    return SecretChange.CHANGED  # also when neither value is known: assume the worst


def redact_field(field: FieldChange, secret: bool) -> FieldChange:
    """A field change safe to print: a secret field keeps only whether it changed."""
    if secret or field.sensitive:
        if field.sensitive and field.secret_change is not None and field.before is None and field.after is None:
            return field  # already clean (the usual case)
        return dataclasses.replace(
            field, before=None, after=None, sensitive=True, secret_change=_secret_change_of(field)
        )
    if not _holds_secret_value(field.before) and not _holds_secret_value(field.after):
        return field
    return dataclasses.replace(field, before=scrub(field.before), after=scrub(field.after))


def _holds_secret_value(value: Any) -> bool:
    if isinstance(value, SecretValue):
        return True
    if isinstance(value, Mapping):
        return any(_holds_secret_value(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_secret_value(item) for item in value)
    return False


def _redact_attrs(attrs: Mapping[str, Any] | None, secrets: frozenset[str]) -> dict[str, Any] | None:
    if attrs is None:
        return None
    return {key: MASK if key in secrets else scrub(value) for key, value in attrs.items()}


def redact_change(change: Change) -> Change:
    """`change` with secret values masked (equal to `change` when it was well formed)."""
    secrets = secret_fields_of(change)
    return dataclasses.replace(
        change,
        fields=tuple(redact_field(f, f.name in secrets) for f in change.fields),
        before=_redact_attrs(change.before, secrets),
        after=_redact_attrs(change.after, secrets),
    )
