"""What the sandbox stores: one frozen record per cloud object, as JSON-friendly fields.

Asynchronous work needs no timer thread. A record in a transitional status carries `settles_at`
(epoch seconds) and `settled_status` (the status afterwards, or "" when the object then
disappears); `settle()` gives the record as it is once that time has passed. Because everything
is derived from timestamps, a restart (or a replay of the change log) reaches the same result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

GONE = ""  # settled_status meaning "the object no longer exists"


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

    def settle(self) -> Self | None:
        """This record after its transition (None: the object is gone)."""
        if self.settled_status is None:
            return self
        if self.settled_status == GONE:
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

    @property
    def key(self) -> str:
        return self.peer_id


@dataclass(frozen=True)
class ClientTokenUse:
    """The first successful answer to a ClientToken, replayed for the same token and parameters."""

    token_key: str  # access key id | action | ClientToken
    params_digest: str
    response: Mapping[str, Any] = field(default_factory=dict)
    created_at: float = 0.0

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
