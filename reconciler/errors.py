"""Errors a user can act on.

Every `ReconcilerError` is printed as a plain message (no traceback unless `-v`) and ends the
command with exit code 1. Messages must say where the problem is and what would be valid, and
must never contain a secret value.
"""

from __future__ import annotations

from collections.abc import Sequence


class ReconcilerError(Exception):
    """Base class: an error explained to the user in one message."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class UsageError(ReconcilerError):
    """The command line asks for something impossible."""


class ManifestError(ReconcilerError):
    """Manifests failed to load or validate; `diagnostics` holds every problem found."""

    def __init__(self, message: str, diagnostics: Sequence[object] = ()) -> None:
        super().__init__(message)
        self.diagnostics = tuple(diagnostics)


class SecretError(ReconcilerError):
    """A secret reference could not be resolved (never carries the value)."""


class StateError(ReconcilerError):
    """The state could not be read or written (corrupt, too new, unreachable)."""


class LockError(StateError):
    """The state lock is held by someone else."""


class PlanError(ReconcilerError):
    """A saved plan cannot be used (stale, corrupt, from another state)."""


class ProviderError(ReconcilerError):
    """A cloud API call failed. One type for every cloud.

    Carries the HTTP status, the API's error codes and messages and the offending property,
    never the request body (which may hold a BGP key).
    """

    def __init__(
        self,
        message: str,
        *,
        cloud: str,
        status: int | None = None,
        codes: Sequence[str] = (),
        messages: Sequence[str] = (),
        properties: Sequence[str] = (),
        request_id: str | None = None,
        retryable: bool = False,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.cloud = cloud
        self.status = status
        self.codes = tuple(codes)
        self.messages = tuple(messages)
        self.properties = tuple(properties)
        self.request_id = request_id
        self.retryable = retryable

    @property
    def code(self) -> str | None:
        return self.codes[0] if self.codes else None


class ResourceNotFound(ProviderError):
    """The object does not exist (HTTP 404, or an empty Describe)."""
