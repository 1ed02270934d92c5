"""Secret references: `{fromEnv: NAME}` or `{fromFile: path}`, resolved only when planning.

Nothing here ever puts a secret value into a message: problems name the manifest position and the
reference (`env:SG_BGP_KEY`, `file:secrets/sg.key`), never what it resolves to.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from reconciler.errors import ManifestError, SecretError
from reconciler.manifest.diagnostics import Diagnostic, plural, sort_key
from reconciler.model import (
    ALIBABA_GROUP,
    ALIBABA_PEER,
    EQUINIX_PEERING,
    Resource,
    SecretRef,
    SecretValue,
)

# Equinix's rule for a BGP key: 6-60 letters or digits, not starting with a digit.
EQUINIX_KEY = re.compile(r"[A-Za-z][A-Za-z0-9]{5,59}\Z")
LINK_LABEL = "link"


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


def _equinix_key_problem(value: str) -> str | None:
    if EQUINIX_KEY.match(value):
        return None
    if len(value) < 6:
        reason = "it is shorter than 6 characters"
    elif len(value) > 60:
        reason = "it is longer than 60 characters"
    elif value[0].isdigit():
        reason = "it starts with a digit"
    else:
        reason = "it contains a character that is not a letter or digit"
    return f"Equinix needs 6-60 letters or digits, not starting with a digit; {reason}"


def resolve_secrets(resources: Sequence[Resource]) -> tuple[Resource, ...]:
    """Fill `Resource.secrets` from `Resource.secret_refs`.

    Collects every problem (unset variable, unreadable file, a key Equinix would refuse, the two
    ends of a linked session with different keys) and raises one ManifestError listing them all.
    """
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
            if resource.kind == EQUINIX_PEERING:
                problem = _equinix_key_problem(value.reveal())
                if problem:
                    message = f"the key from {ref} is not valid: {problem}"
                    diags.append(_diag(resource, field_name, message, "secret-format"))
            values[field_name] = value
        resolved.append(replace(resource, secrets=values) if values else resource)
    diags.extend(_mirror_key_problems(resolved))
    if diags:
        diags.sort(key=sort_key)
        lines = "\n".join(f"  {d}" for d in diags)
        raise ManifestError(f"{plural(len(diags), 'secret problem')}:\n{lines}", diags)
    return tuple(resolved)


def _mirror_key_problems(resources: Sequence[Resource]) -> list[Diagnostic]:
    """Both ends of a linked session must use the same key (compared, never shown)."""
    by_address = {r.address: r for r in resources}
    ends: dict[str, dict[str, list[Resource]]] = {}
    for resource in resources:
        link = resource.labels.get(LINK_LABEL)
        if link and resource.kind in (EQUINIX_PEERING, ALIBABA_PEER):
            ends.setdefault(link, {}).setdefault(resource.kind, []).append(resource)
    diags: list[Diagnostic] = []
    for link, kinds in sorted(ends.items()):
        equinix, peers = kinds.get(EQUINIX_PEERING, []), kinds.get(ALIBABA_PEER, [])
        if len(equinix) != 1 or len(peers) != 1:
            continue  # validation reports that already
        group = by_address.get(peers[0].refs.get("bgpGroup", ""))
        if group is None or group.kind != ALIBABA_GROUP:
            continue
        eq_key, group_key = equinix[0].secrets.get("authenticationKey"), group.secrets.get("authKey")
        if eq_key is not None and group_key is not None and eq_key != group_key:
            eq_ref, group_ref = equinix[0].secret_refs["authenticationKey"], group.secret_refs["authKey"]
            diags.append(
                _diag(
                    equinix[0],
                    "authenticationKey",
                    f"the two ends of link {link!r} use different keys: {eq_ref} here and {group_ref} "
                    f"on {group.address} (values not shown); both ends of one session need the same key",
                    "mirror-key",
                )
            )
    return diags


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
