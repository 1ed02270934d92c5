"""`reconciler doctor`: read-only checks of the accounts the manifests use, against the sandbox over
real HTTP (the real Alibaba SDK included), through the CLI.

What the sandbox cannot produce (a RAM refusal, a 403 on the Equinix BGP list, an outage of one
read) is injected at the provider's own request plumbing, so the rest of the path still runs for
real.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.clouds.alibaba import doctor as alibaba_doctor
from reconciler.clouds.alibaba.provider import AlibabaProvider
from reconciler.clouds.base import Desired, DoctorCheck, ProviderOptions
from reconciler.clouds.equinix.provider import EquinixProvider
from reconciler.clouds.retry import TransientError
from reconciler.commands.doctor import format_check, summary, verdict
from reconciler.errors import ProviderError
from reconciler.model import SecretValue
from reconciler.sandbox import Sandbox, SandboxConfig, load_seed
from reconciler.sandbox.seed import parse_seed_text
from reconciler.state.local import LocalBackend
from tests.e2e.conftest import EXAMPLE_KEYS, EXAMPLES, Result, cli, write_documents

# Credentials no ordinary output contains, so that finding one in the output means it leaked.
CREDENTIALS = {
    "equinix_client_id": "doctorClientQx7",
    "equinix_client_secret": "doctorSecretZk29",
    "alibaba_access_key_id": "doctorAkRt41",
    "alibaba_access_key_secret": "doctorAkSecretLm83",
}
SG, HK = "ap-southeast-1", "cn-hongkong"
SG_VBR = "vbr-t4nsgequinix000000001"  # in examples/sandbox-seed.yaml
SG_CONNECTION = "80afc8be-0ce3-4950-be27-3d3e678e6873"  # in examples/sandbox-seed.yaml
MUTATING = ("POST", "PUT", "DELETE", "Create", "Modify", "Delete")

# Objects that are not ready, added to the examples' seed.
NOT_READY_SEED = """
equinix:
  devices:
    - {uuid: 11111111-0000-4000-8000-000000000001, name: ne-provisioning, status: PROVISIONING,
       licenseStatus: REGISTERED}
    - {uuid: 11111111-0000-4000-8000-000000000002, name: ne-unlicensed, status: PROVISIONED,
       licenseStatus: APPLYING_LICENSE}
    - {uuid: 11111111-0000-4000-8000-000000000003, name: ne-ok, status: PROVISIONED, licenseStatus: REGISTERED,
       asn: 65010}
  connections:
    - {uuid: 22222222-0000-4000-8000-000000000001, deviceUuid: 11111111-0000-4000-8000-000000000003, state: PENDING}
    - {uuid: 22222222-0000-4000-8000-000000000002, deviceUuid: 11111111-0000-4000-8000-000000000001,
       state: PROVISIONED}
    - {uuid: 22222222-0000-4000-8000-000000000003, deviceUuid: 11111111-0000-4000-8000-000000000002,
       state: PROVISIONED}
alibaba:
  vbrs:
    - {vbrId: vbr-t4nterminated0000000001, regionId: ap-southeast-1, status: terminated,
       localGatewayIp: 10.30.0.2, peerGatewayIp: 10.30.0.1, peeringSubnetMask: 255.255.255.252}
"""


@pytest.fixture
def box() -> Iterator[Sandbox]:
    config = SandboxConfig(provision_delay=0.0, **CREDENTIALS)
    with Sandbox(load_seed(EXAMPLES / "sandbox-seed.yaml"), config=config) as sandbox:
        sandbox.add_seed(parse_seed_text(NOT_READY_SEED, "not-ready seed"))
        yield sandbox


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, box: Sandbox) -> Path:
    """The examples in bgp/, keys and the sandbox's endpoints and credentials in the environment."""
    shutil.copytree(EXAMPLES / "alibaba", tmp_path / "bgp" / "alibaba")
    shutil.copytree(EXAMPLES / "equinix", tmp_path / "bgp" / "equinix")
    monkeypatch.chdir(tmp_path)
    for name, value in {**EXAMPLE_KEYS, **box.env()}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RECONCILER_STATE", raising=False)
    return tmp_path


def manifests(root: Path, *docs: dict[str, Any]) -> Path:
    """A folder holding exactly `docs` (one file)."""
    folder = root / "only"
    shutil.rmtree(folder, ignore_errors=True)
    write_documents(folder / "manifests.yaml", list(docs))
    return folder


def peering(name: str, connection: str, local_asn: int = 65010) -> dict[str, Any]:
    return {
        "apiVersion": "reconciler/v1",
        "kind": "EquinixBgpPeering",
        "metadata": {"name": name},
        "spec": {
            "connectionUuid": connection,
            "localIpAddress": "10.0.0.1/30",
            "localAsn": local_asn,
            "remoteIpAddress": "10.0.0.2",
            "remoteAsn": 45104,
        },
    }


def group(name: str, region: str, vbr: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "reconciler/v1",
        "kind": "AlibabaBgpGroup",
        "metadata": {"name": name},
        "spec": {"regionId": region, "virtualBorderRouterId": vbr, "peerAsn": 65010, **spec},
    }


def peer(name: str, address: str, *, enable_bfd: bool = False, **spec: Any) -> dict[str, Any]:
    bfd = {"enableBfd": True, "bfdMultiHop": 1} if enable_bfd else {}
    return {
        "apiVersion": "reconciler/v1",
        "kind": "AlibabaBgpPeer",
        "metadata": {"name": name},
        "spec": {"peerIpAddress": address, **bfd, **spec},
    }


def lines(result: Result, verdict_word: str, cloud: str) -> list[str]:
    return [line for line in result.out.splitlines() if line.startswith(verdict_word) and f" {cloud} " in line]


def line_of(result: Result, cloud: str, check: str) -> str:
    found = [line for line in result.out.splitlines() if f" {cloud} " in line and f"  {check}: " in line]
    assert len(found) == 1, f"expected one line for {cloud} {check!r}:\n{result.both}"
    return found[0]


def made_through_the_api(box: Sandbox) -> tuple[str, str]:
    """What an earlier apply would have left, made with the providers' own create calls: a BGP
    group on SG_VBR with a BFD peer, and a BGP config on SG_CONNECTION. Returns (group id, config id)."""
    alibaba = AlibabaProvider.from_env(box.env(), ProviderOptions())
    equinix = EquinixProvider.from_env(box.env(), ProviderOptions())
    try:
        group_attrs = {"regionId": SG, "virtualBorderRouterId": SG_VBR, "name": "sg-vbr1", "peerAsn": 65010}
        key = SecretValue(EXAMPLE_KEYS["SG_BGP_KEY"])
        group = Desired("AlibabaBgpGroup", "sg-vbr1", group_attrs, {"authKey": key})
        group_id = alibaba.create(group, "doctor-test-group")
        assert isinstance(group_id, str)
        peer_attrs = {"regionId": SG, "bgpGroupId": group_id, "peerIpAddress": "10.0.0.1", "enableBfd": True}
        peer = Desired("AlibabaBgpPeer", "sg-vbr1-ne1", {**peer_attrs, "bfdMultiHop": 1})
        peer_id = alibaba.create(peer, "doctor-test-peer")
        assert isinstance(peer_id, str)
        config = peering("sg-ne1-to-alibaba", SG_CONNECTION)["spec"]
        desired = Desired("EquinixBgpPeering", "sg-ne1-to-alibaba", config, {"authenticationKey": key})
        config_id = equinix.create(desired, "unused")
        assert isinstance(config_id, str)
    finally:
        alibaba.close()
        equinix.close()
    box.reset_request_counts()
    return group_id, config_id


def files_of(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def mutating_calls(box: Sandbox) -> list[str]:
    reads_by_post = ("token", "connections/search")  # a login, and a search that takes its question as a body
    changing = [op for op in box.request_counts() if any(word in op for word in MUTATING)]
    return sorted(op for op in changing if not any(read in op for read in reads_by_post))


# -- a healthy account -----------------------------------------------------------------------------


@pytest.mark.usefixtures("project")
def test_every_check_passes_on_a_healthy_sandbox(box: Sandbox) -> None:
    result = cli("doctor", "bgp")
    assert result.code == 0, result.both
    assert not [line for line in result.out.splitlines() if line.startswith("FAIL")]
    for cloud in ("equinix", "alibaba"):
        assert line_of(result, cloud, "credentials").startswith("ok")
    for check in ("GET /ne/v1/bgp", "GET /ne/v1/bgp/{uuid}", "GET /fabric/v4/connections/{uuid}"):
        assert line_of(result, "equinix", check).startswith("ok")
    for check in ("DescribeBgpGroups", "DescribeBgpPeers", "DescribeVirtualBorderRouters"):
        assert line_of(result, "alibaba", check).startswith("ok")
    # every connection, device, region and VBR the examples name
    for connection in (SG_CONNECTION, "3b6d2c1e-8f4a-4e7b-9c5d-1a2b3c4d5e6f", "9d0c4e55-2b7a-4c1f-8e3d-6f5a4b3c2d10"):
        assert "state PROVISIONED" in line_of(result, "equinix", f"connection {connection}")
    assert "PROVISIONED, license REGISTERED" in line_of(
        result, "equinix", "device sg-ne1 (5f1e8a52-3c1d-4d6e-9a7b-0c2f4e6a8b10)"
    )
    for region in (SG, HK):
        assert line_of(result, "alibaba", f"region {region}").startswith("ok")
    assert line_of(result, "alibaba", f"VBR {SG_VBR} ({SG})") == f"ok    alibaba  VBR {SG_VBR} ({SG}): active"
    assert "IPv6 enabled" in line_of(result, "alibaba", f"VBR vbr-t4nsgcolo0000000000002 ({SG})")
    assert result.out.splitlines()[-1].startswith("Doctor found no problem:")
    assert "0 failed" in result.out.splitlines()[-1]


@pytest.mark.usefixtures("project")
def test_mutating_apis_are_listed_as_not_checked_with_the_permission_they_need(box: Sandbox) -> None:
    result = cli("doctor", "bgp")
    for action in ("CreateBgpGroup", "ModifyBgpGroupAttribute", "DeleteBgpGroup", "CreateBgpPeer", "DeleteBgpPeer"):
        line = line_of(result, "alibaba", action)
        assert line.startswith("warn") and "not checked (mutating)" in line and f"vpc:{action}" in line
    for op in ("POST /ne/v1/bgp", "PUT /ne/v1/bgp/{uuid}"):
        line = line_of(result, "equinix", op)
        assert line.startswith("warn") and "not checked (mutating)" in line and "unconfirmed" in line
    assert mutating_calls(box) == []


def test_doctor_never_calls_a_mutating_api_nor_touches_the_state(project: Path, box: Sandbox) -> None:
    made_through_the_api(box)
    backend = LocalBackend(project / "state" / "reconciler.json")
    with backend.lock("test"):
        backend.write(backend.read())
    before = files_of(project / "state")
    healthy = cli("doctor", "bgp")
    failing = cli("doctor", str(manifests(project, group("gone", SG, "vbr-t4nnotthere000000001"))))
    assert healthy.code == 0, healthy.both
    assert failing.code == 1, failing.both
    assert box.request_counts(), "doctor made no API call at all"
    assert mutating_calls(box) == []
    assert files_of(project / "state") == before  # not written, not locked, no journal


def test_it_runs_against_the_embedded_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(EXAMPLES / "alibaba", tmp_path / "bgp" / "alibaba")
    shutil.copytree(EXAMPLES / "equinix", tmp_path / "bgp" / "equinix")
    monkeypatch.chdir(tmp_path)
    for name in ("EQUINIX_API_ENDPOINT", "EQUINIX_CLIENT_ID", "EQUINIX_CLIENT_SECRET", "ALIBABA_CLOUD_VPC_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("RECONCILER_STATE", raising=False)
    result = cli("doctor", "--sandbox", "bgp")
    assert result.code == 0, result.both
    assert "127.0.0.1" in line_of(result, "equinix", "credentials")
    assert f"VBR {SG_VBR} ({SG}): active" in result.out
    assert not (tmp_path / "state" / "reconciler.json").exists()


# -- credentials -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("project")
def test_refused_equinix_credentials_fail_after_one_login(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EQUINIX_CLIENT_SECRET", "notTheRightSecret1")
    result = cli("doctor", "bgp")
    assert result.code == 1
    line = line_of(result, "equinix", "credentials")
    assert line.startswith("FAIL") and "refused credentials" in line and "HTTP 400 S1006" in line
    assert "EQUINIX_CLIENT_SECRET" in line and "locks the account after 5 failed logins" in line
    assert box.request_counts().get("equinix POST /oauth2/v1/token") == 1
    assert line_of(result, "equinix", "remaining checks").startswith("warn")
    assert not [op for op in box.request_counts() if op.startswith("equinix") and "token" not in op]
    assert line_of(result, "alibaba", "credentials").startswith("ok")  # the other cloud is still checked
    assert "notTheRightSecret1" not in result.both


@pytest.mark.usefixtures("project")
def test_missing_equinix_credentials_are_named(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EQUINIX_CLIENT_SECRET")
    result = cli("doctor", "bgp")
    assert result.code == 1
    line = line_of(result, "equinix", "credentials")
    assert line.startswith("FAIL") and "no credentials: EQUINIX_CLIENT_SECRET is not set" in line
    assert not [op for op in box.request_counts() if op.startswith("equinix")]


@pytest.mark.usefixtures("project")
def test_an_unreachable_equinix_endpoint_is_a_network_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with Sandbox(config=SandboxConfig(), data_file=tmp_path / "stopped.json") as stopped:
        closed = stopped.equinix_url  # a port nothing listens on any more
    monkeypatch.setenv("EQUINIX_API_ENDPOINT", closed)
    result = cli("doctor", "bgp")
    assert result.code == 1
    line = line_of(result, "equinix", "credentials")
    assert line.startswith("FAIL") and "network error" in line and "EQUINIX_API_ENDPOINT" in line
    assert "refused credentials" not in line


@pytest.mark.usefixtures("project")
def test_refused_alibaba_credentials_say_signature_does_not_match(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "notTheRightSecret2")
    result = cli("doctor", "bgp")
    assert result.code == 1
    line = line_of(result, "alibaba", "credentials")
    assert line.startswith("FAIL") and "refused credentials" in line and "SignatureDoesNotMatch" in line
    assert "check ALIBABA_CLOUD_ACCESS_KEY_SECRET" in line
    assert line_of(result, "alibaba", "remaining checks").startswith("warn")
    assert box.request_counts().get("alibaba DescribeBgpGroups") == 1  # stopped at the first refusal
    assert line_of(result, "equinix", "credentials").startswith("ok")
    assert "notTheRightSecret2" not in result.both


@pytest.mark.usefixtures("project")
def test_an_unknown_alibaba_access_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAInotAKeyOfThisAccount")
    result = cli("doctor", "bgp")
    line = line_of(result, "alibaba", "credentials")
    assert result.code == 1
    assert line.startswith("FAIL") and "InvalidAccessKeyId.NotFound" in line
    assert "LTAInotAKeyOfThisAccount" not in result.both


@pytest.mark.usefixtures("project")
def test_no_alibaba_credentials_at_all(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALIBABA_CLOUD_ACCESS_KEY_ID")
    monkeypatch.delenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
    # What Alibaba's default credential chain finds depends on the machine (profiles, ECS metadata).
    monkeypatch.setattr(alibaba_doctor, "_default_chain", lambda: ([], "CredentialException"))
    result = cli("doctor", "bgp")
    assert result.code == 1
    line = line_of(result, "alibaba", "credentials")
    assert line.startswith("FAIL") and "no credentials" in line and "default credential chain found none" in line
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET are not set" in line
    assert not [op for op in box.request_counts() if op.startswith("alibaba")]


@pytest.mark.usefixtures("project")
def test_an_unreachable_alibaba_endpoint_is_a_network_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with Sandbox(config=SandboxConfig(), data_file=tmp_path / "stopped.json") as stopped:
        closed = stopped.alibaba_endpoint
    monkeypatch.setenv("ALIBABA_CLOUD_VPC_ENDPOINT", closed)
    result = cli("doctor", str(manifests(tmp_path, group("edge", SG, SG_VBR))))  # one region: one call, retried
    assert result.code == 1
    line = line_of(result, "alibaba", "credentials")
    assert line.startswith("FAIL") and "network error" in line and "refused credentials" not in line


# -- permissions the sandbox never refuses -----------------------------------------------------------


@pytest.mark.usefixtures("project")
def test_a_ram_refusal_names_the_action_to_grant(monkeypatch: pytest.MonkeyPatch) -> None:
    real_call = AlibabaProvider._call

    def refusing(self: AlibabaProvider, region: str, action: str, params: Any) -> dict[str, Any]:
        if action == "DescribeBgpPeers":
            raise ProviderError(
                f"Alibaba {action} ({region}) failed: Forbidden.RAM: User not authorized to operate on the "
                "specified resource (HTTP 403)",
                cloud="alibaba",
                status=403,
                codes=["Forbidden.RAM"],
            )
        return real_call(self, region, action, params)

    monkeypatch.setattr(AlibabaProvider, "_call", refusing)
    result = cli("doctor", "bgp")
    assert result.code == 1
    line = line_of(result, "alibaba", "DescribeBgpPeers")
    assert line.startswith("FAIL") and "refused" in line and "Forbidden.RAM" in line
    assert "grant the RAM user vpc:DescribeBgpPeers" in line
    assert line_of(result, "alibaba", "DescribeBgpGroups").startswith("ok")
    # the BFD checks list peers: refused there, so BFD stays unknown
    assert line_of(result, "alibaba", f"BFD on VBR {SG_VBR} ({SG})").startswith("warn")


@pytest.mark.usefixtures("project")
def test_equinix_refusals_name_what_the_api_user_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    real_get = EquinixProvider._get_json

    def refusing(self: EquinixProvider, path: str, op: str, params: Any = None, **options: bool) -> Any:
        if path == "/ne/v1/bgp" or path.startswith("/fabric/"):
            raise ProviderError(f"Equinix {op} failed: HTTP 403: EQ-300005: no permission", cloud="equinix", status=403)
        return real_get(self, path, op, params, **options)

    monkeypatch.setattr(EquinixProvider, "_get_json", refusing)
    result = cli("doctor", "bgp")
    assert result.code == 1
    listing = line_of(result, "equinix", "GET /ne/v1/bgp")
    assert listing.startswith("FAIL") and "refused" in listing
    assert "read access to Network Edge BGP configurations" in listing and "unconfirmed" in listing
    # reconciler creates without the Fabric read when it is refused: a warning, not a failure
    fabric = line_of(result, "equinix", "GET /fabric/v4/connections/{uuid}")
    assert fabric.startswith("warn") and "not fatal" in fabric and "U-E16" in fabric
    assert line_of(result, "equinix", f"connection {SG_CONNECTION}").startswith("warn")


def test_credentials_that_may_not_read_fabric_connections_only_warn(project: Path, box: Sandbox) -> None:
    box.configure(equinix_prerequisite_reads="forbidden")  # 403 on the Fabric connection and device reads
    result = cli("doctor", str(manifests(project, peering("edge", SG_CONNECTION))))
    assert result.code == 0, result.both
    fabric = line_of(result, "equinix", "GET /fabric/v4/connections/{uuid}")
    assert fabric.startswith("warn") and "HTTP 403" in fabric and "the create's answer decides" in fabric
    assert "was refused" in line_of(result, "equinix", f"connection {SG_CONNECTION}")
    assert line_of(result, "equinix", "GET /ne/v1/bgp").startswith("ok")


@pytest.mark.usefixtures("project")
def test_the_connection_search_creates_use_is_read_once(box: Sandbox) -> None:
    """Creates check a device's connections with one search: doctor reads it too (one page)."""
    box.reset_request_counts()
    result = cli("doctor", "bgp")
    assert result.code == 0, result.both
    search = line_of(result, "equinix", "POST /fabric/v4/connections/search")
    assert search.startswith("ok") and "connections on device 5f1e8a52-3c1d-4d6e-9a7b-0c2f4e6a8b10" in search
    assert box.request_counts()["equinix POST /fabric/v4/connections/search"] == 1


@pytest.mark.usefixtures("project")
def test_a_refused_connection_search_only_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    def refusing(self: EquinixProvider, path: str, op: str, body: Any) -> Any:
        raise ProviderError(f"Equinix {op} failed: HTTP 403: EQ-300005: no permission", cloud="equinix", status=403)

    monkeypatch.setattr(EquinixProvider, "_post_json", refusing)
    result = cli("doctor", "bgp")
    assert result.code == 0, result.both
    search = line_of(result, "equinix", "POST /fabric/v4/connections/search")
    assert search.startswith("warn") and "refused" in search and "read each Fabric connection on its own" in search
    assert line_of(result, "equinix", "GET /fabric/v4/connections/{uuid}").startswith("ok")


def test_the_pessimistic_sandbox_profile_gives_warnings_not_failures(project: Path, box: Sandbox) -> None:
    box.configure(profile="pessimistic")  # throttling, 403 on Fabric reads, snake_case token errors...
    folder = manifests(
        project,
        group("sg-vbr1", SG, SG_VBR, authKey={"fromEnv": "SG_BGP_KEY"}),
        peer("sg-vbr1-ne1", "10.0.0.1", enable_bfd=True, bgpGroup="sg-vbr1"),
        peering("sg-ne1-to-alibaba", SG_CONNECTION),
    )
    result = cli("doctor", str(folder))
    assert result.code == 0, result.both
    assert line_of(result, "alibaba", f"VBR {SG_VBR} ({SG})").startswith("ok")
    assert line_of(result, "alibaba", f"BFD on VBR {SG_VBR} ({SG})").startswith("warn")
    assert line_of(result, "equinix", "GET /fabric/v4/connections/{uuid}").startswith("warn")
    assert mutating_calls(box) == []


@pytest.mark.usefixtures("project")
def test_an_object_that_could_not_be_read_for_another_reason_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    real_get = EquinixProvider._get_json

    def unavailable(self: EquinixProvider, path: str, op: str, params: Any = None, **options: bool) -> Any:
        if path == f"/fabric/v4/connections/{SG_CONNECTION}":
            raise TransientError(
                f"Equinix {op} failed: HTTP 503: IC-NE-ERR-503: unavailable", cloud="equinix", status=503
            )
        return real_get(self, path, op, params, **options)

    monkeypatch.setattr(EquinixProvider, "_get_json", unavailable)
    result = cli("doctor", "bgp")
    assert result.code == 1
    assert line_of(result, "equinix", "GET /fabric/v4/connections/{uuid}").startswith("FAIL")
    line = line_of(result, "equinix", f"connection {SG_CONNECTION}")
    assert line.startswith("FAIL") and "unavailable" in line and "run doctor again later" in line


# -- the objects the manifests presuppose -------------------------------------------------------------


@pytest.mark.parametrize(
    ("connection", "expected"),
    [
        ("22222222-0000-4000-8000-000000000001", "not provisioned: state PENDING"),
        ("33333333-0000-4000-8000-000000000009", "does not exist"),
    ],
)
def test_a_connection_that_is_not_provisioned_or_missing_fails(project: Path, connection: str, expected: str) -> None:
    result = cli("doctor", str(manifests(project, peering("edge", connection))))
    assert result.code == 1, result.both
    line = line_of(result, "equinix", f"connection {connection}")
    assert line.startswith("FAIL") and expected in line and "hint:" in line


@pytest.mark.parametrize(
    ("connection", "device", "expected"),
    [
        (
            "22222222-0000-4000-8000-000000000002",
            "device ne-provisioning (11111111-0000-4000-8000-000000000001)",
            "status PROVISIONING, must be PROVISIONED",
        ),
        (
            "22222222-0000-4000-8000-000000000003",
            "device ne-unlicensed (11111111-0000-4000-8000-000000000002)",
            "license APPLYING_LICENSE",
        ),
    ],
)
def test_a_device_that_is_not_ready_fails(project: Path, connection: str, device: str, expected: str) -> None:
    result = cli("doctor", str(manifests(project, peering("edge", connection))))
    assert result.code == 1
    assert line_of(result, "equinix", f"connection {connection}").startswith("ok")
    line = line_of(result, "equinix", device)
    assert line.startswith("FAIL") and expected in line


def test_a_local_asn_other_than_the_device_asn_is_a_warning(project: Path) -> None:
    result = cli("doctor", str(manifests(project, peering("edge", SG_CONNECTION, local_asn=65099))))
    assert result.code == 0, result.both
    line = line_of(result, "equinix", "device sg-ne1 (5f1e8a52-3c1d-4d6e-9a7b-0c2f4e6a8b10)")
    assert line.startswith("warn") and "localAsn 65099" in line and "U-E9" in line


@pytest.mark.usefixtures("project")
def test_an_existing_config_on_the_connection_is_shown(box: Sandbox) -> None:
    _, config_id = made_through_the_api(box)
    result = cli("doctor", "bgp")
    assert f"has BGP config {config_id}" in line_of(result, "equinix", f"connection {SG_CONNECTION}")
    assert "(1 read)" not in line_of(result, "equinix", "GET /ne/v1/bgp/{uuid}")
    assert "read one config" in line_of(result, "equinix", "GET /ne/v1/bgp/{uuid}")


def test_a_vbr_that_does_not_exist_fails(project: Path, box: Sandbox) -> None:
    result = cli("doctor", str(manifests(project, group("edge", SG, "vbr-t4nnotthere000000001"))))
    assert result.code == 1
    line = line_of(result, "alibaba", f"VBR vbr-t4nnotthere000000001 ({SG})")
    assert line.startswith("FAIL") and "does not exist in region ap-southeast-1" in line
    assert "AlibabaBgpGroup/edge" in line
    assert box.request_counts().get("alibaba DescribeVirtualBorderRouters") == 1


def test_a_vbr_that_is_not_active_fails(project: Path) -> None:
    result = cli("doctor", str(manifests(project, group("edge", SG, "vbr-t4nterminated0000000001"))))
    assert result.code == 1
    line = line_of(result, "alibaba", f"VBR vbr-t4nterminated0000000001 ({SG})")
    assert line.startswith("FAIL") and "is terminated" in line and "U-A17" in line


def test_an_ipv6_group_on_a_vbr_without_ipv6_fails(project: Path) -> None:
    result = cli("doctor", str(manifests(project, group("edge", SG, SG_VBR, ipVersion="IPv6"))))
    assert result.code == 1
    line = line_of(result, "alibaba", f"VBR {SG_VBR} ({SG})")
    assert line.startswith("FAIL") and "IPv6 is not enabled" in line


def test_a_region_that_does_not_exist_fails(project: Path) -> None:
    result = cli("doctor", str(manifests(project, group("edge", "xx-nowhere-1", "vbr-xxnowhere00000000001"))))
    assert result.code == 1
    line = line_of(result, "alibaba", "region xx-nowhere-1")
    assert line.startswith("FAIL") and "does not exist (InvalidRegionId.NotFound)" in line
    assert "spec.regionId of AlibabaBgpGroup/edge" in line
    # the signature was checked before the region: the credentials are fine
    assert line_of(result, "alibaba", "credentials").startswith("ok")
    vbr = line_of(result, "alibaba", "VBR vbr-xxnowhere00000000001 (xx-nowhere-1)")
    assert vbr.startswith("warn") and "did not answer" in vbr


def test_a_group_named_by_id_is_looked_up(project: Path, box: Sandbox) -> None:
    group_id, _ = made_through_the_api(box)
    folder = manifests(
        project,
        peer("known", "10.0.0.1", bgpGroupId=group_id, regionId=SG),
        peer("unknown", "10.0.0.1", bgpGroupId="bgpg-t4nnotthere0000000001", regionId=SG),
    )
    result = cli("doctor", str(folder))
    assert result.code == 1
    assert f"exists on VBR {SG_VBR}" in line_of(result, "alibaba", f"BGP group {group_id} ({SG})")
    missing = line_of(result, "alibaba", f"BGP group bgpg-t4nnotthere0000000001 ({SG})")
    assert missing.startswith("FAIL") and "AlibabaBgpPeer/unknown" in missing


@pytest.mark.usefixtures("project")
def test_bfd_is_unknown_until_a_peer_on_the_vbr_runs_it(box: Sandbox) -> None:
    result = cli("doctor", "bgp")
    line = line_of(result, "alibaba", f"BFD on VBR {SG_VBR} ({SG})")
    assert line.startswith("warn") and "unknown: the API does not say" in line
    assert "QuotaExceeded.BfdSession" in line and "AlibabaBgpPeer/sg-vbr1-ne1" in line
    # no peer sets enableBfd on the Hong Kong office VBR: nothing to check there
    assert "vbr-j6nhkoffice00000000002 (cn-hongkong)" not in "".join(
        line for line in result.out.splitlines() if "BFD on" in line
    )
    made_through_the_api(box)
    after = cli("doctor", "bgp")
    assert line_of(after, "alibaba", f"BFD on VBR {SG_VBR} ({SG})").startswith("ok    alibaba  BFD on VBR")
    assert "already runs BFD" in line_of(after, "alibaba", f"BFD on VBR {SG_VBR} ({SG})")


# -- output and errors -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("project")
def test_no_credential_or_key_ever_reaches_the_output(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = [cli("doctor", "bgp"), cli("doctor", "-v", "bgp")]
    made_through_the_api(box)  # configs whose keys the API returns in clear
    runs.append(cli("doctor", "bgp"))
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", CREDENTIALS["alibaba_access_key_secret"] + "x")
    monkeypatch.setenv("EQUINIX_CLIENT_SECRET", CREDENTIALS["equinix_client_secret"] + "x")
    runs.append(cli("doctor", "-v", "bgp"))
    box.unlock_equinix()
    assert [r.code for r in runs] == [0, 0, 0, 1]
    secrets = [*CREDENTIALS.values(), *EXAMPLE_KEYS.values()]
    for result in runs:
        leaked = [s for s in secrets if s in result.both]
        assert not leaked, f"doctor printed {leaked}:\n{result.both}"


def test_invalid_manifests_are_the_usual_error_with_no_api_call(project: Path, box: Sandbox) -> None:
    folder = manifests(project, group("edge", SG, SG_VBR, peerAsn=45104))
    result = cli("doctor", str(folder))
    assert result.code == 1
    assert "invalid manifests" in result.err and "manifests.yaml" in result.err
    assert "Traceback" not in result.both
    assert box.request_counts() == {}


def test_doctor_is_listed_in_the_help() -> None:
    result = cli("--help")
    assert "doctor" in result.out and "read-only" in result.out


def test_a_passing_check_with_a_hint_is_a_warning() -> None:
    passed = DoctorCheck("somecloud", "credentials", True, "accepted")
    unsure = DoctorCheck("somecloud", "BFD", True, "unknown", "ask the provider")
    failed = DoctorCheck("somecloud", "VBR x", False, "does not exist", "check spec.vbr")
    assert [verdict(c) for c in (passed, unsure, failed)] == ["ok", "warn", "FAIL"]
    assert format_check(failed, 9) == "FAIL  somecloud  VBR x: does not exist; hint: check spec.vbr"
    assert format_check(passed, 9) == "ok    somecloud  credentials: accepted"
    assert summary([passed, unsure, failed]).startswith("Doctor found problems: 3 checks of 1 cloud (somecloud)")
    assert "1 ok, 1 warning, 1 failed" in summary([passed, unsure, failed])
