"""Reading what clients send, within bounds (docs/sandbox.md, Limits).

Request bodies, JSON, integers written as text and YAML seeds are read here. Every bound is
checked before or while parsing, so hostile input (100,000-deep JSON, 5,000-digit numbers, YAML
alias bombs) becomes an `InputError` that names the bound, which each API turns into its own 4xx:
never a 500, a RecursionError or a blow-up of memory. Messages never quote the input beyond
`shown`'s short excerpt.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Protocol

import yaml
from aiohttp import web
from yaml.constructor import SafeConstructor

MAX_API_BODY = 256 * 1024  # bytes of an API request body; real ones are under 1 KB
MAX_ADMIN_BODY = 1024 * 1024  # bytes of a /_sandbox/ request body (a seed of thousands of items)
MAX_DEPTH = 32  # nesting of a JSON body or a seed; real ones nest 1-5 deep
MAX_NUMBER_LENGTH = 40  # characters of a number (JSON, YAML, a query or form parameter)
MAX_PARAMETERS = 200  # query plus form parameters of an Alibaba call; the SDK sends about 20
MAX_SEED_VALUES = 250_000  # values of a seed once YAML aliases are expanded (~50,000 items)

# libyaml when installed (much faster). Both parse events without recursion; composing recurses,
# so it only runs once the events showed the nesting is bounded.
_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"  # kept as the text written (JSON has no dates)
_MERGE = "tag:yaml.org,2002:merge"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"

_JSON_STRING_OR_BRACKET = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_INTEGER = re.compile(r"-?[0-9]+")


class _Mark(Protocol):
    line: int  # 0-based, as PyYAML and libyaml count
    column: int


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


class InputError(ValueError):
    """Input that is unreadable or over a bound; the message says what would be valid."""

    def __init__(self, message: str, *, too_large: bool = False, position: Position | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.too_large = too_large  # the body is over its size bound (HTTP 413 where the API has it)
        self.position = position

    def sentence(self) -> str:
        """The message as a sentence, for APIs whose errors are prose."""
        return self.message[:1].upper() + self.message[1:] + "."

    def where(self, source: str) -> str:
        """`source:line:col` (or `source` when the position is unknown)."""
        return source if self.position is None else f"{source}:{self.position.line}:{self.position.column}"


def shown(value: object, limit: int = 60) -> str:
    """`repr(value)`, cut to `limit` characters: messages quote input, never much of it."""
    try:
        text = repr(value)
    except ValueError:  # an int of more digits than Python prints
        return "(a number too long to show)"
    return text if len(text) <= limit else f"{text[: limit - 3]}... ({len(text):,} characters)"


# -- bodies ------------------------------------------------------------------------------------


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, refused before reading when it says (or showed) it is over `limit` bytes.

    Asking again is safe: aiohttp keeps a body read whole, and one refused part-way has already
    received more than `limit` bytes, so it is refused again rather than read on from the middle.
    """
    too_large = InputError(f"the request body is larger than {limit:,} bytes", too_large=True)
    received = request.content.total_bytes
    if (request.content_length is not None and request.content_length > limit) or received > limit:
        raise too_large
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:  # a chunked body over the application's bound
        raise too_large from None
    if len(raw) > limit:
        raise too_large
    return raw


# -- JSON --------------------------------------------------------------------------------------


def parse_json_object(raw: bytes) -> dict[str, object]:
    """A JSON object, its nesting bounded before parsing and its numbers while parsing.

    Python's json would raise RecursionError on deep nesting and spend quadratic time on (then
    refuse) integers of thousands of digits; NaN and Infinity are not JSON.
    """
    _check_json_depth(raw)
    try:
        body = json.loads(raw, parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant)
    except InputError:
        raise
    except ValueError:  # JSONDecodeError, or bytes that are not UTF-8
        raise InputError("the request body is not valid JSON (a JSON object is expected)") from None
    if not isinstance(body, dict):
        raise InputError(f"the request body must be a JSON object, not {_json_type(body)}")
    return body


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "true or false" if isinstance(value, bool) else "a number"


def _check_json_depth(raw: bytes) -> None:
    depth = 0
    for match in _JSON_STRING_OR_BRACKET.finditer(raw):  # strings are skipped whole
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(f"the JSON nests more than {MAX_DEPTH} levels deep")
        elif token in (b"]", b"}"):
            depth -= 1


def _check_number_length(text: str) -> None:
    if len(text) > MAX_NUMBER_LENGTH:
        raise InputError(f"a number has {len(text):,} characters; numbers may have at most {MAX_NUMBER_LENGTH}")


def _json_int(text: str) -> int:
    _check_number_length(text)
    return int(text)


def _json_float(text: str) -> float:
    _check_number_length(text)
    return float(text)


def _json_constant(name: str) -> float:
    raise InputError(f"{name} is not a JSON number; use a finite number")


# -- integers written as text (query and form parameters) ---------------------------------------


def decimal_integer(text: str) -> int | None:
    """`text` as a base-10 integer, optionally negative (never `²` or `1_0`, which `int()` reads or
    chokes on), or None when it is no such integer. InputError when it has more than
    MAX_NUMBER_LENGTH digits: that is not parsed at all (5,000 digits would make `int()` raise)."""
    stripped = text.strip()
    if not _INTEGER.fullmatch(stripped):
        return None
    digits = len(stripped.lstrip("-"))
    if digits > MAX_NUMBER_LENGTH:
        raise InputError(f"has {digits:,} digits; a number has at most {MAX_NUMBER_LENGTH}")
    return int(stripped)


# -- YAML ----------------------------------------------------------------------------------------


def read_yaml(text: str) -> tuple[object, yaml.Node | None]:
    """One YAML document as plain JSON-like data, and its node tree (for error positions).

    Nesting and the number of values are checked on the parser's events before anything is
    composed; aliases (and `<<` merges) are then expanded with a count, so a kilobyte of aliases
    cannot become megabytes. Timestamps stay text; other tags than plain YAML's are refused.
    """
    loader = _LOADER(text)
    try:
        _check_events(text)
        node = loader.get_single_node()
        data = _Builder(loader).build(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise _yaml_error(exc) from None
    finally:
        loader.dispose()
    return data, node


def _check_events(text: str) -> None:
    """Nesting and the number of values written, from the parser's events (it keeps its own stack)."""
    depth = values = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.NodeEvent):
            values += 1
            if values > MAX_SEED_VALUES:
                raise InputError(_too_many_values(), position=_position(event.start_mark))
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(_too_deep(), position=_position(event.start_mark))
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _yaml_error(exc: yaml.YAMLError) -> InputError:
    """The problem and where; never PyYAML's own rendering, which quotes the input."""
    if isinstance(exc, yaml.MarkedYAMLError):
        return InputError(f"not valid YAML: {exc.problem or 'invalid YAML'}", position=_position(exc.problem_mark))
    return InputError(f"not valid YAML: {exc}")


def _too_many_values() -> str:
    return f"more than {MAX_SEED_VALUES:,} values once YAML aliases are expanded; write fewer values or aliases"


def _too_deep() -> str:
    return f"the YAML nests more than {MAX_DEPTH} levels deep (aliases included)"


def _position(mark: _Mark | None) -> Position | None:
    return None if mark is None else Position(mark.line + 1, mark.column + 1)


class _Builder:
    """Plain data from a composed node tree, counting every value an alias repeats."""

    def __init__(self, loader: yaml.SafeLoader | yaml.CSafeLoader) -> None:
        self.loader = loader
        self.values = 0
        self.depth = 0
        self.active: set[int] = set()  # collections being built, to catch recursive aliases

    def fail(self, node: yaml.Node, message: str) -> InputError:
        return InputError(message, position=_position(node.start_mark))

    def build(self, node: yaml.Node) -> object:
        self.values += 1
        if self.values > MAX_SEED_VALUES:
            raise self.fail(node, _too_many_values())
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if id(node) in self.active:
            raise self.fail(node, "a YAML alias refers to itself (recursive data is not allowed)")
        if self.depth >= MAX_DEPTH:
            raise self.fail(node, _too_deep())
        self.active.add(id(node))
        self.depth += 1
        try:
            if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
                return [self.build(item) for item in node.value]
            if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
                return self.mapping(node)
            raise self.fail(node, _unsupported_tag(node.tag))
        finally:
            self.depth -= 1
            self.active.discard(id(node))

    def scalar(self, node: yaml.ScalarNode) -> object:
        tag = node.tag
        if tag in (_STR, _TIMESTAMP):
            return node.value
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return SafeConstructor.construct_yaml_bool(self.loader, node)
        if tag in (_INT, _FLOAT):
            if len(node.value) > MAX_NUMBER_LENGTH:
                raise self.fail(
                    node,
                    f"a number of {len(node.value):,} characters; numbers may have at most {MAX_NUMBER_LENGTH}",
                )
            construct = SafeConstructor.construct_yaml_int if tag == _INT else SafeConstructor.construct_yaml_float
            try:
                number: object = construct(self.loader, node)
            except ValueError:
                raise self.fail(node, f"{shown(node.value)} is not a number YAML can read") from None
            return number
        raise self.fail(node, _unsupported_tag(tag))

    def mapping(self, node: yaml.MappingNode) -> dict[object, object]:
        out: dict[object, object] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, "a mapping key must be a plain value, not a list or mapping")
            out[self.build(key_node)] = self.build(value_node)  # a repeated key: the last wins, as in PyYAML
        for merge in merges:  # `<<: *anchor` (or a list of them): keys written explicitly win
            for source in merge.value if isinstance(merge, yaml.SequenceNode) else [merge]:
                merged = self.build(source)
                if not isinstance(merged, dict):
                    raise self.fail(source, "a merge key (<<) must refer to a mapping")
                for key, value in merged.items():
                    out.setdefault(key, value)
        return out


def _unsupported_tag(tag: str) -> str:
    return f"unsupported YAML tag {shown(tag)}: a seed holds plain values (text, numbers, true/false, null)"
