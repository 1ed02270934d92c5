"""The apply graph: one or two steps per change, and which steps must finish first (pure)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from reconciler.clouds import KINDS
from reconciler.plan.keys import key_after, key_before
from reconciler.plan.model import Action, Change


class Op(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    ADOPT = "adopt"
    DELETE = "delete"
    FORGET = "forget"
    RECORD = "record"  # refresh-only: accept the live values into state
    WAIT = "wait"  # nothing to change: wait for an object that is still provisioning


@dataclass(frozen=True, slots=True)
class Step:
    key: str  # "<address>:<op>"
    address: str
    op: Op
    change: Change
    after: frozenset[str]  # keys of steps that must be done first

    @property
    def provider(self) -> str:
        return KINDS[self.change.kind].cloud


def client_token(lineage: str, address: str, op: str, serial: int) -> str:
    """The idempotency token: the same on every retry and on a re-run of the same plan.

    ASCII, at most 64 characters: within every cloud's limit (docs/cloud-apis.md).
    """
    digest = hashlib.sha256(f"{lineage}|{address}|{op}|{serial}".encode()).hexdigest()
    return f"rcl-{digest[:48]}"


def _ops_for(change: Change, refresh_only: bool) -> list[Op]:
    if refresh_only:
        return {Action.UPDATE: [Op.RECORD], Action.FORGET: [Op.FORGET]}.get(change.action, [])
    deletable = KINDS[change.kind].deletable
    return {
        Action.CREATE: [Op.CREATE],
        Action.UPDATE: [Op.UPDATE],
        Action.ADOPT: [Op.ADOPT],
        Action.DELETE: [Op.DELETE],
        Action.FORGET: [Op.FORGET],
        Action.REPLACE: [Op.DELETE if deletable else Op.FORGET, Op.CREATE],
        Action.NOOP: [Op.WAIT] if change.settling else [],
    }[change.action]


def build_steps(changes: Sequence[Change], *, refresh_only: bool = False) -> list[Step]:
    """Steps in plan order, with their ordering constraints.

    - a create/update/adopt waits for the create/update/adopt of what it depends on;
    - a delete waits for the deletes of everything that depends on it (reverse order);
    - a replace deletes (or forgets) before it creates;
    - creates and updates wait for the provider's deletes, so a freed natural key or quota is
      free for them, and for updates that move another object off the key they move onto.
    """
    ops = {c.address: _ops_for(c, refresh_only) for c in changes}
    keys = {(c.address, op): f"{c.address}:{op}" for c in changes for op in ops[c.address]}
    dependents: dict[str, list[str]] = {}
    for c in changes:
        for dep in c.depends_on:
            dependents.setdefault(dep, []).append(c.address)
    deletes_by_provider: dict[str, set[str]] = {}
    for c in changes:
        if Op.DELETE in ops[c.address]:
            deletes_by_provider.setdefault(KINDS[c.kind].cloud, set()).add(keys[(c.address, Op.DELETE)])
    # Updates that move an object off a natural key: whoever moves onto that key waits for them.
    freed_by: dict[tuple[str, tuple[object, ...]], str] = {}
    for c in changes:
        old_key, new_key = key_before(c), key_after(c)
        if (c.address, Op.UPDATE) in keys and old_key is not None and old_key != new_key:
            freed_by[(c.kind, old_key)] = keys[(c.address, Op.UPDATE)]

    steps: list[Step] = []
    for c in changes:
        for op in ops[c.address]:
            after: set[str] = set()
            if op in (Op.CREATE, Op.UPDATE, Op.ADOPT, Op.WAIT):
                for dep in c.depends_on:
                    after.update(keys[(dep, o)] for o in (Op.CREATE, Op.UPDATE, Op.ADOPT, Op.WAIT) if (dep, o) in keys)
            if op in (Op.CREATE, Op.UPDATE):
                # Deletes first: a freed natural key or quota is then free for creates and updates.
                after.update(deletes_by_provider.get(KINDS[c.kind].cloud, set()))
                target = key_after(c)
                freeing = freed_by.get((c.kind, target)) if target is not None else None
                if freeing is not None and freeing != keys[(c.address, op)]:
                    after.add(freeing)
            if op is Op.CREATE and (c.address, Op.FORGET) in keys:
                after.add(keys[(c.address, Op.FORGET)])
            if op is Op.DELETE:
                for dependent in dependents.get(c.address, []):
                    if (dependent, Op.DELETE) in keys:
                        after.add(keys[(dependent, Op.DELETE)])
            steps.append(Step(keys[(c.address, op)], c.address, op, c, frozenset(after)))
    return steps
