"""Equinix Network Edge BGP peering, over the NE v1 REST API with httpx.

Facts this client relies on (see reference/equinix-ne-bgp.md):
- OAuth2 client credentials, JSON body, `token_timeout` a string of seconds; the account locks
  after 5 bad logins, so a rejected login is never retried (and is remembered for this run).
- `POST /ne/v1/bgp` has no idempotency key. Before creating, the connection's existing config is
  looked up and adopted; after an ambiguous failure the client looks again instead of re-POSTing.
- There is no DELETE: removing a peering means forgetting it.
- The list endpoint may cap `limit` below what was asked: paging advances by what came back.
- Error bodies are one object or an array of `{errorCode, errorMessage, property, moreInfo}`.
"""

from __future__ import annotations

import contextlib
import email.utils
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from reconciler import __version__
from reconciler.clouds.base import Desired, ObjectRef, ProviderOptions, RefreshResult, RefreshScope
from reconciler.clouds.counters import CallCounter, map_bounded
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING, PEERING
from reconciler.clouds.equinix.scope import EquinixScope
from reconciler.clouds.retry import RetryPolicy, TransientError, call_with_retries
from reconciler.clouds.wait import wait_settled
from reconciler.errors import ProviderError, ResourceNotFound
from reconciler.log import get_logger
from reconciler.masking import mask_secrets
from reconciler.model import LiveObject, SecretValue, Status

CLOUD = "equinix"
DEFAULT_ENDPOINT = "https://api.equinix.com"
TOKEN_PATH = "/oauth2/v1/token"
BGP_PATH = "/ne/v1/bgp"

DEFAULT_TOKEN_TIMEOUT = 3600.0  # seconds, when `token_timeout` is missing or unparsable
TOKEN_RENEW_MARGIN = 60.0  # renew this long before the token expires
PAGE_SIZE = 100  # what we ask for; the server may cap it (we advance by what came back)
FEW_REFS = 5  # poll() reads objects one by one up to this many, then lists pages
BUSY_TIMEOUT = 300.0  # seconds to let an adopted, still-provisioning config settle before a PUT

# GET and PUT are retried on these (and on connection errors). 500 is included for them, as in
# DESIGN §6 ("5xx"): a read is harmless to repeat and a PUT replaces the whole config.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# POST is re-sent only when the server certainly did not act on it.
POST_SAFE_TO_RESEND = frozenset({429})

READY_LICENSES = frozenset({"REGISTERED", "APPLIED", "N/A"})
READY_CONNECTION_STATES = frozenset({"PROVISIONED", "ACTIVE"})
READY_CONNECTION_EQUINIX_STATUSES = frozenset({"PROVISIONED", "PENDING_BGP_PEERING"})

STATUS: Mapping[str, Status] = {
    "PROVISIONING": "pending",
    "PENDING_UPDATE": "pending",
    "PROVISIONED": "ready",
    "FAILED": "failed",
    "DEPROVISIONING": "deleting",
}
GONE_STATUS = "DEPROVISIONED"  # treated as absent

FIELDS = ("connectionUuid", "localIpAddress", "localAsn", "remoteIpAddress", "remoteAsn")
KEY_FIELD = "authenticationKey"

log = get_logger("reconciler.clouds.equinix")


# ---------------------------------------------------------------------------------------------
# Plain helpers: parsing, normalising, scrubbing


def _lower_keys(item: Mapping[str, Any]) -> dict[str, Any]:
    # The API has spelt `connectionUuid` as `connectionUUID` before: match names case-blind.
    return {str(k).lower(): v for k, v in item.items()}


def live_object(item: Mapping[str, Any]) -> LiveObject | None:
    """A `BgpInfo` as a LiveObject in manifest vocabulary; None for a DEPROVISIONED config."""
    fields = _lower_keys(item)
    raw_status = str(fields.get("provisioningstatus") or "")
    if raw_status == GONE_STATUS:
        return None
    attrs = PEERING.normalise({name: fields.get(name.lower()) for name in FIELDS})
    key = fields.get(KEY_FIELD.lower())
    info_names = ("virtualDeviceUuid", "provisioningStatus", "createdDate", "lastUpdatedDate")
    info = {name: fields[name.lower()] for name in info_names if fields.get(name.lower()) is not None}
    return LiveObject(
        kind=EQUINIX_PEERING,
        cloud_id=str(fields.get("uuid")),
        region=None,
        attrs=attrs,
        status=STATUS.get(raw_status, "pending"),
        raw_status=raw_status,
        secrets={KEY_FIELD: SecretValue(str(key)) if key else None},
        session=str(fields["state"]) if fields.get("state") else None,
        info=info,
    )


def error_entries(body: Any) -> list[dict[str, Any]]:
    """The error objects of a reply: one object, or an array of them (both shapes occur)."""
    candidates = body if isinstance(body, list) else [body]
    return [_lower_keys(e) for e in candidates if isinstance(e, Mapping)]


def _first(entry: Mapping[str, Any], *names: str) -> str:
    for name in names:
        value = entry.get(name.lower())
        if value not in (None, ""):
            return str(value)
    return ""


@dataclass(frozen=True, slots=True)
class ApiError:
    code: str
    message: str
    property: str


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


@dataclass(frozen=True, slots=True)
class _Page:
    items: list[dict[str, Any]]
    total: int


def _page(body: Any) -> _Page:
    if isinstance(body, list):  # no envelope: everything in one reply
        return _Page([i for i in body if isinstance(i, dict)], len(body))
    if not isinstance(body, dict):
        return _Page([], 0)
    items = [i for i in body.get("data") or [] if isinstance(i, dict)]
    pagination = body.get("pagination")
    raw_total = pagination.get("total") if isinstance(pagination, dict) else None
    try:
        total = int(str(raw_total))  # the spec types it as a string; the docs show an int
    except ValueError:
        total = len(items)
    return _Page(items, total)


def _dedupe(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for item in items:
        seen[str(_lower_keys(item).get("uuid"))] = item
    return list(seen.values())


# ---------------------------------------------------------------------------------------------
# OAuth2 token, shared by every thread


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


# ---------------------------------------------------------------------------------------------
# The provider


class EquinixProvider:
    """Provider for `EquinixBgpPeering` (Network Edge BGP configs)."""

    name = CLOUD

    def __init__(
        self,
        endpoint: str,
        client_id: str,
        client_secret: SecretValue | None,
        options: ProviderOptions,
        *,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.options = options
        self.page_size = page_size
        self._client_id = client_id
        self._client_secret = client_secret
        self._policy = RetryPolicy.from_options(options)
        self._counter = CallCounter()
        self._in_flight = threading.BoundedSemaphore(max(1, options.max_in_flight))
        # Headers set here are never changed afterwards; per-request headers are passed per call.
        self._http = httpx.Client(
            base_url=self.endpoint,
            timeout=options.request_timeout,
            headers={"Accept": "application/json", "User-Agent": f"reconciler/{__version__}"},
            limits=httpx.Limits(max_connections=max(1, options.max_in_flight) * 2),
        )
        self._tokens = TokenSource(self._fetch_token)
        self._prereq_lock = threading.Lock()
        self._ready_connections: set[str] = set()
        self._ready_devices: set[str] = set()
        self._connection_lookup_served = True  # the undocumented endpoint; False once it fails
        self._pages_hint: int | None = None  # pages a full list took last time (for poll)

    @classmethod
    def from_env(cls, env: Mapping[str, str], options: ProviderOptions) -> EquinixProvider:
        """Build from EQUINIX_API_ENDPOINT / EQUINIX_CLIENT_ID / EQUINIX_CLIENT_SECRET.

        Missing credentials are reported at the first API call, so a repository that manages no
        Equinix peering never needs them.
        """
        secret = env.get("EQUINIX_CLIENT_SECRET", "")
        return cls(
            env.get("EQUINIX_API_ENDPOINT") or DEFAULT_ENDPOINT,
            env.get("EQUINIX_CLIENT_ID", ""),
            SecretValue(secret) if secret else None,
            options,
        )

    # -- plumbing --------------------------------------------------------------------------

    def _secrets(self, extra: Iterable[str] = ()) -> list[str]:
        found = [self._client_secret.reveal()] if self._client_secret else []
        return found + [s for s in extra if s]

    def _fetch_token(self) -> tuple[str, float]:
        if not self._client_id or self._client_secret is None:
            raise ProviderError(
                "Equinix credentials are not set",
                cloud=CLOUD,
                hint="set EQUINIX_CLIENT_ID and EQUINIX_CLIENT_SECRET (or run with --sandbox)",
            )
        body = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret.reveal(),
        }
        op = f"POST {TOKEN_PATH}"

        def attempt() -> httpx.Response:
            with self._in_flight:
                self._counter.add(op)
                try:
                    response = self._http.post(TOKEN_PATH, json=body)
                except httpx.TransportError as error:
                    raise TransientError(f"Equinix {op}: {type(error).__name__}: {error}", cloud=CLOUD) from None
            if response.status_code in RETRY_STATUSES or response.status_code >= 500:
                raise self._error(response, op, transient=True)
            return response

        # Only outages are retried: a refused login is not, because the account locks after 5.
        try:
            response = call_with_retries(attempt, self._policy, op)
        except TransientError as outage:
            # Still retryable, but not a TransientError: the API call that needed the token must
            # not retry the whole login sequence again on top.
            raise ProviderError(
                outage.message,
                cloud=CLOUD,
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
                cloud=CLOUD,
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
                f"Equinix {op} returned no access_token", cloud=CLOUD, status=response.status_code
            ) from None
        try:
            lifetime = float(payload.get("token_timeout"))
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_TIMEOUT
        if not math.isfinite(lifetime) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_TIMEOUT
        return token, lifetime

    def _error(
        self, response: httpx.Response, op: str, *, transient: bool = False, secrets: Iterable[str] = ()
    ) -> ProviderError:
        errors = parse_error(response)
        codes = [e.code for e in errors if e.code]
        properties = [e.property for e in errors if e.property]
        messages = [mask_secrets(e.message, self._secrets(secrets)) for e in errors]
        text = mask_secrets(
            f"Equinix {op} failed: HTTP {response.status_code}: {describe(errors)}", self._secrets(secrets)
        )
        if properties:
            text += f" (property: {', '.join(properties)})"
        if transient:
            return TransientError(
                text,
                cloud=CLOUD,
                status=response.status_code,
                codes=codes,
                messages=messages,
                retry_after=retry_after_seconds(response),
            )
        cls = ResourceNotFound if response.status_code == 404 else ProviderError
        hint = None
        if response.status_code == 401:
            hint = "the API token was refused twice; check EQUINIX_CLIENT_ID / EQUINIX_CLIENT_SECRET"
        elif response.status_code == 403:
            hint = "the Equinix API user lacks the permission for this operation"
        return cls(
            text,
            cloud=CLOUD,
            status=response.status_code,
            codes=codes,
            messages=messages,
            properties=properties,
            hint=hint,
        )

    def _send(
        self,
        method: str,
        path: str,
        op: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
        secrets: Sequence[str] = (),
        transient_statuses: frozenset[int] = RETRY_STATUSES,
    ) -> httpx.Response:
        """One request (plus one re-authentication on a 401). Raises TransientError for what
        may be retried, ProviderError / ResourceNotFound for the rest."""
        token = self._tokens.get()
        for reauthenticated in (False, True):
            with self._in_flight:
                self._counter.add(op)
                try:
                    response = self._http.request(
                        method, path, params=params, json=body, headers={"Authorization": f"Bearer {token}"}
                    )
                except httpx.TransportError as error:
                    raise TransientError(f"Equinix {op}: {type(error).__name__}: {error}", cloud=CLOUD) from error
            if response.status_code == 401 and not reauthenticated:
                self._tokens.invalidate(token)
                token = self._tokens.get()
                continue
            break
        if response.status_code in transient_statuses:
            raise self._error(response, op, transient=True, secrets=secrets)
        if response.status_code >= 400:
            raise self._error(response, op, secrets=secrets)
        return response

    def _call(self, method: str, path: str, op: str, **kwargs: Any) -> httpx.Response:
        """`_send` with retries (GET and PUT)."""
        return call_with_retries(lambda: self._send(method, path, op, **kwargs), self._policy, op)

    def _get_json(self, path: str, op: str, params: Mapping[str, str | int] | None = None) -> Any:
        response = self._call("GET", path, op, params=params)
        try:
            return response.json()
        except ValueError:
            raise ProviderError(
                f"Equinix {op} returned a reply that is not JSON", cloud=CLOUD, status=response.status_code
            ) from None

    # -- listing -------------------------------------------------------------------------------

    def _list_page(self, filters: Mapping[str, str], offset: int) -> _Page:
        params: dict[str, str | int] = {**filters, "offset": offset, "limit": self.page_size}
        return _page(self._get_json(BGP_PATH, f"GET {BGP_PATH}", params))

    def _list_rest(self, filters: Mapping[str, str], first: _Page) -> list[dict[str, Any]]:
        """Every item after `first`. The first page gave the total and the page size the server
        really uses; the other offsets are fetched concurrently, then checked: if a page came
        back short, paging goes on sequentially from there (never skipping an item)."""
        items = list(first.items)
        step, total = len(first.items), first.total
        if step == 0 or step >= total:
            return items
        offsets = list(range(step, total, step))
        pages = map_bounded(lambda off: self._list_page(filters, off), offsets, self.options.max_in_flight)
        resume_at: int | None = None
        for offset, page in zip(offsets, pages, strict=True):
            items.extend(page.items)
            total = max(total, page.total)
            is_short = len(page.items) < step and offset + len(page.items) < total
            if resume_at is None and is_short:
                resume_at = offset + len(page.items)
        offset = resume_at if resume_at is not None else total
        while offset < total:
            page = self._list_page(filters, offset)
            if not page.items:
                break
            items.extend(page.items)
            offset += len(page.items)
            total = page.total
        return _dedupe(items)

    def _list(self, filters: Mapping[str, str]) -> list[dict[str, Any]]:
        first = self._list_page(filters, 0)
        items = self._list_rest(filters, first)
        if not filters and first.items:
            self._pages_hint = math.ceil(first.total / len(first.items))
        return items

    # -- reads -----------------------------------------------------------------------------

    def refresh(self, scope: RefreshScope) -> RefreshResult:
        """Every BGP config, by pages of `GET /ne/v1/bgp`.

        The first unfiltered page tells how many pages the account holds. When the scope names
        a few connections and listing them one by one (`?connectionUuid=`) plus reading the ids
        from state not seen yet takes fewer calls than the remaining pages, that is done
        instead; otherwise the remaining pages are fetched concurrently.
        """
        before = self._counter.snapshot()
        if scope.kinds and EQUINIX_PEERING not in scope.kinds:
            return RefreshResult(objects=())
        first = self._list_page({}, 0)
        step = len(first.items)
        remaining_pages = math.ceil((first.total - step) / step) if step else 0
        if step:
            self._pages_hint = math.ceil(first.total / step)
        seen = {str(_lower_keys(i).get("uuid")) for i in first.items}
        unseen_ids = sorted(i for i in scope.ids - seen if _is_uuid(i))  # ids of other clouds: not ours
        connections = sorted(scope.connections) if isinstance(scope, EquinixScope) else []
        if connections and len(connections) + len(unseen_ids) < remaining_pages:
            items = self._list_by_connections(connections, unseen_ids, first.items)
        else:
            items = self._list_rest({}, first)
        objects = tuple(obj for item in items if (obj := live_object(item)) is not None)
        return RefreshResult(objects=objects, api_calls=self._counter.since(before))

    def _list_by_connections(
        self, connections: Sequence[str], ids: Sequence[str], first: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        limit = self.options.max_in_flight
        per_connection = map_bounded(lambda c: self._list({"connectionUuid": c}), connections, limit)
        items = [item for group in per_connection for item in group]
        known = {str(_lower_keys(i).get("uuid")) for i in items}
        missing = [i for i in ids if i not in known]
        by_id = map_bounded(self._get_item, missing, limit)
        wanted = set(connections)
        from_first = [i for i in first if str(_lower_keys(i).get("connectionuuid", "")).lower() in wanted]
        return _dedupe([*from_first, *items, *(i for i in by_id if i is not None)])

    def _get_item(self, cloud_id: str) -> dict[str, Any] | None:
        try:
            body = self._get_json(f"{BGP_PATH}/{cloud_id}", f"GET {BGP_PATH}/{{uuid}}")
        except ResourceNotFound:
            return None
        return body if isinstance(body, dict) else None

    def get(self, ref: ObjectRef) -> LiveObject | None:
        item = self._get_item(ref.cloud_id)
        return live_object(item) if item is not None else None

    def poll(self, refs: Sequence[ObjectRef]) -> dict[str, LiveObject | None]:
        """Few refs: one GET each (concurrently). Many: the list pages, unless the last full
        list took more pages than there are refs."""
        ids = sorted({r.cloud_id for r in refs})
        use_list = len(ids) > FEW_REFS and (self._pages_hint is None or self._pages_hint <= len(ids))
        if not use_list:
            found = map_bounded(self._get_item, ids, self.options.max_in_flight)
            return {i: live_object(item) if item is not None else None for i, item in zip(ids, found, strict=True)}
        listed = {obj.cloud_id: obj for item in self._list({}) if (obj := live_object(item)) is not None}
        return {i: listed.get(i) for i in ids}

    def find(self, kind: str, attrs: Mapping[str, Any]) -> LiveObject | None:
        if kind != EQUINIX_PEERING:
            raise ValueError(f"the Equinix provider does not manage {kind}")
        return self._lookup_connection(str(attrs["connectionUuid"]))

    def _lookup_connection(self, connection_uuid: str) -> LiveObject | None:
        """The live config of a connection. Tries the connection endpoint the Terraform provider
        uses (undocumented); a 404 there is confirmed with the documented filtered list, so a
        retired endpoint can never make us create a duplicate."""
        if self._connection_lookup_served:
            path = f"{BGP_PATH}/connection/{connection_uuid}"
            try:
                body = self._get_json(path, f"GET {BGP_PATH}/connection/{{uuid}}")
            except ResourceNotFound:
                pass
            except ProviderError as error:
                if error.retryable or error.status is None or error.status >= 500:
                    raise
                self._connection_lookup_served = False  # e.g. 405: not served here
            else:
                obj = live_object(body) if isinstance(body, dict) else None
                if obj is not None:
                    return obj
        candidates = [
            o
            for i in self._list({"connectionUuid": connection_uuid})
            if (o := live_object(i)) is not None and o.attrs.get("connectionUuid") == connection_uuid.lower()
        ]
        return candidates[0] if candidates else None

    # -- writes --------------------------------------------------------------------------------

    def _check_prerequisites(self, connection_uuid: str) -> None:
        """The Fabric connection is provisioned and its A-side virtual device is PROVISIONED with
        a registered license (reference §6). Passing checks are cached for this instance."""
        with self._prereq_lock:
            if connection_uuid in self._ready_connections:
                return
        try:
            connection = self._get_json(
                f"/fabric/v4/connections/{connection_uuid}", "GET /fabric/v4/connections/{uuid}"
            )
        except ResourceNotFound:
            raise ProviderError(
                f"Fabric connection {connection_uuid} was not found",
                cloud=CLOUD,
                status=404,
                hint="check spec.connectionUuid",
            ) from None
        state = str(connection.get("state") or "")
        operation = connection.get("operation") or {}
        equinix_status = str(operation.get("equinixStatus") or "") if isinstance(operation, dict) else ""
        if state not in READY_CONNECTION_STATES and equinix_status not in READY_CONNECTION_EQUINIX_STATUSES:
            raise ProviderError(
                f"Fabric connection {connection_uuid} is {state or equinix_status or 'in an unknown state'}; "
                "BGP can be configured only on a PROVISIONED connection",
                cloud=CLOUD,
                hint="wait until the connection is provisioned, then apply again",
            )
        device_uuid = _device_of(connection)
        if not device_uuid:
            raise ProviderError(
                f"Fabric connection {connection_uuid} has no Network Edge virtual device on its A side", cloud=CLOUD
            )
        self._check_device(device_uuid)
        with self._prereq_lock:
            self._ready_connections.add(connection_uuid)

    def _check_device(self, device_uuid: str) -> None:
        with self._prereq_lock:
            if device_uuid in self._ready_devices:
                return
        try:
            device = self._get_json(f"/ne/v1/devices/{device_uuid}", "GET /ne/v1/devices/{uuid}")
        except ResourceNotFound:
            raise ProviderError(f"virtual device {device_uuid} was not found", cloud=CLOUD, status=404) from None
        label = f"virtual device {device.get('name') or device_uuid} ({device_uuid})"
        status = str(device.get("status") or "")
        if status != "PROVISIONED":
            raise ProviderError(
                f"{label} is {status or 'in an unknown state'}; it must be PROVISIONED",
                cloud=CLOUD,
                hint="wait until the device is provisioned, then apply again",
            )
        license_status = str(device.get("licenseStatus") or "")
        if license_status not in READY_LICENSES:
            raise ProviderError(
                f"{label} has license status {license_status or 'unknown'}; it must be "
                f"{', '.join(sorted(READY_LICENSES))}",
                cloud=CLOUD,
            )
        if str(device.get("deviceManagementType") or "").upper() == "SELF-CONFIGURED":
            raise ProviderError(
                f"{label} is SELF-CONFIGURED; BGP peering through the API needs an Equinix-configured device",
                cloud=CLOUD,
            )
        with self._prereq_lock:
            self._ready_devices.add(device_uuid)

    def _payload(self, desired: Desired, *, with_connection: bool) -> tuple[dict[str, Any], list[str]]:
        """The request body and the secret values it carries (to keep them out of messages)."""
        attrs = PEERING.normalise(desired.attrs)
        body: dict[str, Any] = {name: attrs[name] for name in FIELDS[1:]}
        if with_connection:
            body["connectionUuid"] = attrs["connectionUuid"]
        secrets: list[str] = []
        if KEY_FIELD in desired.secrets:
            key = desired.secrets[KEY_FIELD]
            if key is not None:
                body[KEY_FIELD] = key.reveal()
                secrets.append(key.reveal())
            elif not with_connection:
                body[KEY_FIELD] = ""  # PUT: an empty key removes it; POST: simply omitted
        return body, secrets

    def create(self, desired: Desired, token: str) -> str:
        """Adopt the connection's config if it has one (PUT when it differs), else POST once.

        `token` is unused: Equinix has no idempotency key; the connection is the natural key.
        """
        connection_uuid = PEERING.normalise(desired.attrs)["connectionUuid"]
        self._check_prerequisites(connection_uuid)
        existing = self._lookup_connection(connection_uuid)
        if existing is not None:
            self._converge(existing, desired)
            return existing.cloud_id
        body, secrets = self._payload(desired, with_connection=True)
        op = f"POST {BGP_PATH}"
        try:
            response = self._post_once(body, secrets)
        except _Ambiguous as ambiguous:
            return self._adopt_after_ambiguous_post(desired, ambiguous.error)
        try:
            return str(response.json()["uuid"])
        except (ValueError, KeyError, TypeError):
            # Accepted, but no id in the reply: find what was made instead of guessing.
            return self._adopt_after_ambiguous_post(
                desired, ProviderError(f"Equinix {op} returned no uuid", cloud=CLOUD, status=response.status_code)
            )

    def _post_once(self, body: Mapping[str, Any], secrets: Sequence[str]) -> httpx.Response:
        """POST, re-sent only when the server certainly did not act (429, connection refused);
        anything ambiguous (timeout, reset, dropped reply, 5xx) raises `_Ambiguous`."""
        op = f"POST {BGP_PATH}"

        def attempt() -> httpx.Response:
            try:
                return self._send(
                    "POST", BGP_PATH, op, body=body, secrets=secrets, transient_statuses=POST_SAFE_TO_RESEND
                )
            except TransientError as error:
                cause = error.__cause__
                if error.status is None and not isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout):
                    raise _Ambiguous(error) from error
                raise

        try:
            return call_with_retries(attempt, self._policy, op)
        except ProviderError as error:
            if error.status is not None and error.status >= 500:
                raise _Ambiguous(error) from error
            raise

    def _adopt_after_ambiguous_post(self, desired: Desired, error: ProviderError) -> str:
        """The POST may have worked: look the connection up for `create_grace` seconds and adopt
        what appears. Never re-POST blindly; if nothing appears, the error surfaces."""
        connection_uuid = PEERING.normalise(desired.attrs)["connectionUuid"]
        deadline = time.monotonic() + self.options.create_grace
        delay = 0.1
        while True:
            try:
                found = self._lookup_connection(connection_uuid)
            except ProviderError as lookup_error:
                if not lookup_error.retryable:
                    raise
                found = None
            if found is not None:
                log.warning(
                    "equinix.adopted_after_ambiguous_create",
                    connection=connection_uuid,
                    uuid=found.cloud_id,
                    error=str(error),
                )
                self._converge(found, desired)
                return found.cloud_id
            if time.monotonic() + delay > deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        raise ProviderError(
            f"creating the BGP config on connection {connection_uuid} may have failed ({error.message}) "
            f"and no config appeared on the connection within {self.options.create_grace:g}s",
            cloud=CLOUD,
            status=error.status,
            codes=error.codes,
            messages=error.messages,
            retryable=True,
            hint="run apply again: reconciler looks the connection up before creating, so it never creates a duplicate",
        )

    def _converge(self, live: LiveObject, desired: Desired) -> None:
        """After adopting `live`: PUT when its fields or key differ from `desired` (or it FAILED)."""
        wanted = PEERING.normalise(desired.attrs)
        differs = any(live.attrs.get(f) != wanted.get(f) for f in FIELDS[1:])
        if KEY_FIELD in desired.secrets and live.secrets.get(KEY_FIELD) != desired.secrets[KEY_FIELD]:
            differs = True
        if not differs and live.status != "failed":
            return
        if live.status == "pending":
            # A PUT is refused while the config is PROVISIONING / PENDING_UPDATE: let it settle.
            ref = ObjectRef(EQUINIX_PEERING, live.cloud_id, None)
            with contextlib.suppress(ProviderError):  # FAILED is fine: the PUT retries it
                wait_settled(
                    self, [ref], timeout=BUSY_TIMEOUT, grace=self.options.create_grace, first_delay=0.1, max_delay=2.0
                )
        self._put(live.cloud_id, desired)

    def _put(self, cloud_id: str, desired: Desired) -> None:
        body, secrets = self._payload(desired, with_connection=False)
        self._call("PUT", f"{BGP_PATH}/{cloud_id}", f"PUT {BGP_PATH}/{{uuid}}", body=body, secrets=secrets)

    def update(self, ref: ObjectRef, desired: Desired, changed: Sequence[str], token: str) -> None:
        """PUT all five fields plus the key (the API replaces the config as a whole)."""
        if "connectionUuid" in changed:
            raise ProviderError(
                "connectionUuid cannot change in place (Equinix has no API to move a BGP "
                "config); the plan must replace it",
                cloud=CLOUD,
            )
        try:
            self._put(ref.cloud_id, desired)
        except ProviderError:
            # Refused because the config is still PROVISIONING / PENDING_UPDATE (e.g. after an
            # interrupted apply)? Then let it settle and PUT once more; otherwise the error stands.
            live = self.get(ref)
            if live is None or live.status != "pending":
                raise
            with contextlib.suppress(ProviderError):
                wait_settled(
                    self, [ref], timeout=BUSY_TIMEOUT, grace=self.options.create_grace, first_delay=0.1, max_delay=2.0
                )
            self._put(ref.cloud_id, desired)

    def delete(self, ref: ObjectRef, token: str) -> None:
        """Equinix has no DELETE for BGP configs: succeed if it is gone, else explain."""
        if self.get(ref) is None:
            return
        raise ProviderError(f"cannot delete Equinix BGP config {ref.cloud_id}: {PEERING.no_delete_reason}", cloud=CLOUD)

    def api_calls(self) -> Mapping[str, int]:
        return self._counter.snapshot()

    def close(self) -> None:
        self._http.close()


class _Ambiguous(Exception):
    """A POST that may or may not have been carried out."""

    def __init__(self, error: ProviderError) -> None:
        super().__init__(error.message)
        self.error = error


def _is_uuid(value: str) -> bool:
    """Equinix ids are UUIDs (Alibaba's are `bgpg-...`): a shared id set is filtered with this."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _device_of(connection: Mapping[str, Any]) -> str:
    """The A-side virtual device of a Fabric v4 connection."""
    a_side = connection.get("aSide") or {}
    access_point = a_side.get("accessPoint") or {} if isinstance(a_side, dict) else {}
    device = access_point.get("virtualDevice") or {} if isinstance(access_point, dict) else {}
    if isinstance(device, dict) and device.get("uuid"):
        return str(device["uuid"])
    return str(connection.get("virtualDeviceUuid") or connection.get("deviceUuid") or "")
