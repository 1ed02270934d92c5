"""The Equinix OAuth2 bearer token: the client-credentials login and a token source that caches and
renews it for every thread (docs/cloud-apis.md, Equinix §1).

The account locks after 5 successive bad logins, so a refused login is never retried, and is
remembered for the rest of the run; only outages (5xx, 429, connection errors) are retried.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from reconciler.clouds.equinix.errors import RETRY_STATUSES, describe, parse_error, response_error
from reconciler.clouds.equinix.kinds import CLOUD_NAME
from reconciler.clouds.retry import RetryPolicy, TransientError, call_with_retries
from reconciler.errors import ProviderError
from reconciler.masking import mask_secrets
from reconciler.model import SecretValue

TOKEN_PATH = "/oauth2/v1/token"
TOKEN_OPERATION = f"POST {TOKEN_PATH}"
DEFAULT_TOKEN_TIMEOUT = 3600.0  # seconds, when `token_timeout` is missing or unparsable
TOKEN_RENEW_MARGIN = 60.0  # renew this long before the token expires

# Sends the login body to TOKEN_PATH and returns the reply; a connection failure is a TransientError.
PostLogin = Callable[[Mapping[str, Any]], httpx.Response]


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    renew_at: float  # time.monotonic()


class TokenSource:
    """Fetches, caches and renews the bearer token. One fetch at a time (a lock)."""

    def __init__(self, fetch: Callable[[], tuple[str, float]]) -> None:
        self._fetch = fetch  # -> (access token, lifetime in seconds)
        self._lock = threading.Lock()
        self._token: _Token | None = None
        self._rejected: ProviderError | None = None  # credentials refused: never ask again

    def get(self) -> str:
        with self._lock:
            if self._rejected is not None:
                raise self._rejected
            if self._token is None or time.monotonic() >= self._token.renew_at:
                try:
                    value, lifetime = self._fetch()
                except ProviderError as error:
                    if not error.retryable:
                        self._rejected = error
                    raise
                margin = min(TOKEN_RENEW_MARGIN, lifetime / 2)
                self._token = _Token(value, time.monotonic() + lifetime - margin)
            return self._token.value

    def invalidate(self, stale: str) -> None:
        """Forget `stale` (refused with a 401) unless another thread has already replaced it."""
        with self._lock:
            if self._token is not None and self._token.value == stale:
                self._token = None


class ClientCredentialsLogin:
    """`POST /oauth2/v1/token` with a JSON client-credentials body: (access token, lifetime in
    seconds). `token_timeout` is a string of seconds; 3600 when it does not parse."""

    def __init__(self, client_id: str, client_secret: SecretValue | None, post: PostLogin, policy: RetryPolicy) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._post = post
        self._policy = policy

    def _secrets(self) -> list[str]:
        return [self._client_secret.reveal()] if self._client_secret else []

    def __call__(self) -> tuple[str, float]:
        if not self._client_id or self._client_secret is None:
            raise ProviderError(
                "Equinix credentials are not set",
                cloud=CLOUD_NAME,
                hint="set EQUINIX_CLIENT_ID and EQUINIX_CLIENT_SECRET (or run with --sandbox)",
            )
        body = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret.reveal(),
        }

        def attempt() -> httpx.Response:
            response = self._post(body)
            if response.status_code in RETRY_STATUSES or response.status_code >= 500:
                raise response_error(response, TOKEN_OPERATION, self._secrets(), transient=True)
            return response

        # Only outages are retried: a refused login is not, because the account locks after 5.
        try:
            response = call_with_retries(attempt, self._policy, TOKEN_OPERATION)
        except TransientError as outage:
            # Still retryable, but not a TransientError: the API call that needed the token must
            # not retry the whole login sequence again on top.
            raise ProviderError(
                outage.message,
                cloud=CLOUD_NAME,
                status=outage.status,
                codes=outage.codes,
                messages=outage.messages,
                retryable=True,
            ) from None
        if response.status_code >= 400:
            errors = parse_error(response)
            raise ProviderError(
                mask_secrets(
                    f"Equinix refused the API login for client id '{self._client_id}' "
                    f"(HTTP {response.status_code}: {describe(errors)})",
                    self._secrets(),
                ),
                cloud=CLOUD_NAME,
                status=response.status_code,
                codes=[e.code for e in errors if e.code],
                hint="check EQUINIX_CLIENT_ID and EQUINIX_CLIENT_SECRET; reconciler does not retry a "
                "refused login because Equinix locks the account after 5 failed attempts",
            )
        try:
            payload = response.json()
            token = str(payload["access_token"])
        except (ValueError, KeyError, TypeError):
            raise ProviderError(
                f"Equinix {TOKEN_OPERATION} returned no access_token", cloud=CLOUD_NAME, status=response.status_code
            ) from None
        try:
            lifetime = float(payload.get("token_timeout"))
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_TIMEOUT
        if not math.isfinite(lifetime) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_TIMEOUT
        return token, lifetime
