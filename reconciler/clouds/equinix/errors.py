"""Equinix error replies: both body shapes, the OAuth2 error shapes, `Retry-After`, and the
ProviderError (or TransientError) a failed reply becomes (docs/cloud-apis.md, Equinix §8)."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from reconciler.clouds.equinix.configs import lower_keys
from reconciler.clouds.equinix.kinds import CLOUD_NAME
from reconciler.clouds.retry import TransientError
from reconciler.errors import ProviderError, ResourceNotFound
from reconciler.masking import mask_secrets

# GET and PUT are retried on these (and on connection errors). 500 is included for them
# (docs/architecture.md, "Apply"): a read is harmless to repeat and a PUT replaces the whole config.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class ApiError:
    code: str
    message: str
    property: str


def error_entries(body: Any) -> list[dict[str, Any]]:
    """The error objects of a reply: one object, or an array of them (both shapes occur)."""
    candidates = body if isinstance(body, list) else [body]
    return [lower_keys(e) for e in candidates if isinstance(e, Mapping)]


def _first(entry: Mapping[str, Any], *names: str) -> str:
    for name in names:
        value = entry.get(name.lower())
        if value not in (None, ""):
            return str(value)
    return ""


def parse_error(response: httpx.Response) -> list[ApiError]:
    """The errors of a reply, whatever its shape (object, array, OAuth2 error, not JSON)."""
    try:
        entries = error_entries(response.json())
    except ValueError:
        entries = []
    errors = [
        ApiError(
            code=_first(entry, "errorCode", "error_code", "code"),
            message=_first(
                entry,
                "errorMessage",
                "error_message",
                "message",
                "developerMessage",
                "developer_message",
                "error_description",
                "error",
            ),
            property=_first(entry, "property"),
        )
        for entry in entries
    ]
    if not any(e.message or e.code for e in errors):
        text = " ".join(response.text.split())[:300]
        errors = [ApiError("", text or response.reason_phrase or "no details", "")]
    return errors


def describe(errors: Iterable[ApiError]) -> str:
    return "; ".join(f"{e.code}: {e.message}" if e.code else e.message for e in errors)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` as seconds: a number or an HTTP date; None when absent or unreadable."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def response_error(
    response: httpx.Response, op: str, secrets: Iterable[str], *, transient: bool = False
) -> ProviderError:
    """The error a failed reply becomes: a TransientError (with the server's wait) when
    `transient`, ResourceNotFound for a 404, else a ProviderError. `secrets` are masked."""
    hide = list(secrets)
    errors = parse_error(response)
    codes = [e.code for e in errors if e.code]
    properties = [e.property for e in errors if e.property]
    messages = [mask_secrets(e.message, hide) for e in errors]
    text = mask_secrets(f"Equinix {op} failed: HTTP {response.status_code}: {describe(errors)}", hide)
    if properties:
        text += f" (property: {', '.join(properties)})"
    if transient:
        return TransientError(
            text,
            cloud=CLOUD_NAME,
            status=response.status_code,
            codes=codes,
            messages=messages,
            retry_after=retry_after_seconds(response),
            throttled=response.status_code == 429,
        )
    cls = ResourceNotFound if response.status_code == 404 else ProviderError
    hint = None
    if response.status_code == 401:
        hint = "the API token was refused twice; check EQUINIX_CLIENT_ID / EQUINIX_CLIENT_SECRET"
    elif response.status_code == 403:
        hint = "the Equinix API user lacks the permission for this operation"
    return cls(
        text,
        cloud=CLOUD_NAME,
        status=response.status_code,
        codes=codes,
        messages=messages,
        properties=properties,
        hint=hint,
    )
