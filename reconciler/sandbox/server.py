"""`Sandbox`: both emulated APIs on loopback, served from a background thread with its own event loop."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any

from aiohttp import web

from reconciler.package_data import example_path
from reconciler.sandbox import admin, alibaba, equinix
from reconciler.sandbox.bounded import shown
from reconciler.sandbox.config import (
    ALIBABA_SESSION_STATES,
    EQUINIX_SESSION_STATES,
    SandboxConfig,
    SandboxError,
    apply_changes,
    config_to_json,
    validated,
)
from reconciler.sandbox.core import Core
from reconciler.sandbox.seed import Seed, SeedRegion, load_seed
from reconciler.sandbox.store import Store

AUTO = "auto"  # set_session_state(..., AUTO): back to the automatic session state
_SHUTDOWN_TIMEOUT = 2.0  # seconds in-flight requests get at stop()


@dataclass(frozen=True)
class SandboxObjects:
    """A read-only snapshot, each object as the API shows it (keys in clear), keyed by its id."""

    equinix_bgp: Mapping[str, Mapping[str, Any]]  # uuid -> BgpInfo
    alibaba_groups: Mapping[str, Mapping[str, Any]]  # BgpGroupId -> DescribeBgpGroups item
    alibaba_peers: Mapping[str, Mapping[str, Any]]  # BgpPeerId -> DescribeBgpPeers item
    sessions: Mapping[str, Mapping[str, Any]]  # cloud id -> {state, since, override}
    devices: Mapping[str, Mapping[str, Any]]
    connections: Mapping[str, Mapping[str, Any]]
    vbrs: Mapping[str, Mapping[str, Any]]
    regions: tuple[str, ...]

    def counts(self) -> dict[str, int]:
        return {
            "equinix_bgp": len(self.equinix_bgp),
            "alibaba_groups": len(self.alibaba_groups),
            "alibaba_peers": len(self.alibaba_peers),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            name: (list(value) if isinstance(value, tuple) else {k: dict(v) for k, v in value.items()})
            for name, value in ((f.name, getattr(self, f.name)) for f in dataclasses.fields(self))
        }


def default_seed() -> Seed:
    """The examples' seed, or an empty one when this installation has none."""
    try:
        path = example_path("sandbox-seed.yaml")
    except FileNotFoundError:
        return Seed()
    return load_seed(path)


class Sandbox:
    """Faithful local emulators of the Equinix NE and Alibaba VPC BGP APIs (docs/sandbox.md).

    >>> with Sandbox(seed) as sandbox:
    ...     os.environ.update(sandbox.env())

    `admin_token` (random, one per Sandbox) opens the `/_sandbox/` control routes to requests that
    a plain local client would not make (docs/sandbox.md, Control routes): send `admin_headers()`.
    """

    def __init__(
        self,
        seed: Seed | None = None,
        *,
        config: SandboxConfig | None = None,
        data_file: Path | None = None,
        equinix_port: int = 0,
        alibaba_port: int = 0,
    ) -> None:
        self._seed = seed if seed is not None else default_seed()
        self._config = validated(config or SandboxConfig())
        self.data_file = Path(data_file) if data_file is not None else None
        self._ports = (equinix_port, alibaba_port)
        self.admin_token = secrets.token_urlsafe(24)
        self._core: Core | None = None
        self._runner: _LoopThread | None = None
        self.equinix_url = ""
        self.alibaba_endpoint = ""

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Load the data file, merge the seed, and return once both servers listen."""
        if self._runner is not None:
            raise SandboxError("the sandbox is already running")
        store = Store(self.data_file)
        store.open()
        try:
            core = Core(store, self._config)
            self._core = core
            _merge_seed(core, self._seed)
            store.compact()  # start from one snapshot holding the data and the seed
            sockets = [_listen(self._ports[0], "--equinix-port"), _listen(self._ports[1], "--alibaba-port")]
            apps = [equinix.build_app(core), alibaba.build_app(core)]
            for app in apps:
                admin.add_routes(app, self)
            runner = _LoopThread(list(zip(apps, sockets, strict=True)))
            runner.start()
        except BaseException:
            self._core = None
            store.close()
            raise
        self._runner = runner
        self.equinix_url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
        self.alibaba_endpoint = f"127.0.0.1:{sockets[1].getsockname()[1]}"
        return self

    def stop(self) -> None:
        """Stop both servers and compact the data file. Safe to call twice."""
        runner, core = self._runner, self._core
        self._runner = None
        if runner is not None:
            runner.stop()
        if core is not None:
            self._config = core.config
            core.store.close()
            self._core = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what clients need -----------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """The environment variables that point both providers at this sandbox."""
        config = self.config
        return {
            "EQUINIX_API_ENDPOINT": self.equinix_url,
            "EQUINIX_CLIENT_ID": config.equinix_client_id,
            "EQUINIX_CLIENT_SECRET": config.equinix_client_secret,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": config.alibaba_access_key_id,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": config.alibaba_access_key_secret,
            "ALIBABA_CLOUD_VPC_ENDPOINT": self.alibaba_endpoint,
        }

    def admin_headers(self) -> dict[str, str]:
        """The header that admits a request to the `/_sandbox/` control routes from anywhere."""
        return {admin.ADMIN_TOKEN_HEADER: self.admin_token}

    def info(self) -> dict[str, Any]:
        return {"equinixUrl": self.equinix_url, "alibabaEndpoint": self.alibaba_endpoint, "env": self.env()}

    # -- controls --------------------------------------------------------------------------------

    @property
    def config(self) -> SandboxConfig:
        """The current configuration (change it with `configure`, not by assignment)."""
        return self._core.config if self._core is not None else self._config

    def config_json(self) -> dict[str, Any]:
        return config_to_json(self.config)

    def configure(self, **changes: Any) -> None:
        """Change SandboxConfig fields at runtime; `equinix=`/`alibaba=` take a FaultConfig or a dict.

        `profile="pessimistic"` first sets every knob of that realism profile (docs/sandbox.md,
        Profiles), then the other changes apply."""
        if self._core is not None:
            self._core.configure(changes)
        else:
            self._config = apply_changes(self._config, changes)

    def add_seed(self, seed: Seed) -> None:
        """Merge more devices, connections, regions and VBRs (same ids are replaced)."""
        core = self._running()
        _merge_seed(core, seed)

    def request_counts(self) -> dict[str, int]:
        """e.g. {"equinix GET /ne/v1/bgp": 12, "alibaba DescribeBgpPeers": 3} (admin routes excluded)."""
        return self._running().request_counts()

    def reset_request_counts(self) -> None:
        self._running().reset_request_counts()

    def unlock_equinix(self) -> None:
        """Clear the Equinix OAuth lockouts and failed-attempt counters."""
        core = self._running()
        with core.store.lock:
            core.equinix.locked.clear()
            core.equinix.failures.clear()

    def set_session_state(self, cloud_id: str, state: str) -> None:
        """Override the BGP session state of an Equinix config (`state`) or Alibaba peer (`BgpStatus`).

        `state="auto"` returns to the automatic behaviour (the configured target once provisioned).
        """
        core = self._running()
        with core.store.lock:
            now = core.now()
            core.store.settle(now)
            for table, valid in (("equinix_bgp", EQUINIX_SESSION_STATES), ("alibaba_peers", ALIBABA_SESSION_STATES)):
                record = core.store.get(table, cloud_id)
                if record is None or not record.exists:
                    continue
                if state != AUTO and state not in valid:
                    states = ", ".join(repr(s) for s in valid)
                    raise SandboxError(
                        f"{shown(state)} is not a session state for {cloud_id}; valid: {states} or 'auto'"
                    )
                override = None if state == AUTO else state
                ticket = core.store.put(
                    table,
                    dataclasses.replace(
                        record, session_override=override, session_override_at=None if override is None else now
                    ),
                )
                break
            else:
                if core.store.get("alibaba_groups", cloud_id) is not None:
                    raise SandboxError(f"{cloud_id} is a BGP group; session states belong to peers (bgp-...)")
                raise SandboxError(f"no Equinix BGP configuration or Alibaba BGP peer with id {shown(cloud_id)}")
        core.store.sync(ticket)

    def objects(self) -> SandboxObjects:
        core = self._running()
        with core.store.lock:
            core.store.settle(core.now())
            bgp = core.store.values("equinix_bgp")
            groups = {g.group_id: g for g in core.store.iter("alibaba_groups") if g.exists}
            peers = [p for p in core.store.iter("alibaba_peers") if p.exists]
            sessions = {r.uuid: equinix.session_info(core, r) for r in bgp}
            sessions.update({p.peer_id: alibaba.session_info(core, p) for p in peers})
            return SandboxObjects(
                equinix_bgp=_frozen({r.uuid: equinix.bgp_info(core, r) for r in bgp}),
                alibaba_groups=_frozen({gid: alibaba.group_item(core, g) for gid, g in groups.items()}),
                alibaba_peers=_frozen({p.peer_id: alibaba.peer_item(core, p, groups.get(p.group_id)) for p in peers}),
                sessions=_frozen(sessions),
                devices=_frozen({d.uuid: equinix.device_json(d) for d in core.store.iter("devices")}),
                connections=_frozen({c.uuid: equinix.connection_json(c) for c in core.store.iter("connections")}),
                vbrs=_frozen({v.vbr_id: alibaba.vbr_item(v) for v in core.store.iter("vbrs")}),
                regions=tuple(r.region_id for r in core.store.iter("regions")),
            )

    def objects_json(self) -> dict[str, Any]:
        return self.objects().to_json()

    def _running(self) -> Core:
        if self._core is None:
            raise SandboxError("the sandbox is not running; call start() first")
        return self._core


def _frozen(items: dict[str, dict[str, Any]]) -> Mapping[str, Mapping[str, Any]]:
    return MappingProxyType({key: MappingProxyType(value) for key, value in items.items()})


def _merge_seed(core: Core, seed: Seed) -> None:
    """Upsert the seed's items; a connection must name a known device (seeded now or before)."""
    with core.store.lock:
        devices = {d.uuid for d in seed.devices} | {d.uuid for d in core.store.iter("devices")}
        for connection in seed.connections:
            if connection.device_uuid not in devices:
                raise SandboxError(
                    f"seed: connection {connection.uuid} names device {connection.device_uuid}, "
                    "which is not in the seed"
                )
        ticket = 0
        for table, items in (
            ("devices", seed.devices),
            ("connections", seed.connections),
            ("regions", seed.regions),
            ("vbrs", seed.vbrs),
        ):
            for item in items:
                ticket = core.store.put(table, item)
        for vbr in seed.vbrs:  # a VBR's region exists even when the seed forgot to list it
            if core.store.get("regions", vbr.region_id) is None:
                ticket = core.store.put("regions", SeedRegion(vbr.region_id))
    core.store.sync(ticket)


def _listen(port: int, option: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        raise SandboxError(
            f"{option} {port}: cannot listen on 127.0.0.1:{port} ({exc.strerror}); "
            "choose another port, or 0 for a free one"
        ) from None
    return sock


class _LoopThread:
    """Runs aiohttp apps on given sockets in one daemon thread with its own event loop."""

    def __init__(self, sites: list[tuple[web.Application, socket.socket]]) -> None:
        self._sites = sites
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="reconciler-sandbox", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error

    def stop(self) -> None:
        if self._loop is not None and self._stop_event is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop_event.set)
        self._thread.join()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    async def _serve(self) -> None:
        self._stop_event = asyncio.Event()
        runners: list[web.AppRunner] = []
        try:
            for app, sock in self._sites:
                runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT)
                await runner.setup()
                runners.append(runner)
                await web.SockSite(runner, sock).start()
        except BaseException as exc:
            self._error = exc
        self._ready.set()
        if self._error is None:
            await self._stop_event.wait()
        for runner in runners:
            await runner.cleanup()
        for _, sock in self._sites:
            sock.close()
