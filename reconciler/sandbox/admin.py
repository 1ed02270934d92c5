"""`/_sandbox/` control routes, served (without auth) on both servers.

They mirror the `Sandbox` methods, so tests that run `reconciler sandbox serve` as a separate
process can drive it. Out-of-band drift is deliberately not here: make it through the public APIs.

    GET    /_sandbox/info            endpoints and the environment to use
    GET    /_sandbox/requests        request counts            DELETE: reset them
    GET    /_sandbox/config          the configuration         POST {field: value, equinix: {...}}: change it
    POST   /_sandbox/session-state   {"cloudId": ..., "state": ...}  ("auto": back to automatic)
    POST   /_sandbox/seed            a seed document (JSON or YAML) merged into the data
    GET    /_sandbox/state           every object, keys in clear
    POST   /_sandbox/equinix/unlock  clear OAuth lockouts and failure counts
"""

from __future__ import annotations

from typing import Any, Protocol

import yaml
from aiohttp import web

from reconciler.sandbox.config import SandboxError
from reconciler.sandbox.seed import Seed


class Control(Protocol):
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


def add_routes(app: web.Application, control: Control) -> None:
    app[CONTROL] = control
    app.router.add_get("/_sandbox/info", info)
    app.router.add_get("/_sandbox/requests", requests)
    app.router.add_delete("/_sandbox/requests", reset_requests)
    app.router.add_get("/_sandbox/config", get_config)
    app.router.add_post("/_sandbox/config", set_config)
    app.router.add_post("/_sandbox/session-state", set_session_state)
    app.router.add_post("/_sandbox/seed", add_seed)
    app.router.add_get("/_sandbox/state", state)
    app.router.add_post("/_sandbox/equinix/unlock", unlock)


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


async def add_seed(request: web.Request) -> web.Response:
    text = await request.text()
    try:
        data = yaml.safe_load(text) if text.strip() else {}
        seed = Seed.from_mapping(data, "POST /_sandbox/seed")
        request.app[CONTROL].add_seed(seed)
    except yaml.YAMLError as exc:
        return _bad(f"POST /_sandbox/seed: not valid JSON or YAML: {exc}")
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


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"error": "the body must be a JSON object"}', content_type="application/json"
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text='{"error": "the body must be a JSON object"}', content_type="application/json")
    return body


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)
