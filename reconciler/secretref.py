"""Resolve secret references by id (`env:NAME`, `file:PATH`), e.g. for `apply PLANFILE`.

A saved plan stores only reference ids; the values are read again at apply time and checked
against the plan's salted digests. File paths in ids are relative to the working directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from reconciler.errors import SecretError
from reconciler.model import SecretValue


def resolve_ref_id(ref_id: str) -> SecretValue:
    source, _, name = ref_id.partition(":")
    if source == "env":
        value = os.environ.get(name)
        if value is None:
            raise SecretError(f"secret {ref_id}: environment variable {name} is not set")
        return SecretValue(value)
    if source == "file":
        try:
            return SecretValue(Path(name).read_text(encoding="utf-8").rstrip("\r\n"))
        except OSError as exc:
            raise SecretError(f"secret {ref_id}: cannot read {name}: {exc.strerror or exc}") from None
    raise SecretError(f"unknown secret reference {ref_id!r}: expected env:NAME or file:PATH")


def resolve_ref_ids(ref_ids: Iterable[str]) -> dict[str, SecretValue]:
    """Every reference's value; one error naming all that cannot be resolved."""
    values: dict[str, SecretValue] = {}
    problems: list[str] = []
    for ref_id in ref_ids:
        try:
            values[ref_id] = resolve_ref_id(ref_id)
        except SecretError as exc:
            problems.append(exc.message)
    if problems:
        raise SecretError("cannot resolve secrets:\n  " + "\n  ".join(problems))
    return values
