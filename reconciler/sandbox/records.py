"""What the sandbox stores: one frozen record per cloud object, as JSON-friendly fields.

Asynchronous work needs no timer thread. A record in a transitional status carries `settles_at`
(epoch seconds) and `settled_status` (the status afterwards, or "" when the object then
disappears); `settle()` gives the record as it is once that time has passed. Because everything
is derived from timestamps, a restart (or a replay of the change log) reaches the same result.

Read lag works the same way: a changed record keeps the version readers saw before the change
(`lag_previous`, None for a new object) until `lag_until`; `visible()` picks what a read shows. A
deleted object whose lag outlives it stays as a TOMBSTONE record that only `visible()` looks
through; every other lookup treats it as gone (`exists()`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

GONE = ""  # settled_status meaning "the object no longer exists"
TOMBSTONE = "(gone)"  # status of a deleted object kept only because reads still lag behind
DELETED = "Deleted"  # status of a deleted Alibaba peer still listed (alibaba_deleted_peer_linger)


@dataclass(frozen=True)
class Lifecycle:
    """Fields shared by every asynchronous object."""

    status: str
    created_at: float
    settles_at: float | None = None  # None: nothing in progress
    settled_status: str | None = None  # status once settled; GONE = removed
    rollback: Mapping[str, Any] | None = None  # fields restored on settle (a failed change)
    up_since: float | None = None  # when the BGP session came up (automatic session state)
    session_override: str | None = None  # admin-set session state
    session_override_at: float | None = None
    lag_until: float | None = None  # reads show `lag_previous` until then
    lag_previous: Mapping[str, Any] | None = None  # the version reads still show (None: not there yet)
    linger: float = 0.0  # once deleted, seconds listed as `Deleted` before vanishing

    def settle(self) -> Self | None:
        """This record after its transition (None: the object is gone)."""
        if self.settled_status is None:
            return self
        if self.settled_status == GONE:
            assert self.settles_at is not None
            if self.linger > 0:
                return dataclasses.replace(
                    self, status=DELETED, settles_at=self.settles_at + self.linger, settled_status=GONE, linger=0.0
                )
            if self.lag_until is not None and self.lag_until > self.settles_at:
                return dataclasses.replace(self, status=TOMBSTONE, settles_at=self.lag_until, settled_status=GONE)
            return None
        changes: dict[str, Any] = dict(self.rollback or {})
        up = self.settled_status in ("PROVISIONED", "Available")
        up_since = (self.up_since or self.settles_at) if up else None
        return dataclasses.replace(
            self,
            status=self.settled_status,
            settles_at=None,
            settled_status=None,
            rollback=None,
            up_since=up_since,
            **changes,
        )

    def begin(self, status: str, now: float, delay: float, outcome: str, **changes: Any) -> Self:
        """Start an asynchronous change: show `status` now, `outcome` after `delay` seconds.

        A zero delay still goes through the transitional status: the next read settles it.
        """
        return dataclasses.replace(self, status=status, settles_at=now + delay, settled_status=outcome, **changes)

    def lagging(self, before: Lifecycle | None, now: float, lag: float) -> Self:
        """This new version, with reads showing `before` (what they showed so far; None: nothing)
        for `lag` more seconds."""
        if lag <= 0:
            return dataclasses.replace(self, lag_until=None, lag_previous=None)
        previous = None if before is None else record_fields(before)
        return dataclasses.replace(self, lag_until=now + lag, lag_previous=previous)

    @property
    def exists(self) -> bool:
        """False for a tombstone: the object is gone, only lagging reads still show it."""
        return self.status != TOMBSTONE


_R = TypeVar("_R", bound=Lifecycle)


def record_fields(record: Lifecycle) -> dict[str, Any]:
    """A record's fields without its own lag (what a lagging read shows)."""
    fields = dataclasses.asdict(record)
    fields["lag_until"] = None
    fields["lag_previous"] = None
    return fields


def visible(record: _R, now: float) -> _R | None:
    """The version of `record` a read at `now` shows, or None when a read does not show it."""
    if record.lag_until is None or now >= record.lag_until:
        return record if record.status != TOMBSTONE else None
    if record.lag_previous is None:
        return None
    previous = type(record)(**record.lag_previous)
    shown = previous.settle() if previous.settles_at is not None and previous.settles_at <= now else previous
    return shown if shown is not None and shown.status != TOMBSTONE else None


@dataclass(frozen=True)
class EquinixBgp(Lifecycle):
    uuid: str = ""
    connection_uuid: str = ""
    device_uuid: str = ""
    local_ip_address: str = ""
    local_asn: int = 0
    remote_ip_address: str = ""
    remote_asn: int = 0
    authentication_key: str | None = None
    created_by: str = ""
    updated_by: str | None = None
    updated_at: float | None = None

    @property
    def key(self) -> str:
        return self.uuid


@dataclass(frozen=True)
class AlibabaGroup(Lifecycle):
    group_id: str = ""
    region_id: str = ""
    router_id: str = ""
    name: str = ""
    description: str = ""
    peer_asn: int = 0
    local_asn: int = 45104
    auth_key: str = ""
    is_fake_asn: bool = False
    ip_version: str = "IPv4"
    route_quota: int = 110

    @property
    def key(self) -> str:
        return self.group_id


@dataclass(frozen=True)
class AlibabaPeer(Lifecycle):
    peer_id: str = ""
    group_id: str = ""
    region_id: str = ""
    router_id: str = ""
    peer_ip_address: str = ""
    ip_version: str = "IPv4"
    enable_bfd: bool = False
    bfd_multi_hop: int = 0
    modified_at: float = 0.0
    received_routes: int = 0  # admin-set: what the other end advertises, shown while Established

    @property
    def key(self) -> str:
        return self.peer_id


@dataclass(frozen=True)
class ClientTokenUse:
    """The first answer to a ClientToken (a success, or a refusal when those are remembered),
    replayed for the same token and parameters."""

    token_key: str  # access key id | action | ClientToken
    params_digest: str
    response: Mapping[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    refusal: Mapping[str, str] | None = None  # {"Code", "Message"} of a remembered 4xx refusal

    @property
    def key(self) -> str:
        return self.token_key


def session_state(record: Lifecycle, target: str, up_statuses: tuple[str, ...], down: str = "Idle") -> str:
    """The BGP session state: the admin override, else `target` once provisioned, else `down`."""
    if record.session_override is not None:
        return record.session_override
    if record.status in up_statuses and record.up_since is not None:
        return target
    return down


def session_since(record: Lifecycle) -> float:
    if record.session_override_at is not None:
        return record.session_override_at
    return record.up_since if record.up_since is not None else record.created_at
