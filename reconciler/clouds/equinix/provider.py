"""Equinix Network Edge BGP peering, over the NE v1 REST API with httpx.

Facts this client relies on:
- OAuth2 client credentials; a refused login is never retried (docs/cloud-apis.md, Equinix §1;
  `auth`).
- `POST /ne/v1/bgp` has no idempotency key. Before creating, the connection's existing config is
  looked up and adopted; after an ambiguous failure the client looks again instead of re-POSTing
  (docs/cloud-apis.md, Equinix §3). Creates on one virtual device share that lookup: one list of
  the device's configs (`?virtualDeviceUuid=`), at most `DEVICE_LIST_MAX_AGE` old, answers them
  all, instead of two reads per create.
- The list may cap `limit` below what was asked: paging advances by what came back
  (docs/cloud-apis.md, Equinix §4; `paging`).
- A PUT replaces the whole config and may be refused while it is PROVISIONING / PENDING_UPDATE
  (docs/cloud-apis.md, Equinix §5): the client then answers `Busy` and the engine tries again
  once the config settled.
- There is no DELETE: removing a peering means forgetting it (docs/cloud-apis.md, Equinix §6).
- Error bodies are one object or an array of `{errorCode, errorMessage, property, moreInfo}`
  (docs/cloud-apis.md, Equinix §8; `errors`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from reconciler import __version__
from reconciler.clouds.base import Busy, Desired, ObjectRef, ProviderOptions, RefreshResult, RefreshScope
from reconciler.clouds.counters import CallCounter, map_bounded, poll_by_list
from reconciler.clouds.equinix.auth import TOKEN_OPERATION, TOKEN_PATH, ClientCredentialsLogin, TokenSource
from reconciler.clouds.equinix.configs import Item, differs, item_uuid, live_object, lower_keys, request_body
from reconciler.clouds.equinix.errors import RETRY_STATUSES, response_error
from reconciler.clouds.equinix.kinds import CLOUD_NAME, EQUINIX_PEERING, PEERING
from reconciler.clouds.equinix.paging import PAGE_SIZE, Page, dedupe, parse_page, read_rest
from reconciler.clouds.equinix.prerequisites import Prerequisites
from reconciler.clouds.equinix.scope import EquinixScope
from reconciler.clouds.retry import RetryPolicy, TransientError, call_with_retries
from reconciler.errors import ProviderError, ResourceNotFound
from reconciler.log import get_logger
from reconciler.model import LiveObject, SecretValue

CLOUD = CLOUD_NAME
DEFAULT_ENDPOINT = "https://api.equinix.com"
BGP_PATH = "/ne/v1/bgp"
# How old a device's list of configs may be when it answers "has this connection a config?" before
# a POST. The state lock keeps other reconciler runs away and recovery settles what a crashed run
# sent, so only someone else creating a config by hand meanwhile is missed, as a read just before
# the POST would miss one made just after it; the next plan reports such a duplicate.
DEVICE_LIST_MAX_AGE = 5.0  # seconds

# POST is re-sent only when the server certainly did not act on it (docs/cloud-apis.md, Equinix §3).
POST_SAFE_TO_RESEND = frozenset({429})

log = get_logger("reconciler.clouds.equinix")


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
        self._client_secret = client_secret
        self._policy = RetryPolicy.from_options(options)
        self._counter = CallCounter()
        self._in_flight = threading.BoundedSemaphore(max(1, options.max_in_flight))
        # Settle polls have a budget of their own: they never take the request slots calls need.
        self._poll_in_flight = threading.BoundedSemaphore(max(2, options.max_in_flight // 4))
        # Headers set here are never changed afterwards; per-request headers are passed per call.
        self._http = httpx.Client(
            base_url=self.endpoint,
            timeout=options.request_timeout,
            headers={"Accept": "application/json", "User-Agent": f"reconciler/{__version__}"},
            limits=httpx.Limits(max_connections=max(1, options.max_in_flight) * 2),
            # A plain-http endpoint (a sandbox) has no certificate to check: loading the CA bundle
            # for it would cost about 40 ms of every run. An https endpoint is always verified.
            verify=not self.endpoint.startswith("http://"),
        )
        login = ClientCredentialsLogin(
            client_id,
            client_secret,
            lambda body: self._request("POST", TOKEN_PATH, TOKEN_OPERATION, body=body),
            self._policy,
        )
        self._tokens = TokenSource(login)
        self._prerequisites = Prerequisites(self._get_json, self._post_json)
        self._connection_lookup_served = True  # the undocumented endpoint; False once it fails
        self._device_configs: dict[str, _DeviceConfigs] = {}  # device uuid -> its configs, as last listed
        self._device_locks: dict[str, threading.Lock] = {}  # one list of a device at a time
        self._device_locks_lock = threading.Lock()
        self._asked: set[str] = set()  # connections a create looked for a config on
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

    def _request(
        self,
        method: str,
        path: str,
        op: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        polling: bool = False,
    ) -> httpx.Response:
        """One HTTP request, counted and within the in-flight bound (the polls' own, when
        `polling`). A connection failure is a TransientError (its cause kept: a POST tells a
        refused connection from an ambiguous one)."""
        with self._poll_in_flight if polling else self._in_flight:
            self._counter.add(op)
            try:
                with self._http.stream(method, path, params=params, json=body, headers=headers) as streamed:
                    raw = b"".join(streamed.iter_raw())
            except httpx.TransportError as error:
                raise TransientError(f"Equinix {op}: {type(error).__name__}: {error}", cloud=CLOUD) from error
        # httpx's response and its stream refer to each other, so a response is freed only by the
        # cycle collector, which a plan runs without (reconciler/collector.py): each page's body
        # would stay in memory to the end of the run. The body goes to a response of our own, which
        # holds no such cycle and is freed as soon as its page is read.
        return httpx.Response(streamed.status_code, headers=streamed.headers, content=raw, request=streamed.request)

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
        polling: bool = False,
    ) -> httpx.Response:
        """One API request (plus one re-authentication on a 401). Raises TransientError for what
        may be retried, ProviderError / ResourceNotFound for the rest."""
        token = self._tokens.get()
        for reauthenticated in (False, True):
            response = self._request(
                method,
                path,
                op,
                params=params,
                body=body,
                headers={"Authorization": f"Bearer {token}"},
                polling=polling,
            )
            if response.status_code == 401 and not reauthenticated:
                self._tokens.invalidate(token)
                token = self._tokens.get()
                continue
            break
        if response.status_code in transient_statuses:
            raise response_error(response, op, self._secrets(secrets), transient=True)
        if response.status_code >= 400:
            raise response_error(response, op, self._secrets(secrets))
        return response

    def _call(self, method: str, path: str, op: str, **kwargs: Any) -> httpx.Response:
        """`_send` with retries (GET and PUT)."""
        return call_with_retries(lambda: self._send(method, path, op, **kwargs), self._policy, op)

    def _get_json(
        self, path: str, op: str, params: Mapping[str, str | int] | None = None, *, polling: bool = False
    ) -> Any:
        return _json_of(self._call("GET", path, op, params=params, polling=polling), op)

    def _post_json(self, path: str, op: str, body: Mapping[str, Any]) -> Any:
        """A read that takes its question as a JSON body (a search): retried like a GET."""
        return _json_of(self._call("POST", path, op, body=body), op)

    # -- listing -------------------------------------------------------------------------------

    def _list_page(self, filters: Mapping[str, str], offset: int, *, polling: bool = False) -> Page:
        params: dict[str, str | int] = {**filters, "offset": offset, "limit": self.page_size}
        return parse_page(self._get_json(BGP_PATH, f"GET {BGP_PATH}", params, polling=polling))

    def _list_rest(self, filters: Mapping[str, str], first: Page, *, polling: bool = False) -> list[Item]:
        return read_rest(
            lambda offset: self._list_page(filters, offset, polling=polling), first, self.options.max_in_flight
        )

    def _list(self, filters: Mapping[str, str], *, polling: bool = False) -> list[Item]:
        first = self._list_page(filters, 0, polling=polling)
        items = self._list_rest(filters, first, polling=polling)
        if not filters and first.items:
            self._pages_hint = first.pages_in_all()
        return items

    # -- reads -----------------------------------------------------------------------------

    def refresh(self, scope: RefreshScope) -> RefreshResult:
        """Every BGP config, by pages of `GET /ne/v1/bgp`.

        The first unfiltered page tells how many pages the account holds. When the scope names
        a few connections and listing them one by one (`?connectionUuid=`) takes fewer calls than
        the remaining pages, that is done instead; otherwise the remaining pages are fetched
        concurrently. Never one read per object: the scope names the connection of every
        recorded config (a config never moves to another connection, docs/cloud-apis.md,
        Equinix §2), so a recorded config that its connection's list does not show is gone.
        """
        before = self._counter.snapshot()
        if scope.kinds and EQUINIX_PEERING not in scope.kinds:
            return RefreshResult(objects=())
        first = self._list_page({}, 0)
        step = len(first.items)
        remaining_pages = math.ceil((first.total - step) / step) if step else 0
        if step:
            self._pages_hint = first.pages_in_all()
        connections = sorted(scope.connections) if isinstance(scope, EquinixScope) else []
        if connections and len(connections) < remaining_pages:
            items = self._list_by_connections(connections, first.items)
        else:
            items = self._list_rest({}, first)
        objects = tuple(obj for item in items if (obj := live_object(item, extras=scope.extras)) is not None)
        return RefreshResult(objects=objects, api_calls=self._counter.since(before))

    def _list_by_connections(self, connections: Sequence[str], first: Sequence[Item]) -> list[Item]:
        per_connection = map_bounded(
            lambda c: self._list({"connectionUuid": c}), connections, self.options.max_in_flight
        )
        items = [item for group in per_connection for item in group]
        wanted = set(connections)
        from_first = [i for i in first if str(lower_keys(i).get("connectionuuid", "")).lower() in wanted]
        return dedupe([*from_first, *items])

    def _get_item(self, cloud_id: str, *, polling: bool = False) -> Item | None:
        try:
            body = self._get_json(f"{BGP_PATH}/{cloud_id}", f"GET {BGP_PATH}/{{uuid}}", polling=polling)
        except ResourceNotFound:
            return None
        return body if isinstance(body, dict) else None

    def get(self, ref: ObjectRef) -> LiveObject | None:
        item = self._get_item(ref.cloud_id)
        return live_object(item) if item is not None else None

    def poll(self, refs: Sequence[ObjectRef]) -> dict[str, LiveObject | None]:
        """Few refs: one GET each (concurrently). Many: the list pages, unless the last full
        list took more pages than there are refs. Within the polls' own request budget."""
        ids = sorted({r.cloud_id for r in refs})
        if not poll_by_list(len(ids), self._pages_hint):
            found = map_bounded(lambda i: self._get_item(i, polling=True), ids, self.options.max_in_flight)
            return {i: live_object(item) if item is not None else None for i, item in zip(ids, found, strict=True)}
        wanted = set(ids)  # only these are read: the pages hold every config of the account
        listed = {
            obj.cloud_id: obj
            for item in self._list({}, polling=True)
            if item_uuid(item) in wanted and (obj := live_object(item)) is not None
        }
        return {i: listed.get(i) for i in ids}

    def find(self, kind: str, attrs: Mapping[str, Any]) -> LiveObject | None:
        if kind != EQUINIX_PEERING:
            raise ValueError(f"the Equinix provider does not manage {kind}")
        return self._lookup_connection(str(attrs["connectionUuid"]))

    def _lookup_connection(self, connection_uuid: str) -> LiveObject | None:
        """The live config of a connection. Tries the connection endpoint the Terraform provider
        uses (undocumented); a 404 there is confirmed with the documented filtered list, so a
        retired endpoint can never make us create a duplicate (docs/cloud-apis.md, Equinix §3)."""
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

    def _existing_config(self, connection_uuid: str) -> LiveObject | None:
        """The config a create must adopt instead of POSTing. When the prerequisites read the
        connection's device, the device's list answers (one list for every create on the device,
        listed again once older than `DEVICE_LIST_MAX_AGE`); else the connection is looked up.
        A connection asked about again (a create called again after `Busy`, or a second create on
        it) is looked up itself: the list cannot show what changed on it since."""
        device = self._prerequisites.device(connection_uuid)
        with self._device_locks_lock:
            asked_before = connection_uuid.lower() in self._asked
            self._asked.add(connection_uuid.lower())
        if device is None or asked_before:
            return self._lookup_connection(connection_uuid)
        with self._device_lock(device):
            listed = self._device_configs.get(device)
            if listed is None or time.monotonic() - listed.listed_at > DEVICE_LIST_MAX_AGE:
                started = time.monotonic()
                listed = _DeviceConfigs.of(started, self._list({"virtualDeviceUuid": device}))
                self._device_configs[device] = listed
        return listed.by_connection.get(connection_uuid.lower())

    def _device_lock(self, device: str) -> threading.Lock:
        with self._device_locks_lock:
            return self._device_locks.setdefault(device, threading.Lock())

    # -- writes --------------------------------------------------------------------------------

    def create(self, desired: Desired, token: str) -> str | Busy:
        """Adopt the connection's config if it has one (PUT when it differs), else POST once.

        `token` is unused: Equinix has no idempotency key; the connection is the natural key
        (docs/cloud-apis.md, Equinix §3). `Busy` when the connection is still being provisioned,
        or when the adopted config must be changed but is still provisioning: nothing was sent,
        and the same call succeeds once it settled.
        """
        connection_uuid = PEERING.normalise(desired.attrs)["connectionUuid"]
        waiting = self._prerequisites.check(connection_uuid)
        if waiting is not None:
            return waiting
        existing = self._existing_config(connection_uuid)
        if existing is not None:
            busy = self._converge(existing, desired)
            return busy if busy is not None else existing.cloud_id
        body, secrets = request_body(desired, with_connection=True)
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

    def _adopt_after_ambiguous_post(self, desired: Desired, error: ProviderError) -> str | Busy:
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
                busy = self._converge(found, desired)
                return busy if busy is not None else found.cloud_id
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

    def _converge(self, live: LiveObject, desired: Desired) -> Busy | None:
        """After adopting `live`: PUT when its fields or key differ from `desired` (or it FAILED).
        A config still PROVISIONING / PENDING_UPDATE may refuse a PUT (docs/cloud-apis.md,
        Equinix §5), so it is left to settle first: `Busy`, waiting for that config."""
        if not differs(live, desired) and live.status != "failed":
            return None
        if live.status == "pending":
            return _busy_config(live.cloud_id, live.raw_status)
        self._put(live.cloud_id, desired)
        return None

    def _put(self, cloud_id: str, desired: Desired) -> None:
        body, secrets = request_body(desired, with_connection=False)
        self._call("PUT", f"{BGP_PATH}/{cloud_id}", f"PUT {BGP_PATH}/{{uuid}}", body=body, secrets=secrets)

    def update(self, ref: ObjectRef, desired: Desired, changed: Sequence[str], token: str) -> Busy | None:
        """PUT all five fields plus the key (the API replaces the config as a whole).

        A PUT refused while the config is still PROVISIONING / PENDING_UPDATE (e.g. after an
        interrupted apply): `Busy`, waiting for that config; the same call succeeds once it
        settled (a PUT is harmless to repeat). Any other refusal is an error.
        """
        if "connectionUuid" in changed:
            raise ProviderError(
                "connectionUuid cannot change in place (Equinix has no API to move a BGP "
                "config); the plan must replace it",
                cloud=CLOUD,
            )
        try:
            self._put(ref.cloud_id, desired)
        except ProviderError:
            live = self.get(ref)
            if live is None or live.status != "pending":
                raise
            return _busy_config(ref.cloud_id, live.raw_status)
        return None

    def delete(self, ref: ObjectRef, token: str) -> Busy | None:
        """Equinix has no DELETE for BGP configs (docs/cloud-apis.md, Equinix §6): succeed if it
        is gone, else explain."""
        if self.get(ref) is None:
            return None
        raise ProviderError(f"cannot delete Equinix BGP config {ref.cloud_id}: {PEERING.no_delete_reason}", cloud=CLOUD)

    def api_calls(self) -> Mapping[str, int]:
        return self._counter.snapshot()

    def close(self) -> None:
        self._http.close()


def _busy_config(cloud_id: str, raw_status: str) -> Busy:
    return Busy(
        f"Equinix BGP config {cloud_id} is {raw_status or 'still provisioning'}; it cannot be updated until "
        "it is provisioned",
        wait_for=ObjectRef(EQUINIX_PEERING, cloud_id, None),
    )


@dataclass(frozen=True, slots=True)
class _DeviceConfigs:
    """A device's configs by connection (the first listed, as `_lookup_connection` takes), and
    when the list started."""

    listed_at: float
    by_connection: Mapping[str, LiveObject]

    @staticmethod
    def of(started: float, items: Iterable[Item]) -> _DeviceConfigs:
        by_connection: dict[str, LiveObject] = {}
        for item in items:
            obj = live_object(item)
            if obj is not None:
                by_connection.setdefault(str(obj.attrs.get("connectionUuid", "")).lower(), obj)
        return _DeviceConfigs(started, by_connection)


class _Ambiguous(Exception):
    """A POST that may or may not have been carried out."""

    def __init__(self, error: ProviderError) -> None:
        super().__init__(error.message)
        self.error = error


def _json_of(response: httpx.Response, op: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ProviderError(
            f"Equinix {op} returned a reply that is not JSON", cloud=CLOUD, status=response.status_code
        ) from None
