"""Saved plan files (`reconciler plan --out PLANFILE`): the plan's JSON document on disk.

`save_plan` writes atomically (temp file, fsync, rename; mode 0600) so a reader never sees half a
plan. It records the manifest paths the plan was made from and, when `RECONCILER_PLAN_KEY` is
set, signs the document (`reconciler.plan.signing`). `load_plan` gives back exactly the plan that
was saved, after checking the file is whole, is JSON, is not from a newer reconciler and matches
`schemas/plan.schema.json`; `load_saved_plan` also checks its signature. Every problem is a
`PlanError` that names the file and says what is wrong.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError  # type: ignore[import-untyped, unused-ignore]

from reconciler.durable import write_atomically
from reconciler.errors import PlanError
from reconciler.package_data import load_schema
from reconciler.plan.codec import plan_from_dict, plan_to_json
from reconciler.plan.model import PLAN_FORMAT_VERSION, Plan
from reconciler.plan.signing import SIGNATURE, PlanKey, SignatureCheck, check_signature, plan_key_from_env, sign

SUPPORTED_MAJOR = int(PLAN_FORMAT_VERSION.split(".")[0])
_MAX_ERRORS_SHOWN = 3
# Keys under which a document holds attribute values: schema errors there never quote the value.
_VALUE_KEYS = frozenset({"before", "after", "extra"})


@dataclass(frozen=True, slots=True)
class SavedPlan:
    """A plan read from a file, with what is known of the file's signature."""

    plan: Plan
    signature: SignatureCheck


def save_plan(
    plan: Plan,
    path: str | os.PathLike[str],
    *,
    manifest_paths: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> None:
    """Write `plan` to `path` atomically, readable by its owner only (0600).

    `manifest_paths` (as given to `plan`; none means `.`) are recorded in the plan when given.
    The document is signed when `RECONCILER_PLAN_KEY` is set in `env` (default: the process
    environment); a set but unusable key is an error, and nothing is written.
    """
    target = Path(path)
    key = plan_key_from_env(os.environ if env is None else env)
    if manifest_paths is not None:
        plan = replace(plan, manifest_paths=tuple(manifest_paths) or (".",))
    text = plan_to_json(plan) if key is None else signed_json(plan, key)
    directory = target.parent
    if not directory.is_dir():
        raise PlanError(f"cannot write plan file {target}: directory {directory} does not exist")
    try:
        write_atomically(target, text.encode("utf-8"))
    except OSError as exc:
        raise PlanError(f"cannot write plan file {target}: {exc.strerror or exc}") from None


def signed_json(plan: Plan, key: PlanKey) -> str:
    """The plan's JSON document with its `signature` as the last member."""
    document: dict[str, Any] = json.loads(plan_to_json(plan))  # only JSON values, as a reader sees them
    document[SIGNATURE] = sign(document, key)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read a plan saved by `save_plan`; raise `PlanError` saying what is wrong with the file."""
    return load_saved_plan(path, None).plan


def load_saved_plan(path: str | os.PathLike[str], key: PlanKey | None) -> SavedPlan:
    """Read a plan saved by `save_plan` and check its signature with `key` (None: no key)."""
    target = Path(path)
    hint = f"make a new one with `reconciler plan --out {target}`"
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        raise PlanError(f"plan file {target} does not exist", hint=hint) from None
    except IsADirectoryError:
        raise PlanError(f"plan file {target} is a directory, not a file") from None
    except OSError as exc:
        raise PlanError(f"cannot read plan file {target}: {exc.strerror or exc}") from None
    document = parse_document(raw, str(target))
    return SavedPlan(_plan_of(document, str(target)), check_signature(document, key))


def parse_plan(raw: bytes | str, source: str) -> Plan:
    """Parse and check a plan document; `source` names it in error messages."""
    return _plan_of(parse_document(raw, source), source)


def parse_document(raw: bytes | str, source: str) -> dict[str, Any]:
    """The plan document as JSON values, after checking it is whole, of a format this reconciler
    reads, and valid against the plan schema."""
    hint = f"make a new one with `reconciler plan --out {source}`"
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise PlanError(
            f"plan file {source} is not a reconciler plan: the byte at offset {exc.start} is not UTF-8 text", hint=hint
        ) from None
    if not text.strip():
        raise PlanError(f"plan file {source} is empty", hint=hint)
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        # Truncated: the parser ran out of text (an open string runs to the end of the file).
        if not text[exc.pos :].strip() or exc.msg.startswith("Unterminated string"):
            raise PlanError(
                f"plan file {source} is truncated: the JSON document ends early "
                f"(line {exc.lineno}, column {exc.colno})",
                hint=hint,
            ) from None
        raise PlanError(
            f"plan file {source} is corrupt: not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})",
            hint=hint,
        ) from None
    if not isinstance(data, dict) or "format_version" not in data:
        raise PlanError(
            f"plan file {source} is not a reconciler plan: expected a JSON object with a format_version",
            hint=hint,
        )
    _check_version(data["format_version"], source)
    _check_schema(data, source)
    return data


def _plan_of(document: Mapping[str, Any], source: str) -> Plan:
    try:
        return plan_from_dict(document)
    except (KeyError, ValueError, TypeError) as exc:  # the schema should have caught it
        raise PlanError(
            f"plan file {source} is not a valid plan: {exc!r}",
            hint=f"make a new one with `reconciler plan --out {source}`",
        ) from None


def _check_version(version: Any, source: str) -> None:
    major_text = str(version).split(".", 1)[0]
    if not isinstance(version, str) or not major_text.isdigit():
        raise PlanError(
            f"plan file {source} has an invalid format_version {json.dumps(version)}; "
            f'expected "{SUPPORTED_MAJOR}.<minor>"'
        )
    if int(major_text) > SUPPORTED_MAJOR:
        raise PlanError(
            f"plan file {source} was made by a newer reconciler (format {version}); this one reads {SUPPORTED_MAJOR}.x",
            hint="upgrade reconciler, or make a new plan with this version",
        )
    if int(major_text) < SUPPORTED_MAJOR:
        raise PlanError(
            f"plan file {source} was made by an older reconciler (format {version}); "
            f"this one reads {SUPPORTED_MAJOR}.x",
            hint="make a new plan with this version",
        )


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema("plan.schema.json"))


def _describe(error: ValidationError) -> str:
    """`$.path: what is wrong`, never quoting an attribute value (it could be a leaked secret)."""
    if any(part in _VALUE_KEYS for part in error.absolute_path):
        expected = _short(json.dumps(error.validator_value, default=str), 80)
        return f"{error.json_path}: value does not satisfy {error.validator} {expected}"
    return f"{error.json_path}: {_short(error.message)}"


def _check_schema(data: dict[str, Any], source: str) -> None:
    errors = sorted(_validator().iter_errors(data), key=lambda e: e.json_path)
    if not errors:
        return
    shown = "; ".join(_describe(e) for e in errors[:_MAX_ERRORS_SHOWN])
    more = f" (and {len(errors) - _MAX_ERRORS_SHOWN} more)" if len(errors) > _MAX_ERRORS_SHOWN else ""
    raise PlanError(
        f"plan file {source} does not match the plan schema (schemas/plan.schema.json): {shown}{more}",
        hint=f"was it edited by hand? make a new one with `reconciler plan --out {source}`",
    )


def _short(message: str, limit: int = 200) -> str:
    """jsonschema quotes whole sub-documents in messages; keep them readable."""
    return message if len(message) <= limit else message[: limit - 1] + "…"
