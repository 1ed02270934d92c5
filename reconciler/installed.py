"""What an installed library is, found without importing it: for the keys of the manifest cache,
which must change when a library that shaped an entry is upgraded or reinstalled."""

from __future__ import annotations

import importlib.util
import os


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
