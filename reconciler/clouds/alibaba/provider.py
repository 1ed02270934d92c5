"""Alibaba Cloud Express Connect BGP groups and peers, through the official VPC SDK.

Facts this client relies on (see reference/alibaba-vpc-bgp.md):
- `alibabacloud-vpc20160428` 7.2.2 on tea-openapi 0.4.x: one attempt per call (the SDK's own
  retry knobs are ignored), so retries are ours (tenacity) and resend the same ClientToken.
- Errors: `e.data` holds the raw `Code` / `Message` / `RequestId`; `e.message` is wrapped.
  Network failures are `UnretryableException` wrapping a `RetryError`.
- Every Describe field of a group is a string (`"65010"`, `"false"`); `BgpStatus` may be empty.
- Lifecycle: Pending -> Available, Modifying -> Available, Deleting -> gone. A group with peers
  (even deleting ones) refuses deletion with `DependencyViolation.BgpPeer`.
- PageSize is at most 50.

The SDK takes ~0.4 s to import, so it is imported on the first call that needs it.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import math
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import tenacity

from reconciler import __version__
from reconciler.clouds.alibaba.kinds import ALIBABA_ASN, ALIBABA_GROUP, ALIBABA_PEER, GROUP, PEER
from reconciler.clouds.alibaba.scope import AlibabaScope
from reconciler.clouds.base import Desired, ObjectRef, ProviderOptions, RefreshResult, RefreshScope
from reconciler.clouds.counters import CallCounter, map_bounded
from reconciler.clouds.retry import RetryPolicy, TransientError, call_with_retries
from reconciler.errors import ProviderError, ResourceNotFound
from reconciler.kinds import KindInfo, canonical_ip
from reconciler.log import get_logger
from reconciler.masking import mask_secrets
from reconciler.model import LiveObject, SecretValue, Status

CLOUD = "alibaba"
KIND_INFO: Mapping[str, KindInfo] = {ALIBABA_GROUP: GROUP, ALIBABA_PEER: PEER}
PAGE_SIZE = 50  # the documented maximum
FEW_REFS = 5  # poll() describes objects one by one up to this many per region and kind
DEPENDENCY_TIMEOUT = 120.0  # seconds a group delete waits for its deleting peers

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
RETRYABLE_CODES = frozenset({"ServiceUnavailable", "InternalError", "OperationConflict"})
BUSY_CODE = "InvalidStatus.CannotOperate"  # the object or its group is still changing

# What the user should do about each documented error (reference §1.12 and gateway codes).
HINTS: Mapping[str, str] = {
    "QuotaExceeded.Bgp": "a VBR holds at most 8 BGP peers (and a limited number of groups): remove one or "
    "use another VBR",
    "QuotaExceeded.Nqa": "the VBR reached its health-check (NQA) quota: remove one",
    "QuotaExceeded.BgpNetwork": "the VBR reached its quota of advertised BGP networks: remove one",
    "QuotaExceeded.BfdSession": "the account reached its BFD session quota: set enableBfd: false on some peer "
    "or ask Alibaba for a higher quota",
    "InvalidAccessDeviceId.NotFound": "the access device behind the VBR's physical connection was not found: "
    "check the VBR in the Express Connect console",
    "InvalidPeerIpAddress": "the VBR uses several physical connections: set spec.peerIpAddress",
    "InvalidVbrNetwork": "the VBR does not exist in this region: check spec.virtualBorderRouterId and spec.regionId",
    "InvalidBgpGroup": "the BGP group does not exist in this region: check spec.bgpGroup / spec.bgpGroupId "
    "and spec.regionId",
    "InvalidBgpName.Malformed": "the group's name (its metadata.name) must be 2-128 characters, start with a "
    "letter and contain only letters, digits, '.', '_' and '-'",
    "InvalidBgpDescription.Malformed": "spec.description must be 2-256 characters, start with a letter and "
    "not start with http:// or https://",
    "InvalidBgpDiscription.Malformed": "spec.description must be 2-256 characters, start with a letter and "
    "not start with http:// or https://",
    "InvalidBgpAuthkey.Malformed": "Alibaba refused the BGP auth key: use another key of letters and digits",
    "InvalidIP.Malformed": "spec.peerIpAddress is not a valid IP address",
    "InvalidPeerAsn.Malformed": "peer ASN cannot be 45104, Alibaba's own ASN: set spec.peerAsn to your side's ASN",
    "InvalidParams.NotNull": "a required parameter was empty: check the spec of this resource",
    "InvalidBgpGroup.LocalAsnInvalid": "spec.localAsn must be 45104, 64512-65534 or 4200000000-4294967294, "
    "and not 65025",
    "InvalidParams.NotFound": "the object was not found; it may have been deleted outside reconciler",
    "InvalidParams.AlreadyExists": "the object already exists: import it (reconciler import) instead of creating it",
    "InvalidStatus.CannotOperate": "the object is busy (Pending, Modifying or Deleting): wait until it is "
    "Available and apply again",
    "InvalidParams.PeerIpAddressMustPointOut": "the VBR has zero or several sub-interfaces: set spec.peerIpAddress",
    "InvalidParams.PeerIpAddressInUse": "another BGP peer on this VBR already uses spec.peerIpAddress: pick "
    "another address or import that peer",
    "BgpPeer.Already.Exists": "a BGP peer with this address already exists in the group: import it "
    "(reconciler import) instead of creating it",
    "MissingParam.EnableBfd": "set spec.enableBfd (true or false)",
    "IllegalParam.BfdMultiHop": "spec.bfdMultiHop must be 1..255 and is required when enableBfd is true",
    "IllegalParam.IpVersion": "ipVersion must be IPv4 or IPv6, and IPv6 needs IPv6 enabled on the VBR",
    "IllegalParam.PeerIpAddress": "spec.peerIpAddress is not valid for this VBR: it must be in the VBR's "
    "peering subnet and match ipVersion",
    "DuplicatedParam.PeerIpAddress": "spec.peerIpAddress is given twice for this group",
    "OperationUnsupported.IPV6ForThisRegion": "this region does not support IPv6 BGP: use ipVersion IPv4",
    "IllegalParam.PeerAsn": "spec.peerAsn must be 1..4294967295 and not 45104",
    "IllegalParam.LocalAsn": "spec.localAsn must be 45104, 64512-65534 or 4200000000-4294967294, and not 65025",
    "IllegalParam.RouteLimit": "spec.routeQuota is above what the account allows (110 by default): lower it",
    "OperationUnsupport": "this account may not set a custom local ASN: remove spec.localAsn (45104 is used)",
    "OperationFailed.PconnTrafficNotEnable": "traffic is not enabled on the physical connection behind the "
    "VBR: enable it in the Express Connect console and apply again",
    "UnsupportedFeature.Vpconn": "BGP peers are not supported on this hosted (virtual) physical connection",
    "InvalidRegionId.NotFound": "spec.regionId is not a region the Alibaba VPC API knows",
    "InternalError": "Alibaba had an internal error: apply again later",
    "ServiceUnavailable": "the Alibaba VPC API is temporarily unavailable: apply again later",
    "Throttling": "Alibaba throttled the requests: lower --parallelism or try again later",
    "Throttling.User": "Alibaba throttled the requests: lower --parallelism or try again later",
    "Throttling.Api": "Alibaba throttled the requests: lower --parallelism or try again later",
    "SignatureDoesNotMatch": "check ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "InvalidAccessKeyId.NotFound": "check ALIBABA_CLOUD_ACCESS_KEY_ID",
    "InvalidAccessKeyId": "check ALIBABA_CLOUD_ACCESS_KEY_ID",
    "InvalidTimeStamp.Expired": "this machine's clock is off by more than 15 minutes: fix it (NTP)",
    "SignatureNonceUsed": "a request was replayed: run the command again",
    "IdempotentParameterMismatch": "this change's ClientToken was already used with other parameters: the "
    "manifests changed after the plan was made; run plan again",
    "DependencyViolation.BgpPeer": "the BGP group still has peers: delete them first",
    "DependencyViolation.BgpGroup": "the VBR still has BGP groups: delete them first",
    "OperationConflict": "another operation on this VBR is in progress: apply again in a moment",
    "Forbidden.RAM": "the RAM user lacks permission for this VPC action: grant it (e.g. AliyunVPCFullAccess)",
    "NoPermission": "the RAM user lacks permission for this VPC action: grant it (e.g. AliyunVPCFullAccess)",
    "MissingParameter": "a required parameter is missing: check the spec of this resource",
    "InvalidParameter": "a parameter is not valid: check the spec of this resource",
}

log = get_logger("reconciler.clouds.alibaba")


# ---------------------------------------------------------------------------------------------
# Plain helpers


@functools.cache
def _sdk() -> tuple[ModuleType, ModuleType, ModuleType, ModuleType]:
    """(vpc client module, vpc models, tea-openapi models, darabonba runtime): imported on first use."""
    from alibabacloud_tea_openapi import models as openapi_models
    from alibabacloud_vpc20160428 import client as vpc_client
    from alibabacloud_vpc20160428 import models as vpc_models
    from darabonba import runtime

    return vpc_client, vpc_models, openapi_models, runtime


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


def group_object(item: Mapping[str, Any], region: str) -> LiveObject:
    """A `DescribeBgpGroups` item in manifest vocabulary (string fields normalised)."""
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
    raw_status = _text(item.get("Status"))
    info = {
        name: item[key]
        for name, key in (("hold", "Hold"), ("keepalive", "Keepalive"))
        if item.get(key) not in (None, "")
    }
    key = item.get("AuthKey")
    return LiveObject(
        kind=ALIBABA_GROUP,
        cloud_id=_text(item.get("BgpGroupId")),
        region=attrs.get("regionId") or region,
        attrs=attrs,
        status=GROUP_STATUS.get(raw_status, "pending"),
        raw_status=raw_status,
        secrets={"authKey": SecretValue(str(key)) if key else None},
        info=info,
    )


def peer_object(item: Mapping[str, Any], region: str) -> LiveObject:
    """A `DescribeBgpPeers` item in manifest vocabulary (empty `BgpStatus` allowed)."""
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
    raw_status = _text(item.get("Status"))
    info_keys = (
        ("advertisedRouteCount", "AdvertisedRouteCount"),
        ("receivedRouteCount", "ReceivedRouteCount"),
        ("hold", "Hold"),
        ("keepalive", "Keepalive"),
        ("name", "Name"),
        ("routerId", "RouterId"),
        ("peerAsn", "PeerAsn"),
        ("localAsn", "LocalAsn"),
        ("gmtModified", "GmtModified"),
    )
    info = {name: item[key] for name, key in info_keys if item.get(key) not in (None, "")}
    return LiveObject(
        kind=ALIBABA_PEER,
        cloud_id=_text(item.get("BgpPeerId")),
        region=attrs.get("regionId") or region,
        attrs=attrs,
        status=PEER_STATUS.get(raw_status, "pending"),
        raw_status=raw_status,
        session=_text(item.get("BgpStatus")) or None,
        info=info,
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


def to_object(kind: str, item: Mapping[str, Any], region: str) -> LiveObject:
    return group_object(item, region) if kind == ALIBABA_GROUP else peer_object(item, region)


def _snake(action: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


class _PeersStillDeleting(Exception):
    pass


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
        dependency_timeout: float = DEPENDENCY_TIMEOUT,
    ) -> None:
        self.options = options
        self.page_size = page_size
        self.dependency_timeout = dependency_timeout
        self._access_key_id = access_key_id
        self._access_key_secret = access_key_secret
        self._endpoint = endpoint_and_protocol(endpoint) if endpoint else None
        self._policy = RetryPolicy.from_options(options)
        self._counter = CallCounter()
        self._in_flight = threading.BoundedSemaphore(max(1, options.max_in_flight))
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

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
                max_idle_conns=max(self.options.max_in_flight * 2, 10),
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

        def attempt() -> dict[str, Any]:
            with self._in_flight:
                self._counter.add(action)
                try:
                    response = method(request, runtime.RuntimeOptions())
                except Exception as error:  # every SDK failure is mapped to a ProviderError
                    raise self._error(error, action, region, secrets) from None
            body = response.body.to_map() if response.body is not None else {}
            return body if isinstance(body, dict) else {}

        if not action.startswith(("Create", "Modify", "Delete")):
            return call_with_retries(attempt, self._policy, action)
        # A mutation on an object (or its group) that is still Pending/Modifying gets
        # InvalidStatus.CannotOperate: wait for it to settle, as Terraform does. Failed calls do not
        # consume a ClientToken, so resending the same token is safe.
        busy = tenacity.Retrying(
            stop=tenacity.stop_after_delay(self.dependency_timeout),
            wait=tenacity.wait_random_exponential(multiplier=self.options.backoff_base, max=self.options.backoff_max),
            retry=tenacity.retry_if_exception(lambda e: isinstance(e, ProviderError) and e.code == BUSY_CODE),
            reraise=True,
        )
        return busy(call_with_retries, attempt, self._policy, action)

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

    def _list(self, region: str, kind: str, filters: Mapping[str, Any] | None = None) -> list[LiveObject]:
        """Every object of `kind` in `region` (matching `filters`). The first page gives
        TotalCount and the page size really used; the remaining pages are fetched concurrently."""
        filters = filters or {}
        id_field = KIND_API[kind].id_field
        items, total, _ = self._page(region, kind, filters, 1, self.page_size)
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
        return [to_object(kind, item, region) for item in found.values()]

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
        regions and kinds concurrently (at most `max_in_flight` requests at a time)."""
        before = self._counter.snapshot()
        kinds = [k for k in (ALIBABA_GROUP, ALIBABA_PEER) if not scope.kinds or k in scope.kinds]
        regions = scope.regions if isinstance(scope, AlibabaScope) else frozenset()
        tasks = [(region, kind) for region in sorted(regions) for kind in kinds]
        lists = map_bounded(lambda task: self._list(*task), tasks, max(1, len(tasks)))
        objects = tuple(obj for found in lists for obj in found)
        return RefreshResult(objects=objects, api_calls=self._counter.since(before))

    def get(self, ref: ObjectRef) -> LiveObject | None:
        return self._describe_one(ref)

    def poll(self, refs: Sequence[ObjectRef]) -> dict[str, LiveObject | None]:
        """Per region and kind: Describe by id for a few refs, the list pages for more."""
        buckets: dict[tuple[str, str], list[ObjectRef]] = {}
        for ref in refs:
            buckets.setdefault((self._region(ref), ref.kind), []).append(ref)

        def poll_bucket(key: tuple[str, str]) -> dict[str, LiveObject | None]:
            region, kind = key
            bucket = buckets[key]
            if len(bucket) <= FEW_REFS:
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

    def create(self, desired: Desired, token: str) -> str:
        """CreateBgpGroup / CreateBgpPeer with `token` as ClientToken: a retry or a re-run with
        the same token returns the same id instead of a duplicate."""
        attrs = KIND_INFO[desired.kind].normalise(desired.attrs)
        region = str(attrs["regionId"])
        if desired.kind == ALIBABA_GROUP:
            params: dict[str, Any] = {
                "router_id": attrs["virtualBorderRouterId"],
                "name": attrs.get("name") or desired.name,
                "peer_asn": attrs["peerAsn"],
                "ip_version": attrs.get("ipVersion"),
                "route_quota": attrs.get("routeQuota"),
                "is_fake_asn": attrs.get("isFakeAsn"),
                "client_token": token,
            }
            if attrs.get("description"):
                params["description"] = attrs["description"]
            if attrs.get("localAsn") not in (None, ALIBABA_ASN):  # public accounts reject LocalAsn
                params["local_asn"] = attrs["localAsn"]
            key = desired.secrets.get("authKey")
            if key is not None:
                params["auth_key"] = key.reveal()
            body = self._call(region, "CreateBgpGroup", params)
            return _text(body.get("BgpGroupId"))
        if desired.kind == ALIBABA_PEER:
            params = {
                "bgp_group_id": attrs["bgpGroupId"],
                "peer_ip_address": attrs.get("peerIpAddress"),
                "enable_bfd": bool(attrs.get("enableBfd")),
                "ip_version": attrs.get("ipVersion"),
                "client_token": token,
            }
            if attrs.get("enableBfd"):
                params["bfd_multi_hop"] = attrs.get("bfdMultiHop")
            body = self._call(region, "CreateBgpPeer", params)
            return _text(body.get("BgpPeerId"))
        raise ValueError(f"the Alibaba provider does not manage {desired.kind}")

    def update(self, ref: ObjectRef, desired: Desired, changed: Sequence[str], token: str) -> None:
        """ModifyBgpGroupAttribute / ModifyBgpPeerAttribute with only the `changed` fields."""
        info = KIND_INFO[ref.kind]
        fixed = sorted(set(changed) & info.replace_only)
        if fixed:
            raise ProviderError(
                f"{', '.join(fixed)} of {ref.kind} {ref.cloud_id} cannot change in place; the plan must replace it",
                cloud=CLOUD,
            )
        attrs = info.normalise(desired.attrs)
        changes: dict[str, Any] = {}
        if ref.kind == ALIBABA_GROUP:
            names = {
                "name": "name",
                "description": "description",
                "peerAsn": "peer_asn",
                "localAsn": "local_asn",
                "isFakeAsn": "is_fake_asn",
                "routeQuota": "route_quota",
            }
            changes.update({names[f]: attrs.get(f) for f in changed if f in names})
            if "authKey" in changed:
                key = desired.secrets.get("authKey")
                if key is None:
                    changes["clear_auth_key"] = True
                else:
                    changes["auth_key"] = key.reveal()
            action = "ModifyBgpGroupAttribute"
            ids: dict[str, Any] = {"bgp_group_id": ref.cloud_id}
        else:
            if "peerIpAddress" in changed:
                changes["peer_ip_address"] = attrs.get("peerIpAddress")
            if "enableBfd" in changed or "bfdMultiHop" in changed:
                # EnableBfd defaults to false server-side: always send it along with the hop count.
                changes["enable_bfd"] = bool(attrs.get("enableBfd"))
                if attrs.get("enableBfd"):
                    changes["bfd_multi_hop"] = attrs.get("bfdMultiHop")
            action = "ModifyBgpPeerAttribute"
            ids = {"bgp_peer_id": ref.cloud_id, "bgp_group_id": attrs.get("bgpGroupId")}
        if changes:
            self._call(self._region(ref), action, {**ids, **changes, "client_token": token})

    def delete(self, ref: ObjectRef, token: str) -> None:
        """DeleteBgpGroup / DeleteBgpPeer. Already gone (or already deleting) is a success; a group
        whose peers are still deleting is retried with backoff for `dependency_timeout`."""
        region = self._region(ref)
        if ref.kind == ALIBABA_GROUP:
            self._delete_group(ref, region, token)
            return
        try:
            self._call(region, "DeleteBgpPeer", {"bgp_peer_id": ref.cloud_id, "client_token": token})
        except ProviderError as error:
            if not self._gone_or_deleting(ref):
                raise error from None

    def _gone_or_deleting(self, ref: ObjectRef) -> bool:
        live = self._describe_one(ref)
        return live is None or live.status == "deleting"

    def _delete_group(self, ref: ObjectRef, region: str, token: str) -> None:
        attempt = 0

        def delete_once() -> None:
            nonlocal attempt
            # A failed attempt may be remembered under its token: later attempts use a fresh,
            # derived one (safe: deleting twice is harmless, and gone is a success).
            attempt_token = token if attempt == 0 else f"{token[:56]}-del{attempt}"
            attempt += 1
            try:
                self._call(region, "DeleteBgpGroup", {"bgp_group_id": ref.cloud_id, "client_token": attempt_token})
            except ProviderError as error:
                if error.code == "DependencyViolation.BgpPeer":
                    peers = self._list(region, ALIBABA_PEER, {"bgp_group_id": ref.cloud_id})
                    blocking = sorted(p.cloud_id for p in peers if p.status != "deleting")
                    if blocking:
                        raise ProviderError(
                            f"BGP group {ref.cloud_id} still has peers {', '.join(blocking)}",
                            cloud=CLOUD,
                            codes=error.codes,
                            hint="delete its peers first (remove them from the manifests too)",
                        ) from None
                    raise _PeersStillDeleting(error.message) from None
                if self._gone_or_deleting(ref):
                    return
                raise

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_delay(self.dependency_timeout),
            wait=tenacity.wait_random_exponential(multiplier=self.options.backoff_base, max=self.options.backoff_max),
            retry=tenacity.retry_if_exception_type(_PeersStillDeleting),
            reraise=True,
        )
        try:
            retrying(delete_once)
        except _PeersStillDeleting:
            raise ProviderError(
                f"BGP group {ref.cloud_id} could not be deleted: its peers were still deleting after "
                f"{self.dependency_timeout:g}s",
                cloud=CLOUD,
                codes=["DependencyViolation.BgpPeer"],
                retryable=True,
                hint="apply again once the peers are gone",
            ) from None

    def api_calls(self) -> Mapping[str, int]:
        return self._counter.snapshot()

    def close(self) -> None:
        with self._clients_lock:
            self._clients.clear()
