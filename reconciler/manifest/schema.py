"""JSON Schema validation of documents, with errors turned into positioned, helpful diagnostics.

The manifest schema is assembled from the envelope (`envelope.schema.json`, next to this module)
and each cloud's per-kind spec schemas (`Cloud.schema_defs`), so a registered cloud's kinds are
validated with no other change. `schemas/manifest.schema.json`, for editors, is the same schema
written out (`python -m reconciler.manifest.schema > schemas/manifest.schema.json`; a test checks
that it is current). It carries descriptions and examples; the `x-hint` (what a valid value looks
like), `x-message` (what to say when a rule fails) and `x-secret` (a secret-reference field)
keywords are ours and ignored by other tools.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from reconciler.clouds import CLOUDS, KINDS
from reconciler.manifest import jsonpath
from reconciler.manifest.diagnostics import Diagnostic, plural
from reconciler.manifest.load import Document
from reconciler.model import API_VERSION

_TYPE_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "nothing",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """A schema problem before it is given a position: JSON path, message, rule id."""

    path: str
    message: str
    code: str
    # Paths the semantic rules must not trust; by default the problem's own path.
    failed: tuple[str, ...] | None = None

    @property
    def failed_paths(self) -> tuple[str, ...]:
        return (self.path,) if self.failed is None else self.failed


def describe(value: Any, echo: bool = True) -> str:
    """`the string 'abc'`, `the number 5`, `a list`...; with echo=False never shows the value."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}" if echo else "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}" if echo else "a number"
    if isinstance(value, str):
        return f"the string {show(value)}" if echo else "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def show(value: Any, limit: int = 60) -> str:
    """The value as written in a message (repr), shortened when long."""
    text = repr(value)
    if len(text) <= limit:
        return text
    quote = text[0] if text[0] in "'\"" else ""
    return text[: limit - 4] + "..." + quote


def check_envelope(doc: Document) -> tuple[str | None, list[Diagnostic]]:
    """The kind of a reconciler document, or None and why it is not one."""
    data = doc.data

    def problem(path: str, message: str, code: str) -> tuple[None, list[Diagnostic]]:
        line, col = doc.position(path)
        return None, [Diagnostic(doc.file, line, col, path, message, code=code)]

    if not isinstance(data, dict):
        return problem(
            "",
            f"a document must be a mapping with apiVersion, kind, metadata and spec; this one is "
            f"{describe(data, echo=False)}",
            "not-a-mapping",
        )
    api_version, kind = data.get("apiVersion"), data.get("kind")
    kinds = ", ".join(KINDS)
    if api_version is None and kind is None:
        return problem(
            "",
            f"not a reconciler document: it has no apiVersion or kind (expected apiVersion: "
            f"{API_VERSION} and kind: one of {kinds}; list other YAML files in .reconcilerignore)",
            "not-reconciler",
        )
    if api_version != API_VERSION:
        if api_version is None:
            return problem("apiVersion", f"apiVersion is missing: expected {API_VERSION}", "unknown-api-version")
        return problem(
            "apiVersion",
            f"unknown apiVersion {show(api_version)}: this version of reconciler reads {API_VERSION}",
            "unknown-api-version",
        )
    if kind not in KINDS:
        if kind is None:
            return problem("kind", f"kind is missing: expected one of {kinds}", "unknown-kind")
        guess = difflib.get_close_matches(str(kind), list(KINDS), n=1, cutoff=0.5)
        hint = f"; did you mean {guess[0]}?" if guess else ""
        return problem("kind", f"unknown kind {show(kind)}: expected one of {kinds}{hint}", "unknown-kind")
    return str(kind), []


def manifest_schema() -> dict[str, Any]:
    """The whole manifest schema for the registered clouds: envelope, kinds, per-kind specs."""
    return _assembled(tuple(CLOUDS))


@cache
def _assembled(clouds: tuple[str, ...]) -> dict[str, Any]:
    import json
    from pathlib import Path

    envelope: dict[str, Any] = json.loads((Path(__file__).parent / "envelope.schema.json").read_text(encoding="utf-8"))
    kinds = [info for name in clouds for info in CLOUDS[name].kinds]
    described = [f"{info.kind} ({CLOUDS[info.cloud].title}: {info.title})" for info in kinds]
    envelope["description"] = (
        f"One reconciler document: {'; '.join(described)}. `reconciler validate` checks this schema plus "
        "the rules that need more than one document (unique names, references, both ends of one session...)."
    )
    envelope["markdownDescription"] = (
        "One **reconciler** document, of one of these kinds:\n\n"
        + "\n".join(f"- `{info.kind}`: {info.title} ({CLOUDS[info.cloud].title})" for info in kinds)
        + "\n\nRun `reconciler validate` for the full checks (unique names, references, the two ends of one session)."
    )
    kind = envelope["properties"]["kind"]
    kind["description"] = f"What this document declares: {', '.join(info.kind for info in kinds)}."
    kind["markdownDescription"] = "What this document declares:\n\n" + "\n".join(
        f"- `{info.kind}`: {info.title}" for info in kinds
    )
    kind["enum"] = [info.kind for info in kinds]
    envelope["allOf"] = [
        {
            "if": {"properties": {"kind": {"const": info.kind}}, "required": ["kind"]},
            "then": {"properties": {"spec": {"$ref": f"#/$defs/{info.kind}Spec"}}},
        }
        for info in kinds
    ]
    defs = dict(envelope.pop("$defs"))
    for name in clouds:
        for key, value in CLOUDS[name].schema_defs().items():
            if key in defs and defs[key] != value:
                raise ValueError(f"schema definition {key} of cloud {name} differs from another one")
            defs[key] = value
    missing = [info.kind for info in kinds if f"{info.kind}Spec" not in defs]
    if missing:
        raise ValueError(f"no spec schema for {', '.join(missing)}: each kind needs a <Kind>Spec definition")
    envelope["$defs"] = defs
    return envelope


def spec_fields(kind: str) -> tuple[str, ...]:
    """The spec field names of a kind, from its schema (the one list of them)."""
    return tuple(manifest_schema()["$defs"][f"{kind}Spec"]["properties"])


def _validators() -> dict[str, Any]:
    """One compiled validator per kind: the envelope plus that kind's spec schema."""
    return _compiled(tuple(CLOUDS))


@cache
def _compiled(clouds: tuple[str, ...]) -> dict[str, Any]:
    from jsonschema import Draft202012Validator, validators

    root = _assembled(clouds)
    # YAML `65010.0` is a float: do not let it pass as an integer (JSON Schema allows that).
    type_checker = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    )
    strict = validators.extend(Draft202012Validator, type_checker=type_checker)  # type: ignore[no-untyped-call]
    strict.evolve = _evolve_once(strict.evolve)  # one validator object per subschema, not per document
    out: dict[str, Any] = {}
    for kind in root["properties"]["kind"]["enum"]:
        schema = {key: value for key, value in root.items() if key not in ("allOf", "$defs")}
        # apiVersion and kind were checked by check_envelope: `True` skips them.
        schema["properties"] = {
            **root["properties"],
            "apiVersion": True,
            "kind": True,
            "spec": {"$ref": f"#/$defs/{kind}Spec"},
        }
        out[kind] = strict(_inline_refs(schema, root["$defs"]))
    return out


_SCHEMA_AND_RESOLVER = frozenset({"schema", "_resolver"})


def _evolve_once(evolve: Callable[..., Any]) -> Callable[..., Any]:
    """jsonschema makes a new validator object for each subschema of each document it checks
    (`descend` calls `evolve(schema=..., _resolver=...)`). Ours differ only in those two and
    never change once made, so each is made once and reused: a quarter of the validation time."""
    made: dict[int, tuple[Any, Any, Any]] = {}  # id(subschema) -> (subschema, resolver, validator)

    def evolve_once(self: Any, **changes: Any) -> Any:
        if not _SCHEMA_AND_RESOLVER.issuperset(changes):
            return evolve(self, **changes)
        schema, resolver = changes.get("schema", self.schema), changes.get("_resolver", self._resolver)
        found = made.get(id(schema))
        if found is None:  # keeping the subschema alive keeps its id its own
            found = made[id(schema)] = (schema, resolver, evolve(self, **changes))
        elif found[1] is not resolver:  # a resolver moved by $id or $ref (ours has none): no reuse
            return evolve(self, **changes)
        return found[2]

    return evolve_once


def _inline_refs(schema: Any, defs: Mapping[str, Any]) -> Any:
    """The schema with every local `$ref` replaced by its target (ours has no recursion).
    Resolving references once here, not per document, halves the validation time."""
    if isinstance(schema, list):
        return [_inline_refs(item, defs) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _inline_refs(value, defs) for key, value in schema.items() if key != "$ref"}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return {**_inline_refs(defs[ref.removeprefix("#/$defs/")], defs), **out}
    return out


def schema_problems(kind: str, data: Mapping[str, Any]) -> list[Problem]:
    """Every schema problem of one document of `kind` (the envelope was checked already)."""
    validator = _validators()[kind]
    secret_fields = KINDS[kind].secret_fields
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for error in validator.iter_errors(data):
        parts = list(error.absolute_path)
        secret = len(parts) >= 2 and parts[0] == "spec" and parts[1] in secret_fields
        for problem in _translate(error, jsonpath.join(parts), secret):
            if (problem.path, problem.message) not in seen:
                seen.add((problem.path, problem.message))
                problems.append(problem)
    return problems


def _hint(schema: Mapping[str, Any]) -> str:
    hint = schema.get("x-hint")
    if isinstance(hint, str):
        return hint
    description = schema.get("description")
    if isinstance(description, str):
        return description.split(". ")[0].rstrip(".")
    return ""


def _translate(error: Any, path: str, secret: bool) -> Iterable[Problem]:
    """One jsonschema error -> problems that say where, what is wrong and what would be valid."""
    kind = error.validator
    value = error.validator_value
    instance = error.instance
    schema: Mapping[str, Any] = error.schema
    custom = schema.get("x-message")
    if isinstance(custom, dict):  # messages per keyword, for a schema with several rules
        custom = custom.get(kind)
    code = f"schema.{kind}"
    echo = not secret
    hint = schema.get("x-hint")
    suffix = f" ({hint})" if isinstance(hint, str) else ""

    if kind == "type" and schema.get("x-secret") and not isinstance(instance, dict | list):
        field = path.rsplit(".", 1)[-1]
        # Never echo the value: it is presumably the key itself.
        yield Problem(
            path,
            f"a literal key is not allowed: secrets are references only, so the repository never "
            f"holds a key; write {field}: {{fromEnv: NAME}} (an environment variable) or "
            f"{field}: {{fromFile: path}} (a file, relative to this manifest)",
            "secret-literal",
        )
        return
    if kind == "type":
        wanted = [value] if isinstance(value, str) else list(value)
        want = " or ".join(_TYPE_NAMES.get(t, t) for t in wanted)
        extra = ""
        if "string" in wanted and isinstance(instance, bool | int | float) and echo:
            extra = "; quote it if it is meant as text"
        elif wanted == ["integer"] and isinstance(instance, str) and instance.strip().isdigit():
            extra = "; remove the quotes"
        if schema.get("x-secret"):
            suffix = " (a secret reference: {fromEnv: NAME} or {fromFile: path})"
        yield Problem(path, f"expected {want}, got {describe(instance, echo)}{extra}{suffix}", code)
        return
    if kind == "required":
        properties: Mapping[str, Any] = schema.get("properties") or {}
        for name in value:
            if isinstance(instance, dict) and name not in instance:
                if isinstance(custom, str):
                    message = custom
                else:
                    field_hint = _hint(properties[name]) if name in properties else ""
                    message = "required field is missing" + (f": {field_hint}" if field_hint else "")
                yield Problem(jsonpath.child(path, name), message, code)
        return
    if kind == "dependentRequired":
        for trigger, needed in value.items():
            for name in needed:
                if isinstance(instance, dict) and trigger in instance and name not in instance:
                    message = custom if isinstance(custom, str) else f"required when {trigger} is set"
                    yield Problem(jsonpath.child(path, name), message, code)
        return
    if kind == "additionalProperties":
        allowed = list(schema.get("properties") or {})
        for extra_key in sorted(k for k in instance if k not in allowed):
            yield Problem(jsonpath.child(path, extra_key), _unknown_field(extra_key, allowed, path, schema), code)
        return
    if kind == "oneOf" and isinstance(custom, str):
        branches = [b.get("required", []) for b in value]
        present = [names[0] for names in branches if names and isinstance(instance, dict) and names[0] in instance]
        found = f" (both {present[0]} and {present[1]} are set)" if len(present) > 1 else " (neither is set)"
        # Only the alternatives are in doubt, not the whole mapping.
        yield Problem(path, custom + found, code, failed=tuple(jsonpath.child(path, name) for name in present))
        return
    if isinstance(custom, str):  # not, minProperties, maxProperties... with a message of our own
        target = schema.get("x-path")
        yield Problem(jsonpath.child(path, target) if isinstance(target, str) else path, custom, code)
        return
    if kind in ("minimum", "exclusiveMinimum"):
        yield Problem(path, f"{show(instance)} is below the minimum {value}{suffix}", code)
    elif kind in ("maximum", "exclusiveMaximum"):
        yield Problem(path, f"{show(instance)} is above the maximum {value}{suffix}", code)
    elif kind == "pattern":
        what = show(instance) if echo else "the value"
        expected = hint if isinstance(hint, str) else f"text matching {value}"
        yield Problem(path, f"{what} is not valid: expected {expected}", code)
    elif kind == "minLength":
        what = show(instance) if echo else "the value"
        yield Problem(path, f"{what} is too short: at least {plural(value, 'character')}{suffix}", code)
    elif kind == "maxLength":
        yield Problem(path, f"too long ({len(instance)} characters): at most {value}{suffix}", code)
    elif kind in ("enum", "const"):
        options = [value] if kind == "const" else list(value)
        what = show(instance) if echo else "the value"
        yield Problem(path, f"{what} is not valid: expected {' or '.join(map(str, options))}", code)
    else:
        yield Problem(path, error.message if echo else f"invalid value ({kind})", code)


def _unknown_field(key: str, allowed: list[str], path: str, schema: Mapping[str, Any]) -> str:
    guess = [a for a in allowed if a.lower() == key.lower()] or difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    did_you_mean = f"; did you mean {guess[0]}?" if guess else ""
    if schema.get("x-secret"):
        return (
            f"unknown field {show(key)} in a secret reference{did_you_mean} "
            "(write {fromEnv: NAME} or {fromFile: path})"
        )
    where = "top-level field" if not path else "field"
    return f"unknown {where} {show(key)}{did_you_mean} (valid: {', '.join(allowed)})"


if __name__ == "__main__":
    import json

    print(json.dumps(manifest_schema(), indent=2, ensure_ascii=False))
