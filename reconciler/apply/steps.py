"""The apply graph: one or two steps per change, which steps must finish first, and which steps
must not run at once (pure).

Each step that calls a cloud carries its serial scope (`Step.serial_scope`): the scope within which
its cloud takes one mutation at a time (`Cloud.serial_scope`), computed from the whole plan. It is
the step's concurrency key: the scheduler never runs two steps of one scope at once.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import NamedTuple

from reconciler.clouds import KINDS, cloud_of
from reconciler.model import DeletionPolicy
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
    serial_scope: str | None = None  # no two steps of one serial scope run at once

    @property
    def concurrency_key(self) -> str | None:
        """What the scheduler serialises on: the serial scope."""
        return self.serial_scope

    @property
    def provider(self) -> str:
        return KINDS[self.change.kind].cloud

    @property
    def lane(self) -> str:
        """The scheduler's ready queue: one per cloud, so one cloud's backlog never delays
        another cloud's ready steps."""
        return self.provider


def new_run_id() -> str:
    """A component of every token and journal id of one apply run that never repeats, not even
    after an older state copy is restored (lineage and serial then repeat; docs/architecture.md,
    "Idempotency tokens")."""
    return secrets.token_hex(8)


def client_token(lineage: str, address: str, op: str, serial: int, run_id: str, attempt: int = 1) -> str:
    """The idempotency token of one attempt at a step: the same on every resend of that attempt
    (after a timeout, a 5xx or a dropped connection), and sent again by recovery after a crash,
    which reads it from the attempt's intent in the journal.

    `run_id` makes a new run's tokens new: a cloud remembers a token with the parameters and the
    answer it first saw, so a token reused by a later run (restored state, same serial) would be
    refused (`IdempotentParameterMismatch`) or answered with another object.
    An attempt that follows a definite refusal (a 4xx, `Busy`) has a token of its own, derived
    from the first attempt's: a cloud may remember a token together with its refusal.
    ASCII, at most 64 characters: within every cloud's limit (docs/cloud-apis.md).
    """
    digest = hashlib.sha256(f"{lineage}|{address}|{op}|{serial}|{run_id}".encode()).hexdigest()
    token = f"rcl-{digest[:48]}"
    return token if attempt <= 1 else f"{token}-{attempt}"


class SerialScope(NamedTuple):
    """Where a change's calls run, as its cloud's serial scope: `before` for removing the object
    as it is (a delete, the first half of a replace), `after` for making it as desired. They
    differ when a replace moves the object to another scope."""

    before: str | None
    after: str | None


def serial_scopes(changes: Sequence[Change]) -> dict[str, SerialScope]:
    """Each change's serial scope, by address. `changes` is the whole plan, no-op changes
    included, so that a change finds its scope through what it references.

    A scope is named after its cloud, so two clouds never share one.
    """
    by_address = {c.address: c for c in changes}
    before_views = {c.address: _before_view(c) for c in changes}
    scopes: dict[str, SerialScope] = {}
    for c in changes:
        cloud = cloud_of(c.kind)
        after = cloud.serial_scope(c, by_address)
        before = cloud.serial_scope(before_views[c.address], before_views) if c.before is not None else after
        scopes[c.address] = SerialScope(
            f"{cloud.name}: {before}" if before is not None else None,
            f"{cloud.name}: {after}" if after is not None else None,
        )
    return scopes


def _before_view(change: Change) -> Change:
    """The change as its object is now: the desired side (attributes, references) left out."""
    return replace(change, after=None, after_unknown=(), refs={})


def _ops_for(change: Change, refresh_only: bool) -> list[Op]:
    if refresh_only:
        return {Action.UPDATE: [Op.RECORD], Action.FORGET: [Op.FORGET]}.get(change.action, [])
    # The old object of a replace is forgotten, not deleted, where the API cannot delete it or the
    # manifests say deletionPolicy: Orphan.
    orphan = change.metadata is not None and change.metadata.deletion_policy is DeletionPolicy.ORPHAN
    deletable = KINDS[change.kind].deletable and not orphan
    return {
        Action.CREATE: [Op.CREATE],
        Action.UPDATE: [Op.UPDATE],
        Action.ADOPT: [Op.ADOPT],
        Action.DELETE: [Op.DELETE],
        Action.FORGET: [Op.FORGET],
        Action.REPLACE: [Op.DELETE if deletable else Op.FORGET, Op.CREATE],
        Action.NOOP: [Op.WAIT] if change.settling else [],
    }[change.action]


def build_steps(
    changes: Sequence[Change],
    *,
    refresh_only: bool = False,
    scopes: Mapping[str, SerialScope] | None = None,
) -> list[Step]:
    """Steps in plan order, with their ordering constraints and serial scopes.

    - a create/update/adopt waits for the create/update/adopt of what it depends on;
    - a delete waits for the deletes of everything that depends on it (reverse order);
    - a replace deletes (or forgets) before it creates;
    - creates and updates wait for the deletes they conflict with: of an object with the natural
      key they take, or in their serial scope (where a cloud counts a quota, e.g. peers per VBR);
      and for updates that move another object off the key they move onto. Other deletes do not
      hold them up: a stuck delete skips only what conflicts with it.

    `scopes` (from `serial_scopes` over the whole plan) gives each step that calls a cloud, or
    waits for an object to settle, its serial scope: a delete the scope of the object as it is,
    the others the scope of the object as desired.
    """
    ops = {c.address: _ops_for(c, refresh_only) for c in changes}
    keys = {(c.address, op): f"{c.address}:{op}" for c in changes for op in ops[c.address]}
    dependents: dict[str, list[str]] = {}
    for c in changes:
        for dep in c.depends_on:
            dependents.setdefault(dep, []).append(c.address)
    # What each delete frees: its natural key, and room in its serial scope (a quota is counted
    # per scope, e.g. peers per VBR).
    deletes_by_key: dict[tuple[str, tuple[object, ...]], set[str]] = {}
    deletes_by_scope: dict[str, set[str]] = {}
    for c in changes:
        if Op.DELETE in ops[c.address]:
            delete_key = keys[(c.address, Op.DELETE)]
            freed_key = key_before(c)
            if freed_key is not None:
                deletes_by_key.setdefault((c.kind, freed_key), set()).add(delete_key)
            freed_scope = _scope_of(Op.DELETE, c, scopes)
            if freed_scope is not None:
                deletes_by_scope.setdefault(freed_scope, set()).add(delete_key)
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
                # The deletes it conflicts with first: the natural key it takes, or room in its
                # serial scope. Unrelated deletes do not hold it up (one may be stuck).
                target = key_after(c)
                if target is not None:
                    after.update(deletes_by_key.get((c.kind, target), set()))
                scope = _scope_of(op, c, scopes)
                if scope is not None:
                    after.update(deletes_by_scope.get(scope, set()))
                freeing = freed_by.get((c.kind, target)) if target is not None else None
                if freeing is not None and freeing != keys[(c.address, op)]:
                    after.add(freeing)
            if op is Op.CREATE:  # a replace: the old object goes first
                after.update(keys[(c.address, o)] for o in (Op.DELETE, Op.FORGET) if (c.address, o) in keys)
            if op is Op.DELETE:
                for dependent in dependents.get(c.address, []):
                    if (dependent, Op.DELETE) in keys:
                        after.add(keys[(dependent, Op.DELETE)])
            steps.append(Step(keys[(c.address, op)], c.address, op, c, frozenset(after), _scope_of(op, c, scopes)))
    return steps


def _scope_of(op: Op, change: Change, scopes: Mapping[str, SerialScope] | None) -> str | None:
    scope = scopes.get(change.address) if scopes is not None else None
    if scope is None or op in (Op.FORGET, Op.RECORD):  # no call to the cloud
        return None
    return scope.before if op is Op.DELETE else scope.after
