"""What a cloud package provides, and the plain values that cross the provider interface.

A cloud is one package under `reconciler.clouds` that exposes one `Cloud` object. The core
(manifests, plan, apply, drift, state, render) only ever talks to these two protocols:

- `Cloud`: the cloud's kinds and the knowledge that goes with them: how to derive what to refresh,
  what counts as "in scope" for unmanaged-object reports, its own manifest and secret rules, what
  one end of a cross-cloud BGP session exposes, what the embedded sandbox must presuppose, how to
  read its resources in a Terraform state, how its live objects become manifests (`generate`),
  which addresses of its session ends cannot form a session with what is live (`address_checks`),
  and what its objects hang from in a topology drawing (`graph_chain`).
- `Provider`: observe / create / update / delete against the cloud's API (compare Crossplane's
  `ExternalClient`), plus batched polling for waits.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

from reconciler.kinds import KindInfo
from reconciler.masking import mask_secrets
from reconciler.model import LiveObject, Resource, SecretValue, StateDoc

if TYPE_CHECKING:
    from reconciler.generate.draft import Draft
    from reconciler.manifest.checked import Checked, Diagnostic
    from reconciler.manifest.links import LinkEnd
    from reconciler.plan.model import Change


@dataclass(frozen=True, slots=True)
class ProviderOptions:
    """Knobs shared by every provider."""

    max_in_flight: int = 10  # concurrent API requests (per region, where the cloud's quotas are per region)
    request_timeout: float = 30.0  # seconds, per HTTP request
    max_retries: int = 5  # for retryable errors (throttling, 5xx, network)
    backoff_base: float = 0.2  # seconds; jittered exponential
    backoff_max: float = 10.0
    create_grace: float = 30.0  # how long a just-created object may be invisible to reads
    throttle_budget: float = 120.0  # seconds a throttled call keeps being retried


@dataclass(frozen=True, slots=True)
class RefreshScope:
    """What one provider must observe. Opaque to the core: each cloud subclasses it with what its
    list APIs need (regions, connections...) and derives it in `Cloud.refresh_scope`.

    `kinds` are the kinds the refresh covers completely within the scope: for those, an object
    that is not seen is gone.
    """

    kinds: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()  # cloud ids known from state
    # Whether the objects carry their read-only extras (`LiveObject.info`: route counts, device
    # ids...). A plan reads none of them; without them, 50,000 live objects take about 18 MB less.
    extras: bool = True


@dataclass(frozen=True, slots=True)
class RefreshResult:
    objects: tuple[LiveObject, ...]
    api_calls: Mapping[str, int] = field(default_factory=dict)  # e.g. {"GET /v1/things": 12}


@dataclass(frozen=True, slots=True)
class ObjectRef:
    kind: str
    cloud_id: str
    region: str | None


@dataclass(frozen=True, slots=True)
class Desired:
    """What a create or update should make true. Attributes are fully resolved (ids known).

    `secrets` maps each secret field to its value, or to None for "no key".
    """

    kind: str
    name: str
    attrs: Mapping[str, Any]
    secrets: Mapping[str, SecretValue | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Busy:
    """A mutation the cloud cannot take yet because the object, or something it depends on, is
    still changing (provisioning, being modified or deleted, another operation on the same
    router). Nothing was changed. The provider returns this instead of waiting inside the call;
    the apply engine retries the step once `wait_for` is no longer pending (when given) or after
    `retry_after` seconds, within the step's timeout, without holding a parallelism slot."""

    reason: str
    wait_for: ObjectRef | None = None
    retry_after: float = 2.0


@runtime_checkable
class Provider(Protocol):
    """Observe / create / update / delete, plus batched polling for waits.

    Every call is idempotent in effect: `create` adopts an object that already matches the
    natural key or resends the same idempotency token; `delete` treats "already gone" as
    success. Mutations return as soon as the cloud accepted them; the engine waits for all
    in-flight objects together with `poll`, so waits overlap. A mutation the cloud cannot take yet
    returns `Busy` rather than blocking, and the engine tries it again later.
    """

    name: str

    def refresh(self, scope: RefreshScope) -> RefreshResult:
        """All live objects of this provider's kinds in scope, using list APIs in pages."""
        ...

    def get(self, ref: ObjectRef) -> LiveObject | None:
        """One object by id, or None when it does not exist."""
        ...

    def find(self, kind: str, attrs: Mapping[str, Any]) -> LiveObject | None:
        """The live object with the natural key of `attrs` (resolved attributes), if any.
        Objects being deleted do not count."""
        ...

    def create(self, desired: Desired, token: str) -> str | Busy:
        """Start creating; returns the cloud id."""
        ...

    def update(self, ref: ObjectRef, desired: Desired, changed: Sequence[str], token: str) -> Busy | None:
        """Start an in-place update of the `changed` fields (secret fields included by name)."""
        ...

    def delete(self, ref: ObjectRef, token: str) -> Busy | None:
        """Start deleting; an object that is already gone is a success."""
        ...

    def poll(self, refs: Sequence[ObjectRef]) -> dict[str, LiveObject | None]:
        """Current state of many objects at once (cloud id -> object, None when gone)."""
        ...

    def api_calls(self) -> Mapping[str, int]:
        """Requests made so far, by operation."""
        ...

    def close(self) -> None: ...


class Presupposed(NamedTuple):
    """A resource's kind and (resolved) attributes, as far as the sandbox needs to know them; its
    address, labels and references let the seed pair the two ends of a linked session."""

    kind: str
    attrs: Mapping[str, Any]
    address: str = ""
    labels: Mapping[str, str] = {}
    refs: Mapping[str, str] = {}


# A manifest rule of one document, and a rule across all documents (`complete` is False when
# some documents could not be read: rules that report something *missing* stay quiet then).
DocumentRule = Callable[["Checked"], Iterator["Diagnostic"]]
ManifestRule = Callable[[Sequence["Checked"], bool], Iterator["Diagnostic"]]


class UnmanagedLevel(StrEnum):
    """How far `drift` looks for unmanaged objects (`--unmanaged-scope`); each cloud says what
    a level covers for it."""

    MANIFESTS = "manifests"  # the routers and connections the manifests name
    REGIONS = "regions"  # everything in the regions and on the devices the manifests use
    ACCOUNT = "account"  # everything the credentials can list (in the regions the user names)


@dataclass(frozen=True, slots=True)
class UnmanagedScope:
    """What counts as "in scope" for unmanaged-object reports, and how to take such objects
    under management."""

    # Where a live object is (`VBR vbr-1`), or None when out of scope.
    where: Callable[[LiveObject], str | None]
    # The values of `reconciler generate --<cloud> VALUE` options that would write manifests for
    # these (unmanaged) objects, e.g. `cn-hongkong:vbr-1`.
    generate_args: Callable[[Sequence[LiveObject]], tuple[str, ...]]


# A Terraform resource instance's attributes (state format 4) as the object the cloud's provider
# would report (its key in `secrets`, in memory only); None when they describe no live object.
# A ValueError says which attribute cannot be read, never quoting a value.
TerraformMapper = Callable[[Mapping[str, Any]], LiveObject | None]


class KeyHolder(NamedTuple):
    """Where one end of a linked session keeps its BGP key: the resource and its secret field.
    `follows`: when the two ends' keys differ, the problem is reported at this end."""

    resource: Resource
    field: str
    follows: bool


class SessionEnds(NamedTuple):
    """One session end of a cloud as the live address checks see it: what it exposes (its document,
    its group..., as validation's `link_end` says) and the end of another cloud it is linked with."""

    own: LinkEnd
    other: LinkEnd | None  # None: not linked


@dataclass(frozen=True, slots=True)
class AddressFinding:
    """An address of a session end that cannot form the session with what the cloud has live (a
    router's gateway addresses), or a session whose addresses could not be checked.

    `linked`: the address belongs to a linked session, so the session cannot come up (an error
    unless `--allow-address-mismatch`); otherwise only a warning (a multi-hop peer may be
    legitimate). `checked` is False when the cloud could not tell (the message says why): always a
    warning."""

    where: str  # file:line:col of the value
    path: str  # its JSON path, e.g. spec.peerIpAddress
    message: str
    linked: bool
    checked: bool = True

    def __str__(self) -> str:
        return f"{self.where}: {self.path}: {self.message}"


@dataclass(frozen=True, slots=True)
class GraphNode:
    """One box of `reconciler graph`: an object, or what it hangs from (a device, a connection, a
    router). `key` identifies it across all clouds (a resource's key is its address); it is never
    drawn as an id, only its `label` is, escaped. `role` says what it is (`device`, `session`...)."""

    key: str
    label: str
    role: str


@dataclass(frozen=True, slots=True)
class DoctorCheck:
    """One line of `reconciler doctor`: what was checked, whether it passed, and why not."""

    cloud: str
    name: str  # e.g. "credentials", "DescribeBgpGroups", "VBR vbr-1 (ap-southeast-1)"
    ok: bool
    detail: str = ""  # what was found
    hint: str = ""  # what to do about a failure (the permission to grant, the object to fix)


@dataclass
class DoctorReport:
    """Builds the checks of one cloud's doctor run, masking every credential in what they say.
    A warning is a check that passed with a hint (something to know, nothing to fix)."""

    cloud: str
    hide: list[str]
    checks: list[DoctorCheck] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str, hint: str = "") -> None:
        detail, hint = mask_secrets(detail, self.hide), mask_secrets(hint, self.hide) if hint else ""
        self.checks.append(DoctorCheck(self.cloud, name, ok, detail, hint))

    def ok(self, name: str, detail: str) -> None:
        self.add(name, True, detail)

    def warn(self, name: str, detail: str, hint: str) -> None:
        self.add(name, True, detail, hint)

    def fail(self, name: str, detail: str, hint: str) -> None:
        self.add(name, False, detail, hint)


class Cloud(Protocol):
    """One cloud: its kinds, its provider and everything the core must not know about it."""

    name: str  # also its provider's name and `Change.provider`
    title: str  # for people: "Example Cloud Interconnect"
    kinds: tuple[KindInfo, ...]
    # Environment variables that hold its API credentials: never the source of a BGP key, so that a
    # manifest (a pull request's) cannot send one to a cloud.
    credential_variables: frozenset[str]
    # The Terraform resource types it can take over from a Terraform state, and how to read each.
    terraform_types: Mapping[str, TerraformMapper]
    # Whether `address_checks` checks anything. The session ends of a cloud that checks none are
    # made only as the other end of a linked session: a plan need not hold one for every peer.
    checks_addresses: bool
    # Whether making its provider imports a large client library (Alibaba's SDK: about 0.2 s of
    # CPU). A refresh makes such providers after the others, whose first requests are then in
    # flight during the import instead of waiting for it.
    heavy_client: bool

    def make_provider(self, env: Mapping[str, str], options: ProviderOptions) -> Provider:
        """The API client, from environment variables (credentials, endpoint)."""
        ...

    def refresh_scope(
        self,
        desired: Sequence[Resource],
        state: StateDoc,
        level: UnmanagedLevel = UnmanagedLevel.MANIFESTS,
        args: Sequence[str] = (),
    ) -> RefreshScope:
        """What to list so that every object the manifests or the state involve is seen, and
        every object `unmanaged_scope` counts at `level`. `args` are the cloud's own scope
        arguments (`drift --<cloud> ARG`, e.g. regions), only with `ACCOUNT`; bad ones raise
        `UsageError`."""
        ...

    def unmanaged_scope(
        self,
        desired: Sequence[Resource],
        live: Iterable[LiveObject],
        level: UnmanagedLevel = UnmanagedLevel.MANIFESTS,
        args: Sequence[str] = (),
    ) -> UnmanagedScope:
        """Which live objects count as "in scope" for unmanaged-object reports at `level`."""
        ...

    def schema_defs(self) -> Mapping[str, Any]:
        """JSON Schema definitions: `<Kind>Spec` for each kind, plus any they share."""
        ...

    def document_rules(self, kind: str) -> Sequence[DocumentRule]:
        """Rules on one document of `kind` that JSON Schema cannot express."""
        ...

    def manifest_rules(self) -> Sequence[ManifestRule]:
        """Rules across documents (unique natural keys, references, quotas)."""
        ...

    def link_end(self, doc: Checked, by_name: Mapping[tuple[str, str], Checked]) -> LinkEnd | None:
        """What this session document exposes as one end of a linked cross-cloud session
        (None when its kind has no session). `by_name` finds other documents by (kind, name)."""
        ...

    def key_holder(self, resource: Resource, by_address: Mapping[str, Resource]) -> KeyHolder | None:
        """Where the BGP key of the session `resource` is kept (None when unknown)."""
        ...

    def secret_problem(self, kind: str, field: str, value: SecretValue) -> str | None:
        """Why the cloud would refuse this secret value (never quoting it), or None."""
        ...

    def sandbox_seed(self, presupposed: Iterable[Presupposed]) -> Mapping[str, Any]:
        """This cloud's part of an embedded-sandbox seed: the objects the manifests presuppose
        (devices, regions...). Empty for a cloud the sandbox does not emulate."""
        ...

    def address_checks(self, ends: Sequence[SessionEnds], provider: Provider) -> Sequence[AddressFinding]:
        """The addresses of this cloud's session ends (`ends`, each with the end it is linked with)
        that cannot form their sessions with what is live (read-only reads through `provider`,
        once per router). Empty for a cloud with nothing to check."""
        ...

    def serial_scope(self, change: Change, changes: Mapping[str, Change]) -> str | None:
        """The scope within which the cloud takes one mutation at a time (a router, a connection),
        or None. The apply engine never runs two steps of one scope at once, from the call until
        the object settled. `changes` holds every change of the plan, by address, so a change can
        find its scope through what it references."""
        ...

    def doctor(
        self, desired: Sequence[Resource], env: Mapping[str, str], options: ProviderOptions
    ) -> Iterator[DoctorCheck]:
        """Read-only checks of a real account for `reconciler doctor`: credentials, one read of every
        API the client calls, and the objects the manifests presuppose (connections, regions...)."""
        ...

    def generate_scope(self, args: Sequence[str]) -> RefreshScope:
        """What to list for `reconciler generate --<cloud> ARG...` (regions, every config...);
        a bad argument raises `UsageError` saying what would be valid."""
        ...

    def generate(self, args: Sequence[str], live: Sequence[LiveObject], provider: Provider) -> Sequence[Draft]:
        """The listed objects that `args` name, as manifest documents to be (`Draft`). Read-only:
        `provider` may be read for what the objects' names come from (a device's name)."""
        ...

    def graph_chain(
        self, kind: str, address: str, attrs: Mapping[str, Any], info: Mapping[str, Any]
    ) -> tuple[GraphNode, ...]:
        """For `reconciler graph`: what an object of `kind` hangs from in the cloud, outermost first,
        ending with the object itself (key `address`): a device, its connection, the BGP config.
        Only what is not a resource itself: a resource it references is joined by the core. `attrs`
        are non-secret attributes, `info` what a refresh reported besides them (may be empty)."""
        ...


@cache
def schema_defs_beside(module_file: str) -> Mapping[str, Any]:
    """The `$defs` of the `schema.json` next to a cloud package's `__init__.py` (read once)."""
    schema_file = Path(module_file).with_name("schema.json")
    defs: Mapping[str, Any] = json.loads(schema_file.read_text(encoding="utf-8"))["$defs"]
    return defs
