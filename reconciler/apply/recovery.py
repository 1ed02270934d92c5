"""Resolve journal intents left by a killed apply, before anything new is planned.

An intent without an outcome means the process died around a cloud call. We look at the cloud
to learn what really happened, and record the outcome in the journal
(docs/architecture.md, "State and the journal"):
- create: an object with the intent's natural key exists -> it was created: record it, whichever
  attempt of its step made it. None visible -> the call may not have happened, or may be made but
  not visible yet (reads may lag a create). `apply` first waits out the read-lag grace, counted
  from the intent, looking again meanwhile; only then does it send the create again, with the
  intent's own idempotency token (each attempt's intent records the token that attempt sent; a
  provider whose cloud has none looks the natural key up first), so the cloud makes it at most
  once. `plan` changes nothing in the clouds and leaves such an intent open, and so does a cloud
  that is too busy to take the create yet;
- adopt, forget: no object was made -> done;
- delete: the object is gone or going -> done; still there -> it did not happen;
- update: the outcome does not matter for identity; the next diff compares against live anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from reconciler.clouds import KINDS
from reconciler.clouds.base import Busy, Desired, ObjectRef, Provider
from reconciler.errors import ReconcilerError
from reconciler.log import get_logger
from reconciler.model import JournalAction, JournalEntry, LiveObject, Resource, StateDoc, utc_now
from reconciler.readlag import look_until, seconds_since_epoch

log = get_logger("reconciler.recovery")

# For `apply`: the Desired object to send again for an unconfirmed create (None: not declared now).
Resend = Callable[[JournalEntry], Desired | None]


def resolve_intent(
    intent: JournalEntry,
    provider: Provider,
    resend: Resend | None = None,
    *,
    read_lag: float = 0.0,
    seen: list[LiveObject] | None = None,
) -> JournalEntry | None:
    """The outcome entry (`done` or `failed`) for one open intent, or None to leave it open.

    `read_lag`: how long after its intent a create may still be invisible to reads; `apply` does
    not send an unconfirmed create again before that (docs/architecture.md, "State and the journal").
    The objects found are added to `seen`: a refresh right after may not list them yet."""
    done = replace(intent, phase="done", time=utc_now())
    failed = replace(intent, phase="failed", time=utc_now())
    if intent.action == JournalAction.CREATE:
        found = _find_created(intent, provider, read_lag if resend is not None else 0.0)
        if found is not None:
            if seen is not None:
                seen.append(found)
            return replace(done, cloud_id=found.cloud_id, region=found.region or intent.region)
        if resend is None:
            return None
        desired = resend(intent)
        if desired is None or not intent.token:
            return replace(failed, error="the create never took effect and the resource is no longer declared")
        try:
            created = provider.create(desired, intent.token)
        except ReconcilerError as exc:
            return replace(failed, error=f"sending the create again failed: {exc.message}")
        if isinstance(created, Busy):
            return None  # the cloud cannot take it yet: apply sends it again with its steps
        if seen is not None:  # let the plan know of it, even if its lists do not show it yet
            shown = _find_created(replace(intent, time=utc_now()), provider, read_lag)
            if shown is not None:
                seen.append(shown)
        return replace(done, cloud_id=created)
    if intent.action in (JournalAction.ADOPT, JournalAction.FORGET):
        return done
    if intent.action == JournalAction.DELETE:
        assert intent.cloud_id is not None
        obj = provider.get(ObjectRef(intent.kind, intent.cloud_id, intent.region))
        if obj is None or obj.status == "deleting":
            return done
        return replace(failed, error="the delete did not take effect")
    return replace(failed, error="outcome unknown after an interruption; re-planned")


def _find_created(intent: JournalEntry, provider: Provider, read_lag: float) -> LiveObject | None:
    """The object an interrupted create made, looking again until `read_lag` after the intent."""
    attributes = intent.attributes
    if not attributes:
        return None
    return look_until(
        lambda: provider.find(intent.kind, attributes),
        seconds_since_epoch(intent.time) + read_lag,
        lambda: log.info("an interrupted create may not be visible yet: looking again", address=intent.address),
    )


def recover(
    state: StateDoc,
    providers: Callable[[str], Provider],
    journal_append: Callable[[JournalEntry], None],
    resend: Resend | None = None,
    *,
    read_lag: float = 0.0,
    seen: list[LiveObject] | None = None,
) -> int:
    """Record an outcome for every open intent that can be settled. Returns how many were; the
    objects found along the way are added to `seen`."""
    settled = 0
    for intent in state.pending:
        provider = providers(KINDS[intent.kind].cloud)
        outcome = resolve_intent(intent, provider, resend, read_lag=read_lag, seen=seen)
        if outcome is None:
            log.warning("an interrupted create is not visible yet; apply will settle it", address=intent.address)
            continue
        log.warning(
            "resolved an interrupted operation",
            address=intent.address,
            action=intent.action,
            outcome=outcome.phase if outcome.phase == "failed" else f"done ({outcome.cloud_id})",
        )
        journal_append(outcome)
        settled += 1
    return settled


def resend_from(resources: Sequence[Resource]) -> Resend:
    """Send an unconfirmed create again as the intent recorded it, with today's keys."""
    declared = {r.address: r for r in resources}

    def desired(intent: JournalEntry) -> Desired | None:
        resource = declared.get(intent.address)
        if resource is None or resource.kind != intent.kind or not intent.attributes:
            return None
        info = KINDS[resource.kind]
        secrets = {f: resource.secrets.get(f) for f in info.secret_fields}
        return Desired(resource.kind, resource.name, info.normalise(intent.attributes), secrets)

    return desired
