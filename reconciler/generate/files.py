"""Writing the generated files: nothing is overwritten without `--force`, and every file is
checked before the first one is written, so a refusal leaves the folder as it was."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from reconciler.errors import UsageError
from reconciler.package_data import schema_path


def schema_ref_for(out: Path) -> Callable[[str], str]:
    """`$schema=` for a file below `out`: the manifest schema of this installation, relative to
    the file (as the examples spell it)."""
    schema = schema_path("manifest.schema.json").resolve()
    root = out.resolve()

    def ref(relative: str) -> str:
        folder = (root / relative).parent
        return Path(os.path.relpath(schema, folder)).as_posix()

    return ref


def check_writable(out: Path, relative_paths: list[str], force: bool) -> None:
    """Refuse (before anything is written) when `out` is not a folder or a file exists."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is not a folder", hint="name a folder (it is created when missing)")
    if force:
        return
    existing = sorted(str(out / p) for p in relative_paths if (out / p).exists() or (out / p).is_symlink())
    if existing:
        shown = ", ".join(existing[:5]) + (f" and {len(existing) - 5} more" if len(existing) > 5 else "")
        raise UsageError(
            f"refusing to overwrite {shown}",
            hint="pass --force to replace them, or choose another --out folder",
        )


def write_files(out: Path, files: Mapping[str, str]) -> None:
    """Each file written whole (a temporary file renamed over it)."""
    for relative, text in sorted(files.items()):
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
