"""Alibaba Cloud Express Connect: BGP groups and peers on virtual border routers (VBRs).

The package owns its kinds (`kinds`), its manifest rules (`rules`), its refresh and unmanaged
scopes and sandbox seed (`scope`), how it reads its resources in a Terraform state (`terraform`),
how its live objects become manifests (`generate`), what its objects hang from in a drawing
(`graph`), the live checks of its sessions' addresses against their VBRs (`addresses`) and its
API client on the official VPC SDK (`provider`, imported only when a provider is made, with the
parts of the SDK it uses: `sdk`, slow to import).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.clouds.alibaba import kinds, scope, terraform
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

if TYPE_CHECKING:  # the manifest reader is imported only by the rules, when they run
    from reconciler.generate.draft import Draft
    from reconciler.manifest.checked import Checked
    from reconciler.manifest.links import LinkEnd
    from reconciler.plan.model import Change


class AlibabaCloud:
    name = kinds.CLOUD_NAME
    title = "Alibaba Cloud Express Connect"
    credential_variables = frozenset(
        {"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"}
    )
    kinds: tuple[KindInfo, ...] = (kinds.GROUP, kinds.PEER)
    terraform_types: Mapping[str, TerraformMapper] = terraform.TERRAFORM_TYPES
    checks_addresses = True  # a peer's address against its router's gateway addresses
    heavy_client = True  # its SDK (`sdk.py`)

    def make_provider(self, env: Mapping[str, str], options: ProviderOptions) -> Provider:
        from reconciler.clouds.alibaba import sdk
        from reconciler.clouds.alibaba.provider import AlibabaProvider

        sdk.load()  # here, once, before the refresh threads: all at once they would queue on import locks
        return AlibabaProvider.from_env(env, options)

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
        from reconciler.clouds.alibaba import rules

        return {kinds.ALIBABA_GROUP: (rules.group_rules,), kinds.ALIBABA_PEER: (rules.peer_rules,)}.get(kind, ())

    def manifest_rules(self) -> Sequence[ManifestRule]:
        from reconciler.clouds.alibaba import rules

        return (rules.peer_groups, rules.one_peer_per_address, rules.peers_per_vbr)

    def link_end(self, doc: Checked, by_name: Mapping[tuple[str, str], Checked]) -> LinkEnd | None:
        from reconciler.clouds.alibaba import rules

        return rules.link_end(doc, by_name) if doc.kind == kinds.ALIBABA_PEER else None

    def key_holder(self, resource: Resource, by_address: Mapping[str, Resource]) -> KeyHolder | None:
        from reconciler.clouds.alibaba import rules

        return rules.key_holder(resource, by_address)

    def secret_problem(self, kind: str, field: str, value: SecretValue) -> str | None:
        # Alibaba documents no format for a BGP group's AuthKey: the project's rule (docs/cloud-apis.md,
        # Alibaba 15) refuses, before any call, what a key cannot plausibly be.
        from reconciler.clouds.alibaba import rules

        return rules.key_problem(value.reveal())

    def sandbox_seed(self, presupposed: Iterable[Presupposed]) -> Mapping[str, Any]:
        return scope.sandbox_seed(presupposed)

    def address_checks(self, ends: Sequence[SessionEnds], provider: Provider) -> Sequence[AddressFinding]:
        from reconciler.clouds.alibaba import addresses

        return addresses.address_checks(ends, provider)

    def serial_scope(self, change: Change, changes: Mapping[str, Change]) -> str | None:
        return scope.serial_scope(change, changes)

    def doctor(
        self, desired: Sequence[Resource], env: Mapping[str, str], options: ProviderOptions
    ) -> Iterator[DoctorCheck]:
        from reconciler.clouds.alibaba import doctor

        return doctor.doctor(desired, env, options)

    def generate_scope(self, args: Sequence[str]) -> RefreshScope:
        from reconciler.clouds.alibaba import generate

        return generate.generate_scope(args)

    def generate(self, args: Sequence[str], live: Sequence[LiveObject], provider: Provider) -> Sequence[Draft]:
        from reconciler.clouds.alibaba import generate

        return generate.drafts(args, live)

    def graph_chain(
        self, kind: str, address: str, attrs: Mapping[str, Any], info: Mapping[str, Any]
    ) -> tuple[GraphNode, ...]:
        from reconciler.clouds.alibaba import graph

        return graph.graph_chain(kind, address, attrs, info)


CLOUD = AlibabaCloud()
