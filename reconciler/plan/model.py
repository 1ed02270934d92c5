"""The plan: an ordered list of changes, one per address, plus what it was made against (the state's
lineage and serial, the manifests' paths and digest, salted digests of its secrets, the tool version)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.model import ResourceMetadata

# 1.1: manifest_paths, and the optional signature of a saved plan; 1.2: footprint
PLAN_FORMAT_VERSION = "1.2"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"  # delete, then create (the diff names the replace-only field)
    DELETE = "delete"
    FORGET = "forget"  # drop from state without an API call
    ADOPT = "adopt"  # take an existing live object under management
    NOOP = "no-op"


DESTRUCTIVE = frozenset({Action.DELETE, Action.REPLACE, Action.FORGET})

# Marker symbols used by every renderer, Terraform style.
MARKERS: Mapping[Action, str] = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.REPLACE: "-/+",
    Action.DELETE: "-",
    Action.FORGET: "-",  # shown with "(forget)" so nobody mistakes it for a delete
    Action.ADOPT: "<=",
    Action.NOOP: " ",
}


class PlanMode(StrEnum):
    NORMAL = "normal"
    REFRESH_ONLY = "refresh-only"  # accept the live values into state; change nothing in the clouds
    DESTROY = "destroy"  # delete (or forget) everything in state, as `terraform plan -destroy`


class SecretChange(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One attribute that differs. Sensitive fields carry no values, only `secret_change`."""

    name: str
    before: Any = None
    after: Any = None
    sensitive: bool = False
    secret_change: SecretChange | None = None
    forces_replacement: bool = False
    after_unknown: bool = False  # the value is known only after a dependency is applied


@dataclass(frozen=True, slots=True)
class Change:
    """What will happen to one address.

    `before` is the live (or last-applied) non-secret attributes, `after` the desired ones
    (fully resolved where possible; `after_unknown` lists fields known only after apply and
    `refs` says which address supplies them). `secret_refs` maps each secret field to its
    reference id (`env:NAME`), for review; `apply PLANFILE` takes references and values from the
    manifests, never from a plan file, and refuses a plan whose references differ from theirs.
    """

    address: str
    kind: str
    action: Action
    provider: str
    reason: str = ""
    cloud_id: str | None = None
    region: str | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    fields: tuple[FieldChange, ...] = ()
    replace_fields: tuple[str, ...] = ()
    after_unknown: tuple[str, ...] = ()
    refs: Mapping[str, str] = field(default_factory=dict)
    secret_refs: Mapping[str, str] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    previous_address: str | None = None
    outside_change: bool = False  # the difference was made outside reconciler (drift)
    name: str = ""
    settling: bool = False  # the live object is still provisioning: apply waits for it
    # The last provisioning failed: `fields` are sent again as they are, so a field whose value
    # already matches is part of the call but not a difference to show.
    reapply: bool = False
    # What apply records in state of what the manifests say (file, deletion policy, preventDestroy,
    # labels), carried so that `apply PLANFILE` records what was reviewed; None: nothing to record.
    metadata: ResourceMetadata | None = None
    # The state's record differs from `metadata` and nothing else changes: apply records it alone.
    records_metadata: bool = False
    # Removed from the manifests only as far as the given paths can tell: its file lies outside
    # them, so it is left alone (a no-op) unless `--prune`.
    outside_paths: bool = False

    @property
    def applies(self) -> bool:
        """Whether apply has anything to do here (a change, or an object to wait for)."""
        return self.action is not Action.NOOP or self.settling

    @property
    def destructive(self) -> bool:
        return self.action in DESTRUCTIVE


@dataclass(frozen=True, slots=True)
class SecretDigest:
    """A salted digest of a secret value; never the value, never an unsalted hash."""

    salt: str
    digest: str


@dataclass(frozen=True, slots=True)
class Seen:
    """What a plan saw of one address of its footprint (`reconciler.plan.staleness`): digests of
    its state entry and of its declared resource; None where there was none."""

    state: str | None
    desired: str | None


@dataclass(frozen=True, slots=True)
class Plan:
    """`manifest_paths` are the paths the manifests were read from, as given to `plan` (None: not
    recorded); a saved plan's apply reads them again and compares their digest. `footprint` says
    what the plan saw of each address it changes or depends on, so that its apply refuses only
    when one of those moved (None: a plan older than format 1.2, stale once the state or the
    manifests moved at all)."""

    changes: tuple[Change, ...]
    lineage: str | None
    serial: int
    manifests_digest: str = ""
    manifest_paths: tuple[str, ...] | None = None
    secret_digests: Mapping[str, SecretDigest] = field(default_factory=dict)
    mode: PlanMode = PlanMode.NORMAL
    targets: tuple[str, ...] = ()
    created_at: str = ""
    tool_version: str = ""
    api_calls: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    footprint: Mapping[str, Seen] | None = None
    format_version: str = PLAN_FORMAT_VERSION
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def actionable(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action is not Action.NOOP)

    @property
    def has_changes(self) -> bool:
        return bool(self.actionable)

    @property
    def metadata_updates(self) -> tuple[Change, ...]:
        """Changes that only update the state's record of what the manifests say."""
        return tuple(c for c in self.changes if c.records_metadata and c.action is Action.NOOP)

    @property
    def outside_paths(self) -> tuple[Change, ...]:
        """State resources whose manifest file lies outside the given paths (left alone)."""
        return tuple(c for c in self.changes if c.outside_paths)

    @property
    def to_apply(self) -> tuple[Change, ...]:
        """Changes plus objects still provisioning (apply waits for those before it reports success)."""
        return tuple(c for c in self.changes if c.applies)

    def summary(self) -> dict[str, int]:
        counts = Counter(c.action for c in self.changes)
        return {a.value: counts.get(a, 0) for a in Action}

    def summary_line(self) -> str:
        """`+2 ~1 -0 -/+1 forget 1 adopt 0` style line, Terraform's wording."""
        s = self.summary()
        if not self.has_changes:
            return "No changes. The clouds match the manifests."
        return (
            f"Plan: {s['create']} to add, {s['update']} to change, {s['delete']} to destroy, "
            f"{s['replace']} to replace, {s['forget']} to forget, {s['adopt']} to adopt."
        )
