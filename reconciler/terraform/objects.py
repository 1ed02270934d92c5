"""Terraform resource instances as live objects, and the groups of identical keys among them.

Each cloud registers the Terraform resource types it can take over (`Cloud.terraform_types`) and
reads an instance's attributes exactly as its provider reports the object, key included in
`LiveObject.secrets` (in memory only). Keys serve two purposes here and no other: grouping
identical keys under one variable name, and telling the user which Terraform resources used each
group. A `KeyGroup` holds names and addresses, never a key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from reconciler.clouds.base import Cloud, TerraformMapper
from reconciler.errors import ReconcilerError
from reconciler.model import LiveObject, SecretValue
from reconciler.terraform.state import TerraformInstance


@dataclass(frozen=True, slots=True)
class TerraformObject:
    """A Terraform resource instance read as the live object its cloud would report."""

    address: str  # its Terraform address: module.a.type.name["k"]
    resource_address: str  # its resource block: module.a.type.name
    provider_config: str  # e.g. `netcloud.hk`
    cloud: str
    live: LiveObject


@dataclass(frozen=True, slots=True)
class Unread:
    """An instance that could not be taken over, and why (never quoting a value)."""

    address: str
    reason: str


@dataclass(frozen=True, slots=True)
class ReadObjects:
    objects: tuple[TerraformObject, ...]
    unread: tuple[Unread, ...]


@dataclass(frozen=True, slots=True)
class KeyUse:
    """One object's use of a key: its Terraform address, cloud id, kind and secret field."""

    address: str
    cloud_id: str
    kind: str
    field: str


@dataclass(frozen=True, slots=True)
class KeyGroup:
    """Objects that share one key, and the variable that will hold it (no key inside)."""

    variable: str
    uses: tuple[KeyUse, ...]

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(use.address for use in self.uses))


# The variable name for the objects that share one key (the manifest writer's naming).
KeyNaming = Callable[[Sequence[LiveObject]], str]


def terraform_types(clouds: Iterable[Cloud]) -> dict[str, tuple[str, TerraformMapper]]:
    """Every Terraform resource type the clouds take over: type -> (cloud name, reader)."""
    types: dict[str, tuple[str, TerraformMapper]] = {}
    for cloud in clouds:
        for type_name, mapper in cloud.terraform_types.items():
            if type_name in types:
                raise ReconcilerError(
                    f"the Terraform type {type_name} is registered by both {types[type_name][0]} and {cloud.name}"
                )
            types[type_name] = (cloud.name, mapper)
    return types


def read_objects(
    instances: Iterable[TerraformInstance], types: Mapping[str, tuple[str, TerraformMapper]]
) -> ReadObjects:
    """The instances of registered types as live objects; the others are left out, and those that
    cannot be read, describe no live object, or repeat an object are `unread`, with the reason."""
    objects: list[TerraformObject] = []
    unread: list[Unread] = []
    seen: dict[tuple[str, str], str] = {}  # (kind, cloud id) -> first address
    for instance in instances:
        if instance.type not in types:
            continue
        cloud, mapper = types[instance.type]
        try:
            live = mapper(instance.attributes)
        except ValueError as exc:  # the reader names the attribute, never a value
            unread.append(Unread(instance.address, f"cannot be read: {exc}"))
            continue
        if live is None:
            unread.append(Unread(instance.address, "describes no live object (the cloud reports it gone)"))
            continue
        first = seen.setdefault((live.kind, live.cloud_id), instance.address)
        if first != instance.address:
            unread.append(Unread(instance.address, f"is the same object ({live.cloud_id}) as {first}"))
            continue
        objects.append(
            TerraformObject(instance.address, instance.resource_address, instance.provider_config, cloud, live)
        )
    return ReadObjects(tuple(objects), tuple(unread))


def key_groups(objects: Iterable[TerraformObject], naming: KeyNaming) -> tuple[KeyGroup, ...]:
    """The objects that share each key, with the variable `naming` gives each group, in the order
    of their first object. Objects without a key are in no group."""
    by_key: dict[SecretValue, list[tuple[TerraformObject, str]]] = {}
    for obj in objects:
        for field_name, value in sorted(obj.live.secrets.items()):
            if value is not None and value.reveal():
                by_key.setdefault(value, []).append((obj, field_name))
    groups: list[KeyGroup] = []
    named: set[str] = set()
    for members in by_key.values():
        variable = naming([obj.live for obj, _ in members])
        if variable in named:
            raise ReconcilerError(f"two different keys were given the same variable name {variable}")
        named.add(variable)
        uses = tuple(KeyUse(obj.address, obj.live.cloud_id, obj.live.kind, name) for obj, name in members)
        groups.append(KeyGroup(variable, uses))
    return tuple(groups)
