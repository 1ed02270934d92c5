"""`/_sandbox/` control routes, served on both servers to local clients and holders of the admin token.

They mirror the `Sandbox` methods, so tests that run `reconciler sandbox serve` as a separate
process can drive it. Out-of-band drift is deliberately not here: make it through the public APIs.

    GET    /_sandbox/info            endpoints and the environment to use
    GET    /_sandbox/requests        request counts            DELETE: reset them
    GET    /_sandbox/config          the configuration         POST {field: value, equinix: {...}}: change it
    POST   /_sandbox/session-state   {"cloudId": ..., "state": ...}  ("auto": back to automatic)
    POST   /_sandbox/received-routes {"cloudId": "bgp-...", "count": N}  routes an Alibaba peer receives
    POST   /_sandbox/seed            a seed document (JSON or YAML) merged into the data
    GET    /_sandbox/state           every object, keys in clear
    POST   /_sandbox/equinix/unlock  clear OAuth lockouts and failure counts

Who may call them (docs/sandbox.md, Control routes): a request with the sandbox's admin token in
`X-Sandbox-Admin-Token`; without it, only a plain local client: a loopback peer that names a
loopback host and says it comes from no web page (no `Origin`, no `Sec-Fetch-Site` but `none`).
That keeps scripts and tests on this machine working unchanged, while a web page open in a
browser (cross-site requests, DNS rebinding) and anything relayed from another host are refused.
Bodies are read within `bounded`'s limits and never logged or echoed.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from reconciler.sandbox.alibaba import MAX_RECEIVED_ROUTES, set_received_routes
from reconciler.sandbox.bounded import MAX_ADMIN_BODY, InputError, parse_json_object, read_body, shown
from reconciler.sandbox.config import SandboxError
from reconciler.sandbox.core import CORE
from reconciler.sandbox.seed import Seed, parse_seed_text

ADMIN_TOKEN_HEADER = "X-Sandbox-Admin-Token"
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})
_SEED_SOURCE = "POST /_sandbox/seed"


class Control(Protocol):
    @property
    def admin_token(self) -> str: ...
    def info(self) -> dict[str, Any]: ...
    def request_counts(self) -> dict[str, int]: ...
    def reset_request_counts(self) -> None: ...
    def config_json(self) -> dict[str, Any]: ...
    def configure(self, **changes: Any) -> None: ...
    def set_session_state(self, cloud_id: str, state: str) -> None: ...
    def add_seed(self, seed: Seed) -> None: ...
    def objects_json(self) -> dict[str, Any]: ...
    def unlock_equinix(self) -> None: ...


CONTROL = web.AppKey("control", Control)
Handler = Callable[[web.Request], Awaitable[web.Response]]


def add_routes(app: web.Application, control: Control) -> None:
    app[CONTROL] = control
    app.router.add_get("/_sandbox/info", _guarded(info))
    app.router.add_get("/_sandbox/requests", _guarded(requests))
    app.router.add_delete("/_sandbox/requests", _guarded(reset_requests))
    app.router.add_get("/_sandbox/config", _guarded(get_config))
    app.router.add_post("/_sandbox/config", _guarded(set_config))
    app.router.add_post("/_sandbox/session-state", _guarded(set_session_state))
    app.router.add_post("/_sandbox/received-routes", _guarded(set_peer_received_routes))
    app.router.add_post("/_sandbox/seed", _guarded(add_seed))
    app.router.add_get("/_sandbox/state", _guarded(state))
    app.router.add_post("/_sandbox/equinix/unlock", _guarded(unlock))


def _guarded(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.Response:
        refusal = _refusal(request, request.app[CONTROL].admin_token)
        if refusal is not None:
            return web.json_response({"error": refusal}, status=403)
        try:
            return await handler(request)
        except _BadBody as exc:
            return exc.response

    return guarded


def _refusal(request: web.Request, admin_token: str) -> str | None:
    """Why this request may not use the control routes, or None when it may."""
    given = request.headers.get(ADMIN_TOKEN_HEADER)
    if given is not None:
        if hmac.compare_digest(given.encode(), admin_token.encode()):
            return None
        return f"the {ADMIN_TOKEN_HEADER} header does not hold this sandbox's admin token"
    need_token = (
        f"send the sandbox's admin token in the {ADMIN_TOKEN_HEADER} header "
        "(printed by `reconciler sandbox serve`; Sandbox.admin_token in Python)"
    )
    if not _is_loopback_address(request.remote):
        return f"the control routes take requests from other hosts only with the admin token: {need_token}"
    host = request.headers.get("Host")
    if host is not None and not _is_loopback_host(host):
        return f"Host {shown(host)} is not this machine's loopback address; {need_token}"
    fetch_site = request.headers.get("Sec-Fetch-Site", "none")
    if "Origin" in request.headers or fetch_site != "none":
        return f"a request from a web page may not use the control routes; {need_token}"
    return None


def _is_loopback_address(address: str | None) -> bool:
    if address is None:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _is_loopback_host(host: str) -> bool:
    """`127.0.0.1:8080`, `[::1]:8080`, `localhost`: a Host header that names this machine."""
    name = host.strip()
    if name.startswith("["):
        name = name[1 : name.find("]")] if "]" in name else name
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    return name.lower() in _LOOPBACK_NAMES or _is_loopback_address(name)


async def info(request: web.Request) -> web.Response:
    return web.json_response(request.app[CONTROL].info())


async def requests(request: web.Request) -> web.Response:
    return web.json_response(request.app[CONTROL].request_counts())


async def reset_requests(request: web.Request) -> web.Response:
    request.app[CONTROL].reset_request_counts()
    return web.json_response({})


async def get_config(request: web.Request) -> web.Response:
    return web.json_response(request.app[CONTROL].config_json())


async def set_config(request: web.Request) -> web.Response:
    control = request.app[CONTROL]
    changes = await _json_object(request)
    try:
        control.configure(**changes)
    except SandboxError as exc:
        return _bad(str(exc))
    return web.json_response(control.config_json())


async def set_session_state(request: web.Request) -> web.Response:
    body = await _json_object(request)
    cloud_id, state_ = body.get("cloudId"), body.get("state")
    if not isinstance(cloud_id, str) or not isinstance(state_, str):
        return _bad('expected {"cloudId": "<Equinix uuid or Alibaba bgp- id>", "state": "<session state>"}')
    try:
        request.app[CONTROL].set_session_state(cloud_id, state_)
    except SandboxError as exc:
        return _bad(str(exc))
    return web.json_response({"cloudId": cloud_id, "state": state_})


async def set_peer_received_routes(request: web.Request) -> web.Response:
    body = await _json_object(request)
    cloud_id, count = body.get("cloudId"), body.get("count")
    if not isinstance(cloud_id, str) or isinstance(count, bool) or not isinstance(count, int):
        return _bad(f'expected {{"cloudId": "<Alibaba bgp- id>", "count": <routes, 0 to {MAX_RECEIVED_ROUTES}>}}')
    try:
        set_received_routes(request.app[CORE], cloud_id, count)
    except SandboxError as exc:
        return _bad(str(exc))
    return web.json_response({"cloudId": cloud_id, "count": count})


async def add_seed(request: web.Request) -> web.Response:
    control = request.app[CONTROL]
    try:
        raw = await read_body(request, MAX_ADMIN_BODY)
    except InputError as exc:
        return _bad(f"{_SEED_SOURCE}: {exc.message}", status=413 if exc.too_large else 400)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _bad(f"{_SEED_SOURCE}: the body is not UTF-8 text (JSON or YAML)")

    def merge() -> Seed:
        seed = parse_seed_text(text, _SEED_SOURCE) if text.strip() else Seed()
        control.add_seed(seed)
        return seed

    try:  # parsing a large seed takes a while: keep the event loop serving
        seed = await asyncio.get_running_loop().run_in_executor(None, merge)
    except SandboxError as exc:
        return _bad(str(exc))
    counts = {
        "devices": len(seed.devices),
        "connections": len(seed.connections),
        "regions": len(seed.regions),
        "vbrs": len(seed.vbrs),
    }
    return web.json_response({"merged": counts})


async def state(request: web.Request) -> web.Response:
    return web.json_response(request.app[CONTROL].objects_json())


async def unlock(request: web.Request) -> web.Response:
    request.app[CONTROL].unlock_equinix()
    return web.json_response({})


class _BadBody(Exception):
    """A control request whose body cannot be read: answered with `response`."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


async def _json_object(request: web.Request) -> dict[str, object]:
    try:
        return parse_json_object(await read_body(request, MAX_ADMIN_BODY))
    except InputError as exc:
        raise _BadBody(_bad(exc.message, status=413 if exc.too_large else 400)) from None


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)
