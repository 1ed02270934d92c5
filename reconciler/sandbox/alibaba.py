"""Alibaba Cloud VPC (2016-04-28) BGP API emulator, driven by the real SDK; it follows docs/cloud-apis.md
(Alibaba §1-§14).

`POST /` with the action in `x-acs-action` (or an `Action` parameter), parameters in the query
and/or a form body, ACS3-HMAC-SHA256 (or legacy HMAC-SHA1) signatures verified, JSON answers with
`Content-Type: application/json;charset=utf-8` and errors as `{RequestId, HostId, Code, Message,
Recommend}` with the real HTTP statuses. docs/sandbox.md lists the exact condition of every code.
Parameters are read within the bounds of `bounded` (body size, parameter count, digits of a
number): over them is a 400 `InvalidParameter`.

Describe reads go through `records.visible` (`alibaba_read_lag`); every check on a write sees the
truth, where a tombstone (a deleted object only lagging reads still show) does not exist and a
`Deleted` peer holds neither its address nor a quota slot, but still blocks its group's delete.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import json
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from reconciler.sandbox import acs3
from reconciler.sandbox.bounded import (
    MAX_ADMIN_BODY,
    MAX_API_BODY,
    MAX_PARAMETERS,
    InputError,
    decimal_integer,
    read_body,
    shown,
)
from reconciler.sandbox.config import SandboxError
from reconciler.sandbox.core import CORE, Core
from reconciler.sandbox.faults import fault_middleware, retry_after_seconds
from reconciler.sandbox.records import (
    DELETED,
    GONE,
    AlibabaGroup,
    AlibabaPeer,
    ClientTokenUse,
    session_since,
    visible,
)
from reconciler.sandbox.seed import SeedRegion, SeedVbr
from reconciler.sandbox.sessions import alibaba_session

API_VERSION = "2016-04-28"
ALIBABA_ASN = 45104
MAX_ASN = 4294967295
HOST_ID = "vpc.aliyuncs.com"
ESTABLISHED = "Established"
MAX_RECEIVED_ROUTES = 1_000_000  # a full Internet table, with room
CONTENT_TYPE = "application/json;charset=utf-8"
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 50
BUSY_STATUSES = ("Pending", "Modifying", "Deleting")  # a VBR with such an object is busy

# code -> (HTTP status, message). Messages are Alibaba's own where a public source gives them (Alibaba §13).
ERRORS: dict[str, tuple[int, str]] = {
    "MissingParameter": (
        400,
        'The input parameter "{}" that is mandatory for processing this request is not supplied.',
    ),
    "InvalidParameter": (400, "The specified parameter {} is not valid."),
    "InvalidAction.NotFound": (404, "Specified api is not found, please check your url and method."),
    "InvalidVersion": (400, "Specified parameter Version is not valid."),
    "IncompleteSignature": (400, "The request signature does not conform to Aliyun standards."),
    "InvalidAccessKeyId.NotFound": (404, "Specified access key is not found."),
    "SignatureDoesNotMatch": (400, "Specified signature is not matched with our calculation."),
    "InvalidTimeStamp.Expired": (400, "Specified time stamp or date value is expired."),
    "InvalidTimeStamp.Format": (400, "Specified time stamp or date value is not well formatted."),
    "SignatureNonceUsed": (400, "Specified signature nonce was used already."),
    "InvalidRegionId.NotFound": (404, "The specified RegionId is not found."),
    "IdempotentParameterMismatch": (
        400,
        "The request uses the same client token as a previous, but non-identical request.",
    ),
    "Throttling.User": (400, "Request was denied due to user flow control."),
    "ServiceUnavailable": (503, "The request has failed due to a temporary failure of the server."),
    "InternalError": (500, "The request processing has failed due to some unknown error."),
    "InvalidVbrNetwork": (400, "vbr netowrk not exists"),
    "InvalidBgpGroup": (400, "bgp group not exists"),
    "InvalidParams.NotFound": (400, "instance not found"),
    "InvalidStatus.CannotOperate": (400, "invalid status cannot operate"),
    "DependencyViolation.BgpPeer": (400, "bgp group still has bgp peers, delete them first."),
    "QuotaExceeded.Bgp": (400, "bgp peer count per vbr quota exceed."),
    "InvalidPeerAsn.Malformed": (400, "invalid peer asn cannot equals aliyun asn:45104"),
    "IllegalParam.PeerAsn": (400, "The param of PeerAsn is illegal."),
    "IllegalParam.LocalAsn": (400, "The param of LocalAsn is illegal."),
    "InvalidBgpGroup.LocalAsnInvalid": (
        400,
        "The specified BgpGroup LocalAsn is invalid, only support 64512 to 65534 "
        "or 4200000000 to 4294967294, but cannot be 65025.",
    ),
    "OperationUnsupport": (400, "Operation is unsupport, not in vbr support custom local asn white list."),
    "IllegalParam.RouteLimit": (400, "The operation is failed because of bgp group max route entry num quota exceed."),
    "InvalidBgpName.Malformed": (400, "Specified Bgp Group name is not valid."),
    "InvalidBgpDescription.Malformed": (400, "Specified Bgp Group description is not valid."),
    "InvalidBgpDiscription.Malformed": (400, "Specified Bgp Group description is not valid."),
    "InvalidBgpAuthkey.Malformed": (400, "Specified Bgp Group authkey is not valid."),
    "IllegalParam.IpVersion": (400, "The param of IPV6 is illegal."),
    "OperationUnsupported.IPV6ForThisRegion": (400, "This Region is unsupported IPV6."),
    "InvalidIP.Malformed": (400, "Ip malformed."),
    "IllegalParam.PeerIpAddress": (400, "The param of PeerIpAddress is illegal."),
    "DuplicatedParam.PeerIpAddress": (400, "The param of PeerIpAddress is duplicated."),
    "InvalidParams.PeerIpAddressInUse": (400, "peer ip address in use ,cannot create bgp peer."),
    "BgpPeer.Already.Exists": (400, "bgp peer already exists."),
    "InvalidParams.PeerIpAddressMustPointOut": (400, "vbr has 0 or more than 1 subif ,point out peerIpAddress."),
    "MissingParam.EnableBfd": (400, "The parameter EnableBfd is missing."),
    "IllegalParam.BfdMultiHop": (400, "BfdMultiHop is illegal."),
    "InvalidFilterKey.ValueNotSupported": (400, "The specified filter key is not supported."),
    "OperationConflict": (400, "Another operation is in progress on the VBR, please try it later."),
    "QuotaExceeded.BfdSession": (400, "Your Bfd Session number reaches the upper limit."),
    "QuotaExceeded.Nqa": (400, "nqa count per vbr quota exceed."),
    "QuotaExceeded.BgpNetwork": (400, "bgp network count per vbr quota exceed."),
    "InvalidAccessDeviceId.NotFound": (400, "There is no Access_Device_Id in our records"),
    "InvalidPeerIpAddress": (400, "multi pconn peer ip can not be null."),
    "InvalidParams.NotNull": (400, "params must not null."),
    "InvalidParams.AlreadyExists": (400, "bgp network already exists"),
    "OperationFailed.PconnTrafficNotEnable": (400, "The operation is failed because of PconnTrafficNotEnable."),
    "UnsupportedFeature.Vpconn": (400, "The feature of Vpconn is not supported."),
    "DuplicatedParam.LocalIpAddress": (400, "The LocalIpAddress already exists."),
    "DuplicatedParam.PeerIpv6Address": (400, "The PeerIpv6Address already exists."),
    "DuplicatedParam.LocalIpv6Address": (400, "The LocalIpv6Address already exists."),
    "IllegalParam.LocalGatewayIpAndMask": (400, "The LocalGatewayIpAndMask value is invalid."),
    "IllegalParam.PeeringIpv6SubnetMask": (400, "The PeeringIpv6SubnetMask value is invalid."),
}


class AlibabaError(Exception):
    def __init__(
        self, code: str, detail: str = "", *, message: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        status, template = ERRORS[code]
        text = message if message is not None else template
        super().__init__(code)
        self.code = code
        self.status = status
        self.message = text + (f" {detail}" if detail else "")
        self.headers = dict(headers or {})
        self.ticket = 0  # a change made while refusing (a remembered ClientToken): sync before answering


def _missing(name: str) -> AlibabaError:
    return AlibabaError("MissingParameter", message=ERRORS["MissingParameter"][1].format(name))


def _invalid(name: str, detail: str) -> AlibabaError:
    return AlibabaError("InvalidParameter", detail, message=ERRORS["InvalidParameter"][1].format(name))


def json_response(body: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(), status=status, headers={"Content-Type": CONTENT_TYPE, **(headers or {})}
    )


def error_response(error: AlibabaError, request_id: str | None = None) -> web.Response:
    return json_response(
        {
            "RequestId": request_id or new_request_id(),
            "HostId": HOST_ID,
            "Code": error.code,
            "Message": error.message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={error.code}&product=Vpc",
        },
        status=error.status,
        headers=error.headers,
    )


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


# -- request parsing ---------------------------------------------------------------------------


class Params:
    """The merged query + form parameters of one call, with typed accessors."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)
        self.empty_code = "MissingParameter"  # for a required parameter present but empty

    def has(self, name: str) -> bool:
        return name in self.values

    def text(self, name: str) -> str | None:
        return self.values.get(name)

    def require(self, name: str) -> str:
        value = self.values.get(name)
        if value is None or (value == "" and self.empty_code == "MissingParameter"):
            raise _missing(name)
        if value == "":
            raise AlibabaError("InvalidParams.NotNull", f"{name} must not be empty.")
        return value

    def flag(self, name: str, code: str = "InvalidParameter") -> bool | None:
        """Booleans arrive as `True`/`False` (Python str(bool)); accept any casing."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if value.lower() not in ("true", "false"):
            detail = f"{name} must be true or false"
            raise _invalid(name, detail) if code == "InvalidParameter" else AlibabaError(code, detail)
        return value.lower() == "true"

    def integer(self, name: str, code: str = "InvalidParameter") -> int | None:
        """A base-10 integer, else the parameter's own code; one of more than MAX_NUMBER_LENGTH
        digits is `InvalidParameter` (no number the API takes is that long), never parsed."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            number = decimal_integer(value)
        except InputError as exc:  # too long to be any number the API takes: refused as unreadable
            raise _invalid(name, f"{name} {exc.message}.") from None
        if number is None:
            detail = f"{name} must be an integer"
            raise _invalid(name, detail) if code == "InvalidParameter" else AlibabaError(code, detail)
        return number


@dataclasses.dataclass(frozen=True)
class RpcRequest:
    """What a call sends: the query pairs as signed, all parameters, and the raw body."""

    query: list[tuple[str, str]]
    params: Params
    body: bytes


async def read_params(request: web.Request) -> RpcRequest:
    """The call's parameters (the fault middleware and `rpc` both ask; aiohttp keeps the body)."""
    try:
        body = await read_body(request, MAX_API_BODY)
    except InputError as exc:
        raise AlibabaError("InvalidParameter", message=exc.sentence()) from None
    too_many = AlibabaError("InvalidParameter", message=f"A call takes at most {MAX_PARAMETERS} parameters.")
    try:
        query = parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True, max_num_fields=MAX_PARAMETERS)
        form = (
            parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_PARAMETERS)
            if body and request.content_type == "application/x-www-form-urlencoded"
            else []
        )
    except ValueError:  # parse_qsl: more fields than max_num_fields
        raise too_many from None
    if len(query) + len(form) > MAX_PARAMETERS:
        raise too_many
    return RpcRequest(query, Params(dict(query) | dict(form)), body)


def action_of(request: web.Request, params: Params) -> str:
    return request.headers.get("x-acs-action") or params.text("Action") or ""


# -- the application ---------------------------------------------------------------------------


class AlibabaHooks:
    api = "alibaba"

    def __init__(self, core: Core) -> None:
        self.core = core

    async def describe(self, request: web.Request) -> tuple[str, bool]:
        if request.path != "/":
            return f"alibaba {request.method} {request.path}", False
        try:
            params = (await read_params(request)).params
        except AlibabaError:  # unreadable: `rpc` answers it; count it under the header's action, if any
            params = Params({})
        action = action_of(request, params) or "(no action)"
        return f"alibaba {action}", action.startswith(("Create", "Modify", "Delete"))

    def throttled(self, request: web.Request, retry_after: float) -> web.StreamResponse:
        headers = {}
        if self.core.config.alibaba_throttle_retry_after:
            headers["x-acs-retry-after"] = str(retry_after_seconds(retry_after) * 1000)  # milliseconds
        return error_response(AlibabaError("Throttling.User", headers=headers))

    def server_error(self, request: web.Request, pick: float) -> web.StreamResponse:
        return error_response(AlibabaError("ServiceUnavailable" if pick < 0.5 else "InternalError"))


def build_app(core: Core) -> web.Application:
    # The app's own bound is the control routes' (a seed); API bodies are bounded lower when read.
    app = web.Application(middlewares=[fault_middleware(AlibabaHooks(core), core)], client_max_size=MAX_ADMIN_BODY)
    app[CORE] = core
    app.router.add_post("/", rpc)
    app.router.add_get("/", rpc)
    return app


async def rpc(request: web.Request) -> web.Response:
    core = request.app[CORE]
    request_id = new_request_id()
    try:
        sent = await read_params(request)
        query, params, body = sent.query, sent.params, sent.body
        action = action_of(request, params)
        if not action:
            raise _missing("Action")
        handler = ACTIONS.get(action)
        if handler is None:
            raise AlibabaError(
                "InvalidAction.NotFound", f"Action {shown(action)} is not an action of Vpc {API_VERSION}."
            )
        version = request.headers.get("x-acs-version") or params.text("Version")
        if version != API_VERSION:
            raise AlibabaError("InvalidVersion", f"Expected {API_VERSION}, got {shown(version)}.")
        access_key_id = _authenticate(core, request, query, params, body)
        region_id = params.require("RegionId")
        params.empty_code = core.config.alibaba_empty_param_code  # business parameters from here on
        response, ticket = _run_action(core, access_key_id, action, handler, params, region_id)
    except AlibabaError as error:
        await core.durable(error.ticket)
        return error_response(error, request_id)
    await core.durable(ticket)
    return json_response({"RequestId": request_id, **response})


def _authenticate(core: Core, request: web.Request, query: list[tuple[str, str]], params: Params, body: bytes) -> str:
    """Check the signature, the clock and the nonce; returns the access key id."""
    config = core.config

    def secret_for(access_key_id: str) -> str | None:
        return config.alibaba_access_key_secret if access_key_id == config.alibaba_access_key_id else None

    try:
        if request.headers.get("Authorization", "").startswith(acs3.ACS3):
            headers = {k.lower(): v for k, v in request.headers.items()}
            signed = acs3.verify_acs3(request.method, request.path, query, headers, body, secret_for)
        elif params.has("Signature") and config.alibaba_accept_v2_signature:
            signed = acs3.verify_rpc_v2(request.method, params.values, secret_for)
        else:
            raise acs3.SignatureError("IncompleteSignature", "no ACS3-HMAC-SHA256 Authorization header")
    except acs3.SignatureError as exc:
        raise AlibabaError(exc.code, exc.detail) from None
    try:
        when = datetime.strptime(signed.timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise AlibabaError("InvalidTimeStamp.Format", "Expected yyyy-MM-ddTHH:mm:ssZ (UTC).") from None
    now = core.now()
    window = config.alibaba_timestamp_window
    if abs(now - when) > window:
        raise AlibabaError(
            "InvalidTimeStamp.Expired", f"The request time must be within {window // 60} minutes of the server time."
        )
    if not signed.nonce:
        raise _missing("x-acs-signature-nonce")
    with core.store.lock:
        if core.nonces and next(iter(core.nonces.values())) < now - 3 * window:
            # Forget nonces older than any timestamp still accepted (in bulk, at most once a window).
            cutoff = now - 2 * window
            core.nonces = {n: t for n, t in core.nonces.items() if t >= cutoff}
        if signed.nonce in core.nonces:
            raise AlibabaError("SignatureNonceUsed")
        core.nonces[signed.nonce] = now
    return signed.access_key_id


ActionHandler = Callable[["Call"], dict[str, Any]]


@dataclasses.dataclass
class Call:
    """One action being carried out (under the store lock)."""

    core: Core
    params: Params
    region: SeedRegion
    now: float
    tickets: list[int] = dataclasses.field(default_factory=list)

    def put(self, table: str, record: Any) -> None:
        self.tickets.append(self.core.store.put(table, record))

    def delay(self) -> float:
        return self.core.config.provision_delay

    def lag(self) -> float:
        return self.core.config.alibaba_read_lag


_NOT_BUSINESS = acs3.V2_PROTOCOL_PARAMS | {"ClientToken"}


def _run_action(
    core: Core, access_key_id: str, action: str, handler: ActionHandler, params: Params, region_id: str
) -> tuple[dict[str, Any], int]:
    token = params.text("ClientToken")
    mutating = action.startswith(("Create", "Modify", "Delete"))
    if token is not None and (len(token) > 64 or not token.isascii()):
        raise _invalid("ClientToken", "ClientToken must be at most 64 ASCII characters.")
    with core.store.lock:
        now = core.now()
        core.store.settle(now)
        region = core.store.get("regions", region_id)
        if region is None:
            raise AlibabaError("InvalidRegionId.NotFound")
        token_key = f"{access_key_id}|{action}|{token}"
        digest = _digest(params)
        config = core.config
        if mutating and token:
            used: ClientTokenUse | None = core.store.get("alibaba_tokens", token_key)
            if (
                used is not None
                and config.alibaba_token_ttl is not None
                and now - used.created_at >= config.alibaba_token_ttl
            ):
                used = None  # expired: the token is new again
            if used is not None:
                if used.params_digest != digest:
                    raise AlibabaError("IdempotentParameterMismatch")
                # The first answer again; nothing changes (but wait until that answer is on disk).
                if used.refusal is not None:
                    error = AlibabaError(used.refusal["Code"], message=used.refusal["Message"])
                    error.ticket = core.store.last_ticket
                    raise error
                return dict(used.response), core.store.last_ticket
        call = Call(core, params, region, now)
        try:
            response = handler(call)
        except AlibabaError as error:
            # A refusal the token keeps (pessimistic reading of Alibaba §4); "try it later" kinds never.
            if mutating and token and config.alibaba_token_remembers_refusals and _remembered(error):
                refusal = {"Code": error.code, "Message": error.message}
                error.ticket = core.store.put("alibaba_tokens", ClientTokenUse(token_key, digest, {}, now, refusal))
            raise
        if mutating and token:
            call.put("alibaba_tokens", ClientTokenUse(token_key, digest, response, now))
        return response, max(call.tickets, default=0)


def _remembered(error: AlibabaError) -> bool:
    """A 4xx refusal of the action itself, except OperationConflict: TF alicloud retries that one
    with the same token for minutes, so the server cannot be keeping it (Alibaba §4, §13)."""
    return 400 <= error.status < 500 and error.code != "OperationConflict"


def _digest(params: Params) -> str:
    business = sorted((k, v) for k, v in params.values.items() if k not in _NOT_BUSINESS)
    return hashlib.sha256(json.dumps(business).encode()).hexdigest()


# -- validation helpers --------------------------------------------------------------------------

_NAME_START = r"[A-Za-z\u4e00-\u9fff]"
_CREATE_NAME = re.compile(_NAME_START + r"[A-Za-z0-9\u4e00-\u9fff._-]{1,127}")
_CREATE_DESCRIPTION = re.compile(_NAME_START + r".{1,255}", re.DOTALL)
_AUTH_KEY = re.compile(r"[\x21-\x7e]{1,64}")


def _check_name(value: str | None, *, creating: bool) -> str | None:
    """Create: 2-128 chars, starts with a letter, then letters/digits/._-; Modify: 0-128, no URL."""
    if value is None or (creating and value == ""):
        return None
    ok = _CREATE_NAME.fullmatch(value) if creating else (len(value) <= 128 and not _is_url(value))
    if not ok:
        raise AlibabaError(
            "InvalidBgpName.Malformed",
            "Use 2-128 characters starting with a letter; letters, digits, '.', '_' and '-' only.",
        )
    return value


def _check_description(core: Core, value: str | None, *, creating: bool) -> str | None:
    if value is None or (creating and value == ""):
        return None
    ok = (_CREATE_DESCRIPTION.fullmatch(value) is not None) if creating else len(value) <= 256
    if not ok or _is_url(value):
        raise AlibabaError(
            core.config.alibaba_description_error_code,  # the docs spell it both ways (Alibaba §10)
            "Use 2-256 characters starting with a letter, not starting with http:// or https://.",
        )
    return value


def _is_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def _check_auth_key(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not _AUTH_KEY.fullmatch(value):
        raise AlibabaError("InvalidBgpAuthkey.Malformed", "Use 1-64 printable ASCII characters without spaces.")
    return value


def _peer_asn(params: Params) -> int | None:
    value = params.integer("PeerAsn", "IllegalParam.PeerAsn")
    if value is None:
        return None
    if value == ALIBABA_ASN:
        raise AlibabaError("InvalidPeerAsn.Malformed")
    if not 1 <= value <= MAX_ASN:
        raise AlibabaError("IllegalParam.PeerAsn", f"PeerAsn must be 1..{MAX_ASN}.")
    return value


def _local_asn(core: Core, params: Params) -> int | None:
    value = params.integer("LocalAsn", "IllegalParam.LocalAsn")
    if value is None:
        return None
    if not (value == ALIBABA_ASN or (64512 <= value <= 65534 and value != 65025) or 4200000000 <= value <= 4294967294):
        raise AlibabaError("InvalidBgpGroup.LocalAsnInvalid")
    if value != ALIBABA_ASN and not core.config.alibaba_custom_local_asn:
        raise AlibabaError("OperationUnsupport")
    return value


def _route_quota(core: Core, params: Params) -> int | None:
    value = params.integer("RouteQuota", "IllegalParam.RouteLimit")
    if value is not None and not 1 <= value <= core.config.alibaba_route_quota_max:
        raise AlibabaError("IllegalParam.RouteLimit", f"RouteQuota must be 1..{core.config.alibaba_route_quota_max}.")
    return value


def _ip_version(params: Params) -> str | None:
    value = params.text("IpVersion")
    if value is None or value == "":
        return None
    if value.lower() not in ("ipv4", "ipv6"):
        raise AlibabaError("IllegalParam.IpVersion", "IpVersion must be IPv4 or IPv6.")
    return "IPv" + value[-1]


def _check_ipv6_allowed(call: Call, vbr: SeedVbr) -> None:
    if not call.region.ipv6_supported:
        raise AlibabaError("OperationUnsupported.IPV6ForThisRegion")
    if not vbr.enable_ipv6:
        raise AlibabaError("IllegalParam.IpVersion", f"IPv6 is not enabled on {vbr.vbr_id}.")


def _vbr(call: Call, router_id: str) -> SeedVbr:
    vbr: SeedVbr | None = call.core.store.get("vbrs", router_id)
    if vbr is None or vbr.region_id != call.region.region_id:
        raise AlibabaError("InvalidVbrNetwork")
    return vbr


def _active_vbr(call: Call, router_id: str) -> SeedVbr:
    vbr = _vbr(call, router_id)
    if vbr.status != "active":
        raise AlibabaError("InvalidStatus.CannotOperate", f"{vbr.vbr_id} is {vbr.status}, not active.")
    return vbr


def _group(call: Call, group_id: str) -> AlibabaGroup:
    group: AlibabaGroup | None = call.core.store.get("alibaba_groups", group_id)
    if group is None or not group.exists or group.region_id != call.region.region_id:
        raise AlibabaError("InvalidBgpGroup")
    return group


def _peer(call: Call, peer_id: str) -> AlibabaPeer:
    peer: AlibabaPeer | None = call.core.store.get("alibaba_peers", peer_id)
    if peer is None or not peer.exists or peer.region_id != call.region.region_id:
        raise AlibabaError("InvalidParams.NotFound", f"BgpPeerId {peer_id} does not exist.")
    return peer


def _groups_on(call: Call, router_id: str) -> list[AlibabaGroup]:
    return [g for g in call.core.store.where("alibaba_groups", "router_id", (router_id,)) if g.exists]


def _peers_on(call: Call, router_id: str) -> list[AlibabaPeer]:
    """The VBR's peers that hold an address and a quota slot (not tombstones, not `Deleted`)."""
    return [
        p for p in call.core.store.where("alibaba_peers", "router_id", (router_id,)) if p.exists and p.status != DELETED
    ]


def _check_vbr_idle(call: Call, router_id: str) -> None:
    """`alibaba_busy_vbr: conflict`: one change at a time per VBR (Alibaba §7, OperationConflict)."""
    if call.core.config.alibaba_busy_vbr != "conflict":
        return
    busy = [(g.group_id, g.status) for g in _groups_on(call, router_id) if g.status in BUSY_STATUSES]
    busy += [(p.peer_id, p.status) for p in _peers_on(call, router_id) if p.status in BUSY_STATUSES]
    if busy:
        raise AlibabaError("OperationConflict", f"{busy[0][0]} on {router_id} is {busy[0][1]}.")


def _check_account_facts(vbr: SeedVbr) -> None:
    """What the seed says about the VBR's physical connection (docs/sandbox.md, Seed)."""
    if vbr.hosted_connection:
        raise AlibabaError("UnsupportedFeature.Vpconn", f"{vbr.vbr_id} is on a hosted connection.")
    if vbr.access_device_missing:
        raise AlibabaError("InvalidAccessDeviceId.NotFound")
    if not vbr.pconn_traffic_enabled:
        raise AlibabaError("OperationFailed.PconnTrafficNotEnable")


def _bfd_available(core: Core, vbr: SeedVbr) -> bool:
    return vbr.bfd_enabled if vbr.bfd_enabled is not None else core.config.alibaba_bfd_default


def _check_bfd_session(call: Call, vbr: SeedVbr, exclude: str | None) -> None:
    """A new BFD session: BFD must be enabled for the VBR, and its device have room (Alibaba §11)."""
    if not _bfd_available(call.core, vbr):
        raise AlibabaError("QuotaExceeded.BfdSession", f"BFD is not enabled for {vbr.vbr_id}.")
    if vbr.bfd_session_quota is not None:
        sessions = sum(1 for p in _peers_on(call, vbr.vbr_id) if p.enable_bfd and p.peer_id != exclude)
        if sessions >= vbr.bfd_session_quota:
            raise AlibabaError("QuotaExceeded.BfdSession", message="The Bfd Session on device reaches the upper limit.")


def _check_vbr_addressing(call: Call, vbr: SeedVbr, ip_version: str) -> None:
    """`alibaba_check_vbr_addressing`: the VBR's own gateway address and mask of that family must make
    sense before a peer can use them (unconfirmed condition, docs/sandbox.md)."""
    if not call.core.config.alibaba_check_vbr_addressing:
        return
    if ip_version == "IPv4":
        local, mask, peer, code = (
            vbr.local_gateway_ip,
            vbr.peering_subnet_mask,
            vbr.peer_gateway_ip,
            "LocalGatewayIpAndMask",
        )
    else:
        local, mask, peer = (
            vbr.local_ipv6_gateway_ip,
            vbr.peering_ipv6_subnet_mask.lstrip("/"),
            vbr.peer_ipv6_gateway_ip,
        )
        code = "PeeringIpv6SubnetMask"
    if not local and not mask:
        return
    problem = not local or not mask
    if not problem:
        network = ipaddress.ip_network(f"{local}/{mask}", strict=False)
        address = ipaddress.ip_address(local)
        edges = (network.network_address, network.broadcast_address) if network.num_addresses > 2 else ()
        problem = address in edges or bool(peer and (ipaddress.ip_address(peer) not in network or peer == local))
    if problem:
        raise AlibabaError(f"IllegalParam.{code}", f"{vbr.vbr_id}: {local or '?'} / {mask or '?'}.")


def _check_name_free(call: Call, name: str | None, router_id: str, exclude: str | None) -> None:
    """`alibaba_unique_group_names`: a Name another group on the VBR has (unconfirmed condition)."""
    if not name or not call.core.config.alibaba_unique_group_names:
        return
    for other in _groups_on(call, router_id):
        if other.name == name and other.group_id != exclude:
            raise AlibabaError("InvalidParams.AlreadyExists", f"{other.group_id} on {router_id} is named {name!r}.")


def _require_available(status: str, what: str) -> None:
    if status != "Available":
        raise AlibabaError("InvalidStatus.CannotOperate", f"{what} is {status}; wait until it is Available.")


def _fails(call: Call) -> bool:
    """Whether this asynchronous change fails (the provision_failure_rate fault): it is rolled back."""
    return call.core.provision_fails("alibaba")


def _peer_ip(call: Call, vbr: SeedVbr, ip_version: str, value: str | None) -> str:
    if value is None or value == "":
        if len(vbr.physical_connections) > 1:
            raise AlibabaError("InvalidPeerIpAddress", f"{vbr.vbr_id} uses several physical connections.")
        default = vbr.peer_gateway_ip if ip_version == "IPv4" else vbr.peer_ipv6_gateway_ip
        if not default:
            raise AlibabaError("InvalidParams.PeerIpAddressMustPointOut")
        return default
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        raise AlibabaError("InvalidIP.Malformed", f"PeerIpAddress {shown(value)} is not an IP address.") from None
    if f"IPv{address.version}" != ip_version:
        raise AlibabaError("IllegalParam.PeerIpAddress", f"PeerIpAddress {value} is not an {ip_version} address.")
    local = vbr.local_gateway_ip if ip_version == "IPv4" else vbr.local_ipv6_gateway_ip
    if local and address == ipaddress.ip_address(local):
        code = "IllegalParam.PeerIpAddress"
        if call.core.config.alibaba_specific_ip_codes:
            code = "DuplicatedParam.LocalIpAddress" if ip_version == "IPv4" else "DuplicatedParam.LocalIpv6Address"
        raise AlibabaError(code, f"PeerIpAddress {value} is the VBR's own gateway address.")
    return str(address)


def _check_peer_ip_free(
    call: Call, peer_ip: str, group: AlibabaGroup, *, exclude: str | None, code_same_group: str
) -> None:
    """Same IP in the same group -> `code_same_group`; on another group of the VBR -> PeerIpAddressInUse."""
    for other in _peers_on(call, group.router_id):
        if other.peer_id == exclude or other.peer_ip_address != peer_ip:
            continue
        if other.group_id == group.group_id:
            raise AlibabaError(code_same_group, f"{peer_ip} is already used by {other.peer_id} in {group.group_id}.")
        raise AlibabaError(
            "InvalidParams.PeerIpAddressInUse", f"{peer_ip} is used by {other.peer_id} in {other.group_id}."
        )


# -- actions -------------------------------------------------------------------------------------


def create_bgp_group(call: Call) -> dict[str, Any]:
    p, core = call.params, call.core
    router_id = p.require("RouterId")
    p.require("PeerAsn")
    vbr = _active_vbr(call, router_id)
    _check_vbr_idle(call, router_id)
    if not vbr.pconn_traffic_enabled:
        raise AlibabaError("OperationFailed.PconnTrafficNotEnable")
    peer_asn = _peer_asn(p)
    assert peer_asn is not None  # required above
    local_asn = _local_asn(core, p)
    ip_version = _ip_version(p) or "IPv4"
    if ip_version == "IPv6":
        _check_ipv6_allowed(call, vbr)
    name = _check_name(p.text("Name"), creating=True)
    description = _check_description(core, p.text("Description"), creating=True)
    auth_key = _check_auth_key(p.text("AuthKey"))
    is_fake = p.flag("IsFakeAsn")
    route_quota = _route_quota(core, p)
    if len(_groups_on(call, router_id)) >= core.config.alibaba_max_groups_per_vbr:
        raise AlibabaError("QuotaExceeded.Bgp", message="bgp group count per vbr quota exceed.")
    _check_name_free(call, name, router_id, exclude=None)
    outcome = GONE if _fails(call) else "Available"  # a failed create vanishes
    group = AlibabaGroup(
        status="Pending",
        created_at=call.now,
        group_id=core.new_alibaba_id("alibaba_groups", "bgpg-", call.region.region_id),
        region_id=call.region.region_id,
        router_id=router_id,
        name=name or "",
        description=description or "",
        peer_asn=peer_asn,
        local_asn=local_asn or ALIBABA_ASN,
        auth_key=auth_key or "",
        is_fake_asn=bool(is_fake),
        ip_version=ip_version,
        route_quota=route_quota or 110,
    ).begin("Pending", call.now, call.delay(), outcome)
    call.put("alibaba_groups", group.lagging(None, call.now, call.lag()))
    return {"BgpGroupId": group.group_id}


def create_bgp_peer(call: Call) -> dict[str, Any]:
    p, core = call.params, call.core
    group = _group(call, p.require("BgpGroupId"))
    _check_vbr_idle(call, group.router_id)
    _require_available(group.status, f"BGP group {group.group_id}")
    vbr = _active_vbr(call, group.router_id)
    _check_account_facts(vbr)
    ip_version = _ip_version(p) or group.ip_version
    if ip_version != group.ip_version:
        raise AlibabaError("IllegalParam.IpVersion", f"{group.group_id} is an {group.ip_version} group.")
    if ip_version == "IPv6":
        _check_ipv6_allowed(call, vbr)
    enable_bfd = p.flag("EnableBfd")
    hops = _bfd_multi_hop(p)
    if hops is not None and enable_bfd is None:
        raise AlibabaError("MissingParam.EnableBfd")
    _check_vbr_addressing(call, vbr, ip_version)
    peer_ip = _peer_ip(call, vbr, ip_version, p.text("PeerIpAddress"))
    if len(_peers_on(call, vbr.vbr_id)) >= core.config.alibaba_max_peers_per_vbr:
        raise AlibabaError("QuotaExceeded.Bgp")
    if vbr.nqa_quota_exceeded:
        raise AlibabaError("QuotaExceeded.Nqa")
    if vbr.bgp_network_quota_exceeded:
        raise AlibabaError("QuotaExceeded.BgpNetwork")
    if enable_bfd:
        _check_bfd_session(call, vbr, exclude=None)
    _check_peer_ip_free(call, peer_ip, group, exclude=None, code_same_group="BgpPeer.Already.Exists")
    outcome = GONE if _fails(call) else "Available"  # a failed create vanishes
    peer = AlibabaPeer(
        status="Pending",
        created_at=call.now,
        peer_id=core.new_alibaba_id("alibaba_peers", "bgp-", call.region.region_id),
        group_id=group.group_id,
        region_id=group.region_id,
        router_id=group.router_id,
        peer_ip_address=peer_ip,
        ip_version=ip_version,
        enable_bfd=bool(enable_bfd),
        bfd_multi_hop=hops if hops is not None else (255 if enable_bfd else 0),
        modified_at=call.now,
    ).begin("Pending", call.now, call.delay(), outcome)
    call.put("alibaba_peers", peer.lagging(None, call.now, call.lag()))
    return {"BgpPeerId": peer.peer_id}


def _bfd_multi_hop(p: Params) -> int | None:
    hops = p.integer("BfdMultiHop", "IllegalParam.BfdMultiHop")
    if hops is not None and not 1 <= hops <= 255:
        raise AlibabaError("IllegalParam.BfdMultiHop", "BfdMultiHop must be 1..255.")
    return hops


def modify_bgp_group(call: Call) -> dict[str, Any]:
    p, core = call.params, call.core
    group = _group(call, p.require("BgpGroupId"))
    _check_vbr_idle(call, group.router_id)
    changes: dict[str, Any] = {}
    if (peer_asn := _peer_asn(p)) is not None:
        changes["peer_asn"] = peer_asn
    if (local_asn := _local_asn(core, p)) is not None:
        changes["local_asn"] = local_asn
    if (name := _check_name(p.text("Name"), creating=False)) is not None:
        _check_name_free(call, name, group.router_id, exclude=group.group_id)
        changes["name"] = name
    if (description := _check_description(core, p.text("Description"), creating=False)) is not None:
        changes["description"] = description
    if (auth_key := _check_auth_key(p.text("AuthKey"))) is not None:
        changes["auth_key"] = auth_key
    if p.flag("ClearAuthKey"):
        changes["auth_key"] = ""  # ClearAuthKey wins over AuthKey
    if (is_fake := p.flag("IsFakeAsn")) is not None:
        changes["is_fake_asn"] = is_fake
    if (route_quota := _route_quota(core, p)) is not None:
        changes["route_quota"] = route_quota
    _require_available(group.status, f"BGP group {group.group_id}")
    _begin_modify(call, "alibaba_groups", group, changes)
    return {}


def modify_bgp_peer(call: Call) -> dict[str, Any]:
    p, core = call.params, call.core
    peer = _peer(call, p.require("BgpPeerId"))
    if (group_id := p.text("BgpGroupId")) and group_id != peer.group_id:
        _group(call, group_id)
        raise AlibabaError("InvalidParams.NotFound", f"{peer.peer_id} is not in {group_id}.")
    group = _group(call, peer.group_id)
    _check_vbr_idle(call, peer.router_id)
    _require_available(peer.status, f"BGP peer {peer.peer_id}")
    vbr = _vbr(call, peer.router_id)
    changes: dict[str, Any] = {}
    enable_bfd = p.flag("EnableBfd")
    hops = _bfd_multi_hop(p)
    if enable_bfd is None and core.config.alibaba_modify_peer_without_bfd == "disable":
        # The documented default of EnableBfd is false (Alibaba §11, U-A9): leaving it out turns BFD off.
        if hops is not None:
            raise AlibabaError("MissingParam.EnableBfd")
        enable_bfd = False
    if enable_bfd is not None:
        changes["enable_bfd"] = enable_bfd
        if enable_bfd and not peer.enable_bfd:
            _check_bfd_session(call, vbr, exclude=peer.peer_id)
    if hops is not None:
        changes["bfd_multi_hop"] = hops
    elif enable_bfd and peer.bfd_multi_hop == 0:
        changes["bfd_multi_hop"] = 255
    elif enable_bfd is False and core.config.alibaba_modify_peer_without_bfd == "disable":
        changes["bfd_multi_hop"] = 0
    if p.text("PeerIpAddress"):
        peer_ip = _peer_ip(call, vbr, peer.ip_version, p.text("PeerIpAddress"))
        same_group = "DuplicatedParam.PeerIpAddress"
        if peer.ip_version == "IPv6" and core.config.alibaba_specific_ip_codes:
            same_group = "DuplicatedParam.PeerIpv6Address"
        _check_peer_ip_free(call, peer_ip, group, exclude=peer.peer_id, code_same_group=same_group)
        changes["peer_ip_address"] = peer_ip
    _begin_modify(call, "alibaba_peers", peer, {**changes, "modified_at": call.now})
    return {}


def _begin_modify(call: Call, table: str, record: AlibabaGroup | AlibabaPeer, changes: dict[str, Any]) -> None:
    """Modifying -> Available; under a provisioning failure the old values come back."""
    rollback = {name: getattr(record, name) for name in changes} if _fails(call) else None
    updated = (
        dataclasses.replace(record, **changes)
        .begin("Modifying", call.now, call.delay(), "Available", rollback=rollback)
        .lagging(visible(record, call.now), call.now, call.lag())
    )
    call.put(table, updated)


def delete_bgp_group(call: Call) -> dict[str, Any]:
    group = _group(call, call.params.require("BgpGroupId"))
    _check_vbr_idle(call, group.router_id)
    _require_available(group.status, f"BGP group {group.group_id}")
    # Peers being deleted, or listed as Deleted, still count (Alibaba §7, U-A2).
    peers = [p.peer_id for p in call.core.store.where("alibaba_peers", "group_id", (group.group_id,)) if p.exists]
    if peers:
        raise AlibabaError("DependencyViolation.BgpPeer", f"Peers: {', '.join(peers)}.")
    _begin_delete(call, "alibaba_groups", group)
    return {}


def delete_bgp_peer(call: Call) -> dict[str, Any]:
    peer = _peer(call, call.params.require("BgpPeerId"))
    _check_vbr_idle(call, peer.router_id)
    _require_available(peer.status, f"BGP peer {peer.peer_id}")
    _begin_delete(call, "alibaba_peers", peer)
    return {}


def _begin_delete(call: Call, table: str, record: AlibabaGroup | AlibabaPeer) -> None:
    """Deleting -> gone (a peer first lingers as Deleted); under a provisioning failure it comes back
    Available."""
    failed = _fails(call)
    linger = call.core.config.alibaba_deleted_peer_linger if table == "alibaba_peers" and not failed else 0.0
    deleting = record.begin("Deleting", call.now, call.delay(), "Available" if failed else GONE, linger=linger)
    call.put(table, deleting.lagging(visible(record, call.now), call.now, call.lag()))


def describe_bgp_groups(call: Call) -> dict[str, Any]:
    p = call.params
    router_id, group_id = p.text("RouterId"), p.text("BgpGroupId")
    page_number, page_size = _paging(call)
    is_default = p.flag("IsDefault")
    where = _where(call, router_id=router_id, group_id=group_id)
    page, total = _select(call, "alibaba_groups", where, page_number, page_size, none=bool(is_default))
    return {
        "TotalCount": total,
        "PageNumber": page_number,
        "PageSize": page_size,
        "BgpGroups": {"BgpGroup": [group_item(call.core, g) for g in page]},
    }


def describe_bgp_peers(call: Call) -> dict[str, Any]:
    p, core = call.params, call.core
    router_id, group_id, peer_id = p.text("RouterId"), p.text("BgpGroupId"), p.text("BgpPeerId")
    page_number, page_size = _paging(call)
    is_default = p.flag("IsDefault")
    where = _where(call, router_id=router_id, group_id=group_id, peer_id=peer_id)
    page, total = _select(call, "alibaba_peers", where, page_number, page_size, none=bool(is_default))
    items = [peer_item(core, peer, _group_shown(call, peer.group_id)) for peer in page]
    return {
        "TotalCount": total,
        "PageNumber": page_number,
        "PageSize": page_size,
        "BgpPeers": {"BgpPeer": items},
    }


def _where(call: Call, **fields: str | None) -> dict[str, tuple[str, ...]]:
    """The Describe filters as store fields: the call's region, and each parameter given (not empty)."""
    where: dict[str, tuple[str, ...]] = {"region_id": (call.region.region_id,)}
    where.update({name: (value,) for name, value in fields.items() if value})
    return where


def _select(
    call: Call,
    table: str,
    where: Mapping[str, tuple[str, ...]],
    page_number: int,
    page_size: int,
    *,
    none: bool = False,
    matches: Callable[[Any], bool] | None = None,
) -> tuple[list[Any], int]:
    """One Describe page of what reads show and the TotalCount, at the cost of the page (the
    store's indexes, docs/sandbox.md, Scale). `none`: the filters match nothing (IsDefault)."""
    if none:
        return [], 0
    offset = (page_number - 1) * page_size
    return call.core.store.select(table, where, call.now, offset, page_size, matches)


def _group_shown(call: Call, group_id: str) -> AlibabaGroup | None:
    """The group values a peer shows: the group as reads see it, else as it is."""
    group: AlibabaGroup | None = call.core.store.get("alibaba_groups", group_id)
    if group is None:
        return None
    return visible(group, call.now) or group


_VBR_FILTERS: dict[str, Callable[[SeedVbr], str]] = {
    "VbrId": lambda v: v.vbr_id,
    "Status": lambda v: v.status,
    "Name": lambda v: v.name,
    "PhysicalConnectionId": lambda v: str(v.extra.get("physicalConnectionId", "")),
    "AccessPointId": lambda v: str(v.extra.get("accessPointId", "")),
    "eccId": lambda v: str(v.extra.get("eccId", "")),
    "type": lambda v: str(v.extra.get("type", "")),
}
_FILTER_KEY = re.compile(r"Filter\.(\d+)\.Key")


def describe_virtual_border_routers(call: Call) -> dict[str, Any]:
    p = call.params
    page_number, page_size = _paging(call)
    filters: dict[str, set[str]] = {}
    for name, key in p.values.items():
        match = _FILTER_KEY.fullmatch(name)
        if not match:
            continue
        if key not in _VBR_FILTERS:
            raise AlibabaError(
                "InvalidFilterKey.ValueNotSupported", f"Filter key {shown(key)}; valid: {', '.join(_VBR_FILTERS)}."
            )
        prefix = f"Filter.{match.group(1)}.Value."
        filters.setdefault(key, set()).update(v for k, v in p.values.items() if k.startswith(prefix))
    if len(filters) > 5:
        raise _invalid("Filter", "At most 5 filters.")
    where = _where(call)
    if "VbrId" in filters:
        where["vbr_id"] = tuple(filters.pop("VbrId"))  # the key: answered without a scan

    def passes(vbr: SeedVbr) -> bool:
        return all(_VBR_FILTERS[key](vbr) in values for key, values in filters.items())

    page, total = _select(call, "vbrs", where, page_number, page_size, matches=passes if filters else None)
    return {
        "TotalCount": total,
        "PageNumber": page_number,
        "PageSize": page_size,
        "VirtualBorderRouterSet": {"VirtualBorderRouterType": [vbr_item(v) for v in page]},
    }


def _paging(call: Call) -> tuple[int, int]:
    p = call.params
    page_number = p.integer("PageNumber")
    page_size = p.integer("PageSize")
    if page_number is not None and page_number < 1:
        raise _invalid("PageNumber", "PageNumber must be 1 or more.")
    if page_size is not None and page_size < 1:
        raise _invalid("PageSize", f"PageSize must be 1..{MAX_PAGE_SIZE}.")
    if page_size is not None and page_size > MAX_PAGE_SIZE:
        if call.core.config.alibaba_page_size_over_max == "reject":
            raise _invalid("PageSize", f"PageSize must be 1..{MAX_PAGE_SIZE}.")
        page_size = MAX_PAGE_SIZE
    return page_number or 1, page_size or DEFAULT_PAGE_SIZE


ACTIONS: dict[str, ActionHandler] = {
    "CreateBgpGroup": create_bgp_group,
    "CreateBgpPeer": create_bgp_peer,
    "DescribeBgpGroups": describe_bgp_groups,
    "DescribeBgpPeers": describe_bgp_peers,
    "ModifyBgpGroupAttribute": modify_bgp_group,
    "ModifyBgpPeerAttribute": modify_bgp_peer,
    "DeleteBgpGroup": delete_bgp_group,
    "DeleteBgpPeer": delete_bgp_peer,
    "DescribeVirtualBorderRouters": describe_virtual_border_routers,
}


# -- response items (Alibaba §5, §14) ------------------------------------------------------------


def ip_version_text(core: Core, version: str, kind: str) -> str:
    """How a Describe reply spells IpVersion (`alibaba_ip_version_case`; Alibaba §12)."""
    case = core.config.alibaba_ip_version_case
    if case == "mixed":
        case = "IPV4" if kind == "group" else "ipv4"
    if case == "IPV4":
        return version.upper()
    if case == "ipv4":
        return version.lower()
    return version


def group_item(core: Core, group: AlibabaGroup) -> dict[str, Any]:
    """A DescribeBgpGroups item: every field a string, `IsFake` included."""
    return {
        "BgpGroupId": group.group_id,
        "RouterId": group.router_id,
        "RegionId": group.region_id,
        "Name": group.name,
        "Description": group.description,
        "PeerAsn": str(group.peer_asn),
        "LocalAsn": str(group.local_asn),
        "AuthKey": group.auth_key,
        "IsFake": "true" if group.is_fake_asn else "false",
        "IpVersion": ip_version_text(core, group.ip_version, "group"),
        "Hold": "30",
        "Keepalive": "10",
        "RouteLimit": str(group.route_quota),
        "Status": group.status,
    }


def peer_item(core: Core, peer: AlibabaPeer, group: AlibabaGroup | None) -> dict[str, Any]:
    """A DescribeBgpPeers item: strings, except EnableBfd/IsFake (bool) and the counters/BfdMultiHop (int).
    A peer receives routes only while its session is Established (`set_received_routes`)."""
    group = group or AlibabaGroup(status="", created_at=0.0)
    state = alibaba_state(core, peer)
    return {
        "BgpPeerId": peer.peer_id,
        "BgpGroupId": peer.group_id,
        "RouterId": peer.router_id,
        "RegionId": peer.region_id,
        "PeerIpAddress": peer.peer_ip_address,
        "PeerAsn": str(group.peer_asn),
        "LocalAsn": str(group.local_asn),
        "AuthKey": group.auth_key,
        "Name": "",
        "Description": "",
        "IpVersion": ip_version_text(core, peer.ip_version, "peer"),
        "EnableBfd": peer.enable_bfd,
        "BfdMultiHop": peer.bfd_multi_hop,
        "IsFake": group.is_fake_asn,
        "Hold": "30",
        "Keepalive": "10",
        "RouteLimit": str(group.route_quota),
        "AdvertisedRouteCount": 0,
        "ReceivedRouteCount": peer.received_routes if state == ESTABLISHED else 0,
        "GmtModified": datetime.fromtimestamp(peer.modified_at, UTC).strftime("%Y-%m-%dT%H:%MZ"),
        "Status": peer.status,
        "BgpStatus": state,
    }


def alibaba_state(core: Core, peer: AlibabaPeer) -> str:
    """The `BgpStatus`: from both ends where a connection reaches the peer's VBR (`sessions`)."""
    config = core.config
    delay = config.session_establish_delay
    return alibaba_session(core.store, peer, config.alibaba_session_target, core.now(), delay)


def set_received_routes(core: Core, peer_id: str, count: int) -> None:
    """Set how many routes the other end of an Alibaba BGP peer advertises: `ReceivedRouteCount`
    shows them while the session is Established (a down session receives none), 0 otherwise."""
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_RECEIVED_ROUTES:
        valid = f"a whole number from 0 to {MAX_RECEIVED_ROUTES}"
        raise SandboxError(f"received routes must be {valid}, not {shown(count)}")
    with core.store.lock:
        core.store.settle(core.now())
        peer: AlibabaPeer | None = core.store.get("alibaba_peers", peer_id)
        if peer is None or not peer.exists:
            if core.store.get("equinix_bgp", peer_id) is not None:
                what = "is an Equinix BGP configuration; its API reports no received routes"
                raise SandboxError(f"{shown(peer_id)} {what}")
            if core.store.get("alibaba_groups", peer_id) is not None:
                raise SandboxError(f"{shown(peer_id)} is a BGP group; received routes belong to peers (bgp-...)")
            raise SandboxError(f"no Alibaba BGP peer with id {shown(peer_id)}")
        ticket = core.store.put("alibaba_peers", dataclasses.replace(peer, received_routes=count))
    core.store.sync(ticket)


def session_info(core: Core, peer: AlibabaPeer) -> dict[str, Any]:
    since = datetime.fromtimestamp(session_since(peer), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "state": alibaba_state(core, peer),
        "since": since,
        "override": peer.session_override is not None,
    }


def vbr_item(vbr: SeedVbr) -> dict[str, Any]:
    item: dict[str, Any] = {
        "VbrId": vbr.vbr_id,
        "Name": vbr.name,
        "Description": vbr.description,
        "Status": vbr.status,
        "LocalGatewayIp": vbr.local_gateway_ip,
        "PeerGatewayIp": vbr.peer_gateway_ip,
        "PeeringSubnetMask": vbr.peering_subnet_mask,
        "EnableIpv6": vbr.enable_ipv6,
        "LocalIpv6GatewayIp": vbr.local_ipv6_gateway_ip,
        "PeerIpv6GatewayIp": vbr.peer_ipv6_gateway_ip,
        "PeeringIpv6SubnetMask": vbr.peering_ipv6_subnet_mask,
        "AssociatedPhysicalConnections": {
            "AssociatedPhysicalConnection": [{"PhysicalConnectionId": pc} for pc in vbr.physical_connections]
        },
        "AssociatedCens": {"AssociatedCen": []},
    }
    for key, value in vbr.extra.items():
        item[key[:1].upper() + key[1:]] = value
    return item
