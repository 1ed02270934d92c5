"""A cache of read manifest files, so that repeated local runs skip the YAML parse, the schema and
the rules on one document.

An entry holds one file's documents as `parse.py` builds them (data, the position of every value)
and is named by the SHA-256 of everything that result depends on: the file's content and its
name as displayed, the versions of reconciler and Python, the names, sizes and times of
reconciler's own files (so any change of its code: the reader, this module, the rules), PyYAML's
installed files, and the schema's fingerprint. A changed file, reader, schema or rule gives
another name: an entry is never updated, only written once and read.

Only files read cleanly are stored: no diagnostic, no value built through a YAML alias (those
count against the run's alias budget, which a stored result would skip), and every document a
reconciler document valid against the schema with no problem of its own (the rules on one
document: `rules.document_diagnostics`). So a literal key, which the schema refuses, is never
copied here. A stored document is checked neither against the schema nor by those rules again:
its name includes what its verdicts depend on (`schema.fingerprint`: the schema, the module that
applies it, the validators; and reconciler's code), so it passed them before. Every rule that
reads more than one document still runs on each load, and a stored result is exactly what the
parse gives.

The folder is `$XDG_CACHE_HOME/reconciler/manifests/` (else `~/.cache/...`), entries are
written atomically with mode 0600 and carry their own SHA-256, and it is safe to delete at any
time: an entry that is missing, unreadable, damaged or not of the expected shape is a miss, and
the file is parsed again. Each read renews an entry; when a run stores new entries, those not
read for 30 days are removed, so the folder holds about what the manifests of the last month
need. `RECONCILER_MANIFEST_CACHE=off` turns the cache off; a folder that cannot be written only
means nothing is stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from reconciler import __version__
from reconciler.installed import package_files, package_tree
from reconciler.manifest.load import Document

DISABLE_VARIABLE = "RECONCILER_MANIFEST_CACHE"
UNUSED_DAYS = 30  # an entry not read for this long is removed when new entries are stored
_FORMAT = 2  # the shape of an entry; a new shape is a new name, as any change of the reader is
_RECONCILER = str(Path(__file__).parents[1])  # the package's folder: its files' names, sizes and times


@dataclass(frozen=True, slots=True)
class ManifestCache:
    """The parsed documents of clean manifest files, by content (module docstring)."""

    folder: Path

    @classmethod
    def for_user(cls) -> ManifestCache | None:
        """The user's cache folder, or None when the cache is turned off or its key cannot be
        computed (reconciler's folder cannot be listed, or the schema module's source read)."""
        if os.environ.get(DISABLE_VARIABLE, "").strip().lower() in ("off", "0", "false", "no"):
            return None
        if _reader_fingerprint() is None:
            return None
        configured = os.environ.get("XDG_CACHE_HOME", "")
        try:  # the XDG rule: a relative XDG_CACHE_HOME is ignored
            base = Path(configured) if os.path.isabs(configured) else Path.home() / ".cache"
        except RuntimeError:  # no home folder to be found
            return None
        return cls(base / "reconciler" / "manifests")

    def get(self, display: str, content: bytes) -> tuple[Document, ...] | None:
        """The documents stored for this file, or None (a miss)."""
        path = self.folder / _entry_name(display, content)
        try:
            stored = path.read_bytes()
            check, blob = stored[:32], stored[32:]
            if hashlib.sha256(blob).digest() != check:  # cut short or damaged: parse again
                return None
            documents = _documents(display, marshal.loads(blob))
        except (OSError, ValueError, EOFError, TypeError):
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # read now: kept from `prune` for another while
        return documents

    def has(self, display: str, content: bytes) -> bool:
        """Whether an entry is stored for this file (a quick look: `get` may still miss)."""
        return (self.folder / _entry_name(display, content)).is_file()

    def put(self, display: str, content: bytes, documents: Iterable[Document]) -> None:
        """Store a clean file's documents; any failure only means nothing is stored."""
        import tempfile  # only when storing

        stored = list(documents)
        share = _Sharing()
        # The positions go apart, read back only when a message needs one (`StoredPositions`).
        positions = marshal.dumps([share.positions(doc.positions) for doc in stored])
        items = [(doc.index, share(doc.data), doc.line, doc.col, doc.plain_numbers) for doc in stored]
        try:
            blob = marshal.dumps((_FORMAT, items, positions))
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".entry-")  # mode 0600
        except (OSError, ValueError):
            return
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(hashlib.sha256(blob).digest() + blob)
            os.replace(temporary, self.folder / _entry_name(display, content))
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)

    def prune(self) -> None:
        """Remove the entries not read for `UNUSED_DAYS` days (older versions of files, files
        gone), and what a run killed while writing left."""
        oldest = time.time() - UNUSED_DAYS * 24 * 3600
        try:
            with os.scandir(self.folder) as found:
                for entry in found:
                    with contextlib.suppress(OSError):
                        if entry.stat(follow_symlinks=False).st_mtime < oldest:
                            os.unlink(entry.path)
        except OSError:
            return


class _Sharing:
    """Makes equal strings and integers one object across the values it is given. The documents
    of a file repeat their keys and many values (`apiVersion`, a kind, an ASN); `marshal` writes
    an object that is referred to more than once only once, and reads it back as one object. So
    an entry reads back about a tenth faster and takes about a third less memory, with values
    equal to the parse's."""

    __slots__ = ("_numbers", "_strings")

    def __init__(self) -> None:
        self._strings: dict[str, str] = {}
        self._numbers: dict[int, int] = {}  # apart: 1 and True are equal keys, not the same value

    def __call__(self, value: Any) -> Any:
        kind = type(value)
        if kind is str:
            return self._strings.setdefault(value, value)
        if kind is int:
            return self._numbers.setdefault(value, value)
        if kind is dict:
            return {self(key): self(item) for key, item in value.items()}
        if kind is list:
            return [self(item) for item in value]
        if kind is tuple:
            return tuple([self(item) for item in value])
        return value  # None, True, False, a float: as they are

    def positions(self, table: Mapping[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
        """A document's positions (JSON path -> line, column) shared as calling this object would
        share them, without a call per path and number: a file has one position per value, and
        sharing them value by value took a tenth of a first `validate`."""
        strings, numbers = self._strings, self._numbers
        return {
            strings.setdefault(path, path): (numbers.setdefault(line, line), numbers.setdefault(col, col))
            for path, (line, col) in table.items()
        }


def _documents(display: str, entry: Any) -> tuple[Document, ...] | None:
    """The documents of an entry, or None when it is not of the expected shape."""
    if not (isinstance(entry, tuple) and len(entry) == 3 and entry[0] == _FORMAT):
        return None
    _, items, positions = entry
    if not (isinstance(items, list) and isinstance(positions, bytes)):
        return None
    shelf = _PositionShelf(positions, len(items))
    documents = []
    for number, item in enumerate(items):
        if not (isinstance(item, tuple) and len(item) == 5):
            return None
        index, data, line, col, plain_numbers = item
        if not (isinstance(index, int) and isinstance(line, int) and isinstance(col, int)):
            return None
        stored = StoredPositions((line, col), shelf, number)
        documents.append(Document(display, index, data, stored, (), plain_numbers is True))
    return tuple(documents) if documents else None


class _PositionShelf:
    """The positions of one entry's documents, unpacked the first time one is asked for."""

    __slots__ = ("_count", "_packed", "_unpacked")

    def __init__(self, packed: bytes, count: int) -> None:
        self._packed = packed
        self._count = count
        self._unpacked: list[dict[str, tuple[int, int]]] | None = None

    def of(self, number: int) -> Mapping[str, tuple[int, int]] | None:
        """Document `number`'s positions; None if the entry's positions are not of the expected
        shape (the entry's checksum makes that a reader's bug, not damage)."""
        if self._unpacked is None:  # two threads may both unpack: the same result, harmlessly
            try:
                unpacked = marshal.loads(self._packed)
            except (ValueError, EOFError, TypeError):
                unpacked = None
            shaped = isinstance(unpacked, list) and len(unpacked) == self._count
            self._unpacked = unpacked if shaped and all(isinstance(p, dict) for p in unpacked) else []
        return self._unpacked[number] if self._unpacked else None


class StoredPositions(Mapping[str, tuple[int, int]]):
    """A cached document's positions. Only the document's own (`""`) is at hand; the others are
    unpacked when first looked up, which only a message does: a valid run never needs them, and
    holding them as dictionaries would take about half the memory of the cached documents."""

    __slots__ = ("_number", "_shelf", "_start")

    def __init__(self, start: tuple[int, int], shelf: _PositionShelf, number: int) -> None:
        self._start = start
        self._shelf = shelf
        self._number = number

    def _all(self) -> Mapping[str, tuple[int, int]]:
        return self._shelf.of(self._number) or {"": self._start}

    def __getitem__(self, path: str) -> tuple[int, int]:
        return self._start if path == "" else self._all()[path]

    def __contains__(self, path: object) -> bool:
        return path == "" or path in self._all()

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def _entry_name(display: str, content: bytes) -> str:
    digest = hashlib.sha256(_reader_fingerprint() or b"")
    name = display.encode("utf-8", "surrogateescape")
    digest.update(len(name).to_bytes(8, "big") + name + len(content).to_bytes(8, "big") + content)
    return digest.hexdigest()


@cache
def _reader_fingerprint() -> bytes | None:
    """What every entry's result depends on besides the file: the versions of reconciler, Python
    and PyYAML (its installed files: it is not imported when every file comes from here),
    reconciler's own files (the reader's code and the rules its documents passed), and what found
    its documents valid (`schema.fingerprint`)."""
    from reconciler.manifest import schema

    digest = hashlib.sha256(f"{_FORMAT}\0{__version__}\0{sys.version}\0{marshal.version}".encode())
    try:
        digest.update(package_files("yaml"))
        digest.update(package_tree(_RECONCILER))
        digest.update(schema.fingerprint())
    except OSError:
        return None
    return digest.digest()
