"""The global command-line options, as every command receives them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SecretsOptions:
    """Where `fromFile` secret references may point, as given: `--secrets-root` (None: the Git
    work tree of the manifests, else their common folder) and each `--secrets-allow`."""

    root: Path | None = None
    allow: tuple[Path, ...] = ()


@dataclass(frozen=True)
class AppContext:
    """Global options, passed to every command."""

    state_url: str
    sandbox: bool
    seed: Path | None
    log_format: str
    verbose: bool
    lock_timeout: float
    sandbox_profile: str = "realistic"  # realism of the embedded sandbox (docs/sandbox.md, Profiles)
    secrets: SecretsOptions = field(default_factory=SecretsOptions)
    # A dotenv file that `fromEnv` references resolve from after the environment (--secrets-file).
    secrets_file: Path | None = None
    # Where the embedded sandbox keeps its data (--sandbox-data; None: the user's cache folder).
    sandbox_data: Path | None = None
