"""The natural key of what a change finds in the cloud and of what it leaves there."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.clouds import KINDS
from reconciler.plan.model import Change

NaturalKey = tuple[Any, ...]


def _key(kind: str, attrs: Mapping[str, Any] | None) -> NaturalKey | None:
    if not attrs:
        return None
    key = KINDS[kind].key_of(attrs)
    return None if any(part is None for part in key) else key


def key_before(change: Change) -> NaturalKey | None:
    """The natural key the object holds now (None when not fully known)."""
    return _key(change.kind, change.before)


def key_after(change: Change) -> NaturalKey | None:
    """The natural key the object will hold once the change is applied (None when not fully
    known, e.g. an id that a dependency's create still has to give)."""
    return _key(change.kind, change.after)
