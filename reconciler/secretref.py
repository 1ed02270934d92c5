"""Resolve secret references by id (`env:NAME`, `file:PATH`), e.g. for `apply PLANFILE`.

A saved plan stores only reference ids; the values are read again at apply time (by the same
function as planning uses) and checked against the plan's salted digests. File paths in ids are
relative to the working directory, as the manifests' references are recorded.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.errors import SecretError
from reconciler.manifest.secrets import read_secret
from reconciler.model import SecretRef, SecretValue


def resolve_ref_ids(ref_ids: Iterable[str]) -> dict[str, SecretValue]:
    """Every reference's value; one error naming all that cannot be resolved."""
    values: dict[str, SecretValue] = {}
    problems: list[str] = []
    for ref_id in ref_ids:
        source, _, name = ref_id.partition(":")
        if source not in ("env", "file") or not name:
            problems.append(f"unknown secret reference {ref_id!r}: expected env:NAME or file:PATH")
            continue
        try:
            values[ref_id] = read_secret(SecretRef(source, name))  # type: ignore[arg-type]
        except SecretError as exc:
            problems.append(f"secret {ref_id}: {exc.message}")
    if problems:
        raise SecretError("cannot resolve secrets:\n  " + "\n  ".join(problems))
    return values
