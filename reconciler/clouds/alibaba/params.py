"""The SDK parameters of each Alibaba kind's Create, Modify and Delete actions
(docs/cloud-apis.md, Alibaba §3).

`KIND_PARAMS` holds one entry per kind: the provider builds every mutation from it, so a new kind
is a new entry, not another branch. Parameters are the SDK request models' keyword arguments
(snake_case); attributes are normalised manifest values. The provider adds `client_token`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.clouds.alibaba.kinds import ALIBABA_ASN, ALIBABA_GROUP, ALIBABA_PEER, KEY_FIELD
from reconciler.model import SecretValue

SdkParams = dict[str, Any]
Attrs = Mapping[str, Any]
Secrets = Mapping[str, SecretValue | None]


@dataclass(frozen=True, slots=True)
class KindParams:
    """The mutating actions of one kind and how their parameters are built."""

    create: str  # the action
    created_id: str  # the reply field holding the new object's id
    create_params: Callable[[Attrs, Secrets, str], SdkParams]  # (attrs, secrets, manifest name)
    modify: str
    modify_ids: Callable[[str, Attrs], SdkParams]  # (cloud id, attrs): which object
    modify_changes: Callable[[Attrs, Secrets, Sequence[str]], SdkParams]  # only the `changed` fields
    delete: str
    delete_id: str  # the parameter naming the object


def _auth_key(secrets: Secrets) -> SdkParams:
    key = secrets.get(KEY_FIELD)
    return {"auth_key": key.reveal()} if key is not None else {}


def _create_group(attrs: Attrs, secrets: Secrets, name: str) -> SdkParams:
    params: SdkParams = {
        "router_id": attrs["virtualBorderRouterId"],
        "name": attrs.get("name") or name,
        "peer_asn": attrs["peerAsn"],
        "ip_version": attrs.get("ipVersion"),
        "route_quota": attrs.get("routeQuota"),
        "is_fake_asn": attrs.get("isFakeAsn"),
    }
    if attrs.get("description"):  # a create refuses an empty one (docs/cloud-apis.md, Alibaba §10)
        params["description"] = attrs["description"]
    # Public accounts may not set LocalAsn: it is sent only when it is not Alibaba's own 45104
    # (docs/cloud-apis.md, Alibaba §9).
    if attrs.get("localAsn") not in (None, ALIBABA_ASN):
        params["local_asn"] = attrs["localAsn"]
    return {**params, **_auth_key(secrets)}


# Group attributes a modify may change, and their parameter names.
_GROUP_MODIFIABLE = {
    "name": "name",
    "description": "description",
    "peerAsn": "peer_asn",
    "localAsn": "local_asn",
    "isFakeAsn": "is_fake_asn",
    "routeQuota": "route_quota",
}


def _modify_group(attrs: Attrs, secrets: Secrets, changed: Sequence[str]) -> SdkParams:
    changes = {_GROUP_MODIFIABLE[f]: attrs.get(f) for f in changed if f in _GROUP_MODIFIABLE}
    if KEY_FIELD in changed:
        changes.update(_auth_key(secrets) or {"clear_auth_key": True})  # no key wanted: clear it
    return changes


def _create_peer(attrs: Attrs, secrets: Secrets, name: str) -> SdkParams:
    params: SdkParams = {
        "bgp_group_id": attrs["bgpGroupId"],
        "peer_ip_address": attrs.get("peerIpAddress"),
        "enable_bfd": bool(attrs.get("enableBfd")),
        "ip_version": attrs.get("ipVersion"),
    }
    if attrs.get("enableBfd"):  # the hop count only with BFD on (docs/cloud-apis.md, Alibaba §11)
        params["bfd_multi_hop"] = attrs.get("bfdMultiHop")
    return params


def _modify_peer(attrs: Attrs, secrets: Secrets, changed: Sequence[str]) -> SdkParams:
    changes: SdkParams = {}
    if "peerIpAddress" in changed:
        changes["peer_ip_address"] = attrs.get("peerIpAddress")
    if not changes and "enableBfd" not in changed and "bfdMultiHop" not in changed:
        return changes
    # The SDK documents EnableBfd as "false (default)": a modify without it may turn BFD off.
    # It is always sent, with the hop count when BFD is on (docs/cloud-apis.md, Alibaba §11).
    changes["enable_bfd"] = bool(attrs.get("enableBfd"))
    if attrs.get("enableBfd"):
        changes["bfd_multi_hop"] = attrs.get("bfdMultiHop")
    return changes


KIND_PARAMS: Mapping[str, KindParams] = {
    ALIBABA_GROUP: KindParams(
        create="CreateBgpGroup",
        created_id="BgpGroupId",
        create_params=_create_group,
        modify="ModifyBgpGroupAttribute",
        modify_ids=lambda cloud_id, attrs: {"bgp_group_id": cloud_id},
        modify_changes=_modify_group,
        delete="DeleteBgpGroup",
        delete_id="bgp_group_id",
    ),
    ALIBABA_PEER: KindParams(
        create="CreateBgpPeer",
        created_id="BgpPeerId",
        create_params=_create_peer,
        modify="ModifyBgpPeerAttribute",
        modify_ids=lambda cloud_id, attrs: {"bgp_peer_id": cloud_id, "bgp_group_id": attrs.get("bgpGroupId")},
        modify_changes=_modify_peer,
        delete="DeleteBgpPeer",
        delete_id="bgp_peer_id",
    ),
}
