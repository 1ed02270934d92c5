"""Secret references: `{fromEnv: NAME}` or `{fromFile: path}`, resolved only when planning.

Nothing here ever puts a secret value into a message: problems name the manifest position and the
reference (`env:SG_BGP_KEY`, `file:secrets/sg.key`), never what it resolves to. Key files are
read only where a `SecretFiles` rule allows (`manifest.secretfiles`); `fromEnv` names are looked
up in the environment, then in the secrets file (`manifest.secretsfile`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from reconciler.errors import ManifestError, SecretError
from reconciler.manifest.checked import Checked
from reconciler.manifest.diagnostics import Diagnostic, sort_key
from reconciler.manifest.secretfiles import SecretFiles, read_key_file, secret_files
from reconciler.manifest.secretsfile import SecretEnv
from reconciler.model import Resource, SecretRef, SecretValue
from reconciler.words import plural


def secret_ref(manifest_file: str, raw: Mapping[str, Any]) -> SecretRef:
    """The reference a manifest declares. A relative `fromFile` path is made relative to the
    manifest's folder (and kept relative to the working folder, so it stays readable)."""
    if "fromEnv" in raw:
        return SecretRef("env", str(raw["fromEnv"]))
    path = str(raw["fromFile"])
    if not os.path.isabs(path):
        path = os.path.normpath(os.path.join(os.path.dirname(manifest_file), path))
    return SecretRef("file", Path(path).as_posix())


# Variables a CI job or reconciler holds for itself (besides each cloud's `credential_variables`).
_JOB_VARIABLE_PREFIXES = ("RECONCILER_", "GITHUB_", "ACTIONS_", "RUNNER_", "CI_")


def credential_problem(name: str) -> str | None:
    """Why `fromEnv: name` may not be a BGP key, or None. A pull request's manifest could otherwise
    name the job's own credentials (a cloud's API secret, a CI token) and have `apply` send
    one to a cloud, where `plan` shows only "(sensitive)"."""
    from reconciler.clouds import CLOUDS

    if name.startswith(_JOB_VARIABLE_PREFIXES) or any(name in c.credential_variables for c in CLOUDS.values()):
        return (
            f"environment variable {name} holds a credential of reconciler, a cloud API or the CI job, "
            "not a BGP key: name a variable of its own (e.g. SG_BGP_KEY)"
        )
    return None


def env_reference_diagnostics(docs: Iterable[Checked]) -> Iterator[Diagnostic]:
    """A diagnostic at every `fromEnv` reference that names a credential (nothing is read)."""
    from reconciler.clouds import KINDS

    for checked in docs:
        for field in KINDS[checked.kind].secret_fields:
            path = f"spec.{field}.fromEnv"
            value = checked.get(path)
            if isinstance(value, str) and checked.ok(path) and (problem := credential_problem(value)) is not None:
                yield checked.diag(path, problem, "secret-env")


def read_secret(ref: SecretRef, key_files: SecretFiles | None = None, env: SecretEnv | None = None) -> SecretValue:
    """The value a reference points at. SecretError (naming the reference only) when unreadable,
    when it names a credential, or when `key_files` does not allow the file. `env` says where
    `fromEnv` looks (default: the process environment only; with a secrets file, that file next).
    A credential's name is refused whichever of them would define it."""
    if ref.source == "env":
        problem = credential_problem(ref.name)
        if problem is not None:
            raise SecretError(problem)
        env = env if env is not None else SecretEnv()
        value = env.lookup(ref.name)
        if value is None:
            raise SecretError(env.not_found(ref.name))
    else:
        value = read_key_file(ref.name, key_files)
    if not value:
        raise SecretError(f"{ref} resolves to an empty value")
    return SecretValue(value)


def resolve_secrets(
    resources: Sequence[Resource], key_files: SecretFiles | None = None, env: SecretEnv | None = None
) -> tuple[Resource, ...]:
    """Fill `Resource.secrets` from `Resource.secret_refs`, reading key files only where `key_files`
    allows (by default: inside the Git work tree, else the folder, of the resources' manifests),
    and `fromEnv` names from `env` (default: the process environment).

    Collects every problem (unset variable, unreadable or forbidden file, a key the cloud would
    refuse, the two ends of a linked session with different keys) and raises one ManifestError
    listing them all.
    """
    from reconciler.clouds import cloud_of
    from reconciler.manifest.links import key_mismatches

    if key_files is None and any(ref.source == "file" for r in resources for ref in r.secret_refs.values()):
        key_files = secret_files(r.source.file for r in resources if r.source is not None)
    diags: list[Diagnostic] = []
    resolved: list[Resource] = []
    for resource in resources:
        values: dict[str, SecretValue] = {}
        for field_name, ref in resource.secret_refs.items():
            try:
                value = read_secret(ref, key_files, env)
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


def resolve_ref_ids(
    ref_ids: Iterable[str], key_files: SecretFiles | None = None, env: SecretEnv | None = None
) -> dict[str, SecretValue]:
    """Every reference's value, by id (`env:NAME`, `file:PATH`), e.g. for `apply PLANFILE`: a saved
    plan stores only reference ids, and the values are read again at apply time (by the same
    function as planning uses) and checked against the plan's salted digests. File paths in ids
    are relative to the working directory, as the manifests' references are recorded. Key files
    are always read safely (regular files, 4 KB at most); `key_files`, when given, also bounds where.

    One error names every reference that cannot be resolved."""
    values: dict[str, SecretValue] = {}
    problems: list[str] = []
    for ref_id in ref_ids:
        source, _, name = ref_id.partition(":")
        if source not in ("env", "file") or not name:
            problems.append(f"unknown secret reference {ref_id!r}: expected env:NAME or file:PATH")
            continue
        try:
            values[ref_id] = read_secret(SecretRef("env" if source == "env" else "file", name), key_files, env)
        except SecretError as exc:
            problems.append(f"secret {ref_id}: {exc.message}")
    if problems:
        raise SecretError("cannot resolve secrets:\n  " + "\n  ".join(problems))
    return values
