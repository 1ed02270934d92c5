"""memcloud: a small in-memory cloud that plugs into reconciler the way a real one does.

It is built like the packages under `reconciler/clouds/` (kinds, rules, scope, schema, provider)
and registered through the same registry, in a test only:

    with registered(settle_polls=2) as store:   # reconciler.clouds.register(CLOUD) ... unregister
        main(["apply", "--auto-approve", "manifests"])
        store.calls()                             # what the CLI asked of the cloud

Kinds: `MemRouterBgp`, a BGP process on a router (router id, name, local and peer ASN,
description, MD5 key; natural key router + name) and `MemBgpNeighbor`, one neighbour of a process
(`group` references the process; peer IP; enabled flag; natural key process id + peer IP; a BGP
session). The cloud itself is `store.STORE`, shared by every provider of the process. A Terraform
state's `memcloud_router` instances read as `MemRouterBgp` objects (`router_from_terraform`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from reconciler.clouds import register, unregister
from reconciler.clouds.base import (
    AddressFinding,
    DoctorCheck,
    DocumentRule,
    GraphNode,
    KeyHolder,
    ManifestRule,
    Presupposed,
    Provider,
    ProviderOptions,
    RefreshScope,
    SessionEnds,
    TerraformMapper,
    UnmanagedLevel,
    UnmanagedScope,
    schema_defs_beside,
)
from reconciler.kinds import KindInfo
from reconciler.model import LiveObject, Resource, SecretValue, StateDoc
from tests.testcloud import kinds, scope
from tests.testcloud.store import STORE, MemStore

if TYPE_CHECKING:
    from reconciler.generate.draft import Draft
    from reconciler.manifest.checked import Checked
    from reconciler.manifest.links import LinkEnd
    from reconciler.plan.model import Change


def router_from_terraform(attributes: Mapping[str, Any]) -> LiveObject | None:
    """A `memcloud_router` instance of a Terraform state (attributes `id`, `router_id`, `name`,
    `local_asn`, `peer_asn`, `description`, `md5_key`, `status`) as the provider reports it."""
    from tests.testcloud.provider import to_object

    if not attributes.get("id"):
        raise ValueError("the attribute `id` is missing")
    names = {"router_id": "routerId", "local_asn": "localAsn", "peer_asn": "peerAsn", "md5_key": kinds.KEY_FIELD}
    item = {names.get(name, name): value for name, value in attributes.items() if value not in (None, "")}
    return to_object(kinds.ROUTER_BGP, {"status": "Active", **item})


class MemCloud:
    name = kinds.CLOUD_NAME
    title = "memcloud (in-memory test cloud)"
    kinds: tuple[KindInfo, ...] = (kinds.ROUTER, kinds.NEIGHBOUR)
    credential_variables = frozenset({"MEMCLOUD_TOKEN"})
    terraform_types: Mapping[str, TerraformMapper] = {"memcloud_router": router_from_terraform}
    checks_addresses = False  # see `address_checks`
    heavy_client = False

    def make_provider(self, env: Mapping[str, str], options: ProviderOptions) -> Provider:
        from tests.testcloud.provider import MemProvider

        return MemProvider(STORE, options)

    def refresh_scope(
        self,
        desired: Sequence[Resource],
        state: StateDoc,
        level: UnmanagedLevel = UnmanagedLevel.MANIFESTS,
        args: Sequence[str] = (),
    ) -> RefreshScope:
        return scope.refresh_scope(desired, state, level, args)

    def unmanaged_scope(
        self,
        desired: Sequence[Resource],
        live: Iterable[LiveObject],
        level: UnmanagedLevel = UnmanagedLevel.MANIFESTS,
        args: Sequence[str] = (),
    ) -> UnmanagedScope:
        return scope.unmanaged_scope(desired, live, level, args)

    def schema_defs(self) -> Mapping[str, Any]:
        return schema_defs_beside(__file__)

    def document_rules(self, kind: str) -> Sequence[DocumentRule]:
        from tests.testcloud import rules

        return {kinds.ROUTER_BGP: (rules.ebgp_only,), kinds.NEIGHBOR: (rules.neighbor_address,)}.get(kind, ())

    def manifest_rules(self) -> Sequence[ManifestRule]:
        from tests.testcloud import rules

        return (rules.neighbor_groups, rules.one_neighbor_per_address)

    def link_end(self, doc: Checked, by_name: Mapping[tuple[str, str], Checked]) -> LinkEnd | None:
        from tests.testcloud import rules

        return rules.link_end(doc, by_name) if doc.kind == kinds.NEIGHBOR else None

    def key_holder(self, resource: Resource, by_address: Mapping[str, Resource]) -> KeyHolder | None:
        from tests.testcloud import rules

        return rules.key_holder(resource, by_address)

    def secret_problem(self, kind: str, field: str, value: SecretValue) -> str | None:
        from tests.testcloud import rules

        return rules.key_problem(value.reveal())

    def sandbox_seed(self, presupposed: Iterable[Presupposed]) -> Mapping[str, Any]:
        return {}  # the embedded sandbox does not emulate memcloud: nothing to presuppose there

    def address_checks(self, ends: Sequence[SessionEnds], provider: Provider) -> Sequence[AddressFinding]:
        return ()  # an in-memory router has no gateway addresses to hold a session against

    def serial_scope(self, change: Change, changes: Mapping[str, Change]) -> str | None:
        router = (change.after or change.before or {}).get("routerId")
        return f"router {router}" if router else None  # a router takes one change at a time

    def doctor(
        self, desired: Sequence[Resource], env: Mapping[str, str], options: ProviderOptions
    ) -> Iterator[DoctorCheck]:
        yield DoctorCheck(self.name, "credentials", True, "an in-memory cloud needs none")

    def generate_scope(self, args: Sequence[str]) -> RefreshScope:
        from tests.testcloud import generate

        return generate.generate_scope(args)

    def generate(self, args: Sequence[str], live: Sequence[LiveObject], provider: Provider) -> Sequence[Draft]:
        from tests.testcloud import generate

        return generate.drafts(args, live)

    def graph_chain(
        self, kind: str, address: str, attrs: Mapping[str, Any], info: Mapping[str, Any]
    ) -> tuple[GraphNode, ...]:
        # A process hangs from its router; a neighbour from its process (a reference: the core's part).
        if kind == kinds.ROUTER_BGP and attrs.get("routerId"):
            router = GraphNode(f"{self.name}/router/{attrs['routerId']}", f"router {attrs['routerId']}", "router")
            return (router, GraphNode(address, address, "group"))
        return (GraphNode(address, address, "session" if kind == kinds.NEIGHBOR else "resource"),)


CLOUD = MemCloud()


@contextmanager
def registered(**settings: Any) -> Iterator[MemStore]:
    """memcloud in the registry, on an empty store (`settings`: `store.Settings` fields)."""
    STORE.reset(**settings)
    register(CLOUD)
    try:
        yield STORE
    finally:
        unregister(CLOUD.name)
        STORE.reset()
