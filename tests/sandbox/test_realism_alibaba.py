"""The Alibaba behaviours the realism profiles switch (docs/sandbox.md, Profiles), driven through the
real SDK: VBR serialisation, read lag, BFD, ClientToken memory, throttling, spellings and the rarely
seen error codes. Each test names the section of docs/cloud-apis.md whose fact or open question it covers.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from alibabacloud_tea_openapi.exceptions import ThrottlingException
from alibabacloud_vpc20160428 import models as vpc
from alibabacloud_vpc20160428.client import Client
from Tea.exceptions import TeaException

from reconciler.sandbox import Sandbox, SandboxConfig, Seed
from reconciler.sandbox.seed import parse_seed_text

from .conftest import (
    SG,
    VBR_SG1,
    VBR_SG2,
    alibaba_client,
    create_group,
    create_peer,
    describe_groups,
    describe_peers,
    expect_error,
    wait_until,
)

VBR_NO_BFD = "vbr-t4nnobfd0000000000011"
VBR_BFD_ONE = "vbr-t4nbfd1000000000000012"
VBR_DEFAULT_BFD = "vbr-t4nbfddefault00000013"
VBR_HOSTED = "vbr-t4nhosted00000000014"
VBR_NO_TRAFFIC = "vbr-t4nnotraffic0000000015"
VBR_NO_DEVICE = "vbr-t4nnodevice000000016"
VBR_NQA_FULL = "vbr-t4nnqa0000000000000017"
VBR_NETWORKS_FULL = "vbr-t4nnetworks000000018"
VBR_TWO_PCONNS = "vbr-t4ntwopconns00000019"
VBR_BAD_V4 = "vbr-t4nbadv4000000000020"
VBR_BAD_V6 = "vbr-t4nbadv6000000000021"

ACCOUNT_SEED = f"""
alibaba:
  vbrs:
    - {{vbrId: {VBR_NO_BFD}, regionId: {SG}, localGatewayIp: 10.1.0.2, peerGatewayIp: 10.1.0.1,
        peeringSubnetMask: 255.255.255.252, bfdEnabled: false}}
    - {{vbrId: {VBR_BFD_ONE}, regionId: {SG}, localGatewayIp: 10.1.1.2, peerGatewayIp: 10.1.1.1,
        peeringSubnetMask: 255.255.255.248, bfdEnabled: true, bfdSessionQuota: 1}}
    - {{vbrId: {VBR_DEFAULT_BFD}, regionId: {SG}, localGatewayIp: 10.1.2.2, peerGatewayIp: 10.1.2.1,
        peeringSubnetMask: 255.255.255.252}}
    - {{vbrId: {VBR_HOSTED}, regionId: {SG}, peerGatewayIp: 10.1.3.1, hostedConnection: true}}
    - {{vbrId: {VBR_NO_TRAFFIC}, regionId: {SG}, peerGatewayIp: 10.1.4.1, pconnTrafficEnabled: false}}
    - {{vbrId: {VBR_NO_DEVICE}, regionId: {SG}, peerGatewayIp: 10.1.5.1, accessDeviceMissing: true}}
    - {{vbrId: {VBR_NQA_FULL}, regionId: {SG}, peerGatewayIp: 10.1.6.1, nqaQuotaExceeded: true}}
    - {{vbrId: {VBR_NETWORKS_FULL}, regionId: {SG}, peerGatewayIp: 10.1.7.1, bgpNetworkQuotaExceeded: true}}
    - {{vbrId: {VBR_TWO_PCONNS}, regionId: {SG}, peerGatewayIp: 10.1.8.1,
        physicalConnections: [pc-t4n0000000000000001, pc-t4n0000000000000002]}}
    - {{vbrId: {VBR_BAD_V4}, regionId: {SG}, localGatewayIp: 10.1.9.0, peerGatewayIp: 10.1.9.1,
        peeringSubnetMask: 255.255.255.252}}
    - {{vbrId: {VBR_BAD_V6}, regionId: {SG}, enableIpv6: true, localGatewayIp: 10.1.10.2,
        peerGatewayIp: 10.1.10.1, peeringSubnetMask: 255.255.255.252, localIpv6GatewayIp: "2408:4001::2",
        peerIpv6GatewayIp: "2408:4001::1"}}
"""


@pytest.fixture
def account(sandbox: Sandbox) -> Sandbox:
    """The shared sandbox plus VBRs with the account facts of docs/sandbox.md (Seed)."""
    sandbox.add_seed(parse_seed_text(ACCOUNT_SEED, "account-seed.yaml"))
    return sandbox


def modify_group(ali: Client, group_id: str, **fields: Any) -> None:
    ali.modify_bgp_group_attribute(vpc.ModifyBgpGroupAttributeRequest(region_id=SG, bgp_group_id=group_id, **fields))


def modify_peer(ali: Client, peer_id: str, **fields: Any) -> None:
    ali.modify_bgp_peer_attribute(vpc.ModifyBgpPeerAttributeRequest(region_id=SG, bgp_peer_id=peer_id, **fields))


def delete_peer(ali: Client, peer_id: str, **fields: Any) -> None:
    ali.delete_bgp_peer(vpc.DeleteBgpPeerRequest(region_id=SG, bgp_peer_id=peer_id, **fields))


def delete_group(ali: Client, group_id: str) -> None:
    ali.delete_bgp_group(vpc.DeleteBgpGroupRequest(region_id=SG, bgp_group_id=group_id))


def group_row(ali: Client, group_id: str) -> Any:
    rows = describe_groups(ali, bgp_group_id=group_id).bgp_groups.bgp_group
    return rows[0] if rows else None


def peer_row(ali: Client, peer_id: str) -> Any:
    rows = describe_peers(ali, bgp_peer_id=peer_id).bgp_peers.bgp_peer
    return rows[0] if rows else None


def advance(sandbox: Sandbox, seconds: float) -> None:
    """Move the sandbox's clock forward: what was due by then settles at the next request (no
    waiting, so no race with a slow machine)."""
    core = sandbox._core
    assert core is not None
    now = core.now
    core.now = lambda: now() + seconds  # type: ignore[method-assign]


def available(ali: Client, group_id: str) -> bool:
    row = group_row(ali, group_id)
    return row is not None and row.status == "Available"


# -- 1. per-VBR serialisation (OperationConflict) --------------------------------------------------


def test_busy_vbr_refuses_other_changes_with_operation_conflict(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §7 and §13 (OperationConflict, U-A3): while an object on a VBR is Pending, Modifying or
    Deleting, every other mutation on that VBR is refused; other VBRs are not affected."""
    sandbox.configure(alibaba_busy_vbr="conflict", provision_delay=60)
    first = create_group(ali, name="first")  # Pending for a minute
    error = expect_error(lambda: create_group(ali, name="second"), "OperationConflict")
    assert "try it later" in error.data["Message"] and first in error.data["Message"]
    expect_error(lambda: create_peer(ali, first), "OperationConflict")
    expect_error(lambda: modify_group(ali, first, description="Busy VBR"), "OperationConflict")
    expect_error(lambda: delete_group(ali, first), "OperationConflict")
    create_group(ali, vbr=VBR_SG2)  # another VBR
    sandbox.configure(alibaba_busy_vbr="accept")  # the lenient answer: the object's own status decides
    assert create_group(ali, name="third")
    expect_error(lambda: create_peer(ali, first), "InvalidStatus.CannotOperate")


def test_operation_conflict_ends_when_the_vbr_settles(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §7 (OperationConflict is transient: TF alicloud retries it): the same call succeeds
    once nothing on the VBR is changing."""
    sandbox.configure(alibaba_busy_vbr="conflict", provision_delay=60)
    group_id = create_group(ali)
    advance(sandbox, 61)
    peer_id = create_peer(ali, group_id)
    expect_error(lambda: modify_group(ali, group_id, description="Settled"), "OperationConflict")
    advance(sandbox, 61)
    assert peer_row(ali, peer_id).status == "Available"
    modify_group(ali, group_id, description="Settled")
    assert group_row(ali, group_id).status == "Modifying"


# -- 2. read-after-write lag -----------------------------------------------------------------------


def test_new_objects_are_missing_from_describe_for_the_lag(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §7 (read lag, U-A12): a new group is missing from Describe (list and id filter) until
    the lag has passed; the server itself knows it at once."""
    sandbox.configure(alibaba_read_lag=60)
    group_id = create_group(ali)
    assert group_row(ali, group_id) is None
    assert describe_groups(ali).total_count == 0
    create_peer(ali, group_id)  # the server is not lagging: peers can be added
    assert describe_peers(ali).total_count == 0
    sandbox.configure(alibaba_read_lag=0.3)
    later = create_group(ali, vbr=VBR_SG2)
    wait_until(lambda: group_row(ali, later) is not None)
    assert group_row(ali, group_id) is None  # each change keeps the lag it was made with


def test_changed_objects_show_old_values_and_status_for_the_lag(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §7 (read lag, U-A12): after a modify, Describe shows the old values and the old
    status (Available, not Modifying) for the lag; peers show their group's old values too."""
    group_id = create_group(ali, name="before", auth_key="OldKey1")
    peer_id = create_peer(ali, group_id)
    assert group_row(ali, group_id).status == "Available"
    sandbox.configure(alibaba_read_lag=60, provision_delay=30)
    modify_group(ali, group_id, name="after", auth_key="NewKey1")
    row = group_row(ali, group_id)
    assert (row.name, row.status, row.auth_key) == ("before", "Available", "OldKey1")
    assert peer_row(ali, peer_id).auth_key == "OldKey1"
    assert sandbox.objects().alibaba_groups[group_id]["Name"] == "after"  # the truth
    sandbox.configure(alibaba_read_lag=0.3, provision_delay=0)
    modify_peer(ali, peer_id, enable_bfd=True, bfd_multi_hop=3)
    wait_until(lambda: peer_row(ali, peer_id).enable_bfd is True)
    assert peer_row(ali, peer_id).status == "Available"


def test_deleted_objects_linger_for_the_lag(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §7 (read lag): a deleted object stays listed as it was for the lag, although the
    server has let it go (its address is free again)."""
    group_id = create_group(ali)
    peer_id = create_peer(ali, group_id, ip="10.0.0.1")
    assert peer_row(ali, peer_id).status == "Available"
    sandbox.configure(alibaba_read_lag=60)
    delete_peer(ali, peer_id)
    assert peer_row(ali, peer_id).status == "Available"
    assert sandbox.objects().alibaba_peers == {}  # gone (the next request settled the delete)
    sandbox.configure(alibaba_read_lag=0)
    replacement = create_peer(ali, group_id, ip="10.0.0.1")
    assert [p.bgp_peer_id for p in describe_peers(ali).bgp_peers.bgp_peer] == [peer_id, replacement]


def test_deleted_peers_are_listed_as_deleted_for_a_while(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §7 (the documented `Deleted` peer status): a deleted peer lingers as Deleted, still
    blocks its group's delete, but holds neither its address nor a quota slot."""
    sandbox.configure(alibaba_deleted_peer_linger=60)
    group_id = create_group(ali)
    peer_id = create_peer(ali, group_id, ip="10.0.0.1")
    delete_peer(ali, peer_id)
    wait_until(lambda: peer_row(ali, peer_id).status == "Deleted")
    assert peer_row(ali, peer_id).bgp_status == "Idle"
    expect_error(lambda: delete_group(ali, group_id), "DependencyViolation.BgpPeer")
    expect_error(lambda: delete_peer(ali, peer_id), "InvalidStatus.CannotOperate")
    assert create_peer(ali, group_id, ip="10.0.0.1")  # the address is free
    sandbox.configure(alibaba_deleted_peer_linger=0.3)
    other = create_peer(ali, group_id, ip="10.0.0.5")
    delete_peer(ali, other)
    wait_until(lambda: peer_row(ali, other) is None)


# -- 5. ModifyBgpPeerAttribute without EnableBfd ---------------------------------------------------


@pytest.mark.parametrize(("mode", "bfd_after"), [("keep", (True, 3)), ("disable", (False, 0))])
def test_modify_peer_without_enable_bfd(sandbox: Sandbox, ali: Client, mode: str, bfd_after: tuple[bool, int]) -> None:
    """Alibaba §11 (U-A9): EnableBfd's documented default is false, so under `disable` a modify that
    leaves it out turns BFD off; under `keep` BFD stays as it was."""
    sandbox.configure(alibaba_modify_peer_without_bfd=mode)
    group_id = create_group(ali)
    peer_id = create_peer(ali, group_id, ip="10.0.0.1", enable_bfd=True, bfd_multi_hop=3)
    wait_until(lambda: peer_row(ali, peer_id).status == "Available")
    modify_peer(ali, peer_id, peer_ip_address="10.0.0.5")
    row = peer_row(ali, peer_id)
    assert (row.peer_ip_address, (row.enable_bfd, row.bfd_multi_hop)) == ("10.0.0.5", bfd_after)


def test_hop_count_without_enable_bfd_when_absent_means_off(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §11: under `disable`, a hop count without EnableBfd contradicts BFD off."""
    sandbox.configure(alibaba_modify_peer_without_bfd="disable")
    peer_id = create_peer(ali, create_group(ali))
    expect_error(lambda: modify_peer(ali, peer_id, bfd_multi_hop=3), "MissingParam.EnableBfd")


# -- 6. BFD availability -------------------------------------------------------------------------


def test_bfd_needs_to_be_enabled_for_the_vbr(account: Sandbox, ali: Client) -> None:
    """Alibaba §11 (U-A10): BFD on a VBR without it gives QuotaExceeded.BfdSession, on create and when
    a modify turns it on; peers without BFD are fine."""
    group_id = create_group(ali, vbr=VBR_NO_BFD)
    error = expect_error(lambda: create_peer(ali, group_id, ip="10.1.0.1", enable_bfd=True), "QuotaExceeded.BfdSession")
    assert error.data["Message"].startswith("Your Bfd Session number reaches the upper limit.")
    peer_id = create_peer(ali, group_id, ip="10.1.0.1", enable_bfd=False)
    expect_error(lambda: modify_peer(ali, peer_id, enable_bfd=True, bfd_multi_hop=1), "QuotaExceeded.BfdSession")
    modify_peer(ali, peer_id, enable_bfd=False)


def test_bfd_default_for_a_vbr_without_the_field_follows_the_profile(account: Sandbox, ali: Client) -> None:
    """Alibaba §11 (U-A10) and docs/sandbox.md (Seed: bfdEnabled): a VBR without `bfdEnabled` has
    BFD under lenient and realistic, not under pessimistic (alibaba_bfd_default)."""
    group_id = create_group(ali, vbr=VBR_DEFAULT_BFD)
    account.configure(alibaba_bfd_default=False)
    expect_error(
        lambda: create_peer(ali, group_id, ip="10.1.2.1", enable_bfd=True, bfd_multi_hop=1),
        "QuotaExceeded.BfdSession",
    )
    account.configure(alibaba_bfd_default=True)
    assert create_peer(ali, group_id, ip="10.1.2.1", enable_bfd=True, bfd_multi_hop=1)
    assert SandboxConfig.for_profile("realistic").alibaba_bfd_default is True
    assert SandboxConfig.for_profile("pessimistic").alibaba_bfd_default is False


def test_bfd_session_quota_of_the_device(account: Sandbox, ali: Client) -> None:
    """Alibaba §11 and §13 (the second QuotaExceeded.BfdSession message): `bfdSessionQuota` BFD peers
    per VBR."""
    group_id = create_group(ali, vbr=VBR_BFD_ONE)
    create_peer(ali, group_id, ip="10.1.1.1", enable_bfd=True, bfd_multi_hop=1)
    error = expect_error(
        lambda: create_peer(ali, group_id, ip="10.1.1.3", enable_bfd=True, bfd_multi_hop=1),
        "QuotaExceeded.BfdSession",
    )
    assert error.data["Message"] == "The Bfd Session on device reaches the upper limit."
    assert create_peer(ali, group_id, ip="10.1.1.3", enable_bfd=False)


# -- 7. ClientToken memory -----------------------------------------------------------------------


def test_refused_client_token_replays_its_refusal(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §4 (U-A4): with `alibaba_token_remembers_refusals`, a token refused with a 4xx answers
    the same refusal ever after, even once the cause is gone; a fresh token works."""
    sandbox.configure(alibaba_token_remembers_refusals=True, provision_delay=60)
    group_id = create_group(ali)  # Pending for a minute
    first = expect_error(lambda: create_peer(ali, group_id, client_token="peer-1"), "InvalidStatus.CannotOperate")
    advance(sandbox, 61)
    assert available(ali, group_id)
    again = expect_error(lambda: create_peer(ali, group_id, client_token="peer-1"), "InvalidStatus.CannotOperate")
    assert again.data["Message"] == first.data["Message"]
    expect_error(
        lambda: create_peer(ali, group_id, ip="10.0.0.5", client_token="peer-1"), "IdempotentParameterMismatch"
    )
    assert create_peer(ali, group_id, client_token="peer-2")


def test_refusals_are_not_remembered_by_default(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §4 (U-A4, the lenient and realistic reading): a failed call does not consume its token."""
    sandbox.configure(provision_delay=60)
    group_id = create_group(ali)
    expect_error(lambda: create_peer(ali, group_id, client_token="peer-1"), "InvalidStatus.CannotOperate")
    advance(sandbox, 61)
    peer_id = create_peer(ali, group_id, client_token="peer-1")
    assert create_peer(ali, group_id, client_token="peer-1") == peer_id


def test_operation_conflict_is_never_remembered(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §4 and §13: TF alicloud retries OperationConflict with the same token, so even when
    refusals are remembered, that one is not."""
    sandbox.configure(alibaba_token_remembers_refusals=True, alibaba_busy_vbr="conflict", provision_delay=60)
    create_group(ali, name="first")
    expect_error(lambda: create_group(ali, name="second", client_token="second"), "OperationConflict")
    advance(sandbox, 61)
    assert create_group(ali, name="second", client_token="second")


def test_client_tokens_expire(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §4 (U-A4): after `alibaba_token_ttl` seconds a token is new again, and the same call
    makes a second object."""
    sandbox.configure(alibaba_token_ttl=60)
    first = create_group(ali, client_token="once")
    assert create_group(ali, client_token="once") == first
    sandbox.configure(alibaba_token_ttl=0.3)  # measured from the token's first use
    wait_until(lambda: create_group(ali, client_token="once") != first)
    assert describe_groups(ali).total_count == 2


# -- 8. throttling by default ---------------------------------------------------------------------


def _burst(call: Any, count: int = 60) -> list[BaseException | None]:
    def one(_: int) -> BaseException | None:
        try:
            call()
        except TeaException as exc:
            return exc
        return None

    with ThreadPoolExecutor(20) as pool:
        return list(pool.map(one, range(count)))


@pytest.fixture
def realistic(seed: Seed) -> Iterator[Sandbox]:
    with Sandbox(seed, config=SandboxConfig.for_profile("realistic", random_seed=7)) as running:
        yield running


def test_realistic_profile_throttles_a_burst(realistic: Sandbox) -> None:
    """Alibaba §13 (Throttling.User, U-A19): realistic throttles at 20 requests/s per API with
    `x-acs-retry-after`, which the SDK raises as ThrottlingException; a few calls pass."""
    client = alibaba_client(realistic)
    for _ in range(5):
        describe_groups(client)
    throttled: list[BaseException | None] = []
    wait_until(lambda: any(throttled.extend(_burst(lambda: describe_groups(client))) or throttled), timeout=20)
    errors = [e for e in throttled if e is not None]
    assert errors and all(isinstance(e, ThrottlingException) for e in errors)
    assert all(e.code == "Throttling.User" for e in errors)  # type: ignore[attr-defined]


def test_pessimistic_throttling_has_no_retry_hint(seed: Seed) -> None:
    """Alibaba §13 (U-A19): pessimistic throttles at 5 requests/s and says nothing about when to retry."""
    with Sandbox(seed, config=SandboxConfig.for_profile("pessimistic")) as sandbox:
        client = alibaba_client(sandbox)
        throttled: list[BaseException | None] = []
        wait_until(lambda: any(throttled.extend(_burst(lambda: describe_groups(client), 20)) or throttled))
        errors = [e for e in throttled if e is not None]
        assert errors and not any(isinstance(e, ThrottlingException) for e in errors)
        assert {e.code for e in errors} == {"Throttling.User"}  # type: ignore[attr-defined]


# -- 9. spellings --------------------------------------------------------------------------------


def test_description_error_code_spelling(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §10 and §13: the docs spell the code InvalidBgpDiscription.Malformed on one page;
    realistic answers with that spelling."""
    expect_error(lambda: create_group(ali, description="http://x"), "InvalidBgpDescription.Malformed")
    sandbox.configure(profile="realistic", alibaba={"throttle_rps": None})
    expect_error(lambda: create_group(ali, description="http://x"), "InvalidBgpDiscription.Malformed")


@pytest.mark.parametrize(
    ("case", "group", "peer"),
    [("IPv4", "IPv4", "IPv4"), ("IPV4", "IPV4", "IPV4"), ("ipv4", "ipv4", "ipv4"), ("mixed", "IPV4", "ipv4")],
)
def test_ip_version_spelling_in_replies(sandbox: Sandbox, ali: Client, case: str, group: str, peer: str) -> None:
    """Alibaba §12: the docs write IPv4, IPV4 and ipv4; replies may use any (`mixed`: groups one way,
    peers another)."""
    sandbox.configure(alibaba_ip_version_case=case)
    group_id = create_group(ali, ip_version="IPv4")
    peer_id = create_peer(ali, group_id)
    assert (group_row(ali, group_id).ip_version, peer_row(ali, peer_id).ip_version) == (group, peer)
    v6 = create_group(ali, ip_version="ipv6", name="v6")
    assert group_row(ali, v6).ip_version == group.replace("4", "6")


# -- 10. the rarely seen codes --------------------------------------------------------------------


def test_empty_required_parameter(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §13 (InvalidParams.NotNull): a required parameter sent empty; absent stays MissingParameter."""
    request = vpc.CreateBgpPeerRequest(region_id=SG, bgp_group_id="")
    expect_error(lambda: ali.create_bgp_peer(request), "MissingParameter")
    sandbox.configure(alibaba_empty_param_code="InvalidParams.NotNull")
    error = expect_error(lambda: ali.create_bgp_peer(request), "InvalidParams.NotNull")
    assert error.data["Message"].startswith("params must not null.")
    expect_error(lambda: ali.create_bgp_peer(vpc.CreateBgpPeerRequest(region_id=SG)), "MissingParameter")


def test_group_names_unique_per_vbr(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §13 (InvalidParams.AlreadyExists, unconfirmed condition): a Name another group on the
    VBR has, on create and on rename; other VBRs may reuse it."""
    first = create_group(ali, name="edge")
    twin = create_group(ali, name="edge")  # lenient: names are not unique
    wait_until(lambda: available(ali, twin))
    delete_group(ali, twin)
    sandbox.configure(alibaba_unique_group_names=True)
    expect_error(lambda: create_group(ali, name="edge"), "InvalidParams.AlreadyExists")
    other = create_group(ali, name="core")
    expect_error(lambda: modify_group(ali, other, name="edge"), "InvalidParams.AlreadyExists")
    modify_group(ali, first, name="edge")  # its own name
    assert create_group(ali, vbr=VBR_SG2, name="edge")


@pytest.mark.parametrize(
    ("vbr", "code"),
    [
        (VBR_HOSTED, "UnsupportedFeature.Vpconn"),
        (VBR_NO_TRAFFIC, "OperationFailed.PconnTrafficNotEnable"),
        (VBR_NO_DEVICE, "InvalidAccessDeviceId.NotFound"),
        (VBR_NQA_FULL, "QuotaExceeded.Nqa"),
        (VBR_NETWORKS_FULL, "QuotaExceeded.BgpNetwork"),
    ],
)
def test_account_facts_refuse_peers(account: Sandbox, ali: Client, vbr: str, code: str) -> None:
    """Alibaba §13 (codes of CreateBgpPeer, unconfirmed conditions; docs/sandbox.md, Seed): what the
    seed says about a VBR's physical connection, its device and its quotas."""
    if vbr == VBR_NO_TRAFFIC:
        expect_error(lambda: create_group(ali, vbr=vbr), code)
        account.add_seed(parse_seed_text(f"alibaba: {{vbrs: [{{vbrId: {vbr}, regionId: {SG}}}]}}", "fix"))
        group_id = create_group(ali, vbr=vbr)
        account.add_seed(parse_seed_text(ACCOUNT_SEED, "account-seed.yaml"))
    else:
        group_id = create_group(ali, vbr=vbr)
    expect_error(lambda: create_peer(ali, group_id, ip=None), code)


def test_several_physical_connections_need_a_peer_address(account: Sandbox, ali: Client) -> None:
    """Alibaba §13 (InvalidPeerIpAddress, "multi pconn peer ip can not be null"): a VBR on several
    physical connections, shown in AssociatedPhysicalConnections."""
    group_id = create_group(ali, vbr=VBR_TWO_PCONNS)
    expect_error(lambda: create_peer(ali, group_id, ip=None), "InvalidPeerIpAddress")
    assert create_peer(ali, group_id, ip="10.1.8.1")
    vbrs = ali.describe_virtual_border_routers(
        vpc.DescribeVirtualBorderRoutersRequest(
            region_id=SG, filter=[vpc.DescribeVirtualBorderRoutersRequestFilter(key="VbrId", value=[VBR_TWO_PCONNS])]
        )
    ).body.virtual_border_router_set.virtual_border_router_type
    pconns = vbrs[0].associated_physical_connections.associated_physical_connection
    assert [p.physical_connection_id for p in pconns] == ["pc-t4n0000000000000001", "pc-t4n0000000000000002"]


def test_specific_duplicate_address_codes(sandbox: Sandbox, ali: Client) -> None:
    """Alibaba §13 (DuplicatedParam.LocalIpAddress / LocalIpv6Address / PeerIpv6Address, unconfirmed
    conditions): a peer address equal to the VBR's own, and an IPv6 address another peer of the group has."""
    v4 = create_group(ali)
    expect_error(lambda: create_peer(ali, v4, ip="10.0.0.2"), "IllegalParam.PeerIpAddress")
    sandbox.configure(alibaba_specific_ip_codes=True)
    expect_error(lambda: create_peer(ali, v4, ip="10.0.0.2"), "DuplicatedParam.LocalIpAddress")
    v6 = create_group(ali, ip_version="IPv6", name="v6")
    expect_error(lambda: create_peer(ali, v6, ip="2408:4000::2"), "DuplicatedParam.LocalIpv6Address")
    first = create_peer(ali, v6, ip="2408:4000::1")
    second = create_peer(ali, v6, ip="2408:4000::3")
    wait_until(lambda: peer_row(ali, second).status == "Available")
    expect_error(lambda: modify_peer(ali, second, peer_ip_address="2408:4000::1"), "DuplicatedParam.PeerIpv6Address")
    assert first
    peer = create_peer(ali, v4, ip="10.0.0.1")
    expect_error(lambda: create_peer(ali, v4, ip="10.0.0.1"), "BgpPeer.Already.Exists")
    assert peer


def test_vbr_addressing_must_make_sense(account: Sandbox, ali: Client) -> None:
    """Alibaba §13 (IllegalParam.LocalGatewayIpAndMask / PeeringIpv6SubnetMask, unconfirmed
    conditions): a VBR whose own gateway address and mask do not fit together."""
    v4 = create_group(ali, vbr=VBR_BAD_V4)  # 10.1.9.0 is the network address of its /30
    assert create_peer(ali, v4, ip="10.1.9.1")  # lenient: not checked
    account.configure(alibaba_check_vbr_addressing=True)
    expect_error(lambda: create_peer(ali, v4, ip="10.1.9.2"), "IllegalParam.LocalGatewayIpAndMask")
    v6 = create_group(ali, vbr=VBR_BAD_V6, ip_version="IPv6")  # IPv6 gateways but no prefix length
    expect_error(lambda: create_peer(ali, v6, ip="2408:4001::1"), "IllegalParam.PeeringIpv6SubnetMask")
    good = create_group(ali, vbr=VBR_BAD_V6)
    assert create_peer(ali, good, ip="10.1.10.1")  # its IPv4 side is fine
    assert create_peer(ali, create_group(ali, vbr=VBR_SG1), ip="10.0.0.1")
