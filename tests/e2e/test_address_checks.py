"""Live address checks in `plan` and `apply PATH...` end to end: every VBR the groups name is read
once, and an address of a linked session that cannot form it with the VBR's gateway addresses stops
the plan before any mutating call (docs/architecture.md, Plan)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.clouds.alibaba.provider import AlibabaProvider
from reconciler.errors import ProviderError
from reconciler.sandbox import Sandbox, load_seed
from tests.e2e.conftest import EXAMPLES, cli, edit_document, live_counts, profile_config

VBR_READ = "DescribeVirtualBorderRouters"
SG_VBR = "vbr-t4nsgequinix000000001"
COLO_VBR = "vbr-t4nsgcolo0000000000002"


@pytest.fixture
def sandbox(sandbox_profile: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The examples' seed with IPv6 gateway addresses on the colo VBR too, so that every VBR the
    examples name carries the addresses of the family its peers use."""
    seed = (EXAMPLES / "sandbox-seed.yaml").read_text()
    colo = f"vbrId: {COLO_VBR}, "
    assert colo in seed
    seed = seed.replace(
        colo,
        f"{colo}localIpv6GatewayIp: '2001:db8:10::1', peerIpv6GatewayIp: '2001:db8:10::2', "
        "peeringIpv6SubnetMask: '126', ",
    )
    path = tmp_path_factory.mktemp("seed") / "seed.yaml"
    path.write_text(seed)
    with Sandbox(load_seed(path), config=profile_config(sandbox_profile)) as box:
        yield box


def mutating(box: Sandbox) -> dict[str, int]:
    """The requests that change something in either cloud."""
    reads = ("Describe", "GET ", "POST /oauth2/")
    return {name: n for name, n in box.request_counts().items() if not any(r in name for r in reads)}


def test_the_examples_plan_with_no_finding_and_each_vbr_region_read_once(project: Path, sandbox: Sandbox) -> None:
    result = cli("plan", "bgp", "--format", "json")
    assert result.code == 0, result.both
    data: dict[str, Any] = json.loads(result.out)
    assert data["warnings"] == []
    # One filtered read per region: both regions' VBRs, each named VBR once.
    assert data["api_calls"]["alibaba"][VBR_READ] == 2
    assert sandbox.request_counts()[f"alibaba {VBR_READ}"] == 2


def test_a_linked_peer_ip_that_is_not_the_vbrs_peer_gateway_stops_plan_and_apply(
    project: Path, sandbox: Sandbox
) -> None:
    # Both ends agree (validation passes), but the VBR's peer gateway is 10.0.0.1.
    peer_file = edit_document(project / "bgp", "AlibabaBgpPeer", "sg-vbr1-ne1", peerIpAddress="10.0.0.3")
    edit_document(project / "bgp", "EquinixBgpPeering", "sg-ne1-to-alibaba", localIpAddress="10.0.0.3/29")
    assert cli("validate", "bgp").code == 0
    sandbox.reset_request_counts()
    plan = cli("plan", "bgp")
    assert plan.code == 1, plan.both
    assert "Traceback" not in plan.both
    line = next(line for line in plan.err.splitlines() if "spec.peerIpAddress" in line)
    assert re.search(rf"{re.escape(str(peer_file.relative_to(project)))}:\d+:\d+: spec\.peerIpAddress: ", line), line
    assert "10.0.0.3 is not the VBR's peer gateway IP" in line and "peer gateway 10.0.0.1" in line, line
    assert SG_VBR in line and "10.0.0.0/30" in line, line
    assert "--allow-address-mismatch" in plan.err
    assert sandbox.request_counts()[f"alibaba {VBR_READ}"] == 2

    applied = cli("apply", "bgp", "--auto-approve")
    assert applied.code == 1, applied.both
    assert "10.0.0.3 is not the VBR's peer gateway IP" in applied.err
    assert mutating(sandbox) == {}, "a refused plan sent a mutating call"
    assert sum(live_counts(sandbox).values()) == 0


def test_equinix_remote_ip_that_is_not_the_vbrs_local_gateway_is_an_error(project: Path, sandbox: Sandbox) -> None:
    path = edit_document(
        project / "bgp",
        "EquinixBgpPeering",
        "sg-ne1-to-alibaba",
        localIpAddress="10.0.0.1/29",
        remoteIpAddress="10.0.0.4",
    )
    result = cli("plan", "bgp")
    assert result.code == 1, result.both
    assert re.search(
        rf"{re.escape(str(path.relative_to(project)))}:\d+:\d+: spec\.remoteIpAddress: 10\.0\.0\.4 is not the VBR's "
        r"local gateway IP",
        result.err,
    ), result.err
    assert "spec.peerIpAddress" not in result.err  # the Alibaba end fits


def test_allow_address_mismatch_makes_it_a_warning(project: Path, sandbox: Sandbox) -> None:
    edit_document(project / "bgp", "AlibabaBgpPeer", "sg-vbr1-ne1", peerIpAddress="10.0.0.3")
    edit_document(project / "bgp", "EquinixBgpPeering", "sg-ne1-to-alibaba", localIpAddress="10.0.0.3/29")
    result = cli("plan", "bgp", "--allow-address-mismatch", "--format", "json")
    assert result.code == 0, result.both
    warnings = json.loads(result.out)["warnings"]
    assert [w for w in warnings if "is not the VBR's peer gateway IP" in w], warnings
    text = cli("plan", "bgp", "--allow-address-mismatch", "--out", "plan.json")
    assert text.code == 0 and "Warning: " in text.out and "10.0.0.3 is not the VBR's peer gateway IP" in text.out
    # A saved plan is applied as it was checked.
    refused = cli("apply", "plan.json", "--allow-address-mismatch")
    assert refused.code == 1 and "--allow-address-mismatch belong to `plan`" in refused.err


def test_an_unlinked_peer_outside_the_subnet_is_only_a_warning(project: Path, sandbox: Sandbox) -> None:
    edit_document(project / "bgp", "AlibabaBgpPeer", "sg-colo-core-r2", peerIpAddress="10.10.0.9", bfdMultiHop=3)
    result = cli("plan", "bgp", "--format", "json")
    assert result.code == 0, result.both
    warnings = json.loads(result.out)["warnings"]
    assert len(warnings) == 1, warnings
    assert "spec.peerIpAddress: 10.10.0.9 is outside the VBR's peering subnet" in warnings[0]
    assert "10.10.0.0/29" in warnings[0] and "multi-hop" in warnings[0]


def test_a_refused_vbr_read_is_a_warning_that_says_why(
    project: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox never refuses a permission: the refusal is the one real RAM answers."""
    real_call = AlibabaProvider._call

    def refusing(self: AlibabaProvider, region: str, action: str, params: Any) -> dict[str, Any]:
        if action == VBR_READ:
            raise ProviderError(
                f"Alibaba {action} ({region}) failed: Forbidden.RAM: User not authorized (HTTP 403)",
                cloud="alibaba",
                status=403,
                codes=["Forbidden.RAM"],
            )
        return real_call(self, region, action, params)

    monkeypatch.setattr(AlibabaProvider, "_call", refusing)
    edit_document(project / "bgp", "AlibabaBgpPeer", "sg-vbr1-ne1", peerIpAddress="10.0.0.3")
    edit_document(project / "bgp", "EquinixBgpPeering", "sg-ne1-to-alibaba", localIpAddress="10.0.0.3/29")
    result = cli("plan", "bgp", "--format", "json")
    assert result.code == 0, result.both
    warnings = json.loads(result.out)["warnings"]
    assert len(warnings) == 4, warnings  # one per VBR the groups name
    sg = next(w for w in warnings if SG_VBR in w)
    assert "spec.virtualBorderRouterId: the addresses of the sessions on VBR" in sg
    assert "were not checked" in sg and "Forbidden.RAM" in sg and "vpc:DescribeVirtualBorderRouters" in sg


def test_a_vbr_that_does_not_exist_is_a_warning(project: Path, sandbox: Sandbox) -> None:
    edit_document(project / "bgp", "AlibabaBgpGroup", "sg-vbr1", virtualBorderRouterId="vbr-t4nmissing000000000009")
    result = cli("plan", "bgp", "--format", "json")
    assert result.code == 0, result.both
    warnings = json.loads(result.out)["warnings"]
    assert [w for w in warnings if "vbr-t4nmissing000000000009" in w and "does not exist" in w], warnings


def test_invalid_manifests_still_make_no_api_call(project: Path, sandbox: Sandbox) -> None:
    edit_document(project / "bgp", "AlibabaBgpPeer", "sg-vbr1-ne1", peerIpAddress="10.0.0.3")  # unmirrored
    sandbox.reset_request_counts()
    result = cli("plan", "bgp")
    assert result.code == 1 and "does not match the other end of link" in result.err, result.both
    assert sandbox.request_counts() == {}
