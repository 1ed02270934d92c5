"""The secrets file (`--secrets-file`, `RECONCILER_SECRETS_FILE`): a dotenv file of BGP keys.

CI systems hold one secret (say `BGP_KEYS`) that a job writes to a file with mode 600; the
manifests' `{fromEnv: NAME}` references then read NAME from the process environment first and
from that file second, so adding a key needs no change to the workflows. The file's values are
`SecretValue`s from the moment they are read, and are never put into `os.environ` (child
processes and the providers' environment must not see them). Problems name the file and a line
number, never a line's text: a broken line may hold a key.
"""

from __future__ import annotations

import io
import os
import shlex
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import SecretError
from reconciler.manifest.files import file_mode, read_regular_file
from reconciler.model import SecretValue

# A file of keys is small; more is a wrong path (a log, a dump), not a secrets file.
SECRETS_FILE_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class SecretEnv:
    """Where `{fromEnv: NAME}` is looked up: the process environment, then the secrets file
    (the environment wins when both define NAME)."""

    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    file_values: Mapping[str, SecretValue] = field(default_factory=dict)
    file: Path | None = None

    def lookup(self, name: str) -> str | None:
        value = self.environ.get(name)
        if value is not None:
            return value
        found = self.file_values.get(name)
        return None if found is None else found.reveal()

    def not_found(self, name: str) -> str:
        """The message for a NAME that neither place defines (names where it looked)."""
        if self.file is None:
            return f"environment variable {name} is not set"
        return f"environment variable {name} is not set, and the secrets file {self.file} does not define it"


def secret_env(secrets_file: Path | None) -> SecretEnv:
    """The process environment, plus the secrets file's values when one is given."""
    if secrets_file is None:
        return SecretEnv()
    return SecretEnv(file_values=read_secrets_file(secrets_file), file=secrets_file)


def read_secrets_file(path: Path) -> dict[str, SecretValue]:
    """NAME -> value of a dotenv file (`NAME=value`, `export NAME="value"`, `# comments`).

    SecretError, naming the file (and a line number, never its text), when the file is missing,
    not a regular file, too large, readable by group or others, not UTF-8, or has a line that is
    not NAME=value. Values are taken literally: `${OTHER}` is not expanded."""
    from dotenv import dotenv_values
    from dotenv.parser import parse_stream

    where = f"secrets file {path} (--secrets-file / RECONCILER_SECRETS_FILE)"
    mode, refusal = file_mode(path)
    if refusal is None and stat.S_ISREG(mode) and os.name == "posix" and mode & 0o077:
        # As ssh treats private keys: a key file others can read is a leak waiting to happen.
        raise SecretError(
            f"{where} is readable by group or others (mode {stat.S_IMODE(mode):o})",
            hint=f"chmod 600 {shlex.quote(str(path))}, or write it with umask 077",
        )
    content, refusal = read_regular_file(path, SECRETS_FILE_LIMIT)
    if refusal is not None:
        raise SecretError(f"cannot read the {where}: it is {refusal.what}")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretError(f"the {where} is not UTF-8 text") from None
    bad_lines = [
        str(binding.original.line)
        for binding in parse_stream(io.StringIO(text))
        if binding.error or (binding.key is not None and binding.value is None)
    ]
    if bad_lines:
        lines = f"line {bad_lines[0]} is" if len(bad_lines) == 1 else f"lines {', '.join(bad_lines)} are"
        raise SecretError(
            f"the {where} is not a dotenv file: {lines} not NAME=value",
            hint="write one NAME=value per line (quote values with spaces: NAME='a value'); # starts a comment",
        )
    values = dotenv_values(stream=io.StringIO(text), interpolate=False)
    return {name: SecretValue(value) for name, value in values.items() if value is not None}
