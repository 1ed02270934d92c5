"""The provider interface and the plain values that cross it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from reconciler.model import LiveObject, SecretValue


@dataclass(frozen=True, slots=True)
class ProviderOptions:
    """Knobs shared by every provider."""

    max_in_flight: int = 10  # concurrent API requests during refresh
    request_timeout: float = 30.0  # seconds, per HTTP request
    max_retries: int = 5  # for retryable errors (throttling, 5xx, network)
    backoff_base: float = 0.2  # seconds; jittered exponential
    backoff_max: float = 10.0
    create_grace: float = 30.0  # how long a just-created object may be invisible to reads


@dataclass(frozen=True, slots=True)
class RefreshScope:
    """What to observe. Providers list whole scopes with their list APIs, never one call per object.

    `regions` (Alibaba) are listed completely; `connections` and `vbrs` bound what counts as
    "in scope" for unmanaged-object reports; `ids` are cloud ids known from state.
    """

    regions: frozenset[str] = frozenset()
    connections: frozenset[str] = frozenset()
    vbrs: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class RefreshResult:
    objects: tuple[LiveObject, ...]
    api_calls: Mapping[str, int] = field(default_factory=dict)  # e.g. {"GET /ne/v1/bgp": 12}


@dataclass(frozen=True, slots=True)
class ObjectRef:
    kind: str
    cloud_id: str
    region: str | None


@dataclass(frozen=True, slots=True)
class Desired:
    """What a create or update should make true. Attributes are fully resolved (ids known).

    `secrets` maps each secret field to its value, or to None for "no key".
    """

    kind: str
    name: str
    attrs: Mapping[str, Any]
    secrets: Mapping[str, SecretValue | None] = field(default_factory=dict)


@runtime_checkable
class Provider(Protocol):
    """Observe / create / update / delete, plus batched polling for waits.

    Every call is idempotent in effect: `create` adopts an object that already matches the
    natural key (Equinix) or resends the same ClientToken (Alibaba); `delete` treats "already
    gone" as success. Mutations return as soon as the cloud accepted them; the engine waits
    for all in-flight objects together with `poll`, so waits overlap.
    """

    name: str

    def refresh(self, scope: RefreshScope) -> RefreshResult:
        """All live objects of this provider's kinds in scope, using list APIs in pages."""
        ...

    def get(self, ref: ObjectRef) -> LiveObject | None:
        """One object by id, or None when it does not exist."""
        ...

    def find(self, kind: str, attrs: Mapping[str, Any]) -> LiveObject | None:
        """The live object with the natural key of `attrs` (resolved attributes), if any."""
        ...

    def create(self, desired: Desired, token: str) -> str:
        """Start creating; returns the cloud id."""
        ...

    def update(self, ref: ObjectRef, desired: Desired, changed: Sequence[str], token: str) -> None:
        """Start an in-place update of the `changed` fields (secret fields included by name)."""
        ...

    def delete(self, ref: ObjectRef, token: str) -> None:
        """Start deleting; an object that is already gone is a success."""
        ...

    def poll(self, refs: Sequence[ObjectRef]) -> dict[str, LiveObject | None]:
        """Current state of many objects at once (cloud id -> object, None when gone)."""
        ...

    def api_calls(self) -> Mapping[str, int]:
        """Requests made so far, by operation."""
        ...

    def close(self) -> None: ...
