"""Salted, deliberately slow digests of secrets, so a saved plan can prove a key did not change
without holding the key (docs/architecture.md, "Plan"). scrypt makes guessing short BGP keys
expensive."""

from __future__ import annotations

import hashlib
import hmac
import secrets as random_source
from collections.abc import Iterable, Mapping

from reconciler.model import Resource, SecretValue
from reconciler.plan.model import SecretDigest

_SCRYPT = {"n": 2**13, "r": 8, "p": 1, "dklen": 32}


def digest(value: SecretValue, salt: str) -> str:
    return hashlib.scrypt(value.reveal().encode(), salt=bytes.fromhex(salt), **_SCRYPT).hex()


def make_digests(resources: Iterable[Resource]) -> dict[str, SecretDigest]:
    """One digest per secret reference (`env:NAME`, `file:path`), each with its own random salt."""
    values: dict[str, SecretValue] = {}
    for resource in resources:
        for field, ref in resource.secret_refs.items():
            value = resource.secrets.get(field)
            if value is not None:
                values[ref.id] = value
    out: dict[str, SecretDigest] = {}
    for ref_id in sorted(values):
        salt = random_source.token_hex(16)
        out[ref_id] = SecretDigest(salt=salt, digest=digest(values[ref_id], salt))
    return out


def changed_refs(recorded: Mapping[str, SecretDigest], current: Mapping[str, SecretValue]) -> list[str]:
    """Reference ids whose current value no longer matches the recorded digest (or vanished)."""
    stale = []
    for ref_id, recorded_digest in sorted(recorded.items()):
        value = current.get(ref_id)
        if value is None or not hmac.compare_digest(digest(value, recorded_digest.salt), recorded_digest.digest):
            stale.append(ref_id)
    return stale
