"""BGP sessions as people see them: the two managed ends of a link joined into one, and their routes.

Two managed objects that carry the same `metadata.labels.link` (as recorded in state) are the two
ends of one session, so drift shows them as one `BgpSession`, healthy only when every end is. An
object with no link, or whose link has no other managed end, is a session on its own.

An end may report the routes it receives and the cloud's limit on them (`receivedRouteCount`,
`routeLimit`): beyond the limit the cloud tears the session down, so from `HEADROOM_PERCENT` of it
on the session carries a "prefix-limit headroom" warning. The warning never changes the exit code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # model imports this module: a runtime import back would be circular
    from reconciler.drift.model import HealthItem

HEADROOM_PERCENT = 80  # from this share of the route limit on, a session warns


def route_count(value: object) -> int | None:
    """A route count or limit as an API reports it (an int, or digits in a string); None for
    anything else (absent, negative, a bool, text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def usage_percent(received: int, limit: int) -> int:
    """`received` as a whole percentage of `limit` (> 0), rounded half up: 90 of 110 is 82."""
    return (200 * received + limit) // (2 * limit)


@dataclass(frozen=True, slots=True)
class BgpSession:
    """One session: both managed ends of a link (in address order), or one object."""

    name: str  # the link's name when both ends are here, else the one end's address
    link: str | None  # `metadata.labels.link`, also on a session whose other end is not managed
    ends: tuple[HealthItem, ...]

    @property
    def linked(self) -> bool:
        return len(self.ends) > 1

    @property
    def healthy(self) -> bool:
        return all(end.healthy for end in self.ends)

    @property
    def routes_end(self) -> HealthItem | None:
        """The end that reports both its received routes and a limit, the one nearest the limit."""
        counted = [e for e in self.ends if e.received_routes is not None and e.route_limit]
        if not counted:
            return None
        # Compared as fractions without rounding: received / limit, largest first.
        return max(counted, key=lambda e: (e.received_routes or 0) / (e.route_limit or 1))

    @property
    def received_routes(self) -> int | None:
        end = self.routes_end
        return end.received_routes if end is not None else None

    @property
    def route_limit(self) -> int | None:
        end = self.routes_end
        return end.route_limit if end is not None else None

    @property
    def route_usage_percent(self) -> int | None:
        received, limit = self.received_routes, self.route_limit
        return usage_percent(received, limit) if received is not None and limit else None

    @property
    def headroom_warning(self) -> str | None:
        """`prefix-limit headroom: ... receives 90 of 110 routes allowed (82%); ...` from
        `HEADROOM_PERCENT` of the limit on (compared exactly, not on the rounded percentage)."""
        end = self.routes_end
        if end is None or end.received_routes is None or not end.route_limit:
            return None
        received, limit = end.received_routes, end.route_limit
        if 100 * received < HEADROOM_PERCENT * limit:
            return None
        who = f"{self.name}: the {end.cloud or end.kind} end ({end.address})" if self.linked else end.address
        return (
            f"prefix-limit headroom: {who} receives {received} of {limit} routes allowed "
            f"({usage_percent(received, limit)}%); beyond {limit} routes the cloud drops the session"
        )


def pair_sessions(health: Iterable[HealthItem]) -> tuple[BgpSession, ...]:
    """The sessions of `health`, in the order their first end appears: the ends that share a link
    joined into one session, every other object a session of its own."""
    items = tuple(health)
    by_link: dict[str, list[HealthItem]] = {}
    for item in items:
        if item.link:
            by_link.setdefault(item.link, []).append(item)
    sessions: list[BgpSession] = []
    seen_links: set[str] = set()
    for item in items:
        link = item.link or None
        ends = by_link.get(link, []) if link else []
        if link is None or len(ends) < 2:
            sessions.append(BgpSession(item.address, link, (item,)))
        elif link not in seen_links:
            seen_links.add(link)
            sessions.append(BgpSession(link, link, tuple(sorted(ends, key=lambda e: e.address))))
    return tuple(sessions)


__all__ = ["HEADROOM_PERCENT", "BgpSession", "pair_sessions", "route_count", "usage_percent"]
