"""`schemas/manifest.schema.json`: well-formed, documented for editors, and in agreement with
the per-kind validators `reconciler validate` compiles from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from referencing.jsonschema import DRAFT202012

from reconciler.manifest.load import load_text
from reconciler.manifest.schema import _evolve_once, _validators, check_envelope, schema_problems
from reconciler.package_data import load_schema, schema_path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*/*.yaml"))
CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.yaml"))


def test_the_schemas_are_valid_json_schema_2020_12() -> None:
    for name in ("manifest.schema.json", "diagnostics.schema.json"):
        schema = load_schema(name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        Draft202012Validator.check_schema(schema)


def properties(schema: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(schema, dict):
        for name, sub in (schema.get("properties") or {}).items():
            yield f"{where}.{name}", sub
        for key, sub in schema.items():
            if key != "properties":
                yield from properties(sub, f"{where}/{key}")
        for name, sub in (schema.get("properties") or {}).items():
            yield from properties(sub, f"{where}.{name}")
    elif isinstance(schema, list):
        for index, sub in enumerate(schema):
            yield from properties(sub, f"{where}[{index}]")


def test_every_field_has_a_description_for_editor_hover_help() -> None:
    schema = load_schema("manifest.schema.json")
    found = list(properties(schema))
    assert len(found) > 40
    fields = [(where, sub) for where, sub in found if "/if" not in where]  # `if` holds conditions, not fields
    missing = [where for where, sub in fields if "description" not in sub and "$ref" not in sub]
    assert missing == []
    # These point at a definition whose own description is what an editor shows.
    by_ref = [where for where, sub in fields if "$ref" in sub and "description" not in sub]
    assert sorted(by_ref) == [".metadata", "/allOf[0]/then.spec", "/allOf[1]/then.spec", "/allOf[2]/then.spec"]


def test_enums_and_examples_help_completion() -> None:
    defs = load_schema("manifest.schema.json")["$defs"]
    assert load_schema("manifest.schema.json")["properties"]["kind"]["enum"] == [
        "EquinixBgpPeering",
        "AlibabaBgpGroup",
        "AlibabaBgpPeer",
    ]
    assert defs["AlibabaBgpGroupSpec"]["properties"]["ipVersion"]["examples"] == ["IPv4", "IPv6"]
    assert "markdownDescription" in defs["SecretRef"]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_point_editors_at_the_schema(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    target = (path.parent / first.split("$schema=", 1)[1]).resolve()
    assert target == schema_path("manifest.schema.json").resolve()


def documents(path: Path) -> list[tuple[str, dict[str, Any]]]:
    docs, _ = load_text(path.read_bytes().decode("utf-8", errors="replace"), path.name)
    out = []
    for doc in docs:
        kind, _ = check_envelope(doc)
        if kind is not None and not doc.unreadable:
            out.append((kind, doc.data))
    return out


def test_the_editor_schema_agrees_with_the_validator_on_examples_and_corpus() -> None:
    """Editors validate against the whole schema (kind picked by if/then); the CLI compiles one
    validator per kind. Both must accept and refuse the same documents."""
    editor = Draft202012Validator(load_schema("manifest.schema.json"))
    checked = refused = 0
    for path in [*EXAMPLES, *CORPUS]:
        for kind, data in documents(path):
            runtime_ok = not schema_problems(kind, data)
            assert editor.is_valid(data) == runtime_ok, (path.name, data)
            checked += 1
            refused += not runtime_ok
    assert (checked, refused) >= (100, 30), (checked, refused)


def _errors(validator: Any, data: Any) -> list[tuple[Any, ...]]:
    def described(error: ValidationError) -> tuple[Any, ...]:
        return (
            error.validator,
            list(error.absolute_path),
            list(error.schema_path),
            error.message,
            [described(inner) for inner in error.context or ()],
        )

    return [described(error) for error in validator.iter_errors(data)]


def test_reused_subschema_validators_find_exactly_what_fresh_ones_find() -> None:
    """The compiled validators reuse one jsonschema validator object per subschema across
    documents (`_evolve_once`). A validator class without that reuse must report the same
    errors, in the same order, for every document of the examples and the corpus, even with
    documents of all kinds interleaved and each checked twice."""
    compiled = _validators()
    fresh = {
        kind: validators.extend(Draft202012Validator, type_checker=type(v).TYPE_CHECKER)(v.schema)  # type: ignore[no-untyped-call]
        for kind, v in compiled.items()
    }
    docs = [doc for path in [*EXAMPLES, *CORPUS] for doc in documents(path)]
    for _ in range(2):
        for kind, data in docs:
            assert _errors(compiled[kind], data) == _errors(fresh[kind], data), (kind, data)
    invalid = [data for kind, data in docs if _errors(fresh[kind], data)]
    assert len(invalid) >= 25
    assert any(error[0] == "oneOf" for kind, data in docs for error in _errors(fresh[kind], data))


def test_evolve_once_reuses_a_validator_only_for_the_same_subschema_and_resolver() -> None:
    schema = {"properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}
    root: Any = Draft202012Validator(schema)
    evolve = _evolve_once(Draft202012Validator.evolve)
    a, b = schema["properties"]["a"], schema["properties"]["b"]

    first = evolve(root, schema=a, _resolver=root._resolver)
    assert evolve(root, schema=a, _resolver=root._resolver) is first
    assert evolve(root, schema=a) is first  # the resolver defaults to the root's
    assert first.schema is a and first.is_valid("x") and not first.is_valid(5)

    other = evolve(root, schema=b, _resolver=root._resolver)
    assert other is not first and other.schema is b and other.is_valid(5)

    # A resolver moved by an $id (none in our schema) gets a validator of its own.
    moved = root._resolver.in_subresource(DRAFT202012.create_resource({"$id": "https://example.com/x"}))
    assert moved is not root._resolver
    elsewhere = evolve(root, schema=a, _resolver=moved)
    assert elsewhere is not first and elsewhere._resolver is moved
    assert evolve(root, schema=a, _resolver=root._resolver) is first

    # Any other change is passed through, never reused.
    checker = FormatChecker()
    formats = evolve(root, schema=a, format_checker=checker)
    assert formats is not first and formats.format_checker is checker
