"""Diagnostics: one problem found in the manifests, and how to print a list of them.

Text output is one line per problem, `file:line:col: json.path: message`, the shape editors and
CI problem matchers already understand. JSON output is a stable, versioned object described by
`schemas/diagnostics.schema.json`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from reconciler.words import plural

DIAGNOSTICS_FORMAT_VERSION = 1

Severity = Literal["error", "warning"]
Format = Literal["text", "json"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem. `line`/`col` are 1-based; 0 means "the whole file" (no position)."""

    file: str
    line: int
    col: int
    path: str  # JSON path inside the document, e.g. `spec.bfdMultiHop`; "" for the document/file
    message: str
    severity: Severity = "error"
    code: str = ""  # short rule id, e.g. `bfd-range`, `yaml-syntax`, `schema.type`

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "path": self.path,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
        }


def sort_key(diag: Diagnostic) -> tuple[str, int, int, str, str]:
    return (diag.file, diag.line, diag.col, diag.path, diag.message)


def format_diagnostics(diags: Sequence[Diagnostic], fmt: Format = "text") -> str:
    """Diagnostics alone: text lines, or the JSON object without a summary."""
    if fmt == "json":
        return json.dumps(
            {"format_version": DIAGNOSTICS_FORMAT_VERSION, "diagnostics": [d.to_json() for d in diags]},
            indent=2,
        )
    return "\n".join(str(d) for d in diags)


def summary_line(diags: Sequence[Diagnostic], *, files: int, documents: int, resources: int) -> str:
    """`3 problems in 2 files (12 documents checked)` or `OK: 12 resources in 4 files`."""
    errors = [d for d in diags if d.severity == "error"]
    if not errors:
        return f"OK: {plural(resources, 'resource')} in {plural(files, 'file')}"
    files_with_errors = len({d.file for d in errors})
    return (
        f"{plural(len(errors), 'problem')} in {plural(files_with_errors, 'file')} "
        f"({plural(documents, 'document')} checked)"
    )


def format_report(diags: Sequence[Diagnostic], fmt: Format, *, files: int, documents: int, resources: int) -> str:
    """What `reconciler validate` prints: the diagnostics and a summary."""
    errors = sum(1 for d in diags if d.severity == "error")
    if fmt == "json":
        return json.dumps(
            {
                "format_version": DIAGNOSTICS_FORMAT_VERSION,
                "valid": errors == 0,
                "summary": {
                    "errors": errors,
                    "warnings": len(diags) - errors,
                    "files_with_errors": len({d.file for d in diags if d.severity == "error"}),
                    "files_checked": files,
                    "documents": documents,
                    "resources": resources,
                },
                "diagnostics": [d.to_json() for d in diags],
            },
            indent=2,
        )
    lines = [str(d) for d in diags]
    lines.append(summary_line(diags, files=files, documents=documents, resources=resources))
    return "\n".join(lines)
