"""Resolve journal intents left by a killed apply, before anything new is planned.

An intent without an outcome means the process died around a cloud call. We look at the cloud
to learn what really happened, and record the outcome in the journal
(docs/architecture.md, "State and the journal"):
- create: an object with the intent's natural key exists -> it was created: record it, whichever
  attempt of its step made it. None visible -> the call may not have happened, or may still be on
  its way. `apply` sends the create again with the intent's own idempotency token (each attempt's
  intent records the token that attempt sent; a provider whose cloud has none looks the natural
  key up first), so the cloud makes it at most once; `plan` changes nothing in the clouds and
  leaves such an intent open, and so does a cloud that is too busy to take the create yet;
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
from reconciler.model import JournalAction, JournalEntry, Resource, StateDoc, utc_now

log = get_logger("reconciler.recovery")

# For `apply`: the Desired object to send again for an unconfirmed create (None: not declared now).
Resend = Callable[[JournalEntry], Desired | None]


def resolve_intent(intent: JournalEntry, provider: Provider, resend: Resend | None = None) -> JournalEntry | None:
    """The outcome entry (`done` or `failed`) for one open intent, or None to leave it open."""
    done = replace(intent, phase="done", time=utc_now())
    failed = replace(intent, phase="failed", time=utc_now())
    if intent.action == JournalAction.CREATE:
        found = provider.find(intent.kind, intent.attributes) if intent.attributes else None
        if found is not None:
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


def recover(
    state: StateDoc,
    providers: Callable[[str], Provider],
    journal_append: Callable[[JournalEntry], None],
    resend: Resend | None = None,
) -> int:
    """Record an outcome for every open intent that can be settled. Returns how many were."""
    settled = 0
    for intent in state.pending:
        outcome = resolve_intent(intent, providers(KINDS[intent.kind].cloud), resend)
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
