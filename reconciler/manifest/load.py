"""Find manifest files and read them, keeping the source position of every value: a file read
cleanly before comes from the manifest cache (`cache.py`), any other is parsed (`parse.py`).

Manifests may come from an unreviewed pull request, so reading is bounded: only regular files are
read (a FIFO, a device or a symbolic link loop is a diagnostic, never a hang), at most
`MAX_FILE_BYTES` of each, and the values YAML aliases add are limited per document, per file and
over all the files of one run (`AliasBudget`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.errors import ManifestError
from reconciler.manifest import jsonpath
from reconciler.manifest.diagnostics import Diagnostic
from reconciler.manifest.files import Refusal, file_kind, file_mode, git_top, read_regular_file, within

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

    from reconciler.manifest.cache import ManifestCache

IGNORE_FILE = ".reconcilerignore"
SKIPPED_DIRS = frozenset({"state"})
YAML_SUFFIXES = (".yaml", ".yml")
MAX_NODES_PER_DOCUMENT = 100_000  # a real manifest has ~30; this stops alias bombs
MAX_DEPTH = 64  # a real manifest nests 4 deep; this keeps recursion far from Python's limit
# A file of a hundred resources is about 30 KB: 1 MiB is generous, and bounds what one file costs.
MAX_FILE_BYTES = 1024 * 1024
# Values built through YAML aliases. Anchors do not cross documents, so the per-document bound
# alone let a 20 KB file of many small alias bombs grow to 941 MB; these bound a file and a run.
# Real manifests reuse a few values through merge keys (`<<: *base`): ~10 per resource.
MAX_ALIAS_VALUES_PER_FILE = 100_000
MAX_ALIAS_VALUES_PER_RUN = 1_000_000


@dataclass(frozen=True, slots=True, eq=False)
class Document:
    """One YAML document: plain data plus the position of every JSON path in it."""

    file: str  # as displayed (the path given, joined with the file's relative path)
    index: int  # 0-based number of the document in its file
    data: Any
    positions: Mapping[str, tuple[int, int]] = field(repr=False)
    # Paths whose value could not be read as written (a recursive alias, an unknown tag...):
    # already reported, so the schema and rules leave them alone.
    unreadable: tuple[str, ...] = ()
    # True when every number in `data` is an integer of at most 64 bits, which any JSON Schema
    # validator reads as we do (a float may pass as an integer elsewhere): `schema_problems`.
    plain_numbers: bool = False

    @property
    def line(self) -> int:
        return self.positions[""][0]

    @property
    def col(self) -> int:
        return self.positions[""][1]

    def position(self, path: str) -> tuple[int, int]:
        """`(line, col)` of the value at `path`, or of its nearest parent that exists."""
        while path not in self.positions and path:
            path = jsonpath.parent(path)
        return self.positions.get(path, self.positions[""])


@dataclass(frozen=True, slots=True)
class FileResult:
    file: str
    documents: tuple[Document, ...]
    diagnostics: tuple[Diagnostic, ...]
    content: bytes
    alias_values: int = 0  # values YAML aliases added, counted against the run's budget
    cached: bool = False  # the documents came from the manifest cache


class AliasBudget:
    """How many values YAML aliases may add over all the files of one run (`load_manifests` makes
    one per run; each file also has its own share, `per_file`)."""

    def __init__(self, per_file: int = MAX_ALIAS_VALUES_PER_FILE, per_run: int = MAX_ALIAS_VALUES_PER_RUN) -> None:
        self.per_file = per_file
        self.per_run = per_run
        self.used = 0


class FileAliases:
    """The values aliases added in one file, against the file's and the run's limits."""

    def __init__(self, budget: AliasBudget) -> None:
        self.budget = budget
        self.used = 0
        self.refusal: str | None = None  # set when a limit was reached: every later alias value is dropped
        self.reported = False

    def take(self) -> bool:
        """Count one value built through an alias; False once a limit is reached."""
        if self.refusal is not None:
            return False
        budget = self.budget
        if self.used >= budget.per_file:
            self.refusal = (
                f"YAML aliases in this file expand to more than {budget.per_file:,} values, the limit for one "
                "file (a few bytes of aliases can expand to millions of values): write the values out, or "
                "use fewer aliases"
            )
            return False
        if budget.used >= budget.per_run:
            self.refusal = (
                f"YAML aliases in the manifests expand to more than {budget.per_run:,} values, the limit for "
                "all the files of one run, reached in this file: write the values out, or use fewer aliases"
            )
            return False
        self.used += 1
        budget.used += 1
        return True


# --- finding files ---------------------------------------------------------------------------


def find_files(paths: Sequence[Path | str]) -> list[tuple[Path, str]]:
    """Every manifest file below `paths`, as (path, display name), sorted within each path.

    A directory is searched for `*.yaml`/`*.yml`, skipping hidden files and folders, folders
    named `state`, and whatever a `.reconcilerignore` file lists. A file named explicitly is
    always read. Raises ManifestError if a path does not exist, or is neither a file nor a
    folder (a FIFO, a device, a symbolic link loop).
    """
    missing = [str(p) for p in paths if not os.path.lexists(p)]
    if missing:
        raise ManifestError(
            f"path not found: {', '.join(missing)} (give manifest files or folders that exist; "
            "the default is the current folder)",
            [Diagnostic(path, 0, 0, "", "path not found", code="path-not-found") for path in missing],
        )
    found: list[tuple[Path, str]] = []
    seen: set[str] = set()
    problems: list[Diagnostic] = []
    for given in paths:
        root = Path(given)
        mode, refusal = file_mode(root)
        if refusal is None and not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
            refusal = Refusal(file_kind(mode), "file-type")
        if refusal is not None:
            message = f"it is {refusal.what}: give manifest files (*.yaml) or folders that hold them"
            problems.append(Diagnostic(str(given), 0, 0, "", message, code=refusal.code))
            continue
        # A file found in a folder (not named on the command line, so possibly a pull request's)
        # must really be inside the repository: a symbolic link out of it could make `plan` read
        # and quote any file on the CI runner.
        boundary = _boundary(root) if stat.S_ISDIR(mode) else None
        for candidate in _walk(root) if stat.S_ISDIR(mode) else [root]:
            real = os.path.realpath(candidate)  # never raises, even for a symbolic link loop
            if boundary is not None and not within(real, boundary):
                message = f"it is a symbolic link out of {boundary}: manifests found in a folder must be inside it"
                problems.append(Diagnostic(candidate.as_posix(), 0, 0, "", message, code="symlink-out"))
                continue
            if real not in seen:
                seen.add(real)
                found.append((candidate, candidate.as_posix()))
    if problems:
        lines = "\n".join(f"  {d}" for d in problems)
        raise ManifestError(f"cannot read the manifest paths:\n{lines}", problems)
    return found


def _boundary(folder: Path) -> str:
    """Where files found in `folder` must really be: its Git work tree, else the folder itself."""
    real = os.path.realpath(folder)
    return git_top(real) or real


def _walk(root: Path) -> list[Path]:
    files: list[Path] = []
    # Ignore files in force per directory, shallowest first: (directory holding the file, its rules).
    rules_for: dict[str, list[tuple[str, GitIgnoreSpec]]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rules = rules_for.pop(dirpath, [])
        if IGNORE_FILE in filenames:
            rules = [*rules, (dirpath, _read_ignore(Path(dirpath) / IGNORE_FILE))]
        kept = []
        for name in sorted(dirnames):
            full = os.path.join(dirpath, name)
            if name.startswith(".") or name in SKIPPED_DIRS or _ignored(full, True, rules):
                continue  # and everything below it: as in git, no pattern brings it back
            kept.append(name)
            rules_for[full] = rules
        dirnames[:] = kept
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            if name.endswith(YAML_SUFFIXES) and not name.startswith(".") and not _ignored(full, False, rules):
                files.append(Path(full))
    return sorted(files, key=lambda path: path.parts)


def _read_ignore(path: Path) -> GitIgnoreSpec:
    """The rules of one ignore file, in gitignore's syntax (an unreadable file has none)."""
    from pathspec import GitIgnoreSpec  # imported only where an ignore file exists

    content, problem = read_regular_file(path, MAX_FILE_BYTES)
    try:
        lines = [] if problem is not None else content.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError:
        lines = []
    try:
        return GitIgnoreSpec.from_lines(lines)
    except ValueError:  # a pattern git cannot use either (`!` alone, a trailing `\`) matches nothing
        usable = []
        for line in lines:
            try:
                GitIgnoreSpec.from_lines([line])
            except ValueError:
                continue
            usable.append(line)
        return GitIgnoreSpec.from_lines(usable)


def _ignored(full: str, is_dir: bool, rules: list[tuple[str, GitIgnoreSpec]]) -> bool:
    """gitignore's rules: each file's patterns are relative to its folder, the last pattern that
    matches decides (`!` brings a path back), and a deeper file overrides a shallower one."""
    for base, spec in reversed(rules):
        relative = Path(os.path.relpath(full, base)).as_posix()
        verdict = spec.check_file(relative + "/" if is_dir else relative).include  # "dir/": folder-only patterns
        if verdict is not None:
            return verdict
    return False


# --- reading files ---------------------------------------------------------------------------


def load_file(
    path: Path, display: str, aliases: AliasBudget | None = None, cache: ManifestCache | None = None
) -> FileResult:
    """Read one file: its documents (with positions) and any problems reading it. `aliases` is
    the run's alias budget (a file read alone has a budget of its own). With `cache`, a file
    whose content was read cleanly before is not parsed again (`manifest/cache.py`)."""
    content, refusal = read_regular_file(path, MAX_FILE_BYTES)
    if refusal is not None:
        return FileResult(display, (), (diagnostic(display, 0, 0, _unread(refusal), refusal.code),), b"")
    if cache is not None:
        stored = cache.get(display, content)
        if stored is not None:
            return FileResult(display, stored, (), content, cached=True)
    text, problem = _decode(content, display)
    if problem is not None:
        return FileResult(display, (), (problem,), content)
    if not text.strip():
        return FileResult(display, (), (_empty(display),), content)
    from reconciler.manifest.parse import parse_text  # PyYAML: only when a file is parsed

    file_aliases = FileAliases(aliases or AliasBudget())
    documents, diags = parse_text(text, display, file_aliases)
    if not documents and not diags:
        diags.append(_empty(display))
    return FileResult(display, tuple(documents), tuple(diags), content, file_aliases.used)


def _unread(refusal: Refusal) -> str:
    """Why a manifest file was not read, and what would be valid."""
    if refusal.code == "file-size":
        return f"the file is {refusal.what}, the limit for one manifest file (1 MiB): split it into several files"
    if refusal.code == "read":
        return f"cannot read the file: it is {refusal.what}"
    return (
        f"cannot read the file: it is {refusal.what}; manifests are regular files "
        f"(fix or remove it, or list it in {IGNORE_FILE})"
    )


def load_text(text: str, display: str, aliases: AliasBudget | None = None) -> tuple[list[Document], list[Diagnostic]]:
    """Parse YAML text already in memory (used by tests and to re-find positions)."""
    from reconciler.manifest.parse import parse_text

    return parse_text(text, display, FileAliases(aliases or AliasBudget()))


def _empty(display: str) -> Diagnostic:
    return diagnostic(
        display,
        1,
        1,
        "the file is empty: a manifest file holds one or more reconciler documents "
        f"(delete it, or list it in {IGNORE_FILE})",
        "empty-file",
    )


def _decode(content: bytes, display: str) -> tuple[str, Diagnostic | None]:
    if content.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark is harmless
        content = content[3:]
    try:
        return content.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        col = exc.start - (content.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = content[exc.start]
        return "", diagnostic(
            display,
            line,
            col,
            f"the file is not valid UTF-8 (byte 0x{byte:02x}); save it as UTF-8",
            "encoding",
        )


def diagnostic(file: str, line: int, col: int, message: str, code: str, path: str = "") -> Diagnostic:
    return Diagnostic(file=file, line=line, col=col, path=path, message=message, code=code)
