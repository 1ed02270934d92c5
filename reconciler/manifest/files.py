"""Reading files that come with untrusted input (manifests, key files), safely.

A manifest folder comes from a pull request that nobody reviewed yet. Reading one of its files
must not hang (a FIFO), exhaust memory (`/dev/zero`, a file that grows without end), act on a
device by opening it, or crash on a symbolic link loop. `read_regular_file` reads regular files
only, up to a limit, and says why it read nothing.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a file was not read: `what` completes "it is ..." / "cannot read it: ...", and
    `code` is the diagnostic's rule id (`file-type`, `file-size`, `symlink-loop`, `read`)."""

    what: str
    code: str


def file_mode(path: Path | str) -> tuple[int, Refusal | None]:
    """The type bits of `path` (symbolic links followed), or why it cannot be looked at."""
    try:
        return os.stat(path).st_mode, None
    except OSError as exc:
        return 0, os_refusal(path, exc)
    except ValueError:  # a NUL character in the path
        return 0, Refusal("a path with a NUL character", "read")


def os_refusal(path: Path | str, exc: OSError) -> Refusal:
    if exc.errno == errno.ELOOP:
        return Refusal("a symbolic link loop (following it leads back to itself)", "symlink-loop")
    if exc.errno == errno.ENOENT and os.path.islink(path):
        return Refusal(f"a symbolic link to {os.readlink(path)}, which does not exist", "read")
    return Refusal(f"not readable ({exc.strerror or type(exc).__name__})", "read")


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, for messages."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_regular_file(path: Path | str, limit: int, *, follow_symlinks: bool = True) -> tuple[bytes, Refusal | None]:
    """At most `limit` bytes of a regular file, or why nothing was read.

    The type is checked before the file is opened (opening some devices acts on them), and again
    on the open file: the open is non-blocking, so a FIFO put there in between cannot hang it.
    At most `limit + 1` bytes are read, whatever size the file claims (`/proc` files claim 0).
    With `follow_symlinks=False` the last component must not be a symbolic link (O_NOFOLLOW).
    """
    mode, refusal = file_mode(path)
    if refusal is not None:
        return b"", refusal
    if not stat.S_ISREG(mode):
        return b"", Refusal(file_kind(mode), "file-type")
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return b"", os_refusal(path, exc)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            return b"", Refusal(file_kind(mode), "file-type")
        chunks: list[bytes] = []
        wanted = limit + 1
        while wanted > 0:
            chunk = os.read(fd, wanted)
            if not chunk:
                break
            chunks.append(chunk)
            wanted -= len(chunk)
    except OSError as exc:
        return b"", os_refusal(path, exc)
    finally:
        os.close(fd)
    content = b"".join(chunks)
    if len(content) > limit:
        return b"", Refusal(f"larger than {limit:,} bytes", "file-size")
    return content, None


def git_top(folder: str) -> str | None:
    """The top of the Git work tree holding the real folder `folder`, or None."""
    current = folder
    while True:
        if os.path.lexists(os.path.join(current, ".git")):  # a folder, or a file in a linked work tree
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def within(path: str, folder: str) -> bool:
    """Whether the real path `path` is `folder` or below it."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
