"""Session health: the live BGP session of a managed object, judged apart from configuration drift.

Anything but Established is a finding once the object is provisioned; an object still provisioning
is not judged yet. Health counts as drift (exit 2) only with `require_established`. Each verdict
carries what joins it to the other end of its link (`reconciler.drift.sessions`): the link, the
cloud's name for people, and the routes received against the route limit where the API reports them
(the generic `LiveObject.info` keys `receivedRouteCount` and `routeLimit`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.clouds import CLOUDS, KINDS
from reconciler.drift.model import HealthItem
from reconciler.drift.sessions import route_count
from reconciler.model import LiveObject

HEALTHY_SESSION = "Established"
RECEIVED_ROUTES_INFO = "receivedRouteCount"
ROUTE_LIMIT_INFO = "routeLimit"


def cloud_name(kind: str) -> str:
    """What people call a kind's cloud: the first word of its title ("Example" for "Example Cloud
    Interconnect"); "" for a kind no cloud serves."""
    info = KINDS.get(kind)
    cloud = CLOUDS.get(info.cloud) if info is not None else None
    if cloud is None:
        return ""
    title = cloud.title.strip()
    return title.split()[0] if title else cloud.name


def seconds_since(since: str | None, now: datetime) -> int | None:
    """Whole seconds from `since` (ISO 8601; UTC when it names no zone) to `now`; None when unknown."""
    if not since:
        return None
    try:
        then = datetime.fromisoformat(since)
    except ValueError:
        return None
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return max(0, int((now - then).total_seconds()))


def health_of(address: str, obj: LiveObject, now: datetime, link: str | None = None) -> HealthItem:
    """The health verdict on the session of `obj`, managed as `address` (one end of `link`, if given)."""
    provisioning = obj.raw_status or obj.status
    seconds = seconds_since(obj.session_since, now)
    received = route_count(obj.info.get(RECEIVED_ROUTES_INFO))
    limit = route_count(obj.info.get(ROUTE_LIMIT_INFO))

    def item(healthy: bool, detail: str) -> HealthItem:
        return HealthItem(
            address,
            obj.kind,
            obj.cloud_id,
            obj.session,
            obj.session_since,
            provisioning,
            healthy,
            detail,
            seconds,
            link=link or None,
            cloud=cloud_name(obj.kind),
            received_routes=received,
            route_limit=limit or None,  # a limit of 0 allows nothing: the API means "not set"
        )

    if obj.status == "failed":
        return item(False, f"provisioning ended {provisioning}: the next apply provisions it again")
    if obj.status == "pending":
        return item(True, f"still provisioning ({provisioning}): not judged yet")
    if obj.session == HEALTHY_SESSION:
        return item(True, "")
    if not obj.session:
        return item(False, f"the API reports no BGP session state, not {HEALTHY_SESSION}")
    return item(False, f"BGP session is {obj.session}, not {HEALTHY_SESSION}")
