"""The shipped examples: valid, documented, and backed by a sandbox seed that has everything
they name."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.manifest import load_manifests, resolve_secrets
from reconciler.model import Resource

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def resources() -> tuple[Resource, ...]:
    manifests = load_manifests([EXAMPLES])
    assert manifests.ok, [str(d) for d in manifests.diagnostics]
    return manifests.resources


@pytest.fixture(scope="module")
def seed() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / "sandbox-seed.yaml").read_text(encoding="utf-8"))
    return data


def test_the_examples_are_valid_and_cover_every_kind(resources: tuple[Resource, ...]) -> None:
    kinds = [r.kind for r in resources]
    assert (kinds.count(EQUINIX_PEERING), kinds.count(ALIBABA_GROUP), kinds.count(ALIBABA_PEER)) == (4, 5, 6)
    links = sorted(r.labels["link"] for r in resources if "link" in r.labels)
    assert links == ["hk-ne1-alibaba", "hk-ne1-alibaba", "sg-ne1-alibaba", "sg-ne1-alibaba"]
    assert any(r.attrs.get("enableBfd") for r in resources)
    assert {r.attrs["regionId"] for r in resources if r.kind == ALIBABA_GROUP} == {"ap-southeast-1", "cn-hongkong"}


def test_the_readme_documents_every_key_and_its_sample_values_resolve(
    resources: tuple[Resource, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    exports = dict(re.findall(r"^export ([A-Z_]+)=(\S+)", readme, flags=re.MULTILINE))
    referenced = {ref.name for r in resources for ref in r.secret_refs.values() if ref.source == "env"}
    assert referenced == set(exports)
    assert all("NotReal" in value for value in exports.values())  # obviously fake
    for name, value in exports.items():
        monkeypatch.setenv(name, value)
    resolved = resolve_secrets(resources)  # also checks Equinix's key rule and linked ends
    assert sum(len(r.secrets) for r in resolved) == 8


def test_the_seed_has_every_device_connection_region_and_vbr(
    resources: tuple[Resource, ...], seed: dict[str, Any]
) -> None:
    connections = {c["uuid"]: c for c in seed["equinix"]["connections"]}
    devices = {d["uuid"]: d for d in seed["equinix"]["devices"]}
    assert {d["name"] for d in devices.values()} == {"sg-ne1", "hk-ne1"}
    for r in resources:
        if r.kind == EQUINIX_PEERING:
            connection = connections[r.attrs["connectionUuid"]]
            device = devices[connection["deviceUuid"]]
            assert connection["state"] == "PROVISIONED"
            assert (device["status"], device["licenseStatus"]) == ("PROVISIONED", "REGISTERED")
            assert device["asn"] == r.attrs["localAsn"]
    assert len(connections) == sum(r.kind == EQUINIX_PEERING for r in resources)

    vbrs = {v["vbrId"]: v for v in seed["alibaba"]["vbrs"]}
    groups = {r.name: r for r in resources if r.kind == ALIBABA_GROUP}
    for grp in groups.values():
        vbr = vbrs[grp.attrs["virtualBorderRouterId"]]
        assert vbr["regionId"] == grp.attrs["regionId"] and vbr["status"] == "active"
        assert grp.attrs["regionId"] in seed["alibaba"]["regions"]
        if grp.attrs["ipVersion"] == "IPv6":
            assert vbr["enableIpv6"] is True
    assert set(vbrs) == {g.attrs["virtualBorderRouterId"] for g in groups.values()}

    for p in resources:
        if p.kind != ALIBABA_PEER or p.attrs["ipVersion"] != "IPv4":
            continue
        vbr = vbrs[groups[p.refs["bgpGroup"].split("/")[1]].attrs["virtualBorderRouterId"]]
        subnet = ipaddress.ip_network(f"{vbr['localGatewayIp']}/{vbr['peeringSubnetMask']}", strict=False)
        assert ipaddress.ip_address(p.attrs["peerIpAddress"]) in subnet, p.address


def test_linked_sessions_match_their_vbr_addresses(resources: tuple[Resource, ...], seed: dict[str, Any]) -> None:
    vbrs = {v["vbrId"]: v for v in seed["alibaba"]["vbrs"]}
    by_address = {r.address: r for r in resources}
    for eq in (r for r in resources if r.kind == EQUINIX_PEERING and "link" in r.labels):
        [peer] = [r for r in resources if r.kind == ALIBABA_PEER and r.labels.get("link") == eq.labels["link"]]
        vbr = vbrs[by_address[peer.refs["bgpGroup"]].attrs["virtualBorderRouterId"]]
        assert vbr["localGatewayIp"] == eq.attrs["remoteIpAddress"]
        assert vbr["peerGatewayIp"] == peer.attrs["peerIpAddress"]
