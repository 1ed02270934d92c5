"""JSON paths as printed in diagnostics: `spec.bfdMultiHop`, `metadata.driftIgnore[0].field`,
`metadata.labels["app.kubernetes.io/name"]` (keys that are not plain words are quoted)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

_PLAIN_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*\Z")
# The last segment of a path: `.key`, `key` (at the start), `[3]` or `["quoted key"]`.
_LAST_SEGMENT = re.compile(r'(?:\.|^)[A-Za-z_$][A-Za-z0-9_$-]*\Z|\[\d+\]\Z|\["(?:[^"\\]|\\.)*"\]\Z')


def child(parent: str, key: str | int) -> str:
    """The path of `key` (a mapping key or a list index) inside `parent`."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _PLAIN_KEY.match(key):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{json.dumps(key)}]"


def join(parts: Iterable[str | int]) -> str:
    path = ""
    for part in parts:
        path = child(path, part)
    return path


def parent(path: str) -> str:
    """`spec.bfdMultiHop` -> `spec`; `spec` -> `` (the document)."""
    match = _LAST_SEGMENT.search(path)
    if match is None:  # not a path this module wrote; treat it as top level
        return ""
    return path[: match.start()]


def is_within(path: str, ancestor: str) -> bool:
    """True when `path` is `ancestor` or lies inside it."""
    if not ancestor:
        return True
    return path == ancestor or path.startswith((ancestor + ".", ancestor + "["))
