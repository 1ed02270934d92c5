"""Manifests: find the YAML files, check them (JSON Schema + semantic rules), build resources.

    key_files = secret_files(["examples"])            # where fromFile references may point
    manifests = load_manifests(["examples"], key_files)
    if not manifests.ok:
        print(format_diagnostics(manifests.diagnostics))
    resources = resolve_secrets(manifests.resources, key_files)   # when planning: reads env vars / files

`load_manifests` never raises for content problems; it returns every diagnostic. It raises
ManifestError only when there is nothing usable to read (a path that does not exist or is not a
file or folder, no files). Files read cleanly before are not parsed again, and their documents
are not checked on their own again (`manifest/cache.py`); the rules across documents run on
every load.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from reconciler.collector import paused
from reconciler.errors import ManifestError
from reconciler.manifest import jsonpath
from reconciler.manifest.cache import ManifestCache
from reconciler.manifest.diagnostics import (
    Diagnostic,
    Format,
    format_diagnostics,
    format_report,
    sort_key,
)
from reconciler.manifest.helpers import start_helpers
from reconciler.manifest.load import AliasBudget, FileResult, find_files, load_file
from reconciler.manifest.secretfiles import SecretFiles, reference_diagnostics, secret_files
from reconciler.manifest.secrets import env_reference_diagnostics, resolve_secrets
from reconciler.model import Resource, SourcePos, address_of

if TYPE_CHECKING:
    from reconciler.manifest.checked import Checked

__all__ = [
    "Diagnostic",
    "ManifestError",
    "Manifests",
    "SecretFiles",
    "format_diagnostics",
    "load_manifests",
    "resolve_secrets",
    "secret_files",
]

# Load problems after which some documents are missing (so "X not found" checks are skipped).
# A document that is not a reconciler document (no apiVersion, an unknown kind...) was read: it
# is reported, and the checks across documents still run, so that every other problem is shown.
_LOSES_DOCUMENTS = frozenset({"yaml-syntax", "yaml-tab", "encoding", "read", "file-type", "file-size", "symlink-loop"})


@dataclass(frozen=True)
class Manifests:
    """Everything read from the manifests. `resources` is empty unless there are no errors."""

    _checked: list[Checked]  # every document that passed the envelope check (`checked`)
    diagnostics: tuple[Diagnostic, ...]
    files: tuple[Path, ...]
    documents: int
    digest: str  # sha256 over the files' paths and contents: ties a saved plan to its manifests
    _by_address: dict[str, Checked] = field(default_factory=dict, repr=False, compare=False)
    key_files: SecretFiles | None = None  # where fromFile references were checked to point, if they were

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    @property
    def checked(self) -> Sequence[Checked]:
        """Every document that passed the envelope check (none once `release_documents` ran)."""
        return self._checked

    def release_documents(self) -> None:
        """Let every document go, once nothing will read one again: a plan, once its session ends
        are made (they keep what their messages quote, `LinkEnd.detached`), then holds about 1 KB
        less per resource. `checked` and `documents_by_address` are empty afterwards; the
        `resources` are made first, and stay."""
        _ = self.resources
        self._checked.clear()
        self._by_address.clear()

    @cached_property
    def resources(self) -> tuple[Resource, ...]:
        """The desired resources, one per document, made when first asked for (`validate` only
        counts them)."""
        from reconciler.manifest.desired import to_resource

        return tuple(to_resource(item) for item in self.checked) if self.ok else ()

    def documents_by_address(self) -> Mapping[str, Checked]:
        """Each declared address's document (checked: they are valid), with the source position of
        every value."""
        return self._by_address

    def position(self, address: str, json_path: str = "") -> SourcePos | None:
        """Where `json_path` (e.g. `spec.bfdMultiHop`) of resource `address` is written; the
        nearest parent's position if that path is not written out; None for an unknown address."""
        doc = self._by_address.get(address)
        if doc is None:
            return None
        line, col = doc.doc.position(json_path)
        return SourcePos(doc.doc.file, line, col)

    def report(self, fmt: Format = "text") -> str:
        """What `reconciler validate` prints: every diagnostic and a summary line."""
        return format_report(
            self.diagnostics,
            fmt,
            files=len(self.files),
            documents=self.documents,
            resources=len(self.checked) if self.ok else 0,
        )


def load_manifests(paths: Sequence[Path | str] = (".",), key_files: SecretFiles | None = None) -> Manifests:
    """Read and check every manifest below `paths` (default: the current folder). With `key_files`,
    every `fromFile` reference must point where it allows (checked without reading the file)."""
    # Reading builds hundreds of thousands of small lists and mappings, none in a cycle (a fifth
    # of the time of a warm load went to the cycle collector).
    from reconciler.manifest.checked import forget_parsed_addresses

    with paused():
        try:
            return _read_and_check(paths, key_files)
        finally:
            forget_parsed_addresses()


def _read_and_check(paths: Sequence[Path | str], key_files: SecretFiles | None) -> Manifests:
    from reconciler.manifest.rules import corpus_diagnostics

    roots = list(paths) or ["."]
    files = find_files(roots)
    if not files:
        where = ", ".join(str(p) for p in roots)
        raise ManifestError(
            f"no manifests found in {where}: expected *.yaml or *.yml files (hidden folders, "
            "state/ and what .reconcilerignore lists are skipped)",
            [Diagnostic(where, 0, 0, "", "no manifest files found", code="no-manifests")],
        )
    aliases = AliasBudget()  # one budget for every file of the run
    cache = ManifestCache.for_user()
    helpers = start_helpers(files, cache) if cache is not None else None
    split = helpers.first if helpers is not None else len(files)
    try:
        own = [load_file(path, display, aliases, cache) for path, display in files[:split]]
        first = check_files(own, cache)  # while the helpers parse the rest
        if helpers is not None:
            helpers.wait()
        rest = [load_file(path, display, aliases, cache) for path, display in files[split:]]
    finally:
        if helpers is not None:
            helpers.stop()  # only after an error (Ctrl-C) can they still be at work
    second = check_files(rest, cache)
    results = own + rest
    checked = first.checked + second.checked
    diags: list[Diagnostic] = [d for result in results for d in result.diagnostics]
    complete = not any(d.code in _LOSES_DOCUMENTS for d in diags)
    diags += first.diagnostics + second.diagnostics
    if cache is not None and (first.stored or second.stored):
        cache.prune()
    diags.extend(corpus_diagnostics(checked, complete))
    diags.extend(env_reference_diagnostics(checked))
    if key_files is not None:
        diags.extend(reference_diagnostics(checked, key_files))
    diags.sort(key=sort_key)
    by_address: dict[str, Checked] = {}
    for item in checked:
        if item.name is not None:
            by_address.setdefault(address_of(item.kind, item.name), item)
    return Manifests(
        checked,
        diagnostics=tuple(diags),
        files=tuple(path for path, _ in files),
        documents=first.documents + second.documents,
        digest=_digest((display, result.content) for (_, display), result in zip(files, results, strict=True)),
        _by_address=by_address,
        key_files=key_files,
    )


class FileChecks(NamedTuple):
    """What `check_files` found."""

    checked: list[Checked]
    diagnostics: list[Diagnostic]  # the problems of the documents (not those of reading the files)
    documents: int
    stored: bool  # some files were stored in the cache


def check_files(results: Sequence[FileResult], cache: ManifestCache | None) -> FileChecks:
    """Each file's documents through the envelope check, the schema and the rules on one document.
    With `cache`, the files read cleanly (not from it) are stored in it: the helpers of a cold run
    store theirs through this function too (`manifest/helpers.py`), so that what is clean is
    decided in one place."""
    from reconciler.manifest.checked import Checked
    from reconciler.manifest.rules import document_diagnostics
    from reconciler.manifest.schema import check_envelope, schema_problems

    diags: list[Diagnostic] = []
    checked: list[Checked] = []
    fresh: list[Checked] = []  # not from the cache: their own rules run (`cache.py`)
    documents = 0
    invalid_files: set[str] = set()  # holding a document that is not a valid reconciler document
    for result in results:
        for doc in result.documents:
            documents += 1
            kind, problems = check_envelope(doc)
            if kind is None:
                diags.extend(problems)
                invalid_files.add(doc.file)
                continue
            failed = list(doc.unreadable)
            # A document from the cache was valid under the same schema (`cache.py`).
            invalid = () if result.cached else schema_problems(kind, doc.data, doc.plain_numbers)
            for problem in invalid:
                invalid_files.add(doc.file)
                if any(jsonpath.is_within(problem.path, bad) for bad in doc.unreadable):
                    continue  # the value was reported when it was read
                line, col = doc.position(problem.path)
                diags.append(Diagnostic(doc.file, line, col, problem.path, problem.message, code=problem.code))
                failed.extend(problem.failed_paths)
            checked.append(Checked.of(doc, kind, tuple(failed)))
            if not result.cached:
                fresh.append(checked[-1])
    own = document_diagnostics(fresh)
    diags.extend(own)
    if cache is None:
        return FileChecks(checked, diags, documents, stored=False)
    unclean = invalid_files | {d.file for d in own}
    clean = [
        result
        for result in results
        if not (result.cached or result.diagnostics or result.alias_values or result.file in unclean)
    ]
    for result in clean:
        cache.put(result.file, result.content, result.documents)
    return FileChecks(checked, diags, documents, stored=bool(clean))


def _digest(files: Iterable[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256()
    for display, content in sorted(files):
        name = display.encode("utf-8")
        digest.update(len(name).to_bytes(8, "big") + name + len(content).to_bytes(8, "big") + content)
    return "sha256:" + digest.hexdigest()
