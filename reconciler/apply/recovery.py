"""Resolve journal intents left by a killed apply, before anything new is planned.

An intent without an outcome means the process died around a cloud call. We look at the cloud
to learn what really happened, and record the outcome in the journal:
- create / adopt: an object with the intent's natural key exists -> it was created: adopt it;
  none -> the call never took effect;
- delete: the object is gone or going -> done; still there -> it did not happen;
- update: the outcome does not matter for identity; the next diff compares against live anyway;
- forget: no cloud call was involved -> done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from reconciler.kinds import KINDS
from reconciler.log import get_logger
from reconciler.model import JournalEntry, StateDoc, utc_now
from reconciler.providers.base import ObjectRef, Provider

log = get_logger("reconciler.recovery")


def resolve_intent(intent: JournalEntry, provider: Provider) -> JournalEntry:
    """The outcome entry (`done` or `failed`) for one unresolved intent, found by looking at the cloud."""
    outcome = replace(intent, phase="done", time=utc_now())
    if intent.action in ("create", "adopt"):
        if intent.cloud_id and intent.action == "adopt":
            return outcome
        found = provider.find(intent.kind, intent.attributes or {}) if intent.attributes else None
        if found is None:
            return replace(intent, phase="failed", time=utc_now(), error="the call never took effect")
        return replace(outcome, cloud_id=found.cloud_id, region=found.region or intent.region)
    if intent.action == "delete":
        assert intent.cloud_id is not None
        obj = provider.get(ObjectRef(intent.kind, intent.cloud_id, intent.region))
        if obj is None or obj.status == "deleting":
            return outcome
        return replace(intent, phase="failed", time=utc_now(), error="the delete did not take effect")
    if intent.action == "forget":
        return outcome
    return replace(intent, phase="failed", time=utc_now(), error="outcome unknown after an interruption; re-planned")


def recover(
    state: StateDoc,
    providers: Callable[[str], Provider],
    journal_append: Callable[[JournalEntry], None],
) -> int:
    """Record an outcome for every pending intent. Returns how many were resolved."""
    for intent in state.pending:
        provider = providers(KINDS[intent.kind].provider)
        outcome = resolve_intent(intent, provider)
        log.warning(
            "resolved an interrupted operation",
            address=intent.address,
            action=intent.action,
            outcome=outcome.phase if outcome.phase == "failed" else f"done ({outcome.cloud_id})",
        )
        journal_append(outcome)
    return len(state.pending)
