"""Valid, unique manifest names, derived deterministically from what the clouds call things.

A name is 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit
(the manifest schema's `Name`). Collisions get a suffix derived from the object's cloud id, so
an object keeps its name when others come or go.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence

MAX_LENGTH = 63
NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_INVALID = re.compile(r"[^a-z0-9]+")


def valid_name(text: str) -> str:
    """`Core_Router 1` -> `core-router-1`; empty when nothing usable is left."""
    cleaned = _INVALID.sub("-", text.lower()).strip("-")
    return cleaned[:MAX_LENGTH].rstrip("-")


def suffixed(name: str, cloud_id: str) -> str:
    """`name-<6 hex digits of the cloud id's digest>`, cut so it stays a valid name."""
    suffix = hashlib.sha256(cloud_id.encode()).hexdigest()[:6]
    base = name[: MAX_LENGTH - len(suffix) - 1].rstrip("-")
    return f"{base}-{suffix}" if base else f"x-{suffix}"


def assign_names(
    wanted: Sequence[tuple[str, str, Sequence[str]]], taken: Iterable[tuple[str, str]] = ()
) -> Mapping[tuple[str, str], str]:
    """A unique name per (kind, cloud id), from `(kind, cloud id, candidates)`.

    Objects are served in the order of their cloud ids, each taking its first candidate that is
    valid and free; when none is, the first valid candidate gets a stable suffix. `taken` holds
    (kind, name) pairs that are already used.
    """
    used = set(taken)
    out: dict[tuple[str, str], str] = {}
    for kind, cloud_id, candidates in sorted(wanted, key=lambda w: (w[0], w[1])):
        valid = [v for v in (valid_name(c) for c in candidates) if v and NAME.fullmatch(v)]
        chosen = next((v for v in valid if (kind, v) not in used), None)
        if chosen is None:
            chosen = suffixed(valid[0] if valid else "object", cloud_id)
            while (kind, chosen) in used:  # a digest prefix collision: extend with the next id
                chosen = suffixed(chosen, cloud_id + chosen)
        used.add((kind, chosen))
        out[(kind, cloud_id)] = chosen
    return out
