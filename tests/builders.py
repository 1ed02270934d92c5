"""Builders for desired resources, state entries and live objects, by hand (no manifests, no
cloud): shared by the planner and drift tests."""

from __future__ import annotations

from typing import Any

from reconciler.clouds import KINDS
from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.model import DriftIgnore, LiveObject, Resource, SecretRef, SecretValue, StateDoc, StateResource

CONN = "80afc8be-0ce3-4950-be27-3d3e678e6873"
CONN_OTHER = "11111111-0ce3-4950-be27-3d3e678e6873"
VBR = "vbr-t4nexample0000000001"
VBR_OTHER = "vbr-t4nexample0000000009"


def equinix(
    name: str = "sg-ne1", conn: str = CONN, key: str | None = None, ignore: tuple[DriftIgnore, ...] = (), **over: Any
) -> Resource:
    attrs = {
        "connectionUuid": conn,
        "localIpAddress": "10.0.0.1/30",
        "localAsn": 65010,
        "remoteIpAddress": "10.0.0.2",
        "remoteAsn": 45104,
        **over,
    }
    refs = {"authenticationKey": SecretRef("env", "SG_KEY")} if key else {}
    secrets = {"authenticationKey": SecretValue(key)} if key else {}
    return Resource(EQUINIX_PEERING, name, KINDS[EQUINIX_PEERING].normalise(attrs), refs, secrets, drift_ignore=ignore)


def group(name: str = "sg-vbr1", vbr: str = VBR, ignore: tuple[DriftIgnore, ...] = (), **over: Any) -> Resource:
    attrs = {"regionId": "ap-southeast-1", "virtualBorderRouterId": vbr, "name": name, "peerAsn": 65010, **over}
    return Resource(ALIBABA_GROUP, name, KINDS[ALIBABA_GROUP].normalise(attrs), drift_ignore=ignore)


def peer(
    name: str = "sg-vbr1-p1",
    grp: str | None = "sg-vbr1",
    ip: str = "10.0.0.1",
    ignore: tuple[DriftIgnore, ...] = (),
    **over: Any,
) -> Resource:
    attrs = {"peerIpAddress": ip, "enableBfd": True, "bfdMultiHop": 1, **over}
    refs = {"bgpGroup": f"{ALIBABA_GROUP}/{grp}"} if grp else {}
    return Resource(ALIBABA_PEER, name, KINDS[ALIBABA_PEER].normalise(attrs), refs=refs, drift_ignore=ignore)


def live_of(
    resource: Resource,
    cloud_id: str,
    *,
    key: str | None = None,
    session: str | None = "Established",
    since: str | None = None,
    status: Any = "ready",
    raw_status: str = "",
    **attrs: Any,
) -> LiveObject:
    info = KINDS[resource.kind]
    merged = {**resource.attrs, **attrs}
    secrets = {f: (SecretValue(key) if key else None) for f in info.secret_fields}
    return LiveObject(
        resource.kind,
        cloud_id,
        info.region_of(merged),
        info.normalise(merged),
        status=status,
        raw_status=raw_status,
        secrets=secrets,
        session=session if resource.kind != ALIBABA_GROUP else None,
        session_since=since,
    )


def live_peer(resource: Resource, cloud_id: str, group_id: str, **kw: Any) -> LiveObject:
    return live_of(resource, cloud_id, bgpGroupId=group_id, regionId="ap-southeast-1", **kw)


def state_of(*entries: tuple[Resource, str, dict[str, Any]]) -> StateDoc:
    resources = {}
    for resource, cloud_id, attrs in entries:
        merged = {**resource.attrs, **attrs}
        resources[resource.address] = StateResource(
            resource.address, resource.kind, cloud_id, KINDS[resource.kind].region_of(merged), merged
        )
    return StateDoc(lineage="lin-1", serial=7, resources=resources)
