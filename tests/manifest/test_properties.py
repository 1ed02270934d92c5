"""Property-based tests: random valid manifest sets always validate, and a single corrupted
field is always reported at its JSON path and line."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.manifest import load_manifests
from tests.manifest.builders import document, dump

REGIONS = ["ap-southeast-1", "cn-hongkong", "cn-hangzhou", "eu-central-1", "us-west-1"]
asns = st.integers(1, 4294967295).filter(lambda asn: asn != 45104)
local_asns = st.one_of(
    st.just(45104), st.integers(64512, 65534).filter(lambda a: a != 65025), st.integers(4200000000, 4294967294)
)
stems = st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True)
env_names = st.from_regex(r"[A-Z_][A-Z0-9_]{0,20}", fullmatch=True)
descriptions = st.from_regex(r"[A-Za-z][A-Za-z0-9 ._-]{1,60}", fullmatch=True).filter(
    lambda d: not d.lower().startswith(("http://", "https://"))
)
PROFILE = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def optional(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> Any:
    return draw(values) if draw(st.booleans()) else None


def drop_none(spec: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in spec.items() if value is not None}


@st.composite
def manifest_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A valid set: groups (each on its own VBR) with up to 3 peers, Equinix peerings, and
    optionally one linked session whose ends mirror each other."""
    stem = draw(stems)
    docs: list[dict[str, Any]] = []
    first_v4: tuple[dict[str, Any], dict[str, Any]] | None = None
    for g in range(draw(st.integers(0, 4))):
        v6 = draw(st.booleans())
        group_name = f"{stem}-g{g}"
        group = document(
            "AlibabaBgpGroup",
            group_name,
            drop_none(
                {
                    "regionId": draw(st.sampled_from(REGIONS)),
                    "virtualBorderRouterId": f"vbr-prop{g:017d}",
                    "peerAsn": draw(asns),
                    "localAsn": optional(draw, local_asns),
                    "ipVersion": draw(st.sampled_from(["IPv6", "ipv6"] if v6 else ["IPv4", "ipv4", None])),
                    "description": optional(draw, descriptions),
                    "routeQuota": optional(draw, st.integers(1, 10000)),
                    "isFakeAsn": optional(draw, st.booleans()),
                    "authKey": optional(draw, env_names.map(lambda n: {"fromEnv": n})),
                }
            ),
        )
        docs.append(group)
        for p in range(draw(st.integers(0, 3))):
            bfd = draw(st.booleans())
            peer = document(
                "AlibabaBgpPeer",
                f"{group_name}-p{p}",
                drop_none(
                    {
                        "bgpGroup": group_name,
                        "peerIpAddress": f"2001:db8:{g}::{p + 1}" if v6 else f"10.{g}.{p}.1",
                        "enableBfd": bfd if draw(st.booleans()) else None,
                        "bfdMultiHop": draw(st.integers(1, 255)) if bfd else None,
                    }
                ),
            )
            docs.append(peer)
            if first_v4 is None and not v6:
                first_v4 = (group, peer)
    uuids = draw(st.lists(st.uuids(), min_size=1, max_size=3, unique=True))
    for e, uid in enumerate(uuids):
        docs.append(
            document(
                "EquinixBgpPeering",
                f"{stem}-e{e}",
                {
                    "connectionUuid": str(uid),
                    "localIpAddress": f"172.{16 + e}.0.1/30",
                    "localAsn": draw(asns),
                    "remoteIpAddress": f"172.{16 + e}.0.2",
                    "remoteAsn": draw(st.integers(1, 4294967295)),
                },
            )
        )
    if first_v4 is not None and draw(st.booleans()):
        group, peer = first_v4
        eq = docs[-1]
        link = {"link": f"{stem}-link"}
        peer["metadata"]["labels"] = eq["metadata"]["labels"] = link
        eq["spec"].update(
            localAsn=group["spec"]["peerAsn"],
            remoteAsn=group["spec"].get("localAsn", 45104),
            localIpAddress=f"{peer['spec']['peerIpAddress']}/30",
            remoteIpAddress=re.sub(r"\.1$", ".2", peer["spec"]["peerIpAddress"]),
        )
        if "authKey" in group["spec"]:
            eq["spec"]["authenticationKey"] = group["spec"]["authKey"]
    return draw(st.permutations(docs))


def write_files(folder: Path, docs: list[dict[str, Any]], files: int) -> None:
    for index in range(files):
        chunk = docs[index::files]
        if chunk:
            (folder / f"m{index}.yaml").write_text(dump(chunk), encoding="utf-8")


@PROFILE
@given(docs=manifest_sets(), files=st.integers(1, 3))
def test_random_valid_sets_always_validate(docs: list[dict[str, Any]], files: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        write_files(Path(tmp), docs, files)
        manifests = load_manifests([tmp])
    assert manifests.ok, [str(d) for d in manifests.diagnostics]
    assert manifests.documents == len(docs)
    assert sorted(r.address for r in manifests.resources) == sorted(
        f"{d['kind']}/{d['metadata']['name']}" for d in docs
    )


# (kind, key inside the document, bad value, rule id the diagnostic must carry)
CORRUPTIONS: list[tuple[str, tuple[str, str], Any, str]] = [
    ("AlibabaBgpGroup", ("spec", "peerAsn"), "sixty-five", "schema.type"),
    ("AlibabaBgpGroup", ("spec", "peerAsn"), 0, "schema.minimum"),
    ("AlibabaBgpGroup", ("spec", "peerAsn"), 4294967296, "schema.maximum"),
    ("AlibabaBgpGroup", ("spec", "peerAsn"), 45104, "alibaba-asn"),
    ("AlibabaBgpGroup", ("spec", "localAsn"), 65025, "alibaba-asn"),
    ("AlibabaBgpGroup", ("spec", "localAsn"), [64512], "schema.type"),
    ("AlibabaBgpGroup", ("spec", "regionId"), "AP_SOUTHEAST_1", "schema.pattern"),
    ("AlibabaBgpGroup", ("spec", "routeQuota"), "many", "schema.type"),
    ("AlibabaBgpGroup", ("spec", "authKey"), "plain-text-key", "secret-literal"),
    ("AlibabaBgpGroup", ("metadata", "name"), "Bad_Name", "schema.pattern"),
    ("AlibabaBgpGroup", ("metadata", "name"), "9-starts-with-digit", "alibaba-name"),
    ("AlibabaBgpPeer", ("spec", "peerIpAddress"), "10.0.0.300", "ip-syntax"),
    ("AlibabaBgpPeer", ("spec", "peerIpAddress"), "not-an-ip", "ip-syntax"),
    ("AlibabaBgpPeer", ("spec", "peerIpAddress"), 167772161, "schema.type"),
    ("AlibabaBgpPeer", ("spec", "bfdMultiHop"), 256, "schema.maximum"),
    ("AlibabaBgpPeer", ("spec", "enableBfd"), "true", "schema.type"),
    ("AlibabaBgpPeer", ("metadata", "name"), "-leading-dash", "schema.pattern"),
    ("EquinixBgpPeering", ("spec", "localIpAddress"), "172.16.0.1", "cidr-syntax"),
    ("EquinixBgpPeering", ("spec", "localIpAddress"), "172.16.0.1/33", "cidr-syntax"),
    ("EquinixBgpPeering", ("spec", "remoteIpAddress"), "172.16.0.2/30", "ip-syntax"),
    ("EquinixBgpPeering", ("spec", "remoteAsn"), -1, "schema.minimum"),
    ("EquinixBgpPeering", ("spec", "connectionUuid"), "not-a-uuid", "schema.pattern"),
    ("EquinixBgpPeering", ("spec", "authenticationKey"), 123456, "secret-literal"),
    ("EquinixBgpPeering", ("metadata", "name"), "x" * 64, "schema.pattern"),
]


def line_of(text: str, section: str, key: str) -> int:
    """1-based line of `key:` inside the top-level `section:` of a single dumped document."""
    lines = text.splitlines()
    start = lines.index(f"{section}:")
    for number in range(start + 1, len(lines)):
        if lines[number].startswith(f"  {key}:"):
            return number + 1
    raise AssertionError(f"{section}.{key} not in {text}")


@PROFILE
@given(docs=manifest_sets(), corruption=st.sampled_from(CORRUPTIONS), data=st.data())
def test_a_single_corrupted_field_is_caught_at_its_path_and_line(
    docs: list[dict[str, Any]], corruption: tuple[str, tuple[str, str], Any, str], data: st.DataObject
) -> None:
    kind, (section, key), bad, code = corruption
    candidates = [i for i, d in enumerate(docs) if d["kind"] == kind]
    if not candidates:  # no document of that kind in this set: add one
        base = {
            "AlibabaBgpGroup": {
                "regionId": "cn-hongkong",
                "virtualBorderRouterId": "vbr-extra0000000000001",
                "peerAsn": 65010,
            },
            "AlibabaBgpPeer": {"bgpGroupId": "bgpg-extra", "regionId": "cn-hongkong", "peerIpAddress": "10.9.9.9"},
        }[kind]
        docs = [*docs, document(kind, "extra-doc", dict(base))]
        candidates = [len(docs) - 1]
    target = data.draw(st.sampled_from(candidates))
    docs[target][section][key] = bad
    if key == "bfdMultiHop":
        docs[target]["spec"]["enableBfd"] = True
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "all.yaml"
        texts = [dump([d]) for d in docs]
        path.write_text("---\n".join(texts), encoding="utf-8")
        expected_line = sum(t.count("\n") + 1 for t in texts[:target]) + line_of(texts[target], section, key)
        manifests = load_manifests([path])
    found = [d for d in manifests.diagnostics if d.path == f"{section}.{key}" and d.line == expected_line]
    assert found, (expected_line, [str(d) for d in manifests.diagnostics])
    assert any(d.code == code for d in found), [str(d) for d in found]
    assert manifests.resources == ()
    if code == "secret-literal":
        assert all(str(bad) not in d.message for d in manifests.diagnostics)


FIELD_NAMES = [
    "apiVersion", "kind", "metadata", "spec", "name", "labels", "link", "driftIgnore", "field", "unmanaged",
    "expires", "regionId", "virtualBorderRouterId", "peerAsn", "localAsn", "authKey", "fromEnv", "fromFile",
    "description", "ipVersion", "routeQuota", "isFakeAsn", "bgpGroup", "bgpGroupId", "peerIpAddress",
    "enableBfd", "bfdMultiHop", "connectionUuid", "localIpAddress", "remoteIpAddress", "remoteAsn",
    "authenticationKey",
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["10.0.0.1", "10.0.0.1/30", "::1", "sg-vbr1", "vbr-x", "45104", "IPv6", "2030-13-45"]),
)
junk = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=25,
)


@PROFILE
@given(
    bodies=st.lists(
        st.tuples(st.sampled_from(["EquinixBgpPeering", "AlibabaBgpGroup", "AlibabaBgpPeer"]), junk, junk),
        min_size=1,
        max_size=6,
    )
)
def test_arbitrary_content_never_crashes_and_always_gets_an_answer(bodies: list[tuple[str, Any, Any]]) -> None:
    docs = [
        {"apiVersion": "reconciler/v1", "kind": kind, "metadata": metadata, "spec": spec}
        for kind, metadata, spec in bodies
    ]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "junk.yaml").write_text(dump(docs), encoding="utf-8")
        manifests = load_manifests([tmp])
    assert manifests.ok == (len(manifests.resources) == len(docs))
    for diag in manifests.diagnostics:
        assert diag.line >= 1 and diag.col >= 1 and diag.code and "\n" not in diag.message
