"""Alibaba Cloud Express Connect BGP groups and peers, through the official VPC SDK.

Facts this client relies on:
- `alibabacloud-vpc20160428` 7.2.2 on tea-openapi 0.4.x: one attempt per call (the SDK's own
  retry knobs are ignored), so retries are ours (tenacity) and resend the same ClientToken
  (docs/cloud-apis.md, Alibaba §1 and §4).
- Errors: `e.data` holds the raw `Code` / `Message` / `RequestId`; `e.message` is wrapped.
  Network failures are `UnretryableException` wrapping a `RetryError` (docs/cloud-apis.md,
  Alibaba §1); the codes and their hints are in Alibaba §13 (`hints`).
- `DescribeVirtualBorderRouters` filters by VbrId and pages like the BGP Describes; its gateway
  fields are what the live address checks read (docs/cloud-apis.md, Alibaba §14).
- Every Describe field of a group is a string (`"65010"`, `"false"`); `BgpStatus` may be empty
  (docs/cloud-apis.md, Alibaba §5). PageSize is at most 50 (docs/cloud-apis.md, Alibaba §6).
- Lifecycle: Pending -> Available, Modifying -> Available, Deleting -> gone. A call on an object
  that is not Available fails with `InvalidStatus.CannotOperate`, and a group with peers (even
  deleting ones) refuses deletion with `DependencyViolation.BgpPeer` (docs/cloud-apis.md,
  Alibaba §7); another operation on the VBR gives `OperationConflict`. All are answered with
  `Busy`: nothing changed, and the engine calls again once the object settled, with a new token
  derived from the first (a refused token may be remembered with its refusal, Alibaba §4).

The SDK takes about 0.25 s of CPU to import (0.36 s with every model): `sdk` imports it once,
when the provider is made, and only the model modules the calls name.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType, ModuleType
from typing import Any

from reconciler import __version__
from reconciler.clouds.alibaba import sdk
from reconciler.clouds.alibaba.hints import HINTS
from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER, GROUP, PEER
from reconciler.clouds.alibaba.params import KIND_PARAMS, KindParams
from reconciler.clouds.alibaba.scope import AlibabaScope
from reconciler.clouds.base import Busy, Desired, ObjectRef, ProviderOptions, RefreshResult, RefreshScope
from reconciler.clouds.counters import HELPERS, CallCounter, map_bounded, poll_by_list
from reconciler.clouds.retry import RetryPolicy, TransientError, call_with_retries
from reconciler.errors import ProviderError, ResourceNotFound
from reconciler.kinds import KindInfo, canonical_ip
from reconciler.log import get_logger
from reconciler.masking import mask_secrets
from reconciler.model import NO_ENTRIES, LiveObject, SecretValue, Status, shared_text, shared_values

CLOUD = "alibaba"
KIND_INFO: Mapping[str, KindInfo] = {ALIBABA_GROUP: GROUP, ALIBABA_PEER: PEER}
PAGE_SIZE = 50  # the documented maximum
VBR_DESCRIBE = "DescribeVirtualBorderRouters"
VBR_IDS_PER_CALL = 20  # VbrId filter values per DescribeVirtualBorderRouters call

GROUP_STATUS: Mapping[str, Status] = {"Pending": "pending", "Available": "ready", "Deleting": "deleting"}
PEER_STATUS: Mapping[str, Status] = {
    "Pending": "pending",
    "Modifying": "pending",
    "Available": "ready",
    "Deleting": "deleting",
    "Deleted": "deleting",
}

# Error codes that mean "the object is not there".
NOT_FOUND_CODES = frozenset(
    {
        "InvalidBgpGroup",
        "InvalidParams.NotFound",
        "InvalidBgpPeer",
        "InvalidBgpPeerId.NotFound",
        "InvalidBgpGroupId.NotFound",
    }
)
RETRYABLE_CODES = frozenset({"ServiceUnavailable", "InternalError"})
BUSY_CODE = "InvalidStatus.CannotOperate"  # the object, its group or its VBR is still changing
# Refusals that mean "not now": another operation on the VBR is in progress, or an object is in a
# status that does not allow the call. Terraform's alicloud provider retries them for minutes
# (docs/cloud-apis.md, Alibaba §13); reconciler answers `Busy` and retries within the timeout.
CONFLICT_CODE = "OperationConflict"
BUSY_RETRY_AFTER = 3.0  # seconds at least between attempts after a "not now"


def is_busy_code(code: str | None) -> bool:
    return code in (BUSY_CODE, CONFLICT_CODE) or (code or "").startswith("IncorrectStatus")


DEPENDENCY_CODE = "DependencyViolation.BgpPeer"  # the group still has peers, deleting ones included


log = get_logger("reconciler.clouds.alibaba")


# ---------------------------------------------------------------------------------------------
# Plain helpers


@functools.cache
def _sdk() -> tuple[ModuleType, ModuleType, ModuleType, ModuleType]:
    """(vpc client module, vpc models, tea-openapi models, darabonba runtime), imported once (`sdk`)."""
    loaded = sdk.load()
    return loaded.vpc_client, loaded.vpc_models, loaded.openapi_models, loaded.runtime


def endpoint_and_protocol(value: str) -> tuple[str, str]:
    """ALIBABA_CLOUD_VPC_ENDPOINT -> (host[:port], protocol).

    Rule: an explicit `http://` / `https://` wins; otherwise a loopback host or an explicit port
    other than 443 means plain http (a local emulator such as the sandbox); anything else https.
    """
    value = value.strip().rstrip("/")
    scheme, sep, rest = value.partition("://")
    if sep:
        return rest, scheme.lower()
    host, port = value, ""
    if value.startswith("["):  # [::1]:8080
        host, _, after = value[1:].partition("]")
        port = after.lstrip(":")
    elif value.count(":") == 1:
        host, port = value.split(":")
    loopback = host == "localhost"
    with contextlib.suppress(ValueError):
        loopback = loopback or ipaddress.ip_address(host).is_loopback
    return value, "http" if loopback or (port and port != "443") else "https"


_QUERY = re.compile(r"\?[^\s'\")]*")


def sanitise(text: str, secrets: Iterable[str]) -> str:
    """Text for a message: query strings dropped (the SDK puts every parameter, AuthKey
    included, in the URL that network errors quote) and any secret value masked."""
    return mask_secrets(_QUERY.sub("?(parameters omitted)", text), secrets)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# Read-only extras of each kind's Describe item: (LiveObject.info name, item field).
GROUP_INFO = (("hold", "Hold"), ("keepalive", "Keepalive"))
PEER_INFO = (
    ("advertisedRouteCount", "AdvertisedRouteCount"),
    ("receivedRouteCount", "ReceivedRouteCount"),
    ("routeLimit", "RouteLimit"),
    ("hold", "Hold"),
    ("keepalive", "Keepalive"),
    ("name", "Name"),
    ("routerId", "RouterId"),
    ("peerAsn", "PeerAsn"),
    ("localAsn", "LocalAsn"),
    ("gmtModified", "GmtModified"),
)


def _info(item: Mapping[str, Any], names: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The extras `item` reports (an empty string reports nothing)."""
    return shared_values({name: value for name, key in names if (value := item.get(key)) is not None and value != ""})


# A group without a key: one read-only mapping for all of them.
_NO_KEY: Mapping[str, SecretValue | None] = MappingProxyType({"authKey": None})


def group_object(item: Mapping[str, Any], region: str, *, extras: bool = True) -> LiveObject:
    """A `DescribeBgpGroups` item in manifest vocabulary (string fields normalised); without
    `extras`, its `info` is empty."""
    attrs = GROUP.normalise(
        {
            "regionId": item.get("RegionId") or region,
            "virtualBorderRouterId": item.get("RouterId"),
            "name": item.get("Name"),
            "peerAsn": item.get("PeerAsn"),
            "localAsn": item.get("LocalAsn") or None,
            "description": item.get("Description") or "",
            "ipVersion": item.get("IpVersion") or None,
            "routeQuota": item.get("RouteLimit") or None,
            "isFakeAsn": item.get("IsFake"),
        }
    )
    raw_status = shared_text(item.get("Status"))
    key = item.get("AuthKey")
    return LiveObject(
        kind=ALIBABA_GROUP,
        cloud_id=shared_text(item.get("BgpGroupId")),  # the state's record holds the same id
        region=attrs.get("regionId") or region,
        attrs=attrs,
        status=GROUP_STATUS.get(raw_status, "pending"),
        raw_status=raw_status,
        secrets={"authKey": SecretValue(str(key))} if key else _NO_KEY,
        info=_info(item, GROUP_INFO) if extras else NO_ENTRIES,
    )


def peer_object(item: Mapping[str, Any], region: str, *, extras: bool = True) -> LiveObject:
    """A `DescribeBgpPeers` item in manifest vocabulary (empty `BgpStatus` allowed); without
    `extras`, its `info` is empty."""
    attrs = PEER.normalise(
        {
            "regionId": item.get("RegionId") or region,
            "bgpGroupId": item.get("BgpGroupId"),
            "peerIpAddress": item.get("PeerIpAddress"),
            "ipVersion": item.get("IpVersion") or None,
            "enableBfd": item.get("EnableBfd"),
            "bfdMultiHop": item.get("BfdMultiHop"),
        }
    )
    raw_status = shared_text(item.get("Status"))
    return LiveObject(
        kind=ALIBABA_PEER,
        cloud_id=shared_text(item.get("BgpPeerId")),
        region=attrs.get("regionId") or region,
        attrs=attrs,
        status=PEER_STATUS.get(raw_status, "pending"),
        raw_status=raw_status,
        session=shared_text(item.get("BgpStatus")) or None,
        info=_info(item, PEER_INFO) if extras else NO_ENTRIES,
    )


@dataclass(frozen=True, slots=True)
class _KindApi:
    """How one kind is listed: Describe action, id filter, response wrapper, converter."""

    describe: str
    id_param: str  # SDK parameter for "this id"
    wrapper: str
    item: str
    id_field: str


KIND_API: Mapping[str, _KindApi] = {
    ALIBABA_GROUP: _KindApi("DescribeBgpGroups", "bgp_group_id", "BgpGroups", "BgpGroup", "BgpGroupId"),
    ALIBABA_PEER: _KindApi("DescribeBgpPeers", "bgp_peer_id", "BgpPeers", "BgpPeer", "BgpPeerId"),
}


def to_object(kind: str, item: Mapping[str, Any], region: str, *, extras: bool = True) -> LiveObject:
    convert = group_object if kind == ALIBABA_GROUP else peer_object
    return convert(item, region, extras=extras)


def _snake(action: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


def _kind(kind: str) -> tuple[KindInfo, KindParams]:
    if kind not in KIND_PARAMS:
        raise ValueError(f"the Alibaba provider does not manage {kind}")
    return KIND_INFO[kind], KIND_PARAMS[kind]


def _referenced(info: KindInfo, attrs: Mapping[str, Any], region: str) -> list[ObjectRef]:
    """The objects `attrs` refer to (a peer's group): what may keep a call on it waiting."""
    return [
        ObjectRef(ref.kind, str(attrs[ref.id_attr]), region)
        for ref in info.ref_fields.values()
        if attrs.get(ref.id_attr)
    ]


# ---------------------------------------------------------------------------------------------
# The provider


class AlibabaProvider:
    """Provider for `AlibabaBgpGroup` and `AlibabaBgpPeer`."""

    name = CLOUD

    def __init__(
        self,
        *,
        access_key_id: str | None,
        access_key_secret: SecretValue | None,
        endpoint: str | None,
        options: ProviderOptions,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.options = options
        self.page_size = page_size
        self._access_key_id = access_key_id
        self._access_key_secret = access_key_secret
        self._endpoint = endpoint_and_protocol(endpoint) if endpoint else None
        self._policy = RetryPolicy.from_options(options)
        self._counter = CallCounter()
        # Alibaba's flow control counts each API's requests per region and account (docs/cloud-apis.md,
        # Alibaba 6): requests in flight are bounded per region, so regions are read side by side.
        self._in_flight: dict[str, threading.BoundedSemaphore] = {}
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        # Endpoints whose first call has returned (see `_send`), and a lock per endpoint for it.
        self._warm: set[str] = set()
        self._first_call: dict[str, threading.Lock] = {}
        # Pages the last complete list of a region's kind took: `poll` lists only where that is
        # no more than describing its objects one by one.
        self._pages_hint: dict[tuple[str, str], int] = {}

    @classmethod
    def from_env(cls, env: Mapping[str, str], options: ProviderOptions) -> AlibabaProvider:
        """Credentials from ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET when both are set, else Alibaba's
        default credential chain; the endpoint from ALIBABA_CLOUD_VPC_ENDPOINT when set, else
        the SDK's per-region endpoint."""
        key_id = env.get("ALIBABA_CLOUD_ACCESS_KEY_ID") or None
        secret = env.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET") or None
        if not (key_id and secret):
            key_id, secret = None, None
        return cls(
            access_key_id=key_id,
            access_key_secret=SecretValue(secret) if secret else None,
            endpoint=env.get("ALIBABA_CLOUD_VPC_ENDPOINT") or None,
            options=options,
        )

    # -- plumbing --------------------------------------------------------------------------

    def _client(self, region: str) -> Any:
        """The SDK client of a region, created on first use and shared by every thread."""
        with self._clients_lock:
            client = self._clients.get(region)
            if client is not None:
                return client
            vpc_client, _, openapi_models, _ = _sdk()
            config = openapi_models.Config(
                region_id=region,
                read_timeout=int(self.options.request_timeout * 1000),
                connect_timeout=int(min(self.options.request_timeout, 5.0) * 1000),
                user_agent=f"reconciler/{__version__}",
                # One endpoint may serve every region (ALIBABA_CLOUD_VPC_ENDPOINT): room for all
                # the requests a refresh has in flight, so none opens a connection it cannot keep.
                max_idle_conns=max(self.options.max_in_flight * 2, HELPERS),
            )
            if self._access_key_id and self._access_key_secret:
                config.access_key_id = self._access_key_id
                config.access_key_secret = self._access_key_secret.reveal()
            else:
                from alibabacloud_credentials.client import Client as CredentialClient

                try:
                    config.credential = CredentialClient()
                except Exception as error:
                    raise ProviderError(
                        f"no Alibaba credentials found ({type(error).__name__})",
                        cloud=CLOUD,
                        hint="set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET "
                        "(or configure Alibaba's default credential chain, or run with --sandbox)",
                    ) from None
            if self._endpoint is not None:
                config.endpoint, config.protocol = self._endpoint
            client = vpc_client.Client(config)
            self._clients[region] = client
            return client

    def _secrets(self, extra: Iterable[str] = ()) -> list[str]:
        found = [self._access_key_secret.reveal()] if self._access_key_secret else []
        return found + [s for s in extra if s]

    def _call(self, region: str, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """One VPC action with retries (same parameters, so the same ClientToken, every time)."""
        _, vpc_models, _, runtime = _sdk()
        client = self._client(region)
        request = getattr(vpc_models, f"{action}Request")(region_id=region, **params)
        method = getattr(client, f"{_snake(action)}_with_options")
        secrets = [str(params["auth_key"])] if params.get("auth_key") else []

        slots = self._slots(region)

        def attempt() -> dict[str, Any]:
            with slots:
                self._counter.add(action)
                try:
                    response = self._send(region, lambda: method(request, runtime.RuntimeOptions()))
                except Exception as error:  # every SDK failure is mapped to a ProviderError
                    raise self._error(error, action, region, secrets) from None
            body = response.body.to_map() if response.body is not None else {}
            return body if isinstance(body, dict) else {}

        return call_with_retries(attempt, self._policy, action)

    def _slots(self, region: str) -> threading.BoundedSemaphore:
        """The region's requests in flight: at most `max_in_flight` at a time."""
        with self._clients_lock:
            slots = self._in_flight.get(region)
            if slots is None:
                slots = self._in_flight[region] = threading.BoundedSemaphore(max(1, self.options.max_in_flight))
            return slots

    def _send(self, region: str, call: Callable[[], Any]) -> Any:
        """`call`, made alone if it is the first to its endpoint. The SDK keeps one HTTP session
        per endpoint, process-wide, but creates it without a lock: first calls made at once (the
        pages of a refresh) would each build a session and a TLS context with the system's
        certificates, about 20 ms of CPU apiece, and keep only one."""
        endpoint = "" if self._endpoint is not None else region  # the SDK's endpoints are per region
        if endpoint in self._warm:
            return call()
        with self._clients_lock:
            first = self._first_call.setdefault(endpoint, threading.Lock())
        with first:
            if endpoint not in self._warm:
                response = call()
                self._warm.add(endpoint)
                return response
        return call()  # the calls that waited for the first one go on together, not one by one

    def _error(self, error: Exception, action: str, region: str, secrets: Sequence[str]) -> ProviderError:
        from darabonba.exceptions import RetryError
        from Tea.exceptions import TeaException, UnretryableException

        hide = self._secrets(secrets)
        inner = getattr(error, "inner_exception", None)
        if "Credential" in type(error).__name__ or "Credential" in type(inner).__name__:
            return ProviderError(
                "no usable Alibaba Cloud credentials",
                cloud=CLOUD,
                hint="set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or configure "
                "Alibaba's credential chain (profile, RAM role)",
            )
        if isinstance(error, UnretryableException):
            if isinstance(inner, RetryError) or type(inner).__name__ == "RetryError":
                detail = sanitise(_text(getattr(inner, "message", inner)), hide)
                return TransientError(f"Alibaba {action} ({region}): network error: {detail}", cloud=CLOUD)
            return ProviderError(
                f"Alibaba {action} ({region}) returned a reply that could not be read: "
                f"{sanitise(str(inner or error), hide)}",
                cloud=CLOUD,
            )
        if not isinstance(error, TeaException):
            return ProviderError(
                f"Alibaba {action} ({region}) failed: {type(error).__name__}: {sanitise(str(error), hide)}", cloud=CLOUD
            )
        data = error.data if isinstance(error.data, dict) else {}
        code = _text(data.get("Code") or data.get("code"))
        if not code and error.code not in (None, "None"):
            code = _text(error.code)
        message = sanitise(_text(data.get("Message") or data.get("message")), hide)
        raw_status = getattr(error, "status_code", None) or data.get("statusCode")
        status = int(str(raw_status)) if str(raw_status or "").isdigit() else None
        raw_request_id = _text(data.get("RequestId") or getattr(error, "request_id", ""))
        request_id = None if raw_request_id in ("", "None") else raw_request_id  # the SDK writes "None"
        retry_after_ms = getattr(error, "retry_after", None)
        text = f"Alibaba {action} ({region}) failed: {code or 'error'}: {message or 'no message'}"
        text += f" (HTTP {status}" + (f", request id {request_id})" if request_id else ")")
        throttled = "Throttling" in code or type(error).__name__ == "ThrottlingException"
        if throttled or code in RETRYABLE_CODES or (status is not None and status >= 500):
            # `x-acs-retry-after` is in milliseconds (darabonba reads it so).
            retry_after = retry_after_ms / 1000 if isinstance(retry_after_ms, int | float) else None
            return TransientError(
                text,
                cloud=CLOUD,
                status=status,
                codes=[code] if code else [],
                messages=[message],
                request_id=request_id,
                retry_after=retry_after,
                hint=HINTS.get(code),
                throttled=throttled,
            )
        cls = ResourceNotFound if code in NOT_FOUND_CODES else ProviderError
        return cls(
            text,
            cloud=CLOUD,
            status=status,
            codes=[code] if code else [],
            messages=[message],
            request_id=request_id,
            hint=HINTS.get(code),
        )

    # -- listing -------------------------------------------------------------------------------

    def _page(
        self, region: str, kind: str, filters: Mapping[str, Any], number: int, size: int
    ) -> tuple[list[dict[str, Any]], int, int]:
        """(items, TotalCount, PageSize the server used) of one Describe page."""
        api = KIND_API[kind]
        body = self._call(region, api.describe, {**filters, "page_number": number, "page_size": size})
        wrapper = body.get(api.wrapper) or {}
        items = [i for i in (wrapper.get(api.item) or []) if isinstance(i, dict)]
        total = body.get("TotalCount")
        used = body.get("PageSize")
        return (items, int(total) if total is not None else len(items), int(used) if used else size)

    def _list(
        self, region: str, kind: str, filters: Mapping[str, Any] | None = None, *, extras: bool = True
    ) -> list[LiveObject]:
        """Every object of `kind` in `region` (matching `filters`), with their `extras` or not. The
        first page gives TotalCount and the page size really used; the remaining pages are
        fetched concurrently."""
        filters = filters or {}
        id_field = KIND_API[kind].id_field
        items, total, _ = self._page(region, kind, filters, 1, self.page_size)
        if not filters:
            self._pages_hint[(region, kind)] = math.ceil(total / len(items)) if items else 1
        found = {_text(i.get(id_field)): i for i in items}
        if items and len(items) < total:
            step = len(items)  # a full first page: the server's real page size (it may cap ours)
            last = math.ceil(total / step)
            pages = map_bounded(
                lambda n: self._page(region, kind, filters, n, step)[0],
                list(range(2, last + 1)),
                self.options.max_in_flight,
            )
            for page in pages:
                found.update((_text(i.get(id_field)), i) for i in page)
            # Objects created meanwhile push others to later pages: read on while pages are full.
            number, page = last + 1, pages[-1] if pages else items
            while len(found) < total and len(page) == step:
                page, total, _ = self._page(region, kind, filters, number, step)
                before = len(found)
                found.update((_text(i.get(id_field)), i) for i in page)
                if len(found) == before:
                    break
                number += 1
        return [to_object(kind, item, region, extras=extras) for item in found.values()]

    def _describe_one(self, ref: ObjectRef) -> LiveObject | None:
        region = self._region(ref)
        api = KIND_API[ref.kind]
        items, _, _ = self._page(region, ref.kind, {api.id_param: ref.cloud_id}, 1, self.page_size)
        matching = [i for i in items if _text(i.get(api.id_field)) == ref.cloud_id]
        return to_object(ref.kind, matching[0], region) if matching else None

    @staticmethod
    def _region(ref: ObjectRef) -> str:
        if not ref.region:
            raise ProviderError(
                f"{ref.kind} {ref.cloud_id} has no region recorded; Alibaba needs one",
                cloud=CLOUD,
                hint="re-import it with its region",
            )
        return ref.region

    # -- reads -----------------------------------------------------------------------------

    def refresh(self, scope: RefreshScope) -> RefreshResult:
        """Groups and peers of every region in scope: DescribeBgpGroups / DescribeBgpPeers pages,
        regions and kinds concurrently (at most `max_in_flight` requests at a time in each region)."""
        before = self._counter.snapshot()
        kinds = [k for k in (ALIBABA_GROUP, ALIBABA_PEER) if not scope.kinds or k in scope.kinds]
        regions = scope.regions if isinstance(scope, AlibabaScope) else frozenset()
        tasks = [(region, kind) for region in sorted(regions) for kind in kinds]
        lists = map_bounded(lambda task: self._list(*task, extras=scope.extras), tasks, max(1, len(tasks)))
        objects = tuple(obj for found in lists for obj in found)
        return RefreshResult(objects=objects, api_calls=self._counter.since(before))

    def get(self, ref: ObjectRef) -> LiveObject | None:
        return self._describe_one(ref)

    def describe_vbrs(self, region: str, vbr_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The VBRs of `region` among `vbr_ids`, by id, as DescribeVirtualBorderRouters items:
        filtered by VbrId (at most VBR_IDS_PER_CALL values per call, the calls concurrently), in
        pages (docs/cloud-apis.md, Alibaba §14). A VBR that does not exist is left out."""
        ids = sorted(set(vbr_ids))
        chunks = [ids[start : start + VBR_IDS_PER_CALL] for start in range(0, len(ids), VBR_IDS_PER_CALL)]
        found: dict[str, dict[str, Any]] = {}
        for items in map_bounded(
            functools.partial(self._describe_vbr_chunk, region), chunks, self.options.max_in_flight
        ):
            found.update(items)
        return found

    def _describe_vbr_chunk(self, region: str, chunk: list[str]) -> dict[str, dict[str, Any]]:
        vpc_models = _sdk()[1]
        found: dict[str, dict[str, Any]] = {}
        number, seen = 1, 0
        while True:
            body = self._call(
                region,
                VBR_DESCRIBE,
                {
                    "filter": [vpc_models.DescribeVirtualBorderRoutersRequestFilter(key="VbrId", value=chunk)],
                    "page_number": number,
                    "page_size": self.page_size,
                },
            )
            wrapper = body.get("VirtualBorderRouterSet") or {}
            items = [i for i in (wrapper.get("VirtualBorderRouterType") or []) if isinstance(i, dict)]
            found.update((_text(i["VbrId"]), i) for i in items if i.get("VbrId"))
            seen += len(items)
            total = body.get("TotalCount")
            if not items or seen >= (int(total) if total is not None else seen):
                return found
            number += 1

    def poll(self, refs: Sequence[ObjectRef]) -> dict[str, LiveObject | None]:
        """Per region and kind: Describe by id for a few refs, the list pages for more, unless the
        last complete list took more pages than there are refs."""
        buckets: dict[tuple[str, str], list[ObjectRef]] = {}
        for ref in refs:
            buckets.setdefault((self._region(ref), ref.kind), []).append(ref)

        def poll_bucket(key: tuple[str, str]) -> dict[str, LiveObject | None]:
            region, kind = key
            bucket = buckets[key]
            if not poll_by_list(len(bucket), self._pages_hint.get(key)):
                found = map_bounded(self._describe_one, bucket, self.options.max_in_flight)
                return {r.cloud_id: obj for r, obj in zip(bucket, found, strict=True)}
            listed = {obj.cloud_id: obj for obj in self._list(region, kind)}
            return {r.cloud_id: listed.get(r.cloud_id) for r in bucket}

        result: dict[str, LiveObject | None] = {}
        for part in map_bounded(poll_bucket, list(buckets), max(1, len(buckets))):
            result.update(part)
        return result

    def find(self, kind: str, attrs: Mapping[str, Any]) -> LiveObject | None:
        """A group by region + VBR + Name; a peer by group + peer IP. Objects being deleted do
        not count."""
        info = KIND_INFO[kind]
        wanted = info.normalise(attrs)
        region = str(wanted["regionId"])
        if kind == ALIBABA_GROUP:
            candidates = self._list(region, kind, {"router_id": wanted["virtualBorderRouterId"]})
            match = [c for c in candidates if c.attrs.get("name") == wanted["name"]]
        elif kind == ALIBABA_PEER:
            candidates = self._list(region, kind, {"bgp_group_id": wanted["bgpGroupId"]})
            ip = canonical_ip(wanted.get("peerIpAddress"))
            match = [c for c in candidates if c.attrs.get("peerIpAddress") == ip]
        else:
            raise ValueError(f"the Alibaba provider does not manage {kind}")
        live = [c for c in match if c.status != "deleting"]
        return live[0] if live else None

    # -- writes --------------------------------------------------------------------------------

    def create(self, desired: Desired, token: str) -> str | Busy:
        """The kind's Create action with `token` as ClientToken: a retry or a re-run with the same
        token returns the same id instead of a duplicate. `Busy` when something it depends on
        (its group, its VBR) is still changing."""
        info, params = _kind(desired.kind)
        attrs = info.normalise(desired.attrs)
        region = str(attrs["regionId"])
        try:
            body = self._call(
                region,
                params.create,
                {**params.create_params(attrs, desired.secrets, desired.name), "client_token": token},
            )
        except ProviderError as error:
            if not is_busy_code(error.code):
                raise
            return self._busy(error, params.create, _referenced(info, attrs, region))
        return _text(body.get(params.created_id))

    def update(self, ref: ObjectRef, desired: Desired, changed: Sequence[str], token: str) -> Busy | None:
        """The kind's Modify action with only the `changed` fields. `Busy` when the object (or
        its group) is still changing."""
        info, params = _kind(ref.kind)
        fixed = sorted(set(changed) & info.replace_only)
        if fixed:
            raise ProviderError(
                f"{', '.join(fixed)} of {ref.kind} {ref.cloud_id} cannot change in place; the plan must replace it",
                cloud=CLOUD,
            )
        attrs = info.normalise(desired.attrs)
        changes = params.modify_changes(attrs, desired.secrets, changed)
        if not changes:
            return None
        region = self._region(ref)
        try:
            self._call(
                region, params.modify, {**params.modify_ids(ref.cloud_id, attrs), **changes, "client_token": token}
            )
        except ProviderError as error:
            if not is_busy_code(error.code):
                raise
            return self._busy(error, params.modify, [ref, *_referenced(info, attrs, region)])
        return None

    def delete(self, ref: ObjectRef, token: str) -> Busy | None:
        """The kind's Delete action. Already gone (or already deleting) is a success. `Busy` when
        the object is still changing, or when a group's peers are still being deleted."""
        _, params = _kind(ref.kind)
        region = self._region(ref)
        try:
            self._call(region, params.delete, {params.delete_id: ref.cloud_id, "client_token": token})
        except ProviderError as error:
            if error.code == DEPENDENCY_CODE:
                return self._peers_still_deleting(ref, region, error)
            live = self._describe_one(ref)
            if live is None or live.status == "deleting":
                return None
            if not is_busy_code(error.code):
                raise error from None
            return self._busy(error, params.delete, [ref], observed={ref.cloud_id: live})
        return None

    def _peers_still_deleting(self, ref: ObjectRef, region: str, error: ProviderError) -> Busy:
        """`DependencyViolation.BgpPeer`: an error naming the peers when some are not being
        deleted (the plan did not delete them); else `Busy` until the deleting ones are gone
        (docs/cloud-apis.md, Alibaba §7)."""
        peers = self._list(region, ALIBABA_PEER, {"bgp_group_id": ref.cloud_id})
        blocking = sorted(p.cloud_id for p in peers if p.status != "deleting")
        if blocking:
            raise ProviderError(
                f"BGP group {ref.cloud_id} still has peers {', '.join(blocking)}",
                cloud=CLOUD,
                codes=error.codes,
                hint="delete its peers first (remove them from the manifests too)",
            ) from None
        deleting = sorted(p.cloud_id for p in peers)
        reason = f"BGP group {ref.cloud_id} cannot be deleted until its peers being deleted are gone"
        if len(deleting) == 1:  # one object whose going unblocks the delete
            return Busy(
                f"{reason} ({deleting[0]})",
                wait_for=ObjectRef(ALIBABA_PEER, deleting[0], region),
                retry_after=BUSY_RETRY_AFTER,
            )
        return Busy(f"{reason} ({', '.join(deleting)})" if deleting else reason, retry_after=BUSY_RETRY_AFTER)

    def _busy(
        self,
        error: ProviderError,
        action: str,
        candidates: Sequence[ObjectRef],
        observed: Mapping[str, LiveObject | None] | None = None,
    ) -> Busy:
        """`InvalidStatus.CannotOperate`, `OperationConflict` or `IncorrectStatus.*`: the object, its
        group or something else on its VBR is not Available (docs/cloud-apis.md, Alibaba §7). The
        API does not say which, so look: the first candidate that is still changing is what to
        wait for; otherwise (another object on the VBR, or a VBR that is not active: not objects
        reconciler polls) try again after a while."""
        code = error.code or BUSY_CODE
        if observed is None:
            observed = self.poll(candidates) if candidates else {}
        for ref in candidates:
            live = observed.get(ref.cloud_id)
            if live is not None and live.status in ("pending", "deleting"):
                return Busy(
                    f"{ref.kind} {ref.cloud_id} is {live.raw_status or live.status}; Alibaba refuses {action} "
                    f"until it is Available ({code})",
                    wait_for=ref,
                    retry_after=BUSY_RETRY_AFTER,
                )
        detail = "; ".join(m for m in error.messages if m) or code
        return Busy(f"Alibaba refuses {action} for now: {detail} ({code})", retry_after=BUSY_RETRY_AFTER)

    def api_calls(self) -> Mapping[str, int]:
        return self._counter.snapshot()

    def close(self) -> None:
        with self._clients_lock:
            self._clients.clear()
