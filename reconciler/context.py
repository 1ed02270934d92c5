"""The global command-line options, as every command receives them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
