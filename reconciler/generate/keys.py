"""One environment variable per distinct live key: identical keys share a name.

Key values are compared in memory only (`SecretValue` equality); what comes out are names and
who uses them, never a value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.manifest.secrets import credential_problem
from reconciler.model import SecretValue

SUFFIX = "_BGP_KEY"
_INVALID = re.compile(r"[^A-Z0-9_]+")


@dataclass(frozen=True, slots=True)
class KeyVariable:
    """An environment variable to set, and the objects whose key it holds (for people)."""

    name: str
    users: tuple[str, ...]


def variable_name(manifest_name: str) -> str:
    """`sg-vbr1` -> `SG_VBR1_BGP_KEY`; always a valid variable name that is no credential's."""
    name = _INVALID.sub("_", manifest_name.upper()) + SUFFIX
    if not re.match(r"[A-Z_]", name) or credential_problem(name):
        name = "BGP_" + name
    return name


def group_keys(users: Sequence[tuple[SecretValue, str, str]]) -> tuple[list[KeyVariable], list[str]]:
    """`(key, manifest name, description)` of every object with a key, in output order ->
    the variables (in the same order) and, per user, the variable its key goes in."""
    by_value: dict[SecretValue, int] = {}
    names: list[str] = []
    user_lists: list[list[str]] = []
    of_user: list[str] = []
    for value, manifest_name, described in users:
        index = by_value.get(value)
        if index is None:
            name = variable_name(manifest_name)
            n = 2
            while name in names:
                name = f"{variable_name(manifest_name).removesuffix(SUFFIX)}_{n}{SUFFIX}"
                n += 1
            index = by_value[value] = len(names)
            names.append(name)
            user_lists.append([])
        user_lists[index].append(described)
        of_user.append(names[index])
    return [KeyVariable(n, tuple(u)) for n, u in zip(names, user_lists, strict=True)], of_user
