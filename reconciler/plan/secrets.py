"""Secret fields in a comparison: the value the manifests want for each, and how it compares with the
live one. Values stay in memory; what leaves this module is a verdict (`SecretChange`), never a key.
"""

from __future__ import annotations

from reconciler.clouds import KINDS
from reconciler.model import Resource, SecretValue
from reconciler.plan.model import SecretChange


def desired_secrets(resource: Resource) -> dict[str, SecretValue | None]:
    """Each secret field's desired value; None means "no key" (the field is not declared)."""
    info = KINDS[resource.kind]
    return {f: resource.secrets.get(f) for f in info.secret_fields}


def compare_secret(desired: SecretValue | None, live: SecretValue | None) -> SecretChange:
    """What applying `desired` would do to the `live` key: add, remove or change it, or nothing."""
    if desired == live:
        return SecretChange.UNCHANGED
    if live is None:
        return SecretChange.ADDED
    if desired is None:
        return SecretChange.REMOVED
    return SecretChange.CHANGED
