"""Reading a Terraform state file: format version 4, as Terraform 0.12 and later and OpenTofu write
it (`terraform state pull` prints the same document).

Only what migration needs is kept: every managed resource instance (data sources and deposed
objects are skipped), with its full Terraform address (`module.a.module.b["k"].type.name[0]`), the
address of its resource block (no instance keys), the provider configuration that manages it,
and its attributes. The attributes hold keys in plain text: they are never part of a repr or a
message, and every error here names a place in the document, never a value in it.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from reconciler.errors import ReconcilerError
from reconciler.manifest.files import read_regular_file

FORMAT_VERSION = 4
MAX_STATE_BYTES = 64 * 1024 * 1024  # far above any real state of BGP sessions; bounds memory
STDIN = "-"

# A module path as the state writes it: `module.a`, `module.a["k"].module.b[0]`.
_MODULE_STEP = re.compile(r'module\.([A-Za-z_][A-Za-z0-9_-]*)(\[(?:\d+|"(?:[^"\\]|\\.)*")\])?')
# The provider configuration: `provider["registry.terraform.io/acme/netcloud"].hk`.
_PROVIDER = re.compile(r'^(?:module\.[^"]*?\.)?provider\["(?P<source>[^"]+)"\](?:\.(?P<alias>[A-Za-z0-9_-]+))?$')


class TerraformStateError(ReconcilerError):
    """A Terraform state that cannot be read: where the problem is, never a value from it."""


@dataclass(frozen=True, slots=True)
class TerraformInstance:
    """One managed resource instance of a Terraform state.

    `attributes` are the provider's attributes as Terraform stored them, keys included in plain
    text: they are left out of the repr and of comparisons, and must never be printed.
    """

    address: str  # module.a.type.name["k"]
    resource_address: str  # the resource block, no instance keys: module.a.type.name
    type: str
    provider: str  # the provider configuration, as the state names it
    attributes: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def provider_config(self) -> str:
        """The provider configuration for people: `netcloud.hk` (`<type>.<alias>`), `netcloud`."""
        return provider_config(self.provider)


@dataclass(frozen=True, slots=True)
class TerraformState:
    """The managed resource instances of a state, in the order the state lists them."""

    terraform_version: str
    instances: tuple[TerraformInstance, ...]

    def of_types(self, types: frozenset[str] | set[str]) -> tuple[TerraformInstance, ...]:
        return tuple(instance for instance in self.instances if instance.type in types)


def read_state(source: str, *, stdin: BinaryIO | None = None, limit: int = MAX_STATE_BYTES) -> TerraformState:
    """The state in file `source`, or on standard input for `-`; TerraformStateError otherwise."""
    name = "standard input" if source == STDIN else source
    if source == STDIN:
        stream = stdin if stdin is not None else sys.stdin.buffer
        content = stream.read(limit + 1)
        if len(content) > limit:
            raise TerraformStateError(
                f"the Terraform state on {name} is larger than {limit:,} bytes",
                hint="give the state of one Terraform configuration (`terraform state pull > state.json`)",
            )
    else:
        content, refusal = read_regular_file(source, limit)
        if refusal is not None:
            raise TerraformStateError(
                f"cannot read the Terraform state {name}: it is {refusal.what}",
                hint="give a state file (`terraform state pull > state.json`), or - to read it from standard input",
            )
    return parse_state(content, name)


def parse_state(content: bytes, name: str) -> TerraformState:
    """A state document's managed resource instances (`name` says where it came from)."""
    document = _json_document(content, name)
    if not isinstance(document, dict):
        raise TerraformStateError(f"{name} is not a Terraform state: its JSON is not an object")
    if "encrypted_data" in document:
        raise TerraformStateError(
            f"{name} is an encrypted OpenTofu state",
            hint="give the decrypted state: `tofu state pull > state.json` with the encryption configured",
        )
    version = document.get("version")
    if version != FORMAT_VERSION:
        shown = version if isinstance(version, int) and not isinstance(version, bool) else "missing or not a number"
        raise TerraformStateError(
            f"{name}: the state format version is {shown}; only version {FORMAT_VERSION} can be read",
            hint="states of Terraform 0.12 and later and of OpenTofu are version 4; upgrade an older one by "
            "running `terraform apply` with Terraform 0.12 or later",
        )
    resources = document.get("resources") or []
    if not isinstance(resources, list):
        raise TerraformStateError(f"{name}: `resources` is not a list")
    instances: list[TerraformInstance] = []
    for index, resource in enumerate(resources):
        instances.extend(_resource_instances(resource, f"{name}: resources[{index}]"))
    terraform_version = document.get("terraform_version")
    return TerraformState(str(terraform_version) if isinstance(terraform_version, str) else "", tuple(instances))


def _json_document(content: bytes, name: str) -> Any:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TerraformStateError(f"{name} is not a Terraform state: it is not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # The decoder's message names the position only, never the text around it.
        raise TerraformStateError(
            f"{name} is not a Terraform state: it is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise TerraformStateError(f"{name} is not a Terraform state: its JSON is nested too deeply") from None


def _resource_instances(resource: Any, where: str) -> list[TerraformInstance]:
    if not isinstance(resource, dict):
        raise TerraformStateError(f"{where} is not an object")
    if resource.get("mode") != "managed":
        return []  # a data source: read, never managed
    kind, name, module = resource.get("type"), resource.get("name"), resource.get("module") or ""
    for label, value in (("type", kind), ("name", name), ("module", module)):
        if not isinstance(value, str):
            raise TerraformStateError(f"{where}: `{label}` is not a string")
    assert isinstance(kind, str) and isinstance(name, str) and isinstance(module, str)
    if not kind or not name:
        raise TerraformStateError(f"{where}: `type` and `name` must not be empty")
    module_block = config_module_path(module, where)
    block_address = f"{module_block}.{kind}.{name}" if module_block else f"{kind}.{name}"
    provider = resource.get("provider")
    provider = provider if isinstance(provider, str) else ""
    found = resource.get("instances") or []
    if not isinstance(found, list):
        raise TerraformStateError(f"{where}: `instances` is not a list")
    out: list[TerraformInstance] = []
    for number, instance in enumerate(found):
        place = f"{where}.instances[{number}]"
        if not isinstance(instance, dict):
            raise TerraformStateError(f"{place} is not an object")
        if instance.get("deposed"):
            continue  # an object replaced and waiting to be destroyed: not the resource's object
        key = instance_key(instance.get("index_key"), place)
        address = f"{module}.{kind}.{name}{key}" if module else f"{kind}.{name}{key}"
        attributes = instance.get("attributes")
        if attributes is None and "attributes_flat" in instance:
            raise TerraformStateError(
                f"{place} ({address}) holds attributes in the format of Terraform 0.11",
                hint="run `terraform apply` (or `terraform refresh`) with Terraform 0.12 or later to rewrite them",
            )
        if not isinstance(attributes, dict):
            raise TerraformStateError(f"{place} ({address}): `attributes` is not an object")
        out.append(TerraformInstance(address, block_address, kind, provider, attributes))
    return out


def instance_key(value: Any, where: str) -> str:
    """`[0]` for a `count` instance, `["k"]` for a `for_each` one, `` for a single one."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return f"[{value}]"
    if isinstance(value, str):
        return f"[{hcl_string(value)}]"
    raise TerraformStateError(f"{where}: `index_key` is neither a whole number nor a string")


def hcl_string(value: str) -> str:
    """A string as Terraform writes it in an address: quoted, with HCL's escapes."""
    escaped = []
    for char in value:
        if char in '"\\':
            escaped.append("\\" + char)
        elif char == "\n":
            escaped.append("\\n")
        elif char == "\r":
            escaped.append("\\r")
        elif char == "\t":
            escaped.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    text = "".join(escaped).replace("${", "$${").replace("%{", "%%{")
    return f'"{text}"'


def config_module_path(module: str, where: str) -> str:
    """A module instance path without its instance keys: `module.a["k"].module.b` -> `module.a.module.b`."""
    if not module:
        return ""
    steps: list[str] = []
    position = 0
    while position < len(module):
        if steps:
            if module[position] != ".":
                break
            position += 1
        match = _MODULE_STEP.match(module, position)
        if match is None:
            break
        steps.append(f"module.{match.group(1)}")
        position = match.end()
    if position != len(module) or not steps:
        raise TerraformStateError(f"{where}: `module` is not a module path (module.NAME, optionally [KEY], ...)")
    return ".".join(steps)


def provider_config(provider: str) -> str:
    """`provider["registry.terraform.io/acme/netcloud"].hk` -> `netcloud.hk`; the text itself
    when it has another form."""
    match = _PROVIDER.fullmatch(provider)
    if match is None:
        return provider
    local = match.group("source").rsplit("/", 1)[-1]
    return f"{local}.{match.group('alias')}" if match.group("alias") else local
