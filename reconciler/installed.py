"""What an installed library is, found without importing it: for the keys of the manifest cache,
which must change when a library that shaped an entry is upgraded or reinstalled, or when
reconciler's own code changes."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator


def package_files(name: str) -> bytes:
    """The names, sizes and modification times of the files in the folder of package `name` (an
    upgrade or a reinstall rewrites them, compiled extensions included), or b"" when it is not
    installed. The package is found, not imported."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return b""
    with os.scandir(os.path.dirname(spec.origin)) as entries:
        files = sorted((entry.name, entry.stat()) for entry in entries if entry.is_file())
    return "".join(f"\0{file}\0{info.st_size}\0{info.st_mtime_ns}" for file, info in files).encode()


def package_tree(folder: str) -> bytes:
    """The names, sizes and modification times of every file below `folder` (the caches of
    compiled modules left out): any edit, upgrade or reinstall of the code there changes them."""
    return "".join(f"\0{name}\0{size}\0{mtime}" for name, size, mtime in sorted(_files_below(folder, ""))).encode()


def _files_below(folder: str, prefix: str) -> Iterator[tuple[str, int, int]]:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    yield from _files_below(entry.path, f"{prefix}{entry.name}/")
            elif entry.is_file():
                info = entry.stat()
                yield f"{prefix}{entry.name}", info.st_size, info.st_mtime_ns
