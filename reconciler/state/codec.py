"""The state document and journal entries as JSON, and the checks both directions go through.

`schemas/state.schema.json` is the published description of the format. Checking a
10,000-resource document with jsonschema takes about 2.4 s (bench/bench_state.py), too slow for
every read and write, so this module checks the same rules by hand in one pass; the tests hold
the two in agreement. Every document is checked before it is written, so whatever was written
can be read back.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping
from typing import Any

from reconciler.clouds import KINDS
from reconciler.errors import StateError
from reconciler.model import (
    DeletionPolicy,
    JournalAction,
    JournalEntry,
    ResourceMetadata,
    StateDoc,
    StateResource,
    entries_of,
    shared_values,
)

FORMAT_VERSION = 1

ACTIONS = tuple(action.value for action in JournalAction)
RECORDING_ACTIONS = frozenset(a.value for a in JournalAction if a.records)  # a `done` one records the resource
REMOVING_ACTIONS = frozenset(a.value for a in JournalAction if a.removes)  # a `done` one removes it
PHASES = ("intent", "done", "failed")


# Attribute names that are secrets in some kind; state never holds them, at any depth.
def secret_field_names() -> frozenset[str]:
    """Secret fields of every registered kind: state never holds one, whatever its kind."""
    return frozenset(name for info in KINDS.values() for name in info.secret_fields)


# The same patterns as schemas/state.schema.json ($defs uuid, kind, address).
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
KIND_RE = re.compile(r"^[A-Z][A-Za-z0-9]{0,63}$")
ADDRESS_RE = re.compile(r"^[A-Z][A-Za-z0-9]{0,63}/[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

_TOP_FIELDS = frozenset({"format_version", "lineage", "serial", "resources", "pending", "extra"})
_RESOURCE_FIELDS = frozenset({"kind", "cloud_id", "region", "attributes", "dependencies"})
_RESOURCE_FIELDS_SORTED = tuple(sorted(_RESOURCE_FIELDS))  # the first missing one is named
# What the manifests said at the last apply (docs/architecture.md, "State and the journal"): written
# only when not the default, so older states read as they are.
_METADATA_FIELDS = frozenset({"manifest_file", "deletion_policy", "prevent_destroy", "labels"})
_RESOURCE_OPTIONAL = frozenset({"created_at"}) | _METADATA_FIELDS
_RESOURCE_ALLOWED = _RESOURCE_FIELDS | _RESOURCE_OPTIONAL
POLICIES = tuple(policy.value for policy in DeletionPolicy)
_ENTRY_REQUIRED = ("id", "address", "kind", "action", "phase", "time")
_ENTRY_FIELDS = frozenset(
    {*_ENTRY_REQUIRED, "token", "cloud_id", "region", "attributes", "natural_key", "dependencies", "error", "metadata"}
)


class Invalid(Exception):
    """Internal: a rule broken at a JSON path."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


# -- StateDoc <-> JSON text ------------------------------------------------------------------


def dump_state(doc: StateDoc) -> str:
    """Deterministic JSON text: sorted keys, 2-space indent, trailing newline.

    Raises StateError (naming the JSON path) for anything the reader would refuse, including a
    secret field name in attributes; the message never quotes attribute values.
    """
    try:
        data = state_to_json(doc)
        check_state_json(data)
    except Invalid as problem:
        raise StateError(f"refusing to write the state: {problem}") from None
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def load_state(text: str, source: str) -> StateDoc:
    """Parse and check a state document. `source` names it in messages (a path or URL)."""
    if not text or text.isspace():  # as `not text.strip()`, without copying a 6 MB text
        raise StateError(f"{source}: the state file is empty (truncated?)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = re.sub(r"( starting)? at$", "", exc.msg)  # the position is given in front
        raise StateError(
            f"{source}:{exc.lineno}:{exc.colno}: not valid JSON ({problem}); the file is truncated or corrupt"
        ) from None
    if isinstance(data, dict):
        version = data.get("format_version")
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
            raise StateError(
                f"{source}: format_version {version} is newer than this reconciler understands "
                f"(up to {FORMAT_VERSION}); it was written by a newer reconciler: upgrade to use it"
            )
    try:
        check_state_json(data)
    except Invalid as problem:
        raise StateError(f"{source}: {problem.path}: {problem.problem}") from None
    return state_from_json(data)


def state_to_json(doc: StateDoc) -> dict[str, Any]:
    data: dict[str, Any] = {
        "format_version": doc.format_version,
        "lineage": doc.lineage,
        "serial": doc.serial,
        "resources": {
            address: {
                "kind": res.kind,
                "cloud_id": res.cloud_id,
                "region": res.region,
                "attributes": _plain(res.attributes),
                "dependencies": list(res.dependencies),
                **({"created_at": res.created_at} if res.created_at is not None else {}),
                **metadata_to_json(ResourceMetadata.of(res)),
            }
            for address, res in sorted(doc.resources.items())
        },
        "pending": [entry_to_json(entry) for entry in doc.pending],
    }
    for address, res in doc.resources.items():
        if res.address != address:
            raise Invalid(f"$.resources[{address!r}]", f"holds the resource of another address ({res.address})")
    if doc.extra:
        data["extra"] = _plain(doc.extra)
    return data


def state_from_json(data: dict[str, Any]) -> StateDoc:
    """Build a StateDoc from checked JSON (see `check_state_json`), emptying `data["resources"]`."""
    # json.loads makes a new string for every value. Addresses, kinds, regions, manifest files and
    # attribute text are interned, as `address_of` and `KindInfo.normalise` intern them: the
    # manifests, the state and the live objects of a plan share each one.
    resources: dict[str, StateResource] = {}
    written_resources = data["resources"]
    for written in list(written_resources):
        address = sys.intern(written)
        # Each entry's JSON is let go once it is read: a large state's parsed tree is never held
        # beside the whole of its StateDoc.
        resources[address] = _resource_from_json(address, written_resources.pop(written))
    return StateDoc(
        lineage=data["lineage"],
        serial=data["serial"],
        resources=resources,
        pending=tuple(entry_from_json(entry) for entry in data["pending"]),
        format_version=data["format_version"],
        extra=dict(data.get("extra", {})),
    )


def _resource_from_json(address: str, data: Mapping[str, Any]) -> StateResource:
    """A checked state resource, its repeated text interned.

    Its metadata members are read in place (as `metadata_from_json` reads them), without
    building a ResourceMetadata per resource.
    """
    kind = data["kind"]
    region = data["region"]
    manifest_file = data.get("manifest_file")
    labels = data.get("labels")
    return StateResource(
        address=address,
        kind=sys.intern(kind),
        cloud_id=sys.intern(data["cloud_id"]),
        region=None if region is None else sys.intern(region),
        attributes=shared_values(data["attributes"]),
        dependencies=tuple(sys.intern(dependency) for dependency in data["dependencies"]),
        created_at=data.get("created_at"),
        manifest_file=None if manifest_file is None else sys.intern(manifest_file),
        deletion_policy=DeletionPolicy(data["deletion_policy"]) if "deletion_policy" in data else DeletionPolicy.DELETE,
        prevent_destroy=bool(data.get("prevent_destroy", False)),
        labels=entries_of(labels),
    )


# -- JournalEntry <-> JSON ---------------------------------------------------------------------


def entry_to_json(entry: JournalEntry) -> dict[str, Any]:
    """A journal entry as a JSON object; optional fields are omitted when empty."""
    data: dict[str, Any] = {
        "id": entry.id,
        "address": entry.address,
        "kind": entry.kind,
        "action": str(entry.action),
        "phase": entry.phase,
        "time": entry.time,
    }
    optional: dict[str, Any] = {
        "token": entry.token,
        "cloud_id": entry.cloud_id,
        "region": entry.region,
        "error": entry.error,
        "attributes": None if entry.attributes is None else _plain(entry.attributes),
        "natural_key": None if entry.natural_key is None else _plain(entry.natural_key),
        "dependencies": list(entry.dependencies) or None,
        "metadata": None if entry.metadata is None else metadata_to_json(entry.metadata),
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    return data


def entry_from_json(data: Mapping[str, Any]) -> JournalEntry:
    """Build a JournalEntry from a checked JSON object (see `check_entry_json`)."""
    natural_key = data.get("natural_key")
    return JournalEntry(
        id=data["id"],
        address=data["address"],
        kind=data["kind"],
        action=JournalAction(data["action"]),
        phase=data["phase"],
        time=data["time"],
        token=data.get("token"),
        cloud_id=data.get("cloud_id"),
        region=data.get("region"),
        attributes=data.get("attributes"),
        natural_key=None if natural_key is None else tuple(natural_key),
        dependencies=tuple(data.get("dependencies", ())),
        error=data.get("error"),
        metadata=metadata_from_json(data["metadata"]) if "metadata" in data else None,
    )


def metadata_to_json(metadata: ResourceMetadata) -> dict[str, Any]:
    """The members that differ from the defaults (and the file, when known)."""
    data: dict[str, Any] = {}
    if metadata.manifest_file is not None:
        data["manifest_file"] = metadata.manifest_file
    if metadata.deletion_policy is not DeletionPolicy.DELETE:
        data["deletion_policy"] = metadata.deletion_policy.value
    if metadata.prevent_destroy:
        data["prevent_destroy"] = True
    if metadata.labels:
        data["labels"] = dict(metadata.labels)
    return data


def metadata_from_json(data: Mapping[str, Any]) -> ResourceMetadata:
    """From checked JSON (a state resource, or an entry's `metadata`); absent members are defaults."""
    return ResourceMetadata(
        manifest_file=data.get("manifest_file"),
        deletion_policy=DeletionPolicy(data.get("deletion_policy", DeletionPolicy.DELETE)),
        prevent_destroy=bool(data.get("prevent_destroy", False)),
        labels=entries_of(data.get("labels")),
    )


def check_entry(entry: JournalEntry) -> dict[str, Any]:
    """The entry as checked JSON, or StateError saying what is wrong with it."""
    try:
        data = entry_to_json(entry)
        check_entry_json(data, "$")
    except Invalid as problem:
        raise StateError(f"invalid journal entry for {entry.address!r}: {problem}") from None
    return data


# -- the rules (mirror schemas/state.schema.json) -------------------------------------------


def check_state_json(data: Any) -> None:
    """Raise Invalid(path, problem) for the first rule `data` breaks."""
    if not isinstance(data, dict):
        raise Invalid("$", f"must be a JSON object, not {_json_type(data)}")
    _no_unknown_fields(data, _TOP_FIELDS, "$")
    for name in ("format_version", "lineage", "serial", "resources", "pending"):
        if name not in data:
            raise Invalid("$", f"missing required field {name!r}")
    if data["format_version"] != FORMAT_VERSION or isinstance(data["format_version"], bool):
        raise Invalid("$.format_version", f"must be {FORMAT_VERSION}, not {data['format_version']!r}")
    lineage = data["lineage"]
    if not isinstance(lineage, str) or not UUID_RE.fullmatch(lineage):
        raise Invalid("$.lineage", "must be a lowercase UUID string")
    serial = data["serial"]
    if not _is_int(serial) or serial < 1:
        raise Invalid("$.serial", f"must be an integer >= 1, not {serial!r}")
    resources = data["resources"]
    if not isinstance(resources, dict):
        raise Invalid("$.resources", f"must be an object (address -> resource), not {_json_type(resources)}")
    secret_fields = secret_field_names()  # once per document: KINDS may change between calls
    for address, resource in resources.items():
        _check_resource(address, resource, secret_fields)
    pending = data["pending"]
    if not isinstance(pending, list):
        raise Invalid("$.pending", f"must be an array of journal entries, not {_json_type(pending)}")
    for i, entry in enumerate(pending):
        check_entry_json(entry, f"$.pending[{i}]")
        if entry["phase"] != "intent":
            raise Invalid(f"$.pending[{i}].phase", f"must be 'intent', not {entry['phase']!r}")
    if "extra" in data:
        _check_attributes(data["extra"], "$.extra", secret_fields)


def _check_resource(address: Any, resource: Any, secret_fields: frozenset[str]) -> None:
    if not isinstance(address, str) or not ADDRESS_RE.fullmatch(address):
        raise Invalid(_resource_path(address), "is not a valid address (Kind/name, e.g. BgpPeer/edge1-peer1)")
    try:
        _check_resource_fields(address, resource, secret_fields)
    except Invalid as problem:
        raise Invalid(_resource_path(address) + problem.path, problem.problem) from None


def _resource_path(address: Any) -> str:
    """The JSON path of the resource at `address`, as messages name it."""
    return f"$.resources[{address!r}]"


def _check_resource_fields(address: str, resource: Any, secret_fields: frozenset[str]) -> None:
    """The rules of the resource at a valid `address`. Paths are relative to the resource ("" is
    the resource itself): its own path is formatted only when a rule is broken."""
    if not isinstance(resource, dict):
        raise Invalid("", f"must be an object, not {_json_type(resource)}")
    _no_unknown_fields(resource, _RESOURCE_ALLOWED, "")
    for name in _RESOURCE_FIELDS_SORTED:
        if name not in resource:
            raise Invalid("", f"missing required field {name!r}")
    kind = resource["kind"]
    # The address matched ADDRESS_RE, whose part before the "/" is a kind name: a kind equal to
    # it is one too, with no regex to run. Any other kind is refused by `_check_kind`.
    if type(kind) is not str or address.partition("/")[0] != kind:
        _check_kind(kind, address)
    cloud_id = resource["cloud_id"]
    if not isinstance(cloud_id, str) or not cloud_id:
        raise Invalid(".cloud_id", "must be a non-empty string")
    region = resource["region"]
    if region is not None and not isinstance(region, str):
        raise Invalid(".region", "must be a string or null")
    _check_attributes(resource["attributes"], ".attributes", secret_fields)
    _check_addresses(resource["dependencies"], ".dependencies", unique=True)
    if "created_at" in resource and not isinstance(resource["created_at"], str):
        raise Invalid(".created_at", "must be a time (ISO 8601 text)")
    _check_metadata(resource, "")


def _check_kind(kind: Any, address: str) -> None:
    """The rules for a kind that is not its address's kind part, in the order messages name them."""
    if not isinstance(kind, str) or not KIND_RE.fullmatch(kind):
        raise Invalid(".kind", "must be a kind name (CamelCase, such as BgpPeer)")
    if address.partition("/")[0] != kind:  # Address.parse(address).kind, without building it
        raise Invalid(".kind", f"{kind!r} does not match the address")


def _check_metadata(data: Mapping[str, Any], path: str) -> None:
    if "manifest_file" in data and (not isinstance(data["manifest_file"], str) or not data["manifest_file"]):
        raise Invalid(f"{path}.manifest_file", "must be a non-empty path")
    if "deletion_policy" in data and data["deletion_policy"] not in POLICIES:
        raise Invalid(f"{path}.deletion_policy", f"{data['deletion_policy']!r} is not one of {', '.join(POLICIES)}")
    if "prevent_destroy" in data and not isinstance(data["prevent_destroy"], bool):
        raise Invalid(f"{path}.prevent_destroy", "must be true or false")
    if "labels" in data:
        labels = data["labels"]
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise Invalid(f"{path}.labels", "must be an object of strings")


def check_entry_json(entry: Any, path: str, *, extra_fields: frozenset[str] = frozenset()) -> None:
    if not isinstance(entry, dict):
        raise Invalid(path, f"must be an object, not {_json_type(entry)}")
    _no_unknown_fields(entry, _ENTRY_FIELDS | extra_fields, path)
    for name in _ENTRY_REQUIRED:
        if name not in entry:
            raise Invalid(path, f"missing required field {name!r}")
    for name in ("id", "time"):
        if not isinstance(entry[name], str) or not entry[name]:
            raise Invalid(f"{path}.{name}", "must be a non-empty string")
    if len(entry["id"]) > 200:
        raise Invalid(f"{path}.id", "is longer than 200 characters")
    if not isinstance(entry["address"], str) or not ADDRESS_RE.fullmatch(entry["address"]):
        raise Invalid(f"{path}.address", "is not a valid address (Kind/name)")
    if not isinstance(entry["kind"], str) or not KIND_RE.fullmatch(entry["kind"]):
        raise Invalid(f"{path}.kind", "must be a kind name (CamelCase, such as BgpPeer)")
    if entry["action"] not in ACTIONS:
        raise Invalid(f"{path}.action", f"{entry['action']!r} is not one of {', '.join(ACTIONS)}")
    if entry["phase"] not in PHASES:
        raise Invalid(f"{path}.phase", f"{entry['phase']!r} is not one of {', '.join(PHASES)}")
    for name in ("token", "region", "error"):
        if name in entry and not isinstance(entry[name], str):
            raise Invalid(f"{path}.{name}", "must be a string")
    if "cloud_id" in entry and (not isinstance(entry["cloud_id"], str) or not entry["cloud_id"]):
        raise Invalid(f"{path}.cloud_id", "must be a non-empty string")
    secret_fields = secret_field_names()
    if "attributes" in entry:
        _check_attributes(entry["attributes"], f"{path}.attributes", secret_fields)
    if "natural_key" in entry:
        if not isinstance(entry["natural_key"], list):
            raise Invalid(f"{path}.natural_key", "must be an array")
        for i, value in enumerate(entry["natural_key"]):
            _check_value(value, f"{path}.natural_key[{i}]", secret_fields)
    if "dependencies" in entry:
        _check_addresses(entry["dependencies"], f"{path}.dependencies", unique=False)
    if "metadata" in entry:
        if not isinstance(entry["metadata"], dict):
            raise Invalid(f"{path}.metadata", f"must be an object, not {_json_type(entry['metadata'])}")
        _no_unknown_fields(entry["metadata"], _METADATA_FIELDS, f"{path}.metadata")
        _check_metadata(entry["metadata"], f"{path}.metadata")
    if entry["phase"] == "done" and entry["action"] in RECORDING_ACTIONS:
        for name in ("cloud_id", "attributes"):
            if name not in entry:
                raise Invalid(path, f"a done {entry['action']} must say what is in the cloud: missing {name!r}")


def _check_attributes(value: Any, path: str, secret_fields: frozenset[str]) -> None:
    if _flat_and_plain(value, secret_fields):
        return
    if not isinstance(value, dict):
        raise Invalid(path, f"must be an object, not {_json_type(value)}")
    for key, item in value.items():
        if not isinstance(key, str):
            raise Invalid(path, f"has a non-string key {key!r}")
        if key in secret_fields:
            raise Invalid(f"{path}.{key}", "is a secret field; state never stores secrets")
        if not _plain_scalar(item):  # the usual value passes without making its path
            _check_value(item, f"{path}.{key}", secret_fields)


_PLAIN_TYPES = frozenset({str, bool, int, type(None)})


def _flat_and_plain(value: Any, secret_fields: frozenset[str]) -> bool:
    """True for the usual attributes, which pass every rule of `_check_attributes`: a dict of
    exact str keys and exact plain scalar values, no key a secret field. Checked in one cheap
    pass (exact types, no paths: a third of the time of the full loop); anything else, such as
    a float, a list or a str subclass, takes the full check, which words the message."""
    if type(value) is not dict:
        return False
    for key, item in value.items():
        if type(key) is not str or type(item) not in _PLAIN_TYPES:
            return False
    return secret_fields.isdisjoint(value)


def _plain_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | bool | int)


def _check_value(value: Any, path: str, secret_fields: frozenset[str]) -> None:
    if _plain_scalar(value):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Invalid(path, "must be a finite number")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_value(item, f"{path}[{i}]", secret_fields)
        return
    if isinstance(value, dict):
        _check_attributes(value, path, secret_fields)
        return
    raise Invalid(path, f"is not a JSON value ({type(value).__name__})")


def _check_addresses(value: Any, path: str, *, unique: bool) -> None:
    if not isinstance(value, list):
        raise Invalid(path, f"must be an array of addresses, not {_json_type(value)}")
    for i, address in enumerate(value):
        if not isinstance(address, str) or not ADDRESS_RE.fullmatch(address):
            raise Invalid(f"{path}[{i}]", "is not a valid address (Kind/name)")
    if unique and len(value) > 1 and len(set(value)) != len(value):
        raise Invalid(path, "lists an address twice")


def _no_unknown_fields(data: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
    if data.keys() <= allowed:
        return
    unknown = sorted(str(key) for key in data if key not in allowed)
    if unknown:
        raise Invalid(path, f"unknown field {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")


def _plain(value: Any) -> Any:
    """Attribute values as plain JSON types: mappings -> dicts, tuples -> lists.

    Anything else (a SecretValue, an object) is left in place for the check to refuse.
    """
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
