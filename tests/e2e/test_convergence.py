"""Property: for random manifest sets, plan -> apply -> plan is empty, and so is a second
random set applied on top of the first (updates, replaces, deletes, forgets, adopts)."""

from __future__ import annotations

import ipaddress
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.sandbox import Sandbox, SandboxConfig, Seed
from tests.e2e.conftest import cli, write_documents
from tests.manifest.builders import document

CONNECTIONS = [f"0000000{i}-aaaa-4bbb-8ccc-00000000000{i}" for i in range(1, 5)]
VBRS = [
    ("ap-southeast-1", "vbr-t4nprop000000000000001", False),
    ("ap-southeast-1", "vbr-t4nprop000000000000002", True),
    ("cn-hongkong", "vbr-j6nprop000000000000003", False),
]
SEED = Seed.from_mapping(
    {
        "equinix": {
            "devices": [{"uuid": "d0000000-aaaa-4bbb-8ccc-000000000001", "name": "ne1", "asn": 65010}],
            "connections": [{"uuid": c, "deviceUuid": "d0000000-aaaa-4bbb-8ccc-000000000001"} for c in CONNECTIONS],
        },
        "alibaba": {
            "regions": ["ap-southeast-1", "cn-hongkong"],
            "vbrs": [{"vbrId": v, "regionId": r, "status": "active", "enableIpv6": six} for r, v, six in VBRS],
        },
    }
)
KEYS = {"PROP_KEY_A": "PropKeyAlpha1", "PROP_KEY_B": "PropKeyBravo2"}

asns = st.one_of(st.integers(1, 45103), st.integers(45105, 4294967295))
keys = st.sampled_from([None, "PROP_KEY_A", "PROP_KEY_B"])


def description_of(text: str) -> str:
    """A description Alibaba accepts (2-256 characters, starting with a letter) made of `text`,
    which may be spaces only."""
    return "L" + (text.strip() or "x")


words = st.text(alphabet="abcdefghij klmnop", min_size=2, max_size=20).map(description_of)


@pytest.mark.parametrize("text", ["  ", " a ", "abc"])
def test_the_descriptions_drawn_are_ones_alibaba_accepts(text: str) -> None:
    description = description_of(text)
    assert 2 <= len(description) <= 256 and description[0].isalpha()


@st.composite
def equinix_doc(draw: st.DrawFn, index: int) -> dict[str, Any]:
    subnet = ipaddress.ip_network(f"169.254.{draw(st.integers(0, 63)) * 4}.0/30")
    local, remote = list(subnet.hosts())
    if draw(st.booleans()):
        local, remote = remote, local
    spec: dict[str, Any] = {
        "connectionUuid": CONNECTIONS[index],
        "localIpAddress": f"{local}/30",
        "localAsn": draw(asns),
        "remoteIpAddress": str(remote),
        "remoteAsn": draw(asns),
    }
    key = draw(keys)
    if key:
        spec["authenticationKey"] = {"fromEnv": key}
    return document("EquinixBgpPeering", f"eq-{index}", spec)


@st.composite
def alibaba_docs(draw: st.DrawFn, vbr_index: int) -> list[dict[str, Any]]:
    region, vbr, ipv6 = VBRS[vbr_index]
    version = "IPv6" if ipv6 and draw(st.booleans()) else "IPv4"
    name = f"g{vbr_index}-{draw(st.sampled_from(['a', 'b']))}"
    spec: dict[str, Any] = {
        "regionId": region,
        "virtualBorderRouterId": vbr,
        "peerAsn": draw(asns),
        "ipVersion": version,
        "description": draw(words),
        "routeQuota": draw(st.integers(1, 110)),
        "isFakeAsn": draw(st.booleans()),
    }
    key = draw(keys)
    if key:
        spec["authKey"] = {"fromEnv": key}
    docs = [document("AlibabaBgpGroup", name, spec)]
    hosts = draw(st.lists(st.integers(2, 60), min_size=0, max_size=3, unique=True))
    for i, host in enumerate(hosts):
        bfd = draw(st.booleans())
        peer: dict[str, Any] = {
            "bgpGroup": name,
            "peerIpAddress": f"2001:db8:{vbr_index}::{host:x}" if version == "IPv6" else f"10.{vbr_index}.0.{host}",
            "enableBfd": bfd,
        }
        if bfd:
            peer["bfdMultiHop"] = draw(st.integers(1, 255))
        docs.append(document("AlibabaBgpPeer", f"{name}-p{i}", peer))
    return docs


@st.composite
def manifest_set(draw: st.DrawFn) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for index in draw(st.sets(st.integers(0, len(CONNECTIONS) - 1), max_size=3)):
        docs.append(draw(equinix_doc(index)))
    for vbr_index in draw(st.sets(st.integers(0, len(VBRS) - 1), max_size=3)):
        docs += draw(alibaba_docs(vbr_index))
    return docs


def apply_and_check(root: Path, docs: list[dict[str, Any]]) -> None:
    for old in root.glob("bgp/*.yaml"):
        old.unlink()
    if not docs:
        return
    write_documents(root / "bgp" / "all.yaml", docs)
    applied = cli("apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    again = cli("plan", "bgp", "--detailed-exitcode")
    assert again.code == 0, again.both


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=manifest_set(), second=manifest_set())
def test_plan_apply_plan_is_empty_for_random_manifests(
    monkeypatch: pytest.MonkeyPatch, first: list[dict[str, Any]], second: list[dict[str, Any]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp, Sandbox(SEED, config=SandboxConfig()) as box:
        root = Path(tmp)
        monkeypatch.chdir(root)
        for name, value in {**KEYS, **box.env()}.items():
            monkeypatch.setenv(name, value)
        os.environ.pop("RECONCILER_STATE", None)
        apply_and_check(root, first)
        apply_and_check(root, second)
