"""What each cloud derives from the manifests: sandbox seeds and the scopes of one change at a time."""

from __future__ import annotations

from reconciler.clouds import CLOUDS, cloud_of
from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER
from reconciler.clouds.base import Presupposed
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.plan.model import Action, Change
from reconciler.sandbox import Seed

CONNECTION = "80AFC8BE-0ce3-4950-be27-3d3e678e6873"
GROUP = {"regionId": "ap-southeast-1", "virtualBorderRouterId": "vbr-1", "name": "g", "peerAsn": 65010}


def test_the_derived_sandbox_seed_makes_what_the_manifests_need_exist() -> None:
    presupposed = [
        Presupposed(EQUINIX_PEERING, {"connectionUuid": CONNECTION, "localAsn": 65010}),
        Presupposed(ALIBABA_GROUP, {**GROUP, "ipVersion": "IPv6"}),
        Presupposed(ALIBABA_PEER, {"regionId": "cn-hongkong", "bgpGroupId": "bgpg-1", "enableBfd": True}),
    ]
    equinix = CLOUDS["equinix"].sandbox_seed(presupposed)
    alibaba = CLOUDS["alibaba"].sandbox_seed(presupposed)
    assert [c["uuid"] for c in equinix["connections"]] == [CONNECTION.lower()]
    assert equinix["devices"][0]["asn"] == 65010
    assert alibaba["regions"] == ["ap-southeast-1", "cn-hongkong"]
    (vbr,) = alibaba["vbrs"]
    assert vbr["vbrId"] == "vbr-1" and vbr["enableIpv6"] is True
    assert vbr["bfdEnabled"] is True  # BFD is off on real VBRs until asked for: a try-out needs it on
    seed = Seed.from_mapping({"equinix": equinix, "alibaba": alibaba})  # the sandbox reads it
    assert [v.vbr_id for v in seed.vbrs] == ["vbr-1"]


def change(address: str, after: dict[str, object], *, refs: dict[str, str] | None = None, cloud_id: str = "") -> Change:
    kind = address.partition("/")[0]
    return Change(address, kind, Action.CREATE, "", cloud_id=cloud_id or None, after=after, refs=refs or {})


def test_one_change_at_a_time_per_connection_and_per_vbr() -> None:
    group = change(f"{ALIBABA_GROUP}/g", GROUP, cloud_id="bgpg-1")
    by_ref = change(f"{ALIBABA_PEER}/p1", {"peerIpAddress": "10.0.0.1"}, refs={"bgpGroup": group.address})
    by_id = change(f"{ALIBABA_PEER}/p2", {"bgpGroupId": "bgpg-1"})
    elsewhere = change(f"{ALIBABA_PEER}/p3", {"bgpGroupId": "bgpg-9"})
    peering = change(f"{EQUINIX_PEERING}/e", {"connectionUuid": CONNECTION})
    changes = {c.address: c for c in (group, by_ref, by_id, elsewhere, peering)}
    scopes = {a: cloud_of(c.kind).serial_scope(c, changes) for a, c in changes.items()}
    assert scopes == {
        group.address: "VBR vbr-1",
        by_ref.address: "VBR vbr-1",  # its group's VBR, through the reference
        by_id.address: "VBR vbr-1",  # its group's VBR, through the group's id in the plan
        elsewhere.address: "BGP group bgpg-9",  # a group the plan does not know: per group
        peering.address: f"connection {CONNECTION.lower()}",
    }
