"""JSON Schema validation of documents, with errors turned into positioned, helpful diagnostics.

The manifest schema is assembled from the envelope (`envelope.schema.json`, next to this module)
and each cloud's per-kind spec schemas (`Cloud.schema_defs`), so a registered cloud's kinds are
validated with no other change. `schemas/manifest.schema.json`, for editors, is the same schema
written out (`python -m reconciler.manifest.schema > schemas/manifest.schema.json`; a test checks
that it is current). It carries descriptions and examples; the `x-hint` (what a valid value looks
like), `x-message` (what to say when a rule fails) and `x-secret` (a secret-reference field)
keywords are ours and ignored by other tools.

A valid document is recognised by a compiled validator (`jsonschema_rs`, in Rust), a hundred times
faster than `jsonschema`; only a document it refuses, or one holding a number it might read
differently (a float, an integer beyond 64 bits), is checked by `jsonschema`, whose errors are
translated into the messages, so they are the same whichever validator saw the document first.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from reconciler.clouds import CLOUDS, KINDS
from reconciler.manifest import jsonpath
from reconciler.manifest.diagnostics import Diagnostic
from reconciler.manifest.load import Document
from reconciler.model import API_VERSION
from reconciler.words import plural

if TYPE_CHECKING:
    from jsonschema import ValidationError

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
def _kind_schemas(clouds: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The schema of each kind's documents: the envelope plus that kind's spec schema."""
    root = _assembled(clouds)
    out: dict[str, dict[str, Any]] = {}
    for kind in root["properties"]["kind"]["enum"]:
        schema = {key: value for key, value in root.items() if key not in ("allOf", "$defs")}
        # apiVersion and kind were checked by check_envelope: `True` skips them.
        schema["properties"] = {
            **root["properties"],
            "apiVersion": True,
            "kind": True,
            "spec": {"$ref": f"#/$defs/{kind}Spec"},
        }
        out[kind] = _inline_refs(schema, root["$defs"])
    return out


# The libraries that judge a document valid (`schema_problems`).
_VALIDATORS = ("jsonschema", "jsonschema_rs")


@cache
def fingerprint() -> bytes:
    """What a document's validity depends on besides the document: the assembled schema, this
    module, and the installed files of the two validators (their names, sizes and times: an
    upgrade rewrites them). While it is unchanged, a document found valid once is valid again
    (`reconciler.manifest.cache` stores only valid documents, under a name that includes it).
    OSError when this module's source cannot be read."""
    import hashlib
    import json
    from pathlib import Path

    from reconciler.installed import package_files

    digest = hashlib.sha256(json.dumps(_assembled(tuple(CLOUDS)), sort_keys=True).encode())
    digest.update(Path(__file__).read_bytes())
    for name in _VALIDATORS:
        digest.update(f"\0{name}".encode() + package_files(name))
    return digest.digest()


@cache
def _compiled(clouds: tuple[str, ...]) -> dict[str, Any]:
    from jsonschema import Draft202012Validator, validators

    # YAML `65010.0` is a float: do not let it pass as an integer (JSON Schema allows that).
    type_checker = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    )
    strict = validators.extend(Draft202012Validator, type_checker=type_checker)  # type: ignore[no-untyped-call]
    strict.evolve = _evolve_once(strict.evolve)  # one validator object per subschema, not per document
    return {kind: strict(schema) for kind, schema in _kind_schemas(clouds).items()}


@cache
def _fast_checks(clouds: tuple[str, ...]) -> dict[str, Callable[[Any], bool]]:
    """Whether a document of each kind is valid, from validators compiled to native code.

    They read `65010.0` as an integer, as JSON Schema does, so they are asked only about
    documents with no float and no integer beyond 64 bits (`schema_problems`). Their regular
    expressions are stricter than Python's (`$` does not match before a final newline): a
    document they refuse is checked again by `jsonschema`, which decides."""
    from jsonschema_rs import Draft202012Validator

    return {
        kind: Draft202012Validator(schema, validate_formats=False).is_valid
        for kind, schema in _kind_schemas(clouds).items()
    }


def _valid(kind: str, data: Mapping[str, Any]) -> bool:
    """True when the compiled validator finds `data` valid; False when it does not, or cannot
    read it (a value JSON has no type for)."""
    try:
        return _fast_checks(tuple(CLOUDS))[kind](data)
    except (ValueError, OverflowError):
        return False


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


def schema_problems(kind: str, data: Mapping[str, Any], plain_numbers: bool = False) -> list[Problem]:
    """Every schema problem of one document of `kind` (the envelope was checked already).

    `plain_numbers` says that every number in `data` is an integer of at most 64 bits
    (`Document.plain_numbers`): then a valid document is recognised by the compiled validator
    alone. Otherwise, and for a document it refuses, `jsonschema` finds and words the problems."""
    if plain_numbers and _valid(kind, data):
        return []
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


@dataclass(frozen=True, slots=True)
class _Failure:
    """One jsonschema error, with what every translation reads."""

    keyword: str  # the schema keyword that failed: type, required, pattern...
    expected: Any  # the keyword's value in the schema
    instance: Any  # the value found in the document
    schema: Mapping[str, Any]  # the (sub)schema that holds the keyword
    path: str
    echo: bool  # False for a secret field: its value is never shown
    custom: str | None  # our `x-message` for this keyword
    hint: str | None  # our `x-hint`: what a valid value looks like
    message: str  # jsonschema's own words

    @classmethod
    def of(cls, error: ValidationError, path: str, secret: bool) -> _Failure:
        schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
        keyword = str(error.validator)
        custom = schema.get("x-message")
        if isinstance(custom, dict):  # messages per keyword, for a schema with several rules
            custom = custom.get(keyword)
        hint = schema.get("x-hint")
        return cls(
            keyword=keyword,
            expected=error.validator_value,
            instance=error.instance,
            schema=schema,
            path=path,
            echo=not secret,
            custom=custom if isinstance(custom, str) else None,
            hint=hint if isinstance(hint, str) else None,
            message=error.message,
        )

    @property
    def code(self) -> str:
        return f"schema.{self.keyword}"

    @property
    def suffix(self) -> str:
        return f" ({self.hint})" if self.hint is not None else ""

    @property
    def shown(self) -> str:
        """The value as a message quotes it; never a secret field's value."""
        return show(self.instance) if self.echo else "the value"


Translation = Callable[[_Failure], Iterator[Problem]]


def _literal_secret(f: _Failure) -> Iterator[Problem]:
    field = f.path.rsplit(".", 1)[-1]
    # Never echo the value: it is presumably the key itself.
    yield Problem(
        f.path,
        f"a literal key is not allowed: secrets are references only, so the repository never "
        f"holds a key; write {field}: {{fromEnv: NAME}} (an environment variable) or "
        f"{field}: {{fromFile: path}} (a file, relative to this manifest)",
        "secret-literal",
    )


def _wrong_type(f: _Failure) -> Iterator[Problem]:
    if f.schema.get("x-secret") and not isinstance(f.instance, dict | list):
        yield from _literal_secret(f)
        return
    wanted = [f.expected] if isinstance(f.expected, str) else list(f.expected)
    want = " or ".join(_TYPE_NAMES.get(t, t) for t in wanted)
    extra = ""
    if "string" in wanted and isinstance(f.instance, bool | int | float) and f.echo:
        extra = "; quote it if it is meant as text"
    elif wanted == ["integer"] and isinstance(f.instance, str) and f.instance.strip().isdigit():
        extra = "; remove the quotes"
    suffix = " (a secret reference: {fromEnv: NAME} or {fromFile: path})" if f.schema.get("x-secret") else f.suffix
    yield Problem(f.path, f"expected {want}, got {describe(f.instance, f.echo)}{extra}{suffix}", f.code)


def _missing_required(f: _Failure) -> Iterator[Problem]:
    properties: Mapping[str, Any] = f.schema.get("properties") or {}
    for name in f.expected:
        if isinstance(f.instance, dict) and name not in f.instance:
            if f.custom is not None:
                message = f.custom
            else:
                field_hint = _hint(properties[name]) if name in properties else ""
                message = "required field is missing" + (f": {field_hint}" if field_hint else "")
            yield Problem(jsonpath.child(f.path, name), message, f.code)


def _missing_dependent(f: _Failure) -> Iterator[Problem]:
    for trigger, needed in f.expected.items():
        for name in needed:
            if isinstance(f.instance, dict) and trigger in f.instance and name not in f.instance:
                message = f.custom if f.custom is not None else f"required when {trigger} is set"
                yield Problem(jsonpath.child(f.path, name), message, f.code)


def _unknown_fields(f: _Failure) -> Iterator[Problem]:
    allowed = list(f.schema.get("properties") or {})
    for extra_key in sorted(k for k in f.instance if k not in allowed):
        yield Problem(jsonpath.child(f.path, extra_key), _unknown_field(extra_key, allowed, f.path, f.schema), f.code)


def _not_one_alternative(f: _Failure) -> Iterator[Problem]:
    if f.custom is None:
        yield from _jsonschema_words(f)
        return
    branches = [b.get("required", []) for b in f.expected]
    present = [names[0] for names in branches if names and isinstance(f.instance, dict) and names[0] in f.instance]
    found = f" (both {present[0]} and {present[1]} are set)" if len(present) > 1 else " (neither is set)"
    # Only the alternatives are in doubt, not the whole mapping.
    yield Problem(f.path, f.custom + found, f.code, failed=tuple(jsonpath.child(f.path, name) for name in present))


def _custom_message(f: _Failure) -> Iterator[Problem]:
    """A rule with a message of our own (not, minProperties, maxProperties, a pattern...)."""
    target = f.schema.get("x-path")
    yield Problem(jsonpath.child(f.path, target) if isinstance(target, str) else f.path, f.custom or "", f.code)


def _below_minimum(f: _Failure) -> Iterator[Problem]:
    yield Problem(f.path, f"{show(f.instance)} is below the minimum {f.expected}{f.suffix}", f.code)


def _above_maximum(f: _Failure) -> Iterator[Problem]:
    yield Problem(f.path, f"{show(f.instance)} is above the maximum {f.expected}{f.suffix}", f.code)


def _no_pattern_match(f: _Failure) -> Iterator[Problem]:
    expected = f.hint if f.hint is not None else f"text matching {f.expected}"
    yield Problem(f.path, f"{f.shown} is not valid: expected {expected}", f.code)


def _too_short(f: _Failure) -> Iterator[Problem]:
    yield Problem(f.path, f"{f.shown} is too short: at least {plural(f.expected, 'character')}{f.suffix}", f.code)


def _too_long(f: _Failure) -> Iterator[Problem]:
    yield Problem(f.path, f"too long ({len(f.instance)} characters): at most {f.expected}{f.suffix}", f.code)


def _not_allowed(f: _Failure) -> Iterator[Problem]:
    options = [f.expected] if f.keyword == "const" else list(f.expected)
    yield Problem(f.path, f"{f.shown} is not valid: expected {' or '.join(map(str, options))}", f.code)


def _jsonschema_words(f: _Failure) -> Iterator[Problem]:
    """Any other keyword: jsonschema's message, unless it would quote a secret."""
    yield Problem(f.path, f.message if f.echo else f"invalid value ({f.keyword})", f.code)


_TRANSLATIONS: Mapping[str, Translation] = {
    "type": _wrong_type,
    "required": _missing_required,
    "dependentRequired": _missing_dependent,
    "additionalProperties": _unknown_fields,
    "oneOf": _not_one_alternative,
    "minimum": _below_minimum,
    "exclusiveMinimum": _below_minimum,
    "maximum": _above_maximum,
    "exclusiveMaximum": _above_maximum,
    "pattern": _no_pattern_match,
    "minLength": _too_short,
    "maxLength": _too_long,
    "enum": _not_allowed,
    "const": _not_allowed,
}
# Keywords whose translation uses our `x-message` itself, or never: for any other keyword, an
# `x-message` replaces the translation.
_OWN_MESSAGE = frozenset({"type", "required", "dependentRequired", "additionalProperties", "oneOf"})


def _translate(error: ValidationError, path: str, secret: bool) -> Iterator[Problem]:
    """One jsonschema error -> problems that say where, what is wrong and what would be valid."""
    failure = _Failure.of(error, path, secret)
    if failure.custom is not None and failure.keyword not in _OWN_MESSAGE:
        return _custom_message(failure)
    return _TRANSLATIONS.get(failure.keyword, _jsonschema_words)(failure)


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
