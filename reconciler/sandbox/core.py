"""What both emulated APIs share: the store, the live configuration, fault injectors, counters,
id generation, and the small bits of non-durable state (OAuth tokens, lockouts, nonces)."""

from __future__ import annotations

import asyncio
import random
import string
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from reconciler.sandbox.config import SandboxConfig, apply_changes
from reconciler.sandbox.faults import FaultInjector
from reconciler.sandbox.store import Store

_ID_ALPHABET = string.ascii_lowercase + string.digits
# The first two characters of a real Alibaba id hint at the region (docs/cloud-apis.md, Alibaba §3).
_REGION_ID_PREFIX = {"cn-hangzhou": "bp", "cn-beijing": "2z", "ap-southeast-1": "t4", "cn-hongkong": "j6"}


@dataclass
class EquinixSessions:
    """OAuth2 tokens and failed-login counters (memory only: a restart logs everyone out)."""

    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> (client id, expires at)
    failures: Counter[str] = field(default_factory=Counter)  # client id -> successive bad attempts
    locked: set[str] = field(default_factory=set)


class Core:
    def __init__(self, store: Store, config: SandboxConfig) -> None:
        self.store = store
        self._config = config
        self._config_lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()
        self.faults = {
            "equinix": FaultInjector(lambda: self.config.equinix, config.random_seed, "equinix"),
            "alibaba": FaultInjector(lambda: self.config.alibaba, config.random_seed, "alibaba"),
        }
        self._ids = _rng(config.random_seed, "ids")
        self.equinix = EquinixSessions()
        self.nonces: dict[str, float] = {}  # Alibaba signature nonce -> when first seen
        self.equinix_by_connection: dict[str, list[str]] = {}  # connection uuid -> BGP uuids
        for record in store.iter("equinix_bgp"):
            self.equinix_by_connection.setdefault(record.connection_uuid, []).append(record.uuid)

    # -- configuration -------------------------------------------------------------------------

    @property
    def config(self) -> SandboxConfig:
        return self._config

    def configure(self, changes: Mapping[str, Any]) -> SandboxConfig:
        with self._config_lock:
            new = apply_changes(self._config, changes)
            old = self._config
            self._config = new
            if new.random_seed != old.random_seed:
                for injector in self.faults.values():
                    injector.reseed(new.random_seed)
                self._ids = _rng(new.random_seed, "ids")
            for name, injector in self.faults.items():
                if getattr(new, name).throttle_rps != getattr(old, name).throttle_rps:
                    injector.reset_throttle()
            return new

    # -- time, ids, counters -------------------------------------------------------------------

    @staticmethod
    def now() -> float:
        return time.time()

    def new_uuid(self, table: str) -> str:
        """A fresh uuid4, unused in `table` (seeded ids could repeat after a restart)."""
        with self.store.lock:
            while True:
                candidate = str(uuid.UUID(int=self._ids.getrandbits(128), version=4))
                if self.store.get(table, candidate) is None:
                    return candidate

    def new_alibaba_id(self, table: str, prefix: str, region_id: str) -> str:
        """`bgpg-` / `bgp-` + 21 lowercase alphanumerics, like the real ids."""
        with self.store.lock:
            while True:
                head = _REGION_ID_PREFIX.get(region_id) or "".join(self._ids.choices(_ID_ALPHABET, k=2))
                candidate = prefix + head + "".join(self._ids.choices(_ID_ALPHABET, k=19))
                if self.store.get(table, candidate) is None:
                    return candidate

    def count(self, key: str) -> None:
        with self._counts_lock:
            self._counts[key] += 1

    def request_counts(self) -> dict[str, int]:
        with self._counts_lock:
            return dict(self._counts)

    def reset_request_counts(self) -> None:
        with self._counts_lock:
            self._counts.clear()

    async def durable(self, ticket: int) -> None:
        """Wait until a change is on disk (no-op without a data file); never blocks the loop."""
        if ticket:
            await asyncio.get_running_loop().run_in_executor(None, self.store.sync, ticket)

    def provision_fails(self, api: str) -> bool:
        return self.faults[api].provision_fails()


def _rng(seed: int | None, stream: str) -> random.Random:
    return random.Random(f"{seed}:{stream}") if seed is not None else random.Random()


CORE = web.AppKey("core", Core)
