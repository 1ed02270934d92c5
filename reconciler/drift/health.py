"""Session health: the live BGP session of a managed object, judged apart from configuration drift.

Anything but Established is a finding once the object is provisioned; an object still provisioning
is not judged yet. Health counts as drift (exit 2) only with `require_established`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.drift.model import HealthItem
from reconciler.model import LiveObject

HEALTHY_SESSION = "Established"


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


def health_of(address: str, obj: LiveObject, now: datetime) -> HealthItem:
    """The health verdict on the session of `obj`, managed as `address`."""
    provisioning = obj.raw_status or obj.status
    seconds = seconds_since(obj.session_since, now)

    def item(healthy: bool, detail: str) -> HealthItem:
        return HealthItem(
            address, obj.kind, obj.cloud_id, obj.session, obj.session_since, provisioning, healthy, detail, seconds
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
