"""Secret references: `{fromEnv: NAME}` or `{fromFile: path}`, resolved only when planning.

Nothing here ever puts a secret value into a message: problems name the manifest position and the
reference (`env:SG_BGP_KEY`, `file:secrets/sg.key`), never what it resolves to.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from reconciler.errors import ManifestError, SecretError
from reconciler.manifest.diagnostics import Diagnostic, plural, sort_key
from reconciler.model import Resource, SecretRef, SecretValue


def secret_ref(manifest_file: str, raw: Mapping[str, Any]) -> SecretRef:
    """The reference a manifest declares. A relative `fromFile` path is made relative to the
    manifest's folder (and kept relative to the working folder, so it stays readable)."""
    if "fromEnv" in raw:
        return SecretRef("env", str(raw["fromEnv"]))
    path = str(raw["fromFile"])
    if not os.path.isabs(path):
        path = os.path.normpath(os.path.join(os.path.dirname(manifest_file), path))
    return SecretRef("file", Path(path).as_posix())


def read_secret(ref: SecretRef) -> SecretValue:
    """The value a reference points at. SecretError (naming the reference only) when unreadable."""
    if ref.source == "env":
        value = os.environ.get(ref.name)
        if value is None:
            raise SecretError(f"environment variable {ref.name} is not set")
    else:
        try:
            data = Path(ref.name).read_bytes()
        except FileNotFoundError:
            raise SecretError(f"secret file {ref.name} does not exist") from None
        except IsADirectoryError:
            raise SecretError(f"secret file {ref.name} is a folder, not a file") from None
        except OSError as exc:
            raise SecretError(f"cannot read secret file {ref.name}: {exc.strerror}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SecretError(f"secret file {ref.name} is not UTF-8 text") from None
        value = text.rstrip("\r\n")  # editors add a final newline; no BGP key ends in one
    if not value:
        raise SecretError(f"{ref} resolves to an empty value")
    return SecretValue(value)


def resolve_secrets(resources: Sequence[Resource]) -> tuple[Resource, ...]:
    """Fill `Resource.secrets` from `Resource.secret_refs`.

    Collects every problem (unset variable, unreadable file, a key the cloud would refuse, the two
    ends of a linked session with different keys) and raises one ManifestError listing them all.
    """
    from reconciler.clouds import cloud_of
    from reconciler.manifest.links import key_mismatches

    diags: list[Diagnostic] = []
    resolved: list[Resource] = []
    for resource in resources:
        values: dict[str, SecretValue] = {}
        for field_name, ref in resource.secret_refs.items():
            try:
                value = read_secret(ref)
            except SecretError as exc:
                diags.append(_diag(resource, field_name, str(exc), "secret-unresolved"))
                continue
            problem = cloud_of(resource.kind).secret_problem(resource.kind, field_name, value)
            if problem:
                message = f"the key from {ref} is not valid: {problem}"
                diags.append(_diag(resource, field_name, message, "secret-format"))
            values[field_name] = value
        resolved.append(replace(resource, secrets=values) if values else resource)
    diags.extend(_diag(m.resource, m.field, m.message, "mirror-key") for m in key_mismatches(resolved))
    if diags:
        diags.sort(key=sort_key)
        lines = "\n".join(f"  {d}" for d in diags)
        raise ManifestError(f"{plural(len(diags), 'secret problem')}:\n{lines}", diags)
    return tuple(resolved)


def _diag(resource: Resource, field_name: str, message: str, code: str) -> Diagnostic:
    path = f"spec.{field_name}"
    file, line, col = _locate(resource, path)
    return Diagnostic(file, line, col, path, message, code=code)


def _locate(resource: Resource, path: str) -> tuple[str, int, int]:
    """Position of `path` in the resource's document. Resources carry only their document's
    position, so on this (rare) error path we read the file again to find the field."""
    from reconciler.manifest.load import load_file

    source = resource.source
    if source is None:
        return (resource.address, 0, 0)
    result = load_file(Path(source.file), source.file)
    for doc in result.documents:
        if (doc.line, doc.col) == (source.line, source.col):
            line, col = doc.position(path)
            return (source.file, line, col)
    return (source.file, source.line, source.col)


def resolve_ref_ids(ref_ids: Iterable[str]) -> dict[str, SecretValue]:
    """Every reference's value, by id (`env:NAME`, `file:PATH`), e.g. for `apply PLANFILE`: a saved
    plan stores only reference ids, and the values are read again at apply time (by the same
    function as planning uses) and checked against the plan's salted digests. File paths in ids
    are relative to the working directory, as the manifests' references are recorded.

    One error names every reference that cannot be resolved."""
    values: dict[str, SecretValue] = {}
    problems: list[str] = []
    for ref_id in ref_ids:
        source, _, name = ref_id.partition(":")
        if source not in ("env", "file") or not name:
            problems.append(f"unknown secret reference {ref_id!r}: expected env:NAME or file:PATH")
            continue
        try:
            values[ref_id] = read_secret(SecretRef("env" if source == "env" else "file", name))
        except SecretError as exc:
            problems.append(f"secret {ref_id}: {exc.message}")
    if problems:
        raise SecretError("cannot resolve secrets:\n  " + "\n  ".join(problems))
    return values
