"""Hand-built plans for the rendering, plan-file and `show` tests: every action, every marker."""

from __future__ import annotations

from reconciler.clouds import KINDS
from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.model import SecretValue
from reconciler.plan.model import Action, Change, FieldChange, Plan, SecretChange, SecretDigest

LINEAGE = "6f1c2a9e-3b7d-4c55-9a2e-1d2f3a4b5c6d"
CONN_OLD = "80afc8be-0ce3-4950-be27-3d3e678e6873"
CONN_NEW = "11111111-2222-4333-8444-555555555555"
FORGET_REASON = f"removed from the manifests; {KINDS[EQUINIX_PEERING].no_delete_reason}"

# A value no renderer may ever print; planted where a careless renderer would look.
FAKE_SECRET = "Zq9-FAKE-BGP-KEY-do-not-print"


def create_group() -> Change:
    return Change(
        address=f"{ALIBABA_GROUP}/sg-vbr2",
        kind=ALIBABA_GROUP,
        name="sg-vbr2",
        action=Action.CREATE,
        provider="alibaba",
        region="ap-southeast-1",
        after={
            "regionId": "ap-southeast-1",
            "virtualBorderRouterId": "vbr-t4nexample0000000002",
            "name": "sg-vbr2",
            "peerAsn": 65010,
            "description": "Singapore VBR 2",
        },
        fields=(
            FieldChange("regionId", after="ap-southeast-1"),
            FieldChange("virtualBorderRouterId", after="vbr-t4nexample0000000002"),
            FieldChange("name", after="sg-vbr2"),
            FieldChange("peerAsn", after=65010),
            FieldChange("description", after="Singapore VBR 2"),
            FieldChange("authKey", sensitive=True, secret_change=SecretChange.ADDED),
        ),
        secret_refs={"authKey": "file:secrets/sg.key"},
    )


def create_peer() -> Change:
    """A peer of a group created in the same apply: its group id is known only after apply."""
    return Change(
        address=f"{ALIBABA_PEER}/sg-vbr2-peer1",
        kind=ALIBABA_PEER,
        name="sg-vbr2-peer1",
        action=Action.CREATE,
        provider="alibaba",
        region="ap-southeast-1",
        after={"regionId": "ap-southeast-1", "peerIpAddress": "10.0.0.1", "enableBfd": True, "bfdMultiHop": 1},
        fields=(
            FieldChange("regionId", after="ap-southeast-1"),
            FieldChange("bgpGroupId", after_unknown=True),
            FieldChange("peerIpAddress", after="10.0.0.1"),
            FieldChange("enableBfd", after=True),
            FieldChange("bfdMultiHop", after=1),
        ),
        after_unknown=("bgpGroupId",),
        refs={"bgpGroup": f"{ALIBABA_GROUP}/sg-vbr2"},
        depends_on=(f"{ALIBABA_GROUP}/sg-vbr2",),
    )


def update_group() -> Change:
    return Change(
        address=f"{ALIBABA_GROUP}/sg-vbr1",
        kind=ALIBABA_GROUP,
        name="sg-vbr1",
        action=Action.UPDATE,
        provider="alibaba",
        cloud_id="bgpg-t4n0000000000000001",
        region="ap-southeast-1",
        before={"regionId": "ap-southeast-1", "name": "sg-vbr1", "peerAsn": 65010},
        after={"regionId": "ap-southeast-1", "name": "sg-vbr1", "peerAsn": 65020},
        fields=(
            FieldChange("peerAsn", before=65010, after=65020),
            FieldChange("authKey", sensitive=True, secret_change=SecretChange.CHANGED),
        ),
        secret_refs={"authKey": "env:SG_BGP_KEY"},
    )


def replace_peering() -> Change:
    return Change(
        address=f"{EQUINIX_PEERING}/sg-ne1",
        kind=EQUINIX_PEERING,
        name="sg-ne1",
        action=Action.REPLACE,
        provider="equinix",
        reason="connectionUuid cannot be changed in place",
        cloud_id="4d5e6f70-1111-4222-8333-944455556666",
        before={"connectionUuid": CONN_OLD, "localAsn": 65010},
        after={"connectionUuid": CONN_NEW, "localAsn": 65010},
        fields=(FieldChange("connectionUuid", before=CONN_OLD, after=CONN_NEW, forces_replacement=True),),
        replace_fields=("connectionUuid",),
    )


def delete_peer() -> Change:
    return Change(
        address=f"{ALIBABA_PEER}/sg-vbr1-peer2",
        kind=ALIBABA_PEER,
        name="sg-vbr1-peer2",
        action=Action.DELETE,
        provider="alibaba",
        reason="removed from the manifests",
        cloud_id="bgpp-t4n0000000000000002",
        region="ap-southeast-1",
        before={"regionId": "ap-southeast-1", "bgpGroupId": "bgpg-t4n0000000000000001", "peerIpAddress": "10.0.0.5"},
        depends_on=(f"{ALIBABA_GROUP}/sg-vbr1",),
    )


def forget_peering() -> Change:
    return Change(
        address=f"{EQUINIX_PEERING}/hk-ne1",
        kind=EQUINIX_PEERING,
        name="hk-ne1",
        action=Action.FORGET,
        provider="equinix",
        reason=FORGET_REASON,
        cloud_id="9a8b7c6d-1111-4222-8333-944455556666",
        before={"connectionUuid": CONN_OLD, "localAsn": 65030},
    )


def adopt_group() -> Change:
    return Change(
        address=f"{ALIBABA_GROUP}/hk-vbr1",
        kind=ALIBABA_GROUP,
        name="hk-vbr1",
        action=Action.ADOPT,
        provider="alibaba",
        reason="renamed from AlibabaBgpGroup/hk-old: the same regionId + virtualBorderRouterId + name is taken over",
        cloud_id="bgpg-j6c0000000000000009",
        region="cn-hongkong",
        before={"regionId": "cn-hongkong", "name": "hk-vbr1", "peerAsn": 65040},
        after={"regionId": "cn-hongkong", "name": "hk-vbr1", "peerAsn": 65040},
        previous_address=f"{ALIBABA_GROUP}/hk-old",
    )


def noop_peer() -> Change:
    attrs = {"regionId": "ap-southeast-1", "peerIpAddress": "10.0.0.1", "enableBfd": False}
    return Change(
        address=f"{ALIBABA_PEER}/sg-vbr1-peer1",
        kind=ALIBABA_PEER,
        name="sg-vbr1-peer1",
        action=Action.NOOP,
        provider="alibaba",
        cloud_id="bgpp-t4n0000000000000001",
        region="ap-southeast-1",
        before=attrs,
        after=attrs,
    )


def drifted_group() -> Change:
    """Someone changed the description by hand: reconciler puts it back."""
    return Change(
        address=f"{ALIBABA_GROUP}/sg-vbr3",
        kind=ALIBABA_GROUP,
        name="sg-vbr3",
        action=Action.UPDATE,
        provider="alibaba",
        reason="changed outside reconciler",
        cloud_id="bgpg-t4n0000000000000003",
        region="ap-southeast-1",
        before={"description": "edited in the console"},
        after={"description": "Singapore VBR 3"},
        fields=(FieldChange("description", before="edited in the console", after="Singapore VBR 3"),),
        outside_change=True,
    )


def sample_changes() -> tuple[Change, ...]:
    return (
        create_group(),
        create_peer(),
        update_group(),
        drifted_group(),
        replace_peering(),
        adopt_group(),
        noop_peer(),
        delete_peer(),
        forget_peering(),
    )


def sample_plan(**overrides: object) -> Plan:
    """Every action once (update twice: with a secret, and drift), fixed provenance."""
    fields: dict[str, object] = {
        "changes": sample_changes(),
        "lineage": LINEAGE,
        "serial": 7,
        "manifests_digest": "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
        "secret_digests": {
            "env:SG_BGP_KEY": SecretDigest(salt="c2FsdC0x", digest="9f86d081884c7d659a2feaa0c55ad015"),
            "file:secrets/sg.key": SecretDigest(salt="c2FsdC0y", digest="60303ae22b998861bce3b28f33eec1be"),
        },
        "created_at": "2025-01-31T09:30:00Z",
        "tool_version": "0.1.0",
        "api_calls": {"alibaba": {"DescribeBgpGroups": 2, "DescribeBgpPeers": 2}, "equinix": {"GET /ne/v1/bgp": 1}},
        "warnings": ("AlibabaBgpGroup/sg-vbr1: routeQuota 110 is the Alibaba default",),
    }
    fields.update(overrides)
    return Plan(**fields)  # type: ignore[arg-type]


def leaky_plan() -> Plan:
    """A plan from a careless planner: the fake secret sits where a renderer might print it."""
    secret = SecretValue(FAKE_SECRET)
    careless_update = Change(
        address=f"{EQUINIX_PEERING}/sg-ne2",
        kind=EQUINIX_PEERING,
        name="sg-ne2",
        action=Action.UPDATE,
        provider="equinix",
        cloud_id="eq-2",
        before={"localAsn": 65010, "authenticationKey": FAKE_SECRET},
        after={"localAsn": 65011, "authenticationKey": secret},
        fields=(
            FieldChange("localAsn", before=65010, after=65011),
            # Values on a sensitive field, and a secret field not flagged sensitive.
            FieldChange("authenticationKey", before=FAKE_SECRET, after=secret, sensitive=True),
        ),
        secret_refs={"authenticationKey": "env:SG_NE2_KEY"},
    )
    unflagged = Change(
        address=f"{ALIBABA_GROUP}/sg-vbr9",
        kind=ALIBABA_GROUP,
        name="sg-vbr9",
        action=Action.CREATE,
        provider="alibaba",
        after={"peerAsn": 65010, "authKey": FAKE_SECRET, "note": secret},
        fields=(
            FieldChange("peerAsn", after=65010),
            FieldChange("authKey", after=FAKE_SECRET),
            FieldChange("note", after=secret),
        ),
    )
    deleted = Change(
        address=f"{ALIBABA_GROUP}/sg-vbr8",
        kind=ALIBABA_GROUP,
        name="sg-vbr8",
        action=Action.DELETE,
        provider="alibaba",
        cloud_id="bgpg-8",
        before={"peerAsn": 65010, "authKey": secret},
    )
    return sample_plan(changes=(careless_update, unflagged, deleted), extra={"debug": {"key": secret}})


def big_plan(n: int = 3000) -> Plan:
    """`n` changes: mostly creates and updates, every 10th a delete, 25th a forget, 50th a replace."""
    changes = []
    for i in range(n):
        name = f"peer-{i:04d}"
        if i % 50 == 0:
            changes.append(
                Change(
                    address=f"{EQUINIX_PEERING}/{name}",
                    kind=EQUINIX_PEERING,
                    name=name,
                    action=Action.REPLACE,
                    provider="equinix",
                    reason="connectionUuid cannot be changed in place",
                    fields=(FieldChange("connectionUuid", before=f"a-{i}", after=f"b-{i}", forces_replacement=True),),
                )
            )
        elif i % 25 == 0:
            changes.append(
                Change(
                    address=f"{EQUINIX_PEERING}/{name}",
                    kind=EQUINIX_PEERING,
                    name=name,
                    action=Action.FORGET,
                    provider="equinix",
                    reason=FORGET_REASON,
                    before={"localAsn": 65000 + i},
                )
            )
        elif i % 10 == 0:
            changes.append(
                Change(
                    address=f"{ALIBABA_PEER}/{name}",
                    kind=ALIBABA_PEER,
                    name=name,
                    action=Action.DELETE,
                    provider="alibaba",
                    reason="removed from the manifests",
                    before={"peerIpAddress": f"10.{i // 250}.{i % 250}.1", "enableBfd": True, "bfdMultiHop": 1},
                )
            )
        else:
            changes.append(
                Change(
                    address=f"{ALIBABA_GROUP}/{name}",
                    kind=ALIBABA_GROUP,
                    name=name,
                    action=Action.UPDATE,
                    provider="alibaba",
                    cloud_id=f"bgpg-{i:020d}",
                    fields=(
                        FieldChange("peerAsn", before=65010, after=65020),
                        FieldChange("description", before=f"old {i}", after=f"new description {i}"),
                    ),
                )
            )
    return sample_plan(changes=tuple(changes), warnings=())
