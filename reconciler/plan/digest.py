"""Salted, deliberately slow digests of secrets, so a saved plan can prove a key did not change
without holding the key (docs/architecture.md, "Plan"). scrypt makes guessing short BGP keys
expensive. `content_digest` is the plain digest of non-secret values (canonical JSON, sha256)
that a saved plan records of what it saw; it is never given a secret value."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets as random_source
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.model import Resource, SecretValue
from reconciler.plan.model import SecretDigest

_SCRYPT = {"n": 2**13, "r": 8, "p": 1, "dklen": 32}


def content_digest(value: Mapping[str, Any]) -> str:
    """`sha256:` and the hex digest of `value` as canonical JSON (sorted keys, no whitespace,
    ASCII escapes), so equal values always have equal digests. Non-secret values only."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


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
