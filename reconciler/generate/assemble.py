"""Drafts -> the generated files: names, key variables, links, documents in order, YAML text.

Pure and deterministic: the same drafts give byte-identical files whatever order they come in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from reconciler.generate.draft import Draft
from reconciler.generate.keys import KeyVariable, group_keys
from reconciler.generate.links import infer_links
from reconciler.generate.names import assign_names
from reconciler.manifest.links import LINK_LABEL
from reconciler.model import API_VERSION, SecretValue, address_of

KEYS_FILE = "keys.env.example"
SCHEMA_HEADER = "# yaml-language-server: $schema="


@dataclass(frozen=True, slots=True)
class GeneratedResource:
    """A generated document's resource: what `--import` records in state."""

    draft: Draft
    name: str
    dependencies: tuple[str, ...]  # addresses of the generated resources it references

    @property
    def address(self) -> str:
        return address_of(self.draft.live.kind, self.name)


@dataclass(frozen=True, slots=True)
class Generated:
    files: Mapping[str, str]  # path relative to the output folder -> its text
    resources: tuple[GeneratedResource, ...]  # in file order
    keys: tuple[KeyVariable, ...]
    links: int  # sessions linked across clouds
    renames: tuple[str, ...]  # objects whose cloud name the first apply changes (for people)


def assemble(drafts: Sequence[Draft], schema_ref: Callable[[str], str]) -> Generated:
    """The files for `drafts`. `schema_ref(file)` is the manifest schema's location as seen from
    that file (the `$schema=` header)."""
    ordered = sorted(drafts, key=lambda d: (d.file, d.order, d.live.kind, d.live.cloud_id))
    names = assign_names([(d.live.kind, d.live.cloud_id, d.names) for d in ordered])
    name_of_id = {d.live.cloud_id: names[(d.live.kind, d.live.cloud_id)] for d in ordered}
    kind_of_id = {d.live.cloud_id: d.live.kind for d in ordered}

    keyed = [(i, d, _key(d)) for i, d in enumerate(ordered)]
    users = [
        (key, names[(d.live.kind, d.live.cloud_id)], _who(d, names[(d.live.kind, d.live.cloud_id)]))
        for _, d, key in keyed
        if isinstance(key, SecretValue)
    ]
    variables, variable_of_user = group_keys(users)
    variable_of = dict(zip([i for i, _, key in keyed if isinstance(key, SecretValue)], variable_of_user, strict=True))

    documents: list[dict[str, Any]] = []
    resources: list[GeneratedResource] = []
    for i, draft in enumerate(ordered):
        name = names[(draft.live.kind, draft.live.cloud_id)]
        spec: dict[str, Any] = {}
        dependencies: list[str] = []
        unresolved = False
        for field, cloud_id in draft.refs.items():
            if cloud_id in name_of_id:
                spec[field] = name_of_id[cloud_id]
                dependencies.append(address_of(kind_of_id[cloud_id], name_of_id[cloud_id]))
            else:
                unresolved = True
        if unresolved:
            spec.update(draft.unresolved)
        spec.update(draft.spec)
        if draft.key_field and i in variable_of:
            spec[draft.key_field] = _Inline(fromEnv=variable_of[i])
        documents.append({"apiVersion": API_VERSION, "kind": draft.live.kind, "metadata": {"name": name}, "spec": spec})
        resources.append(GeneratedResource(draft, name, tuple(sorted(dependencies))))

    pairs = infer_links(documents, [key for _, _, key in keyed])
    for a, b in pairs:
        link = f"{documents[a]['metadata']['name']}--{documents[b]['metadata']['name']}"
        for index in (a, b):
            documents[index]["metadata"]["labels"] = _Inline({LINK_LABEL: link})

    by_file: dict[str, list[dict[str, Any]]] = {}
    for draft, document in zip(ordered, documents, strict=True):
        by_file.setdefault(draft.file, []).append(document)
    files = {path: _yaml_file(docs, schema_ref(path)) for path, docs in by_file.items()}
    if variables:
        files[KEYS_FILE] = keys_example(variables)
    renames = tuple(
        f"{r.address}: its name in the cloud, {r.draft.live.attrs.get(r.draft.name_attr)!r}, is not a valid "
        f"unique manifest name, so the first apply renames it to {r.name!r}"
        for r in resources
        if r.draft.name_attr and r.draft.live.attrs.get(r.draft.name_attr) != r.name
    )
    return Generated(files, tuple(resources), tuple(variables), len(pairs), renames)


def _key(draft: Draft) -> SecretValue | bool | None:
    """The draft's live key; False when its kind keeps no key."""
    if not draft.key_field:
        return False
    return draft.live.secrets.get(draft.key_field)


def _who(draft: Draft, name: str) -> str:
    address = address_of(draft.live.kind, name)
    return f"{address} ({draft.describe})" if draft.describe else address


class _Inline(dict[str, Any]):
    """A mapping written on one line (`{fromEnv: NAME}`, `{link: ...}`), as the examples spell them."""


# libyaml's emitter when it is there (several times faster over thousands of documents).
_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[valid-type,misc]
    pass


_Dumper.add_representer(_Inline, lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data, True))


def _yaml_file(documents: Sequence[Mapping[str, Any]], schema: str) -> str:
    body = yaml.dump_all(
        documents,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=10_000,
        explicit_start=False,
    )
    return f"{SCHEMA_HEADER}{schema}\n{body}"


def keys_example(variables: Sequence[KeyVariable]) -> str:
    lines = [
        "# The BGP keys of the generated manifests: set each variable to the key its objects use",
        "# (e.g. from your secret store) before `reconciler plan`. Values are never written here.",
    ]
    for variable in variables:
        lines.append("")
        lines.extend(f"# {user}" for user in variable.users)
        lines.append(f"{variable.name}=")
    return "\n".join(lines) + "\n"
