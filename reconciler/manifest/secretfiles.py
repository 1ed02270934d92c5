"""Where `fromFile` secret references may point, and how a key file is read.

`reconciler plan` runs on pull requests nobody reviewed yet, so a manifest's `fromFile` is
untrusted: it could name `/proc/self/environ` (every CI secret), `../../..`, a symbolic link out
of the repository, a FIFO or `/dev/zero`. A reference may name only a file inside the secrets
root (by default the Git work tree holding the manifests, else their common folder;
`--secrets-root`), or a file or folder on the allow-list (`--secrets-allow`), after every
symbolic link is resolved. A key file is a regular file of at most `MAX_KEY_FILE_BYTES`.

Messages name paths, never what a file holds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import SecretError
from reconciler.manifest.checked import Checked
from reconciler.manifest.diagnostics import Diagnostic
from reconciler.manifest.files import Refusal, file_mode, git_top, read_regular_file, within

# Linux takes TCP MD5 keys of at most 80 bytes (TCP_MD5SIG_MAXKEYLEN), the clouds at most 64:
# 4 KB holds any key with room to spare, and bounds what reading one costs.
MAX_KEY_FILE_BYTES = 4096

_CHOOSE = (
    "a key file must be inside it, or allowed with --secrets-allow PATH (env RECONCILER_SECRETS_ALLOW); "
    "--secrets-root DIR (env RECONCILER_SECRETS_ROOT) sets another root"
)


@dataclass(frozen=True, slots=True)
class SecretFiles:
    """The files `fromFile` may read: below `root`, or at or below an `allow` entry. Every path
    is real (absolute, symbolic links resolved); `root_is` says how the root was chosen."""

    root: str
    allow: tuple[str, ...] = ()
    root_is: str = "--secrets-root"

    def problem(self, name: str, written: str | None = None) -> str | None:
        """Why the key file `name` (a reference's path) may not be read, or None. Reads nothing.
        `written` is the path as the manifest writes it, when that is known."""
        shown = repr(written) if written is not None else f"secret file {name}"
        if "\0" in name:
            return f"{shown} has a NUL character: write the path of the file that holds the key"
        real = os.path.realpath(name)
        if within(real, self.root) or any(within(real, allowed) for allowed in self.allow):
            return None
        if os.path.abspath(name) != real:
            head = f"{shown} leads through a symbolic link to {real},"
        elif written is not None and written != real:
            head = f"{shown} is {real},"
        else:
            head = f"{shown} is"
        return f"{head} outside the secrets root {self.root} ({self.root_is}): {_CHOOSE}"


def secret_files(
    manifest_paths: Iterable[Path | str], root: Path | str | None = None, allow: Iterable[Path | str] = ()
) -> SecretFiles:
    """The rule for the manifests at `manifest_paths` (files or folders): `root` when given, else
    the top of the Git work tree holding them (the nearest folder with a `.git`), else the folder
    they have in common."""
    allowed = tuple(os.path.realpath(path) for path in allow)
    if root is not None:
        return SecretFiles(os.path.realpath(root), allowed, "--secrets-root")
    common = _common_folder(manifest_paths)
    top = git_top(common)
    if top is not None:
        return SecretFiles(top, allowed, "the Git work tree of the manifests")
    return SecretFiles(common, allowed, "the folder holding the manifests")


def _common_folder(paths: Iterable[Path | str]) -> str:
    folders = [real if os.path.isdir(real) else os.path.dirname(real) for real in map(os.path.realpath, paths)]
    return os.path.commonpath(folders) if folders else os.path.realpath(".")


def read_key_file(name: str, rule: SecretFiles | None) -> str:
    """The text of the key file `name`, its trailing newlines stripped. SecretError (naming the
    file, never its content) when `rule` forbids it or it is not a small regular UTF-8 file."""
    if rule is not None and (problem := rule.problem(name)) is not None:
        raise SecretError(problem)
    if "\0" in name:
        raise SecretError(f"secret file {name!r} has a NUL character: write the path of the file that holds the key")
    if not os.path.lexists(name):
        raise SecretError(f"secret file {name} does not exist")
    content, refusal = b"", file_mode(name)[1]  # a loop or a dangling link, named as the reference names it
    if refusal is None:
        # The real path is what the rule checked: opened with O_NOFOLLOW, no symbolic link put
        # there since can lead elsewhere.
        content, refusal = read_regular_file(os.path.realpath(name), MAX_KEY_FILE_BYTES, follow_symlinks=False)
    if refusal is not None:
        raise SecretError(_unread(name, refusal))
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretError(f"secret file {name} is not UTF-8 text") from None
    return text.rstrip("\r\n")  # editors add a final newline; no BGP key ends in one


def _unread(name: str, refusal: Refusal) -> str:
    if refusal.code == "file-size":
        return f"secret file {name} is {refusal.what}: a key file holds one BGP key (at most 64 characters)"
    if refusal.code == "file-type":
        return f"secret file {name} is {refusal.what}, not a regular file: fromFile names a file that holds the key"
    return f"cannot read secret file {name}: it is {refusal.what}"


def reference_diagnostics(docs: Iterable[Checked], rule: SecretFiles) -> Iterator[Diagnostic]:
    """A diagnostic at every `fromFile` reference of `docs` that `rule` forbids (nothing is read)."""
    from reconciler.clouds import KINDS
    from reconciler.manifest.secrets import secret_ref

    for checked in docs:
        for field in KINDS[checked.kind].secret_fields:
            path = f"spec.{field}.fromFile"
            value = checked.get(path)
            if not isinstance(value, str) or not checked.ok(path):
                continue
            problem = rule.problem(secret_ref(checked.doc.file, {"fromFile": value}).name, value)
            if problem is not None:
                yield checked.diag(path, problem, "secret-file")
