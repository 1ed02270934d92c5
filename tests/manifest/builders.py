"""Builders for manifest documents used across the tests (valid by default)."""

from __future__ import annotations

from typing import Any

import yaml

CONNECTION = "80afc8be-0ce3-4950-be27-3d3e678e6873"


def document(kind: str, name: str, spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "reconciler/v1", "kind": kind, "metadata": {"name": name, **metadata}, "spec": spec}


def group(name: str = "sg-vbr1", **spec: Any) -> dict[str, Any]:
    labels = spec.pop("labels", None)
    base = {"regionId": "ap-southeast-1", "virtualBorderRouterId": "vbr-t4nexample0000000001", "peerAsn": 65010}
    return document("AlibabaBgpGroup", name, {**base, **spec}, **({"labels": labels} if labels else {}))


def peer(name: str = "sg-vbr1-peer1", bgp_group: str | None = "sg-vbr1", **spec: Any) -> dict[str, Any]:
    labels = spec.pop("labels", None)
    base: dict[str, Any] = {"bgpGroup": bgp_group} if bgp_group else {}
    base["peerIpAddress"] = "10.0.0.1"
    return document("AlibabaBgpPeer", name, {**base, **spec}, **({"labels": labels} if labels else {}))


def equinix(name: str = "sg-ne1-to-alibaba", **spec: Any) -> dict[str, Any]:
    labels = spec.pop("labels", None)
    base = {
        "connectionUuid": CONNECTION,
        "localIpAddress": "10.0.0.1/30",
        "localAsn": 65010,
        "remoteIpAddress": "10.0.0.2",
        "remoteAsn": 45104,
    }
    return document("EquinixBgpPeering", name, {**base, **spec}, **({"labels": labels} if labels else {}))


def dump(docs: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False)
