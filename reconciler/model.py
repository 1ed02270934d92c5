"""Plain value objects shared by every stage of the pipeline.

manifests -> `Resource` (desired) ; state -> `StateResource` ; providers -> `LiveObject`.
The planner compares the three and never knows which cloud it is talking to; what it needs to
know about a kind (its cloud, natural key, replace-only fields...) is its `reconciler.kinds.KindInfo`,
registered by its cloud package in `reconciler.clouds`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

API_VERSION = "reconciler/v1"

# The one empty mapping that every value object without labels, references, secrets or extras
# shares: read-only, so sharing it is safe. A plan of 50,000 peers would otherwise hold half a
# million empty dictionaries of 64 bytes each.
NO_ENTRIES: Mapping[str, Any] = MappingProxyType({})


def no_entries() -> Mapping[str, Any]:
    """`NO_ENTRIES`, as a dataclass field's default."""
    return NO_ENTRIES


def shared_text(value: Any) -> str:
    """`value` as text, interned: the statuses, device ids and session states that thousands of
    live objects report alike are held once."""
    return sys.intern("" if value is None else str(value))


def shared_values(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """`mapping` with its text interned (`shared_text`); other values as they are."""
    return {name: sys.intern(value) if type(value) is str else value for name, value in mapping.items()}


def entries_of(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A mapping's own copy, or `NO_ENTRIES` when it is empty."""
    return dict(mapping) if mapping else NO_ENTRIES


def utc_now() -> str:
    """The time as journal entries record it: ISO-8601, UTC, milliseconds."""
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Address(NamedTuple):
    """Where a resource lives in the manifests and the state: `Kind/name`."""

    kind: str
    name: str

    @classmethod
    def parse(cls, text: str) -> Address:
        """`BgpPeer/edge1-peer1` -> Address("BgpPeer", "edge1-peer1"); ValueError otherwise."""
        kind, slash, name = text.partition("/")
        if not slash or not kind or not name:
            raise ValueError(f"{text!r} is not an address: expected Kind/name")
        return cls(kind, name)

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


def address_of(kind: str, name: str) -> str:
    """The address of a resource as text: `Kind/name`, e.g. `BgpPeer/edge1-peer1`."""
    # Interned: the manifests, the state, the plan and their indexes all name every resource, and
    # a plan of 50,000 peers would otherwise hold each address several times over.
    return sys.intern(f"{kind}/{name}")


class JournalAction(StrEnum):
    """What a journal entry records (the value is what the journal file holds)."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    FORGET = "forget"  # drop from state, no API call
    ADOPT = "adopt"  # take an existing object under management
    METADATA = "metadata"  # record what the manifests say of a resource (ResourceMetadata), no API call

    @property
    def records(self) -> bool:
        """A `done` entry of this action records the resource in state."""
        return self in (JournalAction.CREATE, JournalAction.UPDATE, JournalAction.ADOPT)

    @property
    def removes(self) -> bool:
        """A `done` entry of this action removes the resource from state."""
        return self in (JournalAction.DELETE, JournalAction.FORGET)


class DeletionPolicy(StrEnum):
    """What removing a resource from the manifests does (`metadata.deletionPolicy`, as Crossplane
    names it): delete the cloud object, or only drop it from state and leave it running."""

    DELETE = "Delete"
    ORPHAN = "Orphan"


@dataclass(frozen=True, slots=True)
class ResourceMetadata:
    """What the manifests said of a resource when it was applied, as the state records it: the file
    that declared it (relative to its Git work tree, else absolute), its deletion policy,
    preventDestroy and labels. Removing the resource from the manifests is governed by these."""

    manifest_file: str | None = None
    deletion_policy: DeletionPolicy = DeletionPolicy.DELETE
    prevent_destroy: bool = False
    labels: Mapping[str, str] = field(default_factory=no_entries)

    @classmethod
    def of(cls, recorded: StateResource) -> ResourceMetadata:
        return cls(
            recorded.manifest_file, recorded.deletion_policy, recorded.prevent_destroy, entries_of(recorded.labels)
        )

    def recorded_by(self, recorded: StateResource) -> bool:
        """Whether `recorded` holds exactly this (`of(recorded) == self`, without making one)."""
        return (
            recorded.manifest_file == self.manifest_file
            and recorded.deletion_policy == self.deletion_policy
            and recorded.prevent_destroy == self.prevent_destroy
            and recorded.labels == self.labels
        )


@dataclass(frozen=True, slots=True)
class SourcePos:
    """Where something came from in the manifests (1-based line and column)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class SecretValue:
    """A resolved secret. Its repr and str are masked so it cannot leak by accident.

    Call `reveal()` only at the last moment, to put it in an API request.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "SecretValue('(sensitive)')"

    def __str__(self) -> str:
        return "(sensitive)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("SecretValue", self._value))

    def __reduce__(self) -> Any:  # never pickle a secret
        raise TypeError("secrets cannot be pickled")


@dataclass(frozen=True, slots=True)
class SecretRef:
    """Where a secret comes from: `{fromEnv: NAME}` or `{fromFile: path}`.

    `path` is resolved relative to the manifest file that references it.
    """

    source: Literal["env", "file"]
    name: str

    @property
    def id(self) -> str:
        """A stable, non-secret identifier, e.g. `env:SG_BGP_KEY`."""
        return f"{self.source}:{self.name}"

    def __str__(self) -> str:
        return self.id


@dataclass(frozen=True, slots=True)
class DriftIgnore:
    """Accepted drift, declared in `metadata.driftIgnore`: a spec field of this resource, or an
    unmanaged object (by cloud id) in this resource's scope. Ignored items are still listed."""

    field: str | None = None
    unmanaged: str | None = None
    reason: str = ""
    expires: str | None = None  # ISO date; after it the item is reported again


@dataclass(frozen=True, slots=True)
class Resource:
    """A desired resource, as declared in the manifests.

    `attrs` holds the non-secret spec fields in manifest vocabulary (camelCase), normalised
    (ints for ASNs, canonical IP spelling, defaults filled in). `secret_refs` names the secret
    fields; `secrets` holds their resolved values (empty until secrets are resolved, e.g. during
    `validate`). `refs` maps a spec field to the address it references
    (`group` -> `BgpGroup/edge1`).
    """

    kind: str
    name: str
    attrs: Mapping[str, Any]
    secret_refs: Mapping[str, SecretRef] = field(default_factory=no_entries)
    secrets: Mapping[str, SecretValue] = field(default_factory=no_entries)
    refs: Mapping[str, str] = field(default_factory=no_entries)
    labels: Mapping[str, str] = field(default_factory=no_entries)
    source: SourcePos | None = None
    drift_ignore: tuple[DriftIgnore, ...] = ()
    deletion_policy: DeletionPolicy = DeletionPolicy.DELETE
    prevent_destroy: bool = False  # a plan that would delete or replace it fails
    # `Kind/name`, made once: a plan asks for it a dozen times per resource.
    address: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", address_of(self.kind, self.name))


Status = Literal["ready", "pending", "failed", "deleting"]


@dataclass(frozen=True, slots=True)
class LiveObject:
    """What a provider observed in the cloud, normalised to manifest vocabulary.

    `status` is the provisioning status mapped to four values the engine understands;
    `raw_status` is the cloud's own word. `session` is the live BGP session state
    (Established, Idle, ...) which is never treated as configuration drift.
    Secret values (`secrets`) stay in memory: they are compared, never stored or printed.
    """

    kind: str
    cloud_id: str
    region: str | None
    attrs: Mapping[str, Any]
    status: Status = "ready"
    raw_status: str = ""
    secrets: Mapping[str, SecretValue | None] = field(default_factory=no_entries)
    session: str | None = None
    session_since: str | None = None
    # Read-only extras (device uuid, route counts...): shown, never diffed.
    info: Mapping[str, Any] = field(default_factory=no_entries)


@dataclass(frozen=True, slots=True)
class StateResource:
    """A resource recorded in state: identity plus last-applied, non-secret attributes."""

    address: str
    kind: str
    cloud_id: str
    region: str | None
    attributes: Mapping[str, Any]
    dependencies: tuple[str, ...] = ()
    # When reconciler created it (ISO 8601): until the cloud's read lag has passed, a read that
    # does not show it does not mean it is gone.
    created_at: str | None = None
    # What the manifests said when it was last applied, so that removing it from the manifests is
    # still governed by them: the file that declared it (relative to the Git work tree, else
    # absolute; None: not recorded yet), its deletion policy, preventDestroy and labels.
    manifest_file: str | None = None
    deletion_policy: DeletionPolicy = DeletionPolicy.DELETE
    prevent_destroy: bool = False
    labels: Mapping[str, str] = field(default_factory=no_entries)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One line of the write-ahead journal.

    An `intent` is written (and fsynced) before a mutating API call; the matching `done` or
    `failed` entry right after. An intent with no outcome means the process died mid-call;
    the next run resolves it against live objects before planning anything new.
    """

    id: str
    address: str
    kind: str
    action: JournalAction
    phase: Literal["intent", "done", "failed"]
    time: str
    token: str | None = None
    cloud_id: str | None = None
    region: str | None = None
    attributes: Mapping[str, Any] | None = None
    natural_key: tuple[Any, ...] | None = None
    dependencies: tuple[str, ...] = ()
    error: str | None = None
    # What the manifests say of the resource (a create/update/adopt, or a `metadata` entry).
    metadata: ResourceMetadata | None = None


@dataclass(frozen=True, slots=True)
class StateDoc:
    """The whole state document (docs/architecture.md, "State and the journal")."""

    lineage: str | None = None  # None until the first write
    serial: int = 0
    resources: Mapping[str, StateResource] = field(default_factory=dict)
    pending: tuple[JournalEntry, ...] = ()
    format_version: int = 1
    extra: Mapping[str, Any] = field(default_factory=dict)
