"""The cloud registry: every cloud package, and every kind they serve.

A cloud is one package here that exposes a `Cloud` object (see `reconciler.clouds.base`); adding
one is a new package plus one line in `CLOUDS` (docs/architecture.md, "Adding a cloud"). The core
looks kinds and clouds up here and never names one. The packages import only light modules at
import time; each imports its API client (and SDK) when a provider is first made.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from reconciler.clouds.alibaba import CLOUD as ALIBABA
from reconciler.clouds.base import Cloud, Presupposed, Provider, ProviderOptions, RefreshScope, UnmanagedLevel
from reconciler.clouds.equinix import CLOUD as EQUINIX
from reconciler.errors import ReconcilerError
from reconciler.kinds import KindInfo
from reconciler.model import Resource, StateDoc

CLOUDS: dict[str, Cloud] = {cloud.name: cloud for cloud in (EQUINIX, ALIBABA)}
KINDS: dict[str, KindInfo] = {}


def _index_kinds() -> None:
    KINDS.clear()
    for cloud in CLOUDS.values():
        for info in cloud.kinds:
            if info.cloud != cloud.name:
                raise ReconcilerError(f"kind {info.kind} says it belongs to {info.cloud!r}, not {cloud.name!r}")
            KINDS[info.kind] = info


_index_kinds()


def register(cloud: Cloud) -> None:
    """Add (or replace) a cloud and its kinds."""
    CLOUDS[cloud.name] = cloud
    _index_kinds()


def unregister(name: str) -> None:
    CLOUDS.pop(name, None)
    _index_kinds()


def cloud_of(kind: str) -> Cloud:
    """The cloud that serves `kind`."""
    return CLOUDS[KINDS[kind].cloud]


def clouds_involved(desired: Iterable[Resource], state: StateDoc) -> list[Cloud]:
    """The clouds whose kinds the manifests, the state or an unfinished apply mention."""
    kinds = {r.kind for r in desired} | {r.kind for r in state.resources.values()} | {e.kind for e in state.pending}
    names = {KINDS[k].cloud for k in kinds if k in KINDS}
    return [cloud for name, cloud in CLOUDS.items() if name in names]


def refresh_scopes(
    desired: Sequence[Resource],
    state: StateDoc,
    level: UnmanagedLevel = UnmanagedLevel.MANIFESTS,
    args: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, RefreshScope]:
    """What each involved cloud's provider must list (its own, opaque scope): the clouds the
    manifests or the state involve, plus those given scope `args`, at unmanaged-scope `level`."""
    args = args or {}
    involved = {cloud.name for cloud in clouds_involved(desired, state)} | set(args)
    return {
        name: cloud.refresh_scope(desired, state, level, tuple(args.get(name, ())))
        for name, cloud in CLOUDS.items()
        if name in involved
    }


def sandbox_seed(presupposed: Iterable[Presupposed]) -> dict[str, Mapping[str, object]]:
    """An embedded-sandbox seed: each cloud's part, under the cloud's name."""
    items = list(presupposed)
    parts = {name: cloud.sandbox_seed(items) for name, cloud in CLOUDS.items()}
    return {name: part for name, part in parts.items() if part}


def make_provider(name: str, env: Mapping[str, str], options: ProviderOptions) -> Provider:
    return CLOUDS[name].make_provider(env, options)


__all__ = [
    "CLOUDS",
    "KINDS",
    "Cloud",
    "cloud_of",
    "clouds_involved",
    "make_provider",
    "refresh_scopes",
    "register",
    "sandbox_seed",
    "unregister",
]
