"""Parse YAML text into documents that know the source position of every value (`load.py` finds
and reads the files; this module is imported only when one is parsed, not when every file comes
from the manifest cache).

PyYAML's `compose` (libyaml, in C) gives nodes with line/column marks; we build plain Python data
from the nodes ourselves so that each value's JSON path maps to its `line:col`, and so that
duplicate keys, tabs and other YAML traps become diagnostics instead of silent surprises.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from reconciler.manifest import jsonpath
from reconciler.manifest.diagnostics import Diagnostic
from reconciler.manifest.load import MAX_DEPTH, MAX_NODES_PER_DOCUMENT, Document, FileAliases, diagnostic

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


def parse_text(text: str, display: str, aliases: FileAliases) -> tuple[list[Document], list[Diagnostic]]:
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
        diags.append(diagnostic(display, line, col, message, "yaml-syntax"))
    except yaml.YAMLError as exc:  # should not happen with libyaml, but never crash
        diags.append(diagnostic(display, 1, 1, "invalid YAML: " + " ".join(str(exc).split()), "yaml-syntax"))
    finally:
        loader.dispose()
    return documents, diags


class _Loader(yaml.CSafeLoader):
    """libyaml's parser and composer with PyYAML's tags, found faster: PyYAML tries its regular
    expressions on every plain value, in Python; here each short text is resolved once and then
    looked up (a quarter of the composing time). Path resolvers, which we never register, are
    not consulted at all: a quoted value, a mapping and a sequence get PyYAML's default tags at
    once."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return _STR  # quoted (or a block scalar): text, as PyYAML has it with no path resolver
            if len(value) <= _SHORT_TEXT:
                return _plain_tag(value)
        elif kind is yaml.MappingNode:
            return _MAP
        elif kind is yaml.SequenceNode:
            return _SEQ
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
        return diagnostic(display, line, col, "tab character: YAML indentation must use spaces, not tabs", "yaml-tab")
    explained = _explain(problem, exc.context or "", found)
    if explained is None:
        message = f"invalid YAML: {problem}"
        if exc.context and exc.context_mark and exc.context_mark.line + 1 != line:
            message += f" ({exc.context} started at line {exc.context_mark.line + 1})"
        return diagnostic(display, line, col, message, "yaml-syntax")
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
    return diagnostic(display, line, col, message, "yaml-syntax")


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


class _Builder:
    """Turns one composed YAML node tree into plain data, recording positions on the way."""

    def __init__(self, loader: Any, file: str, diags: list[Diagnostic], aliases: FileAliases) -> None:
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
        self.diags.append(diagnostic(self.file, mark.line + 1, mark.column + 1, message, code, path))

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
