"""Equinix Network Edge: BGP configs of virtual devices on Fabric connections.

The package owns its kind (`kinds`), its manifest rules (`rules`), its refresh and unmanaged
scopes and sandbox seed (`scope`), how it reads `equinix_network_bgp` in a Terraform state
(`terraform`), how its live objects become manifests (`generate`), what its objects hang from
in a drawing (`graph`) and its httpx API client (`provider`, imported only when a provider is made).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

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
from reconciler.clouds.equinix import kinds, scope, terraform
from reconciler.kinds import KindInfo
from reconciler.model import LiveObject, Resource, SecretValue, StateDoc

if TYPE_CHECKING:  # the manifest reader is imported only by the rules, when they run
    from reconciler.generate.draft import Draft
    from reconciler.manifest.checked import Checked
    from reconciler.manifest.links import LinkEnd
    from reconciler.plan.model import Change


class EquinixCloud:
    name = kinds.CLOUD_NAME
    title = "Equinix Network Edge"
    kinds: tuple[KindInfo, ...] = (kinds.PEERING,)
    credential_variables = frozenset({"EQUINIX_CLIENT_ID", "EQUINIX_CLIENT_SECRET"})
    terraform_types: Mapping[str, TerraformMapper] = terraform.TERRAFORM_TYPES
    checks_addresses = False  # see `address_checks`
    heavy_client = False  # httpx: quick to import

    def make_provider(self, env: Mapping[str, str], options: ProviderOptions) -> Provider:
        from reconciler.clouds.equinix.provider import EquinixProvider

        return EquinixProvider.from_env(env, options)

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
        from reconciler.clouds.equinix import rules

        return (rules.addresses,)

    def manifest_rules(self) -> Sequence[ManifestRule]:
        from reconciler.clouds.equinix import rules

        return (rules.one_peering_per_connection,)

    def link_end(self, doc: Checked, by_name: Mapping[tuple[str, str], Checked]) -> LinkEnd | None:
        from reconciler.clouds.equinix import rules

        return rules.link_end(doc)

    def key_holder(self, resource: Resource, by_address: Mapping[str, Resource]) -> KeyHolder | None:
        return KeyHolder(resource, kinds.KEY_FIELD, follows=True)

    def secret_problem(self, kind: str, field: str, value: SecretValue) -> str | None:
        from reconciler.clouds.equinix import rules

        return rules.key_problem(value.reveal())

    def sandbox_seed(self, presupposed: Iterable[Presupposed]) -> Mapping[str, Any]:
        return scope.sandbox_seed(presupposed)

    def address_checks(self, ends: Sequence[SessionEnds], provider: Provider) -> Sequence[AddressFinding]:
        # A connection's addresses are the other cloud's to check: its router holds the subnet.
        return ()

    def serial_scope(self, change: Change, changes: Mapping[str, Change]) -> str | None:
        return scope.serial_scope(change)

    def doctor(
        self, desired: Sequence[Resource], env: Mapping[str, str], options: ProviderOptions
    ) -> Iterator[DoctorCheck]:
        from reconciler.clouds.equinix import doctor

        return doctor.doctor(desired, env, options)

    def generate_scope(self, args: Sequence[str]) -> RefreshScope:
        from reconciler.clouds.equinix import generate

        return generate.generate_scope(args)

    def generate(self, args: Sequence[str], live: Sequence[LiveObject], provider: Provider) -> Sequence[Draft]:
        from reconciler.clouds.equinix import generate

        return generate.drafts(args, live, provider)

    def graph_chain(
        self, kind: str, address: str, attrs: Mapping[str, Any], info: Mapping[str, Any]
    ) -> tuple[GraphNode, ...]:
        from reconciler.clouds.equinix import graph

        return graph.graph_chain(kind, address, attrs, info)


CLOUD = EquinixCloud()
