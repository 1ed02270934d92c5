"""Block until objects settle, polling a provider with backoff (for `import`, scripts and tests).

The apply engine waits through `Provider.poll` itself so that waits overlap; this is the plain,
blocking version: provisioning ends at "ready" (or "failed", an error); a delete ends when the
object is gone.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from reconciler.clouds.base import ObjectRef, Provider
from reconciler.errors import ProviderError, ResourceNotFound
from reconciler.model import LiveObject


def wait_settled(
    provider: Provider,
    refs: Sequence[ObjectRef],
    *,
    deleting: bool = False,
    timeout: float = 300.0,
    grace: float = 30.0,
    first_delay: float = 0.2,
    max_delay: float = 10.0,
) -> dict[str, LiveObject | None]:
    """Poll `refs` together until each is ready (or gone, when `deleting`).

    An object that is not found yet counts as "still appearing" for `grace` seconds (reads may
    lag a create). A FAILED object, or `timeout` seconds, end the wait with a ProviderError.
    Delays double from `first_delay` up to `max_delay`, like Terraform's 2 -> 10 s schedule.
    Returns cloud id -> the settled object (None for a deleted one).
    """
    start = time.monotonic()
    pending = {ref.cloud_id: ref for ref in refs}
    settled: dict[str, LiveObject | None] = {}
    delay = first_delay
    while pending:
        observed = provider.poll(list(pending.values()))
        elapsed = time.monotonic() - start
        for cloud_id, ref in list(pending.items()):
            live = observed.get(cloud_id)
            if deleting:
                if live is None:
                    del pending[cloud_id]
                    settled[cloud_id] = None
                continue
            if live is None:
                if elapsed >= grace:
                    raise ResourceNotFound(
                        f"{ref.kind} {cloud_id} does not exist: it was still not visible {grace:g}s after "
                        "it was created",
                        cloud=provider.name,
                    )
            elif live.status == "failed":
                raise ProviderError(
                    f"{ref.kind} {cloud_id} failed to provision (status {live.raw_status or 'failed'})",
                    cloud=provider.name,
                    hint="look at the object in the cloud console, fix the cause, then "
                    "apply again (an update retries the provisioning)",
                )
            elif live.status == "ready":
                settled[cloud_id] = live
                del pending[cloud_id]
        if not pending:
            break
        if elapsed + delay > timeout:
            waiting = ", ".join(
                f"{ref.kind} {cid} ({_status(observed.get(cid))})" for cid, ref in sorted(pending.items())
            )
            what = "deleted" if deleting else "ready"
            raise ProviderError(
                f"timed out after {timeout:g}s waiting for objects to be {what}: {waiting}",
                cloud=provider.name,
                retryable=True,
                hint="apply again later: the cloud may still be working on them",
            )
        time.sleep(delay)
        delay = min(delay * 2, max_delay)
    return settled


def _status(live: LiveObject | None) -> str:
    if live is None:
        return "not found"
    return live.raw_status or live.status
