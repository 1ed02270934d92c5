"""Equinix Network Edge BGP API emulator, following docs/cloud-apis.md (Equinix §1-§10).

Routes: `POST /oauth2/v1/token`; `POST|GET /ne/v1/bgp`; `GET|PUT /ne/v1/bgp/{uuid}` (no DELETE:
405); `GET /ne/v1/bgp/connection/{connectionUuid}`; `GET /ne/v1/devices/{uuid}`;
`GET /fabric/v4/connections/{connectionId}`; `POST /fabric/v4/connections/search` (Fabric's
`searchConnections`, a subset of its filters). Error codes marked "invented" below are not from
any source (no public source lists a BGP error code: Equinix §8); docs/sandbox.md has the table.

Reads go through `records.visible`, so with `equinix_read_lag` they show what was there before a
change; checks on writes always see the truth. Bodies and list parameters are read within the
bounds of `bounded` (docs/sandbox.md, Limits): over them is a 400 or 413 in the Equinix shape.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from reconciler.sandbox.bounded import (
    MAX_ADMIN_BODY,
    MAX_API_BODY,
    MAX_NUMBER_LENGTH,
    InputError,
    decimal_integer,
    parse_json_object,
    read_body,
    shown,
)
from reconciler.sandbox.core import CORE, Core
from reconciler.sandbox.faults import fault_middleware, retry_after_seconds
from reconciler.sandbox.records import EquinixBgp, session_since, visible
from reconciler.sandbox.seed import SeedConnection, SeedDevice
from reconciler.sandbox.sessions import equinix_session

MAX_ASN = 4294967295
SUPPORT = "Please contact Network-Edge-Support@equinix.com for assistance."
CHECK_BODY = "Please confirm the data types and values in the request body, then try again."

# Error codes. IC-NE-ERR-400/500 are real (rest-go fixtures); the rest are invented.
FIELD_INVALID = "IC-NE-BGP-0001"  # 400: a field is missing or invalid; `property` names it
CONNECTION_NOT_FOUND = "IC-NE-BGP-0002"  # 404
BGP_NOT_FOUND = "IC-NE-BGP-0003"  # 404
CONNECTION_NOT_READY = "IC-NE-BGP-0004"  # 400
DEVICE_NOT_READY = "IC-NE-BGP-0005"  # 400: not provisioned, license, self-configured, asn
DUPLICATE = "IC-NE-BGP-0006"  # 400: the connection already has a BGP configuration
BUSY = "IC-NE-BGP-0007"  # 400: PUT while PROVISIONING / PENDING_UPDATE
NOT_UPDATABLE = "IC-NE-BGP-0008"  # 400: connectionUuid in a PUT
BAD_REQUEST = "IC-NE-ERR-400"
TOO_LARGE = "IC-NE-ERR-413"  # invented, like -405 and -429
UNAUTHORIZED = "IC-NE-ERR-401"
NOT_FOUND = "IC-NE-ERR-404"
METHOD_NOT_ALLOWED = "IC-NE-ERR-405"
RATE_LIMITED = "IC-NE-ERR-429"
READ_FORBIDDEN = "IC-USR-403-READ"  # invented, after rest-go's real IC-USR-403-DELETE
FABRIC_READ_FORBIDDEN = "EQ-300005"  # the Fabric v4 spec's 403 example
FABRIC_NOT_FOUND = "EQ-3045811"  # real: the Fabric v4 spec's 404 "uuid not found"
FABRIC_SEARCH_INVALID = "EQ-3040001"  # invented: 400 (413 when too large), a bad search body
NO_PERMISSION = (
    "Access Denied. You don't have permissions to perform READ operation. Please contact your master "
    "administrator to get the right permissions through Equinix Customer Portal or contact Equinix Support "
    "(support@equinix.com)."
)

PROVISIONING_STATUSES = ("PROVISIONING", "PENDING_UPDATE", "PROVISIONED", "FAILED", "DEPROVISIONED", "DEPROVISIONING")
READY_CONNECTION_STATES = ("PROVISIONED", "ACTIVE")
# Fabric v4 `state` and `operation.equinixStatus` values (Equinix §9); the seed may use any of them.
FABRIC_CONNECTION_STATES = (
    "ACTIVE",
    "CANCELLED",
    "DEPROVISIONED",
    "DEPROVISIONING",
    "DRAFT",
    "FAILED",
    "PENDING",
    "PROVISIONED",
    "PROVISIONING",
    "REPROVISIONING",
)
FABRIC_EQUINIX_STATUSES = (
    "REJECTED_ACK",
    "REJECTED",
    "PENDING_DELETE",
    "PROVISIONED",
    "BEING_REPROVISIONED",
    "BEING_DEPROVISIONED",
    "BEING_PROVISIONED",
    "CREATED",
    "ERRORED",
    "PENDING_DEPROVISIONING",
    "APPROVED",
    "ORDERING",
    "PENDING_APPROVAL",
    "NOT_PROVISIONED",
    "DEPROVISIONING",
    "NOT_DEPROVISIONED",
    "PENDING_AUTO_APPROVAL",
    "PROVISIONING",
    "PENDING_BGP_PEERING",
    "PENDING_PROVIDER_VLAN",
    "DEPROVISIONED",
    "DELETED",
    "PENDING_BANDWIDTH_APPROVAL",
    "AUTO_APPROVAL_FAILED",
    "UPDATE_PENDING",
    "DELETED_API",
    "MODIFIED",
    "PENDING_PROVIDER_VLAN_ERROR",
    "DRAFT",
    "CANCELLED",
    "PENDING_INTERFACE_CONFIGURATION",
)
READY_LICENSES = ("REGISTERED", "APPLIED", "N/A")
_KEY_RULE = re.compile(r"[A-Za-z][A-Za-z0-9]{5,59}")
_CONNECTION_KEYS = ("connectionUuid", "connectionUUID")


@dataclass(frozen=True)
class ErrorItem:
    code: str
    message: str
    property: str = ""
    more_info: str = CHECK_BODY

    def to_json(self) -> dict[str, str]:
        return {
            "errorCode": self.code,
            "errorMessage": self.message,
            "property": self.property,
            "moreInfo": self.more_info,
        }


class EquinixError(Exception):
    def __init__(self, status: int, *items: ErrorItem, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(items[0].message)
        self.status = status
        self.items = items
        self.headers = dict(headers or {})


class FabricError(Exception):
    """Fabric v4's error list (Equinix §8): one `{errorCode, errorMessage, correlationId, details,
    additionalInfo: [{property, reason}]}`, whatever `equinix_error_shape` says."""

    def __init__(self, status: int, code: str, message: str, details: str, prop: str, reason: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.prop, self.reason = prop, reason

    def response(self) -> web.Response:
        body = [
            {
                "errorCode": self.code,
                "errorMessage": self.message,
                "correlationId": secrets.token_hex(8),
                "details": self.details,
                "additionalInfo": [{"property": self.prop, "reason": self.reason}],
            }
        ]
        return web.json_response(body, status=self.status)


class OAuthError(Exception):
    """Token endpoint errors: oauth2-go's camelCase shape, or the token spec's snake_case one
    (`equinix_oauth_error_case`, Equinix §1)."""

    def __init__(self, status: int, code: str, title: str, message: str, developer: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.title, self.message = status, code, title, message
        self.developer = developer if developer is not None else message


def error_response(core: Core, error: EquinixError) -> web.Response:
    items = [item.to_json() for item in error.items]
    body: Any = items if core.config.equinix_error_shape == "array" else items[0]
    return web.json_response(body, status=error.status, headers=error.headers)


# -- the application ---------------------------------------------------------------------------


class EquinixHooks:
    api = "equinix"

    def __init__(self, core: Core) -> None:
        self.core = core

    async def describe(self, request: web.Request) -> tuple[str, bool]:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "(unknown route)"
        mutating = request.method in ("POST", "PUT") and request.path.startswith("/ne/v1/bgp")
        return f"equinix {request.method} {route}", mutating

    def throttled(self, request: web.Request, retry_after: float) -> web.StreamResponse:
        headers = {"Retry-After": str(retry_after_seconds(retry_after))} if self.core.config.equinix_retry_after else {}
        item = ErrorItem(
            RATE_LIMITED,
            "The request was rejected due to rate limitations. Try again later.",
            "",
            "The number of requests exceeded the limit in a given time.",
        )
        return error_response(self.core, EquinixError(429, item, headers=headers))

    def server_error(self, request: web.Request, pick: float) -> web.StreamResponse:
        status = (500, 502, 503)[min(2, int(pick * 3))]
        message = {
            500: "We're unable to process your request.",
            502: "Bad gateway.",
            503: "The service is temporarily unavailable.",
        }[status]
        return error_response(self.core, EquinixError(status, ErrorItem(f"IC-NE-ERR-{status}", message, "", SUPPORT)))


@web.middleware
async def _errors_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Equinix-shaped bodies for our errors and for the router's 404 / 405."""
    core = request.app[CORE]
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except EquinixError as error:
        return error_response(core, error)
    except FabricError as error:
        return error.response()
    except OAuthError as error:
        body = {
            "errorDomain": "apps-fqa",
            "errorTitle": error.title,
            "errorCode": error.code,
            "developerMessage": error.developer,
            "errorMessage": error.message,
        }
        if core.config.equinix_oauth_error_case == "snake":
            body = {_SNAKE[key]: value for key, value in body.items()}
        return web.json_response(body, status=error.status)
    except web.HTTPMethodNotAllowed as exc:
        allowed = ", ".join(sorted(exc.allowed_methods))
        item = ErrorItem(
            METHOD_NOT_ALLOWED,
            f"{request.method} is not supported on {request.path}; allowed: {allowed}",
            "",
            "Network Edge has no API to delete a BGP configuration.",
        )
        return error_response(core, EquinixError(405, item, headers={"Allow": allowed}))
    except web.HTTPNotFound:
        if request.path.startswith("/_sandbox/"):
            raise
        item = ErrorItem(NOT_FOUND, f"No API at {request.method} {request.path}", "", SUPPORT)
        return error_response(core, EquinixError(404, item))


_SNAKE = {
    "errorDomain": "error_domain",
    "errorTitle": "error_title",
    "errorCode": "error_code",
    "developerMessage": "developer_message",
    "errorMessage": "error_message",
}


def build_app(core: Core) -> web.Application:
    # The app's own bound is the control routes' (a seed); API bodies are bounded lower when read.
    app = web.Application(
        middlewares=[fault_middleware(EquinixHooks(core), core), _errors_middleware], client_max_size=MAX_ADMIN_BODY
    )
    app[CORE] = core
    app.router.add_post("/oauth2/v1/token", token)
    app.router.add_post("/ne/v1/bgp", create_bgp)
    app.router.add_get("/ne/v1/bgp", list_bgp, allow_head=False)
    app.router.add_get("/ne/v1/bgp/connection/{connectionUuid}", bgp_for_connection, allow_head=False)
    app.router.add_get("/ne/v1/bgp/{uuid}", get_bgp, allow_head=False)
    app.router.add_put("/ne/v1/bgp/{uuid}", update_bgp)
    app.router.add_get("/ne/v1/devices/{uuid}", get_device, allow_head=False)
    app.router.add_post("/fabric/v4/connections/search", search_connections)
    app.router.add_get("/fabric/v4/connections/{connectionId}", get_connection, allow_head=False)
    return app


# -- OAuth2 (Equinix §1) -----------------------------------------------------------------------


async def token(request: web.Request) -> web.Response:
    core = request.app[CORE]
    config = core.config
    if request.content_type != "application/json":
        raise OAuthError(
            415,
            "S1001",
            "Unsupported Media Type",
            f"The token request must be JSON (Content-Type: application/json), not {request.content_type}.",
        )
    body = await _json_object(request, oauth=True)
    grant_type = body.get("grant_type")
    if grant_type != "client_credentials":
        raise OAuthError(
            400,
            "S1002",
            "Invalid Grant Type",
            f"grant_type {shown(grant_type)} is not supported; use client_credentials.",
        )
    client_id, client_secret = body.get("client_id"), body.get("client_secret")
    if not isinstance(client_id, str) or not isinstance(client_secret, str) or not client_id:
        raise OAuthError(400, "S1001", "Bad Request", "client_id and client_secret are required strings.")
    sessions = core.equinix
    with core.store.lock:
        if client_id in sessions.locked:
            raise OAuthError(
                400,
                "S1007",
                "Account Locked",
                f"The account is locked after {config.equinix_lockout_after} successive invalid attempts.",
            )
        good = secrets.compare_digest(client_id, config.equinix_client_id) and secrets.compare_digest(
            client_secret.encode(), config.equinix_client_secret.encode()
        )
        if not good:
            sessions.failures[client_id] += 1
            if sessions.failures[client_id] >= config.equinix_lockout_after:
                sessions.locked.add(client_id)
            raise OAuthError(
                400, "S1006", "Login Failure", "Login Failure, please try again.", "Login Failure, please try again"
            )
        sessions.failures.pop(client_id, None)
        access_token = secrets.token_urlsafe(24)
        sessions.tokens[access_token] = (client_id, core.now() + config.equinix_token_timeout)
    return web.json_response(
        {
            "access_token": access_token,
            "token_timeout": str(config.equinix_token_timeout),
            "token_type": "Bearer",
            "user_name": client_id,
        }
    )


def _authenticate(request: web.Request) -> str:
    """The user name behind the bearer token; 401 when missing, unknown or expired."""
    core = request.app[CORE]
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise _unauthorized("Missing access token. Please pass a valid access token in the Authorization header.")
    with core.store.lock:
        found = core.equinix.tokens.get(value.strip())
        if found is None:
            raise _unauthorized("Invalid access token. Please pass a valid access token.")
        user, expires_at = found
        if core.now() >= expires_at:
            del core.equinix.tokens[value.strip()]
            raise _unauthorized("Access token expired. Please request a new access token.")
    return user


def _unauthorized(message: str) -> EquinixError:
    item = ErrorItem(UNAUTHORIZED, message, "", "Request a token with POST /oauth2/v1/token.")
    return EquinixError(401, item, headers={"WWW-Authenticate": "Bearer"})


# -- BGP ---------------------------------------------------------------------------------------


async def create_bgp(request: web.Request) -> web.Response:
    core = request.app[CORE]
    user = _authenticate(request)
    body = await _json_object(request)
    fields = _bgp_fields(body, creating=True)
    config = core.config
    with core.store.lock:
        now = core.now()
        core.store.settle(now)
        connection_uuid = fields["connection_uuid"]
        device = _ready_device(core, connection_uuid, fields["local_asn"])
        existing = [
            record
            for u in core.equinix_by_connection.get(connection_uuid, [])
            if (record := core.store.get("equinix_bgp", u)) is not None and record.status != "DEPROVISIONED"
        ]
        if existing and config.equinix_duplicate_post == "reject":
            raise EquinixError(
                400,
                ErrorItem(
                    DUPLICATE,
                    f"Connection {connection_uuid} already has a BGP configuration ({existing[0].uuid}); "
                    "update it with PUT /ne/v1/bgp/{uuid}.",
                    "connectionUuid",
                ),
            )
        if existing and config.equinix_duplicate_post == "return-existing":
            uuid, ticket = existing[0].uuid, core.store.last_ticket
        else:
            outcome = "FAILED" if core.provision_fails("equinix") else "PROVISIONED"
            record = (
                EquinixBgp(
                    status="PROVISIONING",
                    created_at=now,
                    uuid=core.new_uuid("equinix_bgp"),
                    device_uuid=device.uuid,
                    created_by=user,
                    **fields,
                )
                .begin("PROVISIONING", now, config.provision_delay, outcome)
                .lagging(None, now, config.equinix_read_lag)
            )
            uuid, ticket = record.uuid, core.store.put("equinix_bgp", record)
            core.equinix_by_connection.setdefault(connection_uuid, []).append(uuid)
    await core.durable(ticket)
    return web.json_response({"uuid": uuid}, status=202)


async def update_bgp(request: web.Request) -> web.Response:
    core = request.app[CORE]
    user = _authenticate(request)
    body = await _json_object(request)
    for name in _CONNECTION_KEYS:
        if name in body:
            raise EquinixError(
                400,
                ErrorItem(
                    NOT_UPDATABLE,
                    "connectionUuid cannot be updated; a BGP configuration stays on its connection.",
                    "connectionUuid",
                ),
            )
    changes = _bgp_fields(body, creating=False)
    config = core.config
    uuid = request.match_info["uuid"]
    with core.store.lock:
        now = core.now()
        core.store.settle(now)
        record: EquinixBgp | None = core.store.get("equinix_bgp", uuid)
        if record is None:
            raise _bgp_not_found(uuid)
        if record.status in ("PROVISIONING", "PENDING_UPDATE") and config.equinix_put_while_busy == "reject":
            raise EquinixError(
                400,
                ErrorItem(
                    BUSY, f"BGP configuration {uuid} is {record.status}; wait for PROVISIONED before updating it.", ""
                ),
            )
        if changes.get("authentication_key") == "":
            changes["authentication_key"] = (
                None if config.equinix_empty_key_on_put == "clear" else record.authentication_key
            )
        merged = dataclasses.replace(record, **changes)
        problems = _cross_check(merged.local_ip_address, merged.remote_ip_address)
        if problems:
            raise EquinixError(400, *problems)
        _ready_device(core, record.connection_uuid, merged.local_asn, updating=True)
        outcome = "FAILED" if core.provision_fails("equinix") else "PROVISIONED"
        updated = (
            dataclasses.replace(merged, updated_by=user, updated_at=now)
            .begin("PENDING_UPDATE", now, config.provision_delay, outcome)
            .lagging(visible(record, now), now, config.equinix_read_lag)
        )
        ticket = core.store.put("equinix_bgp", updated)
    await core.durable(ticket)
    if config.equinix_put_response == "empty":
        return web.Response(status=202)
    return web.json_response({"uuid": uuid}, status=202)


async def get_bgp(request: web.Request) -> web.Response:
    core = request.app[CORE]
    _authenticate(request)
    uuid = request.match_info["uuid"]
    with core.store.lock:
        now = core.now()
        core.store.settle(now)
        stored = core.store.get("equinix_bgp", uuid)
        record = visible(stored, now) if stored is not None else None
        if record is None:
            raise _bgp_not_found(uuid)
        return web.json_response(bgp_info(core, record, single=True))


async def bgp_for_connection(request: web.Request) -> web.Response:
    """Undocumented ne-go endpoint: the connection's configuration, or 404 (Equinix §2, §3)."""
    core = request.app[CORE]
    _authenticate(request)
    connection_uuid = request.match_info["connectionUuid"]
    with core.store.lock:
        now = core.now()
        core.store.settle(now)
        for uuid in core.equinix_by_connection.get(connection_uuid, []):
            stored = core.store.get("equinix_bgp", uuid)
            record = visible(stored, now) if stored is not None else None
            if record is not None:
                return web.json_response(bgp_info(core, record, single=True))
    raise EquinixError(
        404,
        ErrorItem(
            BGP_NOT_FOUND, f"No BGP configuration found for connection {connection_uuid}", "connectionUuid", SUPPORT
        ),
    )


async def list_bgp(request: web.Request) -> web.Response:
    core = request.app[CORE]
    _authenticate(request)
    query = request.query
    offset = _non_negative_int(query.get("offset", "0"), "offset", minimum=0)
    limit = _non_negative_int(query.get("limit", "20"), "limit", minimum=1)
    status = query.get("status")
    statuses = set(status.split(",")) if status else None
    if statuses and not statuses <= set(PROVISIONING_STATUSES):
        raise EquinixError(
            400,
            ErrorItem(
                FIELD_INVALID,
                f"status {shown(status)} is not valid; valid: {', '.join(PROVISIONING_STATUSES)}",
                "status",
            ),
        )
    effective_limit = min(limit, core.config.equinix_list_limit_cap)
    where: dict[str, Collection[str]] = {}
    if query.get("connectionUuid"):
        where["connection_uuid"] = (query["connectionUuid"],)
    if query.get("virtualDeviceUuid"):
        where["device_uuid"] = (query["virtualDeviceUuid"],)
    if statuses is not None:
        where["status"] = statuses
    with core.store.lock:
        now = core.now()
        core.store.settle(now)
        # The store's indexes keep this O(page) (docs/sandbox.md, Scale); reads see `records.visible`.
        records, total = core.store.select("equinix_bgp", where, now, offset, effective_limit)
        page = [bgp_info(core, r) for r in records]
    return web.json_response({"pagination": {"offset": offset, "limit": effective_limit, "total": total}, "data": page})


def bgp_info(core: Core, record: EquinixBgp, *, single: bool = False) -> dict[str, Any]:
    """The `BgpInfo` object (Equinix §2): the key in clear, like the real API. `single`: the body of
    a single-object GET, which may spell the uuid fields like ne-go's fixture."""
    legacy = single and core.config.equinix_get_uuid_spelling == "UUID"
    info: dict[str, Any] = {
        "uuid": record.uuid,
        "connectionUUID" if legacy else "connectionUuid": record.connection_uuid,
        "virtualDeviceUUID" if legacy else "virtualDeviceUuid": record.device_uuid,
        "localIpAddress": record.local_ip_address,
        "localAsn": record.local_asn,
        "remoteIpAddress": record.remote_ip_address,
        "remoteAsn": record.remote_asn,
    }
    if record.authentication_key is not None:
        info["authenticationKey"] = record.authentication_key
    info.update(_user_fields("created", record.created_by, record.created_at))
    if record.updated_by is not None and record.updated_at is not None:
        info.update(_user_fields("lastUpdated", record.updated_by, record.updated_at))
    info["provisioningStatus"] = record.status
    never_up = record.up_since is None and record.session_override is None
    if not (never_up and core.config.equinix_state_before_provisioned == "absent"):
        info["state"] = equinix_state(core, record)
    return info


def equinix_state(core: Core, record: EquinixBgp) -> str:
    """The session `state`: from both ends where the connection reaches a VBR (`sessions`)."""
    config = core.config
    return equinix_session(
        core.store, record, config.equinix_session_target, core.now(), config.session_establish_delay
    )


def session_info(core: Core, record: EquinixBgp) -> dict[str, Any]:
    return {
        "state": equinix_state(core, record),
        "since": iso_millis(session_since(record)),
        "override": record.session_override is not None,
    }


def _user_fields(prefix: str, user: str, when: float) -> dict[str, str]:
    return {
        f"{prefix}By": user,
        f"{prefix}ByFullName": f"{user} (sandbox)",
        f"{prefix}ByEmail": f"{user}@sandbox.invalid",
        f"{prefix}Date": iso_millis(when),
    }


def iso_millis(when: float) -> str:
    """`2020-10-06T12:28:17.815Z`, the fixture's format."""
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _bgp_not_found(uuid: str) -> EquinixError:
    return EquinixError(404, ErrorItem(BGP_NOT_FOUND, f"BGP configuration {uuid} not found", "uuid", SUPPORT))


def _ready_device(core: Core, connection_uuid: str, local_asn: int, *, updating: bool = False) -> SeedDevice:
    """The connection's device, after the prerequisite checks of Equinix §9 (404 / 400 otherwise)."""
    connection: SeedConnection | None = core.store.get("connections", connection_uuid)
    if connection is None:
        raise EquinixError(
            404, ErrorItem(CONNECTION_NOT_FOUND, f"Connection {connection_uuid} not found", "connectionUuid", SUPPORT)
        )
    device: SeedDevice | None = core.store.get("devices", connection.device_uuid)
    if device is None:
        raise EquinixError(
            400,
            ErrorItem(
                DEVICE_NOT_READY,
                f"Virtual device {connection.device_uuid} of connection {connection_uuid} not found",
                "connectionUuid",
            ),
        )
    if not updating:
        if connection.state not in READY_CONNECTION_STATES and connection.equinix_status != "PENDING_BGP_PEERING":
            raise EquinixError(
                400,
                ErrorItem(
                    CONNECTION_NOT_READY,
                    f"Connection {connection_uuid} is {connection.state}; BGP can only be configured "
                    f"on a connection that is {' or '.join(READY_CONNECTION_STATES)}.",
                    "connectionUuid",
                ),
            )
        if device.status != "PROVISIONED":
            raise EquinixError(
                400,
                ErrorItem(
                    DEVICE_NOT_READY,
                    f"Device not provisioned. Virtual device {device.uuid} is {device.status}.",
                    "connectionUuid",
                ),
            )
        if device.license_status not in READY_LICENSES:
            raise EquinixError(
                400,
                ErrorItem(
                    DEVICE_NOT_READY,
                    f"Virtual device {device.uuid} license is {device.license_status}; it must be "
                    f"{', '.join(READY_LICENSES)}.",
                    "connectionUuid",
                ),
            )
        if device.management_type != "EQUINIX-CONFIGURED":
            raise EquinixError(
                400,
                ErrorItem(
                    DEVICE_NOT_READY,
                    f"Virtual device {device.uuid} is {device.management_type}; BGP peering through this "
                    "API needs an EQUINIX-CONFIGURED device.",
                    "connectionUuid",
                ),
            )
    if core.config.equinix_require_device_asn and device.asn is not None and local_asn != device.asn:
        raise EquinixError(
            400,
            ErrorItem(
                DEVICE_NOT_READY, f"localAsn {local_asn} must equal the virtual device's ASN {device.asn}", "localAsn"
            ),
        )
    return device


# -- field validation (Equinix §2, §5, §10) ----------------------------------------------------


def _bgp_fields(body: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """Record fields from a POST/PUT body; every problem is reported at once (one item each)."""
    problems: list[ErrorItem] = []
    fields: dict[str, Any] = {}

    def bad(prop: str, message: str) -> None:
        problems.append(ErrorItem(FIELD_INVALID, message, prop))

    connection = next((body[k] for k in _CONNECTION_KEYS if k in body), None)
    if creating:
        if not isinstance(connection, str) or not connection:
            bad("connectionUuid", "connectionUuid is required: the uuid of a provisioned connection")
        else:
            fields["connection_uuid"] = connection
    for prop, attr in (("localAsn", "local_asn"), ("remoteAsn", "remote_asn")):
        if prop not in body:
            if creating:
                bad(prop, f"{prop} is required: an integer 1..{MAX_ASN}")
            continue
        value = body[prop]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ASN:
            bad(prop, f"{prop} {shown(value)} is not valid: expected an integer 1..{MAX_ASN}")
        else:
            fields[attr] = value
    if "localIpAddress" in body:
        local = body["localIpAddress"]
        problem = _local_ip_problem(local)
        if problem:
            bad("localIpAddress", problem)
        else:
            fields["local_ip_address"] = str(ipaddress.ip_interface(local))
    elif creating:
        bad("localIpAddress", "localIpAddress is required: the device's address in CIDR form, like 10.0.0.1/30")
    if "remoteIpAddress" in body:
        remote = body["remoteIpAddress"]
        if not isinstance(remote, str) or "/" in remote or not _is_ip(remote):
            bad(
                "remoteIpAddress",
                f"remoteIpAddress {shown(remote)} is not valid: expected a plain IP address like 10.0.0.2",
            )
        else:
            fields["remote_ip_address"] = str(ipaddress.ip_address(remote))
    elif creating:
        bad("remoteIpAddress", "remoteIpAddress is required: the peer's IP address inside the local subnet")
    if "authenticationKey" in body and body["authenticationKey"] is not None:
        key = body["authenticationKey"]
        if not isinstance(key, str) or (key and not _KEY_RULE.fullmatch(key)):
            # Never echo the value: it is a secret.
            bad("authenticationKey", "authenticationKey must be 6-60 letters or digits and must not begin with a digit")
        elif key or not creating:
            fields["authentication_key"] = key
    if creating and "local_ip_address" in fields and "remote_ip_address" in fields:
        problems += _cross_check(fields["local_ip_address"], fields["remote_ip_address"])
    if problems:
        raise EquinixError(400, *problems)
    return fields


def _local_ip_problem(value: Any) -> str | None:
    if not isinstance(value, str) or "/" not in value:
        return f"localIpAddress {shown(value)} is not valid: expected CIDR notation like 10.0.0.1/30"
    try:
        interface = ipaddress.ip_interface(value)
    except ValueError:
        return f"localIpAddress {shown(value)} is not valid: expected CIDR notation like 10.0.0.1/30"
    network = interface.network
    if network.num_addresses > 2 and interface.ip in (network.network_address, network.broadcast_address):
        return f"localIpAddress {shown(value)} is the network or broadcast address of {network}; use a host address"
    return None


def _cross_check(local: str, remote: str) -> list[ErrorItem]:
    interface = ipaddress.ip_interface(local)
    address = ipaddress.ip_address(remote)
    network = interface.network
    if address.version != interface.version or address not in network:
        message = f"remoteIpAddress {remote} must be inside the local subnet {network}"
    elif address == interface.ip:
        message = f"remoteIpAddress {remote} must differ from localIpAddress {local}"
    elif network.num_addresses > 2 and address in (network.network_address, network.broadcast_address):
        message = f"remoteIpAddress {remote} is the network or broadcast address of {network}"
    else:
        return []
    return [ErrorItem(FIELD_INVALID, message, "remoteIpAddress")]


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _non_negative_int(value: str, prop: str, *, minimum: int) -> int:
    """`offset` / `limit` arrive as strings (the spec types them so); ints written as text."""
    try:
        number = decimal_integer(value)
    except InputError:
        number = None
    if number is None or number < minimum:
        expected = f"an integer >= {minimum} of at most {MAX_NUMBER_LENGTH} digits"
        raise EquinixError(
            400, ErrorItem(FIELD_INVALID, f"{prop} {shown(value)} is not valid: expected {expected}", prop)
        )
    return number


async def _json_object(request: web.Request, *, oauth: bool = False) -> dict[str, Any]:
    """The body as a JSON object, read within `bounded`'s limits (size, nesting, number length)."""
    try:
        return parse_json_object(await read_body(request, MAX_API_BODY))
    except InputError as exc:
        status = 413 if exc.too_large else 400
        if oauth:
            raise OAuthError(
                status, "S1001", "Payload Too Large" if exc.too_large else "Bad Request", exc.sentence()
            ) from None
        raise EquinixError(status, ErrorItem(TOO_LARGE if exc.too_large else BAD_REQUEST, exc.sentence(), "")) from None


# -- prerequisites (Equinix §9) ----------------------------------------------------------------


async def get_device(request: web.Request) -> web.Response:
    core = request.app[CORE]
    _authenticate(request)
    uuid = request.match_info["uuid"]
    if core.config.equinix_prerequisite_reads == "forbidden":
        raise EquinixError(403, ErrorItem(READ_FORBIDDEN, NO_PERMISSION, "", SUPPORT))
    with core.store.lock:
        device: SeedDevice | None = core.store.get("devices", uuid)
    if device is None:
        raise EquinixError(404, ErrorItem(NOT_FOUND, f"Virtual device {uuid} not found", "uuid", SUPPORT))
    return web.json_response(device_json(device))


def device_json(device: SeedDevice) -> dict[str, Any]:
    out: dict[str, Any] = {
        "uuid": device.uuid,
        "name": device.name,
        "status": device.status,
        "licenseStatus": device.license_status,
        "deviceManagementType": device.management_type,
    }
    if device.asn is not None:
        out["asn"] = device.asn
    out.update(device.extra)
    return out


async def get_connection(request: web.Request) -> web.Response:
    core = request.app[CORE]
    _authenticate(request)
    connection_id = request.match_info["connectionId"]
    _check_fabric_reads(core)
    with core.store.lock:
        connection: SeedConnection | None = core.store.get("connections", connection_id)
    if connection is None:
        raise FabricError(
            404, FABRIC_NOT_FOUND, "uuid not found", f"Connection {connection_id} not found", "uuid", "not found"
        )
    return web.json_response(connection_json(connection))


def _check_fabric_reads(core: Core) -> None:
    """The 403 of every Fabric read under `equinix_prerequisite_reads: forbidden`, with the spec's
    403 example code (Equinix §8, §9)."""
    if core.config.equinix_prerequisite_reads == "forbidden":
        raise FabricError(
            403,
            FABRIC_READ_FORBIDDEN,
            "You don't have permissions to perform READ operation",
            "Access Denied",
            "connectionId",
            "forbidden",
        )


# `operation.equinixStatus` shown for a seeded `state` without `equinixStatus`.
_EQUINIX_STATUS = {
    "PROVISIONED": "PROVISIONED",
    "ACTIVE": "PROVISIONED",
    "PROVISIONING": "PROVISIONING",
    "REPROVISIONING": "BEING_REPROVISIONED",
    "PENDING": "PENDING_APPROVAL",
    "DRAFT": "DRAFT",
    "CANCELLED": "CANCELLED",
    "DEPROVISIONING": "DEPROVISIONING",
    "DEPROVISIONED": "DEPROVISIONED",
    "FAILED": "FAILED",
}


def connection_json(connection: SeedConnection) -> dict[str, Any]:
    equinix_status = connection.equinix_status or _EQUINIX_STATUS.get(
        connection.state, connection.state if connection.state in FABRIC_EQUINIX_STATUSES else "NOT_PROVISIONED"
    )
    out: dict[str, Any] = {
        "uuid": connection.uuid,
        "name": connection.name,
        "type": "EVPL_VC",
        "state": connection.state,
        "operation": {
            "equinixStatus": equinix_status,
            "providerStatus": "AVAILABLE" if equinix_status == "PROVISIONED" else "NOT_AVAILABLE",
        },
        "aSide": {"accessPoint": {"type": "VD", "virtualDevice": {"type": "EDGE", "uuid": connection.device_uuid}}},
    }
    out.update(connection.extra)
    return out


# -- Fabric connection search (`searchConnections`) --------------------------------------------

# Search field -> its path in `connection_json`: the spec's `SearchFieldName` values we support.
SEARCH_FIELDS: dict[str, tuple[str, ...]] = {
    "/uuid": ("uuid",),
    "/name": ("name",),
    "/state": ("state",),
    "/operation/equinixStatus": ("operation", "equinixStatus"),
    "/aSide/accessPoint/virtualDevice/uuid": ("aSide", "accessPoint", "virtualDevice", "uuid"),
}
SEARCH_OPERATORS = ("=", "!=", "IN")  # of the spec's `ExpressionOperator`
SEARCH_MAX_LIMIT = 100
SEARCH_DEFAULT_LIMIT = 20
_SEARCH_PATH = "/fabric/v4/connections/search"


@dataclass(frozen=True)
class _Condition:
    """A simple expression: `property` `operator` `values`."""

    path: tuple[str, ...]
    negated: bool  # `!=`
    values: frozenset[str]

    def matches(self, connection: Mapping[str, Any]) -> bool:
        value: Any = connection
        for key in self.path:
            value = value.get(key) if isinstance(value, Mapping) else None
        return (isinstance(value, str) and value in self.values) != self.negated


@dataclass(frozen=True)
class _Group:
    """`{"and": [...]}` (`every`) or `{"or": [...]}`."""

    every: bool
    parts: tuple[_Condition | _Group, ...]

    def matches(self, connection: Mapping[str, Any]) -> bool:
        test = all if self.every else any
        return test(part.matches(connection) for part in self.parts)


async def search_connections(request: web.Request) -> web.Response:
    """`POST /fabric/v4/connections/search`: the seeded connections `filter` matches, in uuid order,
    one `pagination` page of them. Authenticated and forbidden like `get_connection`."""
    core = request.app[CORE]
    _authenticate(request)
    _check_fabric_reads(core)
    try:
        body = parse_json_object(await read_body(request, MAX_API_BODY))
    except InputError as exc:
        raise FabricError(
            413 if exc.too_large else 400, FABRIC_SEARCH_INVALID, exc.sentence(), "Invalid request body", "", "invalid"
        ) from None
    condition = _search_expression(body["filter"], "filter") if "filter" in body else None
    offset, limit = _search_pagination(body.get("pagination", {}))
    with core.store.lock:
        connections: list[SeedConnection] = core.store.values("connections")
    shown_all = (connection_json(c) for c in sorted(connections, key=lambda c: c.uuid))
    matches = [c for c in shown_all if condition is None or condition.matches(c)]
    total = len(matches)
    following = offset + limit
    pagination = {
        "offset": offset,
        "limit": limit,
        "total": total,
        "next": f"{_SEARCH_PATH}?offset={following}&limit={limit}" if following < total else None,
        "previous": f"{_SEARCH_PATH}?offset={max(0, offset - limit)}&limit={limit}" if offset > 0 else None,
    }
    return web.json_response({"pagination": pagination, "data": matches[offset:following]})


def _search_invalid(where: str, message: str) -> FabricError:
    return FabricError(400, FABRIC_SEARCH_INVALID, message, "Invalid search request", where, "invalid")


def _search_expression(value: Any, where: str) -> _Condition | _Group:
    """An `Expression`: `{"and": [...]}`, `{"or": [...]}` or `{"property", "operator", "values"}`."""
    if not isinstance(value, dict):
        raise _search_invalid(where, f"{where} must be an object (an expression), not {shown(value)}")
    forms = [key for key in ("and", "or", "property") if key in value]
    if len(forms) != 1:
        raise _search_invalid(
            where, f"{where} must have exactly one of and, or, property; it has {', '.join(forms) or 'none'}"
        )
    form = forms[0]
    if form in ("and", "or"):
        parts = value[form]
        if not isinstance(parts, list) or not parts:
            raise _search_invalid(f"{where}.{form}", f"{where}.{form} must be a non-empty array of expressions")
        return _Group(form == "and", tuple(_search_expression(p, f"{where}.{form}[{i}]") for i, p in enumerate(parts)))
    prop, operator, values = value["property"], value.get("operator"), value.get("values")
    if not isinstance(prop, str) or prop not in SEARCH_FIELDS:
        raise _search_invalid(
            f"{where}.property",
            f"{where}.property {shown(prop)} is not supported; supported: {', '.join(SEARCH_FIELDS)}",
        )
    if not isinstance(operator, str) or operator not in SEARCH_OPERATORS:
        raise _search_invalid(
            f"{where}.operator",
            f"{where}.operator {shown(operator)} is not supported; supported: {', '.join(SEARCH_OPERATORS)}",
        )
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise _search_invalid(f"{where}.values", f"{where}.values must be a non-empty array of strings")
    if operator != "IN" and len(values) != 1:
        raise _search_invalid(
            f"{where}.values", f"{where}.values must hold exactly one value for operator {operator}, not {len(values)}"
        )
    return _Condition(SEARCH_FIELDS[prop], operator == "!=", frozenset(values))


def _search_pagination(value: Any) -> tuple[int, int]:
    """`PaginationRequest`: offset >= 0 (default 0), limit 1..100 (default 20)."""
    if not isinstance(value, dict):
        raise _search_invalid("pagination", f"pagination must be an object, not {shown(value)}")
    numbers = {"offset": 0, "limit": SEARCH_DEFAULT_LIMIT}
    for name, lowest, highest in (("offset", 0, None), ("limit", 1, SEARCH_MAX_LIMIT)):
        if name not in value:
            continue
        number = value[name]
        in_range = isinstance(number, int) and not isinstance(number, bool) and number >= lowest
        if not in_range or (highest is not None and number > highest):
            expected = f"an integer {lowest}..{highest}" if highest is not None else f"an integer >= {lowest}"
            raise _search_invalid(
                f"pagination.{name}", f"pagination.{name} {shown(number)} is not valid: expected {expected}"
            )
        numbers[name] = number
    return numbers["offset"], numbers["limit"]
