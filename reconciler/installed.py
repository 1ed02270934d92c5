"""What an installed library is, found without importing it: for the keys of the manifest cache,
which must change when a library that shaped an entry is upgraded or reinstalled, or when
reconciler's own code changes."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable, Iterator


def package_files(name: str) -> bytes:
    """The names, sizes and modification times of the files in the folder of package `name` (an
    upgrade or a reinstall rewrites them, compiled extensions included), or b"" when it is not
    installed. The package is found, not imported."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return b""
    with os.scandir(os.path.dirname(spec.origin)) as entries:
        return _listing((entry.name, entry.stat()) for entry in entries if entry.is_file())


def package_tree(folder: str) -> bytes:
    """The names, sizes and modification times of every file below `folder` (the caches of
    compiled modules left out): any edit, upgrade or reinstall of the code there changes them."""
    return _listing(_files_below(folder, ""))


def _listing(files: Iterable[tuple[str, os.stat_result]]) -> bytes:
    return "".join(f"\0{name}\0{info.st_size}\0{info.st_mtime_ns}" for name, info in sorted(files)).encode()


def _files_below(folder: str, prefix: str) -> Iterator[tuple[str, os.stat_result]]:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    yield from _files_below(entry.path, f"{prefix}{entry.name}/")
            elif entry.is_file():
                yield f"{prefix}{entry.name}", entry.stat()
