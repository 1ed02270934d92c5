"""Find manifest files and read their YAML documents, keeping the source position of every value.

PyYAML's `compose` (libyaml, in C) gives nodes with line/column marks; we build plain Python data
from the nodes ourselves so that each value's JSON path maps to its `line:col`, and so that
duplicate keys, tabs and other YAML traps become diagnostics instead of silent surprises.

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
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml  # not imported by `reconciler --help`: only commands that read manifests get here
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

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

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"  # kept as the text written (JSON has no dates)
_MERGE = "tag:yaml.org,2002:merge"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


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


class _FileAliases:
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
        return FileResult(display, (), (_diag(display, 0, 0, _unread(refusal), refusal.code),), b"")
    if cache is not None:
        stored = cache.get(display, content)
        if stored is not None:
            return FileResult(display, stored, (), content, cached=True)
    text, problem = _decode(content, display)
    if problem is not None:
        return FileResult(display, (), (problem,), content)
    if not text.strip():
        return FileResult(display, (), (_empty(display),), content)
    file_aliases = _FileAliases(aliases or AliasBudget())
    documents, diags = _parse(text, display, file_aliases)
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
    return _parse(text, display, _FileAliases(aliases or AliasBudget()))


def _empty(display: str) -> Diagnostic:
    return _diag(
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
        return "", _diag(
            display,
            line,
            col,
            f"the file is not valid UTF-8 (byte 0x{byte:02x}); save it as UTF-8",
            "encoding",
        )


def _parse(text: str, display: str, aliases: _FileAliases) -> tuple[list[Document], list[Diagnostic]]:
    documents: list[Document] = []
    diags: list[Diagnostic] = []
    loader = _Loader(text)
    index = 0
    try:
        while loader.check_node():
            root = loader.get_node()
            if root is None:
                continue
            if isinstance(root, yaml.ScalarNode) and root.tag == _NULL:
                continue  # an empty document (`---` with nothing after it) is skipped, as kubectl does
            builder = _Builder(loader, display, diags, aliases)
            data = builder.build(root, "")
            documents.append(
                Document(display, index, data, builder.positions, tuple(builder.unreadable), builder.plain_numbers)
            )
            index += 1
    except yaml.MarkedYAMLError as exc:
        diags.append(_syntax_error(exc, text, display))
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, e.g. NUL
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"invalid YAML: character #x{code:04x} ({exc.reason}); remove it"
        diags.append(_diag(display, line, col, message, "yaml-syntax"))
    except yaml.YAMLError as exc:  # should not happen with libyaml, but never crash
        diags.append(_diag(display, 1, 1, "invalid YAML: " + " ".join(str(exc).split()), "yaml-syntax"))
    finally:
        loader.dispose()
    return documents, diags


class _Loader(yaml.CSafeLoader):
    """libyaml's parser and composer with PyYAML's tags, found faster: PyYAML tries its regular
    expressions on every plain value, in Python; here each short text is resolved once and then
    looked up (a quarter of the composing time). Path resolvers, which we never register, are
    not consulted at all."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0] and len(value) <= _SHORT_TEXT:
            return _plain_tag(value)
        tag: str = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        return tag

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


_SHORT_TEXT = 100  # keeps what `_plain_tag` remembers small whatever the manifests hold
_RESOLVER = Resolver()


@lru_cache(maxsize=8192)
def _plain_tag(value: str) -> str:
    """The tag PyYAML gives a plain (unquoted) scalar written as `value`."""
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return tag


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, display: str) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = " ".join((exc.problem or "invalid YAML").split())
    lines = text.splitlines()
    found = lines[line - 1][col - 1 : col] if 0 < line <= len(lines) else ""
    if found == "\t" or "tab character" in problem:
        return _diag(display, line, col, "tab character: YAML indentation must use spaces, not tabs", "yaml-tab")
    explained = _explain(problem, exc.context or "", found)
    if explained is None:
        message = f"invalid YAML: {problem}"
        if exc.context and exc.context_mark and exc.context_mark.line + 1 != line:
            message += f" ({exc.context} started at line {exc.context_mark.line + 1})"
        return _diag(display, line, col, message, "yaml-syntax")
    plain, at_start = explained
    noticed = line
    start = exc.context_mark
    if at_start and start is not None and start.line < len(lines):
        line, col = start.line + 1, start.column + 1
    elif at_start:  # YAML began it at the end of the file: the file ended inside it
        line, col = _last_opening(lines)
    elif problem.startswith("mapping values are not allowed"):
        line, col, plain = _misplaced_colon(lines, line, col)
    message = f"invalid YAML: {plain} (YAML: {problem}"
    message += f", noticed at line {noticed})" if noticed != line else ")"
    return _diag(display, line, col, message, "yaml-syntax")


_BAD_INDENT = (
    "this line's indentation matches no level above it (the keys of one mapping line up exactly), "
    "or a list item (-) or text after a closing quote is out of place"
)
_UNCLOSED = "a [ list ] or { mapping } opened here is not closed, or its items lack a comma"
_UNCLOSED_QUOTE = "a quoted value opened here is not closed: add the closing quote"
_MISSING_VALUE = "a value is missing, or starts with a character YAML reserves (], }, ,): quote it"
# PyYAML's problem texts (libyaml's, and the pure-Python parser's where they differ), each with a
# plain explanation, and whether the mistake is where the construct began (YAML's context mark)
# rather than where YAML noticed it.
_PLAIN: tuple[tuple[str, str, bool], ...] = (
    ("mapping values are not allowed", "", False),  # worded by `_misplaced_colon`
    ("could not find expected ':'", "this line has no colon: write key: value (or - value in a list)", True),
    ("found character that cannot start any token", "", False),  # worded by `_explain`: it names the character
    ("did not find expected key", _BAD_INDENT, False),
    ("expected <block end>", _BAD_INDENT, False),
    ("expected <document start>", "text after the end of a document: start each document with ---", False),
    (
        "found undefined alias",
        "*name refers to an anchor (&name) not defined earlier in this document: define it first, "
        "or quote the value if * is meant literally",
        False,
    ),
    ("found unexpected end of stream", _UNCLOSED, True),
    ("did not find expected ',' or", _UNCLOSED, True),
    ("expected ',' or", _UNCLOSED, True),
    (
        "found unknown escape character",
        "a double-quoted value holds an unknown \\ escape: write \\\\ for a backslash, or use single quotes",
        False,
    ),
    ("second occurrence", "an anchor (&name) is defined twice in this document: rename one", False),
    ("found duplicate anchor", "an anchor (&name) is defined twice in this document: rename one", False),
    ("expected node content", _MISSING_VALUE, True),
    ("expected the node content", _MISSING_VALUE, True),
)


def _explain(problem: str, context: str, found: str) -> tuple[str, bool] | None:
    """A plain explanation of a PyYAML problem, and whether the mistake is where the construct
    began; None for a problem with no explanation here (its own text is shown)."""
    if "cannot start any token" in problem:
        return f"a value starts with {found!r}, which YAML reserves: quote the value ('{found}...')", False
    if "quoted scalar" in context and "end of stream" in problem:
        return _UNCLOSED_QUOTE, True
    if "flow node" in context and not found:  # the file ended inside a [ list ] or { mapping }
        return _UNCLOSED, True
    for words, plain, at_start in _PLAIN:
        if words in problem:
            return plain, at_start
    return None


def _last_opening(lines: list[str]) -> tuple[int, int]:
    """Where the last `[` or `{` of a file that ended inside one is (else its last line)."""
    for number in range(len(lines), 0, -1):
        text = lines[number - 1].split(" #", 1)[0]
        col = max(text.rfind("["), text.rfind("{"))
        if col >= 0:
            return number, col + 1
    return max(len(lines), 1), 1


def _misplaced_colon(lines: list[str], line: int, col: int) -> tuple[int, int, str]:
    """Where a colon YAML did not expect comes from: a key indented more than the one above it,
    a colon written without its space on the line above (`key:value` is one text, which then
    runs on), or a value holding `: `."""
    current = lines[line - 1] if 0 < line <= len(lines) else ""
    above = next(
        (n for n in range(line - 1, 0, -1) if lines[n - 1].strip() and not lines[n - 1].lstrip().startswith("#")),
        0,
    )
    if above:
        previous = lines[above - 1].split(" #", 1)[0].rstrip()
        indent, previous_indent = len(current) - len(current.lstrip()), len(previous) - len(previous.lstrip())
        if ":" in previous and ": " not in previous and not previous.endswith(":"):
            return above, previous_indent + 1, "a colon is missing the space after it (write key: value)"
        if indent > previous_indent:
            return line, indent + 1, "this key is indented more than its siblings above it: line them up"
    return line, col, "a value holds ': ', which YAML reads as a key: quote the value, or add a line break"


def _diag(file: str, line: int, col: int, message: str, code: str, path: str = "") -> Diagnostic:
    return Diagnostic(file=file, line=line, col=col, path=path, message=message, code=code)


class _Builder:
    """Turns one composed YAML node tree into plain data, recording positions on the way."""

    def __init__(self, loader: Any, file: str, diags: list[Diagnostic], aliases: _FileAliases) -> None:
        self.loader = loader
        self.file = file
        self.diags = diags
        self.aliases = aliases
        self.positions: dict[str, tuple[int, int]] = {}
        self.nodes = 0
        self.active: set[int] = set()  # nodes being built, to catch recursive aliases
        # Lists and mappings already built: meeting one again means an alias repeats it. Scalars
        # are not tracked: an alias to a scalar adds one value per alias written, like any value.
        self.built: set[int] = set()
        self.expanding = 0  # > 0 while building what an alias repeats
        self.depth = 0
        self.unreadable: list[str] = []
        self.plain_numbers = True  # until a float or a very large integer is read

    def problem(self, node: yaml.Node, path: str, message: str, code: str, unreadable: bool = True) -> None:
        if unreadable:
            self.unreadable.append(path)
        mark = node.start_mark
        self.diags.append(_diag(self.file, mark.line + 1, mark.column + 1, message, code, path))

    def build(self, node: yaml.Node, path: str) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES_PER_DOCUMENT:
            if self.nodes == MAX_NODES_PER_DOCUMENT + 1:
                self.problem(node, path, "the document is too large (too many values or aliases)", "yaml-size")
            return None
        if self.expanding and not self.aliases.take():  # within what an alias repeats: counted
            return self.refuse_alias(node, path)
        mark = node.start_mark
        if path not in self.positions:  # a merged (<<) value keeps the position written explicitly
            self.positions[path] = _position(mark.line + 1, mark.column + 1)
        if node.tag == _STR and type(node) is yaml.ScalarNode:  # most values: plain strings
            return node.value
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.active:
            self.problem(node, path, "a YAML alias refers to itself (recursive data is not allowed)", "yaml-alias")
            return None
        if self.depth >= MAX_DEPTH:
            self.problem(node, path, f"the document nests more than {MAX_DEPTH} levels deep", "yaml-size")
            return None
        # A list or mapping met again is one an alias repeats: it and all it holds are counted.
        repeated = id(node) in self.built
        if repeated and not self.expanding and not self.aliases.take():
            return self.refuse_alias(node, path)
        if repeated:
            self.expanding += 1
        else:
            self.built.add(id(node))
        self.active.add(id(node))
        self.depth += 1
        try:
            if isinstance(node, yaml.SequenceNode):
                self.check_tag(node, path, _SEQ)
                return [self.build(item, _child(path, i)) for i, item in enumerate(node.value)]
            assert isinstance(node, yaml.MappingNode)
            self.check_tag(node, path, _MAP)
            return self.mapping(node, path)
        finally:
            self.depth -= 1
            self.active.discard(id(node))
            if repeated:
                self.expanding -= 1

    def refuse_alias(self, node: yaml.Node, path: str) -> None:
        """Drop a value an alias repeats beyond the limits: reported once per file, and marked
        unreadable so that no rule looks at it."""
        if not self.aliases.reported and self.aliases.refusal is not None:
            self.aliases.reported = True
            self.problem(node, path, self.aliases.refusal, "yaml-size")
        else:
            self.unreadable.append(path)

    def check_tag(self, node: yaml.Node, path: str, expected: str) -> None:
        if node.tag != expected:
            self.problem(node, path, f"unsupported YAML tag {node.tag!r}: manifests use plain YAML", "yaml-tag")

    def scalar(self, node: yaml.ScalarNode, path: str) -> Any:
        tag = node.tag
        if tag in (_STR, _TIMESTAMP):
            return node.value
        if tag == _NULL:
            return None
        try:
            if tag == _BOOL:
                return SafeConstructor.construct_yaml_bool(self.loader, node)
            if tag == _INT:
                number = SafeConstructor.construct_yaml_int(self.loader, node)
                if not _INT64_MIN <= number <= _INT64_MAX:
                    self.plain_numbers = False
                return number
            if tag == _FLOAT:
                self.plain_numbers = False
                return SafeConstructor.construct_yaml_float(self.loader, node)
        except ValueError:  # e.g. an integer with thousands of digits
            self.problem(node, path, "the number is too large to read", "yaml-number")
            return None
        self.problem(node, path, f"unsupported YAML tag {tag!r}: manifests use plain YAML", "yaml-tag")
        return node.value

    def mapping(self, node: yaml.MappingNode, path: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        key_nodes: dict[str, yaml.Node] = {}
        merges: list[yaml.Node] = []
        positions = self.positions
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                message = "a mapping key must be a plain string, not a list or mapping"
                self.problem(key_node, path, message, "yaml-key", unreadable=False)
                continue
            key = key_node.value if key_node.tag == _STR else self.scalar(key_node, path)
            if not isinstance(key, str):
                self.problem(
                    key_node,
                    path,
                    f"the key {key_node.value!r} is read by YAML as {_yaml_type(key)}; "
                    f'keys must be strings: quote it ("{key_node.value}")',
                    "yaml-key",
                    unreadable=False,
                )
                continue
            child_path = _child(path, key)
            if key in key_nodes:
                first = key_nodes[key].start_mark.line + 1
                self.problem(
                    key_node,
                    child_path,
                    f"duplicate key {key!r} (first defined at line {first}); keys must be unique in a mapping",
                    "yaml-duplicate-key",
                    unreadable=False,
                )
                continue
            key_nodes[key] = key_node
            if (
                type(value_node) is yaml.ScalarNode
                and value_node.tag == _STR
                and not self.expanding
                and self.nodes < MAX_NODES_PER_DOCUMENT
            ):
                # Most values are plain strings: what `build` does for one, without the call.
                self.nodes += 1
                if child_path not in positions:
                    mark = value_node.start_mark
                    positions[child_path] = _position(mark.line + 1, mark.column + 1)
                out[key] = value_node.value
                continue
            if isinstance(value_node, yaml.CollectionNode) and not value_node.flow_style:
                # A block mapping or list starts on the line after its key: point at the key.
                mark = key_node.start_mark
                positions.setdefault(child_path, _position(mark.line + 1, mark.column + 1))
            out[key] = self.build(value_node, child_path)
        for merge in merges:
            self.merge(merge, path, out)
        return out

    def merge(self, node: yaml.Node, path: str, out: dict[str, Any]) -> None:
        """`<<: *anchor` (or a list of anchors): keys written explicitly win."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                self.problem(source, path, "a merge key (<<) must refer to a mapping", "yaml-merge")
                continue
            merged = self.build(source, path)
            if isinstance(merged, dict):  # None when the merge refers to itself (reported)
                for key, value in merged.items():
                    out.setdefault(key, value)


@lru_cache(maxsize=8192)  # the same few paths recur in every document
def _child(path: str, key: str | int) -> str:
    return jsonpath.child(path, key)


@lru_cache(maxsize=65536)
def _position(line: int, col: int) -> tuple[int, int]:
    """One `(line, col)` tuple for every document with a value there. 10,000 documents hold
    230,000 positions; sharing them leaves a few thousand objects for the garbage collector
    to scan instead (7% of the load time)."""
    return (line, col)


def _yaml_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    return f"the number {value}"
