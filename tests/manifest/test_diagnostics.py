"""Printing diagnostics: text lines, JSON, the summary line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from reconciler.errors import ManifestError
from reconciler.manifest import Diagnostic, format_diagnostics
from reconciler.manifest.diagnostics import format_report, summary_line
from reconciler.package_data import load_schema
from reconciler.workflow import load_desired
from tests.manifest.builders import dump, group

BFD = Diagnostic("examples/sg.yaml", 14, 5, "spec.bfdMultiHop", "0 is below the minimum 1", code="schema.minimum")
FILE = Diagnostic("examples/x.yaml", 0, 0, "", "cannot read the file: Permission denied", code="read")
DOC = Diagnostic("examples/y.yaml", 3, 1, "", "a document must be a mapping", code="not-a-mapping")


def test_text_lines() -> None:
    assert str(BFD) == "examples/sg.yaml:14:5: spec.bfdMultiHop: 0 is below the minimum 1"
    assert str(FILE) == "examples/x.yaml: cannot read the file: Permission denied"
    assert str(DOC) == "examples/y.yaml:3:1: a document must be a mapping"
    assert format_diagnostics([BFD, DOC]) == f"{BFD}\n{DOC}"


def test_summary_lines() -> None:
    assert summary_line([], files=4, documents=12, resources=12) == "OK: 12 resources in 4 files"
    assert summary_line([], files=1, documents=1, resources=1) == "OK: 1 resource in 1 file"
    assert summary_line([BFD, FILE, DOC], files=9, documents=12, resources=0) == (
        "3 problems in 3 files (12 documents checked)"
    )
    assert summary_line([BFD], files=1, documents=1, resources=0) == "1 problem in 1 file (1 document checked)"
    warning = Diagnostic("a.yaml", 1, 1, "", "note", severity="warning")
    assert summary_line([warning], files=1, documents=1, resources=1) == "OK: 1 resource in 1 file"


def test_json_follows_its_schema() -> None:
    validator = Draft202012Validator(load_schema("diagnostics.schema.json"))
    report = json.loads(format_report([BFD, FILE], "json", files=3, documents=7, resources=0))
    validator.validate(report)
    assert report["valid"] is False
    assert report["summary"] == {
        "errors": 2,
        "warnings": 0,
        "files_with_errors": 2,
        "files_checked": 3,
        "documents": 7,
        "resources": 0,
    }
    assert report["diagnostics"][0] == {
        "file": "examples/sg.yaml",
        "line": 14,
        "col": 5,
        "path": "spec.bfdMultiHop",
        "code": "schema.minimum",
        "severity": "error",
        "message": "0 is below the minimum 1",
    }
    bare = json.loads(format_diagnostics([DOC], "json"))
    validator.validate(bare)
    assert bare == {"format_version": 1, "diagnostics": [DOC.to_json()]}


def test_one_problem_is_one_problem_where_a_command_loads_manifests(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(dump([group(peerAsn=0)]), encoding="utf-8")
    with pytest.raises(ManifestError) as raised:
        load_desired([str(tmp_path)], with_secrets=False)
    assert str(raised.value).startswith("invalid manifests (1 problem):"), str(raised.value)
