"""Recording generated resources in state, with the cloud ids they were generated from
(`generate --import`, `import --from-terraform`), so the next plan shows no changes.

Under the state lock: an interrupted apply is resolved first, then every entry is checked
before anything is written (an address or cloud id managed otherwise refuses the whole record,
leaving the files and the state as they were), then the files are written, then the state.
Only non-secret attributes reach the state: keys stay in `LiveObject.secrets`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from reconciler.clouds import KINDS
from reconciler.errors import UsageError
from reconciler.generate.assemble import GeneratedResource
from reconciler.log import get_logger
from reconciler.model import StateDoc, StateResource

if TYPE_CHECKING:
    from reconciler.workflow import Workspace

log = get_logger("reconciler")

SHOWN_CONFLICTS = 5


def state_additions(state: StateDoc, resources: Sequence[GeneratedResource]) -> dict[str, StateResource]:
    """The state entries of `resources`; an address or cloud id already managed otherwise is an
    error (UsageError naming them), and one managed as generated is left as it is."""
    owner_of = {r.cloud_id: address for address, r in state.resources.items()}
    additions: dict[str, StateResource] = {}
    conflicts: list[str] = []
    for resource in resources:
        live = resource.draft.live
        recorded = state.resources.get(resource.address)
        owner = owner_of.get(live.cloud_id)
        if recorded is not None and recorded.cloud_id == live.cloud_id:
            continue
        if recorded is not None:
            conflicts.append(f"{resource.address} is already managed with cloud id {recorded.cloud_id}")
        elif owner is not None:
            conflicts.append(f"{live.cloud_id} is already managed as {owner}")
        else:
            additions[resource.address] = StateResource(
                address=resource.address,
                kind=live.kind,
                cloud_id=live.cloud_id,
                region=live.region or KINDS[live.kind].region_of(live.attrs),
                attributes=dict(live.attrs),
                dependencies=resource.dependencies,
            )
    if conflicts:
        more = len(conflicts) - SHOWN_CONFLICTS
        shown = "; ".join(conflicts[:SHOWN_CONFLICTS]) + (f"; and {more} more" if more > 0 else "")
        raise UsageError(
            f"cannot import into state: {shown}",
            hint="write into a project of its own state (--state), or `reconciler state rm` the old entries",
        )
    return additions


def record_in_state(
    ws: Workspace, operation: str, resources: Sequence[GeneratedResource], write_files: Callable[[], None]
) -> StateDoc:
    """Record `resources` in the state of `ws` under its lock, calling `write_files` once every
    entry is known to be recordable and before the state is written; the state as stored."""
    from reconciler.workflow import recover_pending

    with ws.backend.lock(operation, timeout=ws.app.lock_timeout):
        state = recover_pending(ws, ws.backend.read(), operation, locked=True)
        additions = state_additions(state, resources)
        write_files()
        written = ws.backend.write(replace(state, resources={**state.resources, **additions}))
    log.debug(f"{operation}.recorded", resources=len(additions), serial=written.serial)
    return written
