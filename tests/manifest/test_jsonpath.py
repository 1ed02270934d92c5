"""JSON paths as printed in diagnostics."""

from __future__ import annotations

import pytest

from reconciler.manifest import jsonpath


def test_child_and_join_quote_only_keys_that_need_it() -> None:
    assert jsonpath.child("", "spec") == "spec"
    assert jsonpath.child("spec", "bfdMultiHop") == "spec.bfdMultiHop"
    assert jsonpath.child("metadata.driftIgnore", 0) == "metadata.driftIgnore[0]"
    assert jsonpath.child("metadata.labels", "cost-center") == "metadata.labels.cost-center"
    assert jsonpath.child("metadata.labels", "app.kubernetes.io/name") == 'metadata.labels["app.kubernetes.io/name"]'
    assert jsonpath.child("", "has space") == '["has space"]'
    assert jsonpath.join(["metadata", "driftIgnore", 2, "field"]) == "metadata.driftIgnore[2].field"


@pytest.mark.parametrize(
    ("path", "parent"),
    [
        ("spec.bfdMultiHop", "spec"),
        ("spec", ""),
        ("", ""),
        ("metadata.driftIgnore[0].field", "metadata.driftIgnore[0]"),
        ("metadata.driftIgnore[10]", "metadata.driftIgnore"),
        ('metadata.labels["a.b/c"]', "metadata.labels"),
        ('metadata.labels["say \\"hi\\""]', "metadata.labels"),
    ],
)
def test_parent(path: str, parent: str) -> None:
    assert jsonpath.parent(path) == parent


def test_is_within() -> None:
    assert jsonpath.is_within("spec.authKey.fromEnv", "spec.authKey")
    assert jsonpath.is_within("spec.authKey", "spec.authKey")
    assert jsonpath.is_within("metadata.driftIgnore[1].field", "metadata.driftIgnore")
    assert jsonpath.is_within("anything", "")
    assert not jsonpath.is_within("spec.authKeyX", "spec.authKey")
    assert not jsonpath.is_within("spec", "spec.authKey")
