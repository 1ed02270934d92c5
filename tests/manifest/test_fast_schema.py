"""The compiled validator that recognises valid documents (`jsonschema_rs`) never changes what
`reconciler validate` reports: for every document, the problems found with it are exactly those
`jsonschema` alone finds, in the same order and words."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.manifest import load_manifests
from reconciler.manifest.load import Document, load_text
from reconciler.manifest.schema import _valid, check_envelope, schema_problems
from tests.manifest.builders import dump, equinix

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*sorted((ROOT / "examples").glob("*/*.yaml")), *sorted((Path(__file__).parent / "corpus").glob("*.yaml"))]


def reconciler_documents() -> list[tuple[str, Document]]:
    out = []
    for path in SOURCES:
        docs, _ = load_text(path.read_bytes().decode("utf-8", errors="replace"), path.name)
        for doc in docs:
            kind, _ = check_envelope(doc)
            if kind is not None:
                out.append((kind, doc))
    return out


DOCUMENTS = reconciler_documents()


def plain(value: Any) -> bool:
    """Every number an integer of at most 64 bits (what `Document.plain_numbers` says)."""
    if isinstance(value, dict):
        return all(plain(item) for item in value.values())
    if isinstance(value, list):
        return all(plain(item) for item in value)
    if isinstance(value, float):
        return False
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**63) <= value < 2**63
    return True


def test_the_examples_and_the_corpus_get_the_same_problems_with_the_compiled_validator() -> None:
    assert len(DOCUMENTS) > 80
    invalid = 0
    for kind, doc in DOCUMENTS:
        assert doc.plain_numbers == plain(doc.data), doc.data
        slow = schema_problems(kind, doc.data)
        assert schema_problems(kind, doc.data, doc.plain_numbers) == slow, (doc.file, doc.data)
        if doc.plain_numbers and _valid(kind, doc.data):
            assert slow == [], (doc.file, slow)  # never valid where jsonschema finds a problem
        invalid += bool(slow)
    assert invalid >= 25


def test_a_float_where_an_integer_is_expected_is_still_refused() -> None:
    """JSON Schema (and so the compiled validator) accepts 65010.0 as an integer; reconciler does
    not, since YAML wrote a float. Such a document is always checked by jsonschema."""
    [doc], _ = load_text(dump([equinix(localAsn=65010.0)]), "t.yaml")
    assert doc.data["spec"]["localAsn"] == 65010.0 and not doc.plain_numbers
    assert _valid("EquinixBgpPeering", doc.data)  # what the shortcut would have concluded
    messages = [problem.message for problem in schema_problems("EquinixBgpPeering", doc.data, doc.plain_numbers)]
    assert messages == ["expected an integer, got the number 65010.0 (ASN range 1..4294967295)"]


def test_an_integer_beyond_64_bits_is_checked_by_jsonschema() -> None:
    [doc], _ = load_text(dump([equinix(remoteAsn=2**64 + 5)]), "t.yaml")
    assert not doc.plain_numbers
    [problem] = schema_problems("EquinixBgpPeering", doc.data, doc.plain_numbers)
    assert problem.path == "spec.remoteAsn" and "above the maximum 4294967295" in problem.message


def test_validate_reports_a_float_asn_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(dump([equinix(localAsn=65010.0)]))
    manifests = load_manifests([tmp_path])
    assert [(d.path, d.message) for d in manifests.diagnostics if d.severity == "error"] == [
        ("spec.localAsn", "expected an integer, got the number 65010.0 (ASN range 1..4294967295)")
    ]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=12)
    | st.sampled_from(["ipv4", "IPv6", "10.0.0.1", "10.0.0.1/30", "vbr-abc", "abc\n", "65010", "", "a" * 70]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


def paths(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every mapping key path in a document, so that a mutation can replace or add any value."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(paths(item, (*prefix, key)))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_change_to_a_document_gets_the_same_problems_with_the_compiled_validator(data: st.DataObject) -> None:
    kind, doc = data.draw(st.sampled_from(DOCUMENTS))
    mutated = copy.deepcopy(doc.data)
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(paths(mutated)))
        value = data.draw(json_values)
        target = mutated
        for key in where[:-1]:
            target = target[key]
        if not where:
            continue
        if data.draw(st.booleans()) and isinstance(target.get(where[-1]), dict):
            target[where[-1]][data.draw(st.text(max_size=12))] = value  # an extra or replaced field
        else:
            target[where[-1]] = value
    if not isinstance(mutated, dict):
        return
    slow = schema_problems(kind, mutated)
    assert schema_problems(kind, mutated, plain(mutated)) == slow
