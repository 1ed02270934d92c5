"""Fixtures for the sandbox tests: a seed, a running sandbox, API clients shaped like the real ones."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_vpc20160428 import models as vpc
from alibabacloud_vpc20160428.client import Client
from Tea.exceptions import TeaException

from reconciler.sandbox import Sandbox, SandboxConfig, Seed
from reconciler.sandbox.acs3 import sign_acs3
from reconciler.sandbox.seed import parse_seed_text

SG = "ap-southeast-1"
HK = "cn-hongkong"
VBR_SG1 = "vbr-t4nsg1000000000000001"  # IPv4 + IPv6
VBR_SG2 = "vbr-t4nsg2000000000000002"  # IPv4 only
VBR_SG_DOWN = "vbr-t4ndown00000000000003"  # terminated
VBR_HK1 = "vbr-j6nhk1000000000000001"  # region without IPv6
DEVICE = "502267e5-ebd6-4487-b0d6-b35bf106cda8"
CONNECTION = "80afc8be-0ce3-4950-be27-3d3e678e6873"
PAGE_CONNECTIONS = [f"00000000-0000-4000-8000-0000000000{i:02d}" for i in range(30)]

SEED_YAML = (
    f"""
equinix:
  devices:
    - {{uuid: {DEVICE}, name: sg-ne1, status: PROVISIONED, licenseStatus: REGISTERED, asn: 65010,
        metroCode: SG, deviceTypeCode: C8000V}}
    - {{uuid: dev-provisioning, name: sg-ne2, status: PROVISIONING, licenseStatus: REGISTERED}}
    - {{uuid: dev-unlicensed, name: sg-ne3, status: PROVISIONED, licenseStatus: APPLYING_LICENSE}}
    - {{uuid: dev-self, name: sg-ne4, status: PROVISIONED, licenseStatus: REGISTERED,
        deviceManagementType: SELF-CONFIGURED}}
  connections:
    - {{uuid: {CONNECTION}, deviceUuid: {DEVICE}, state: PROVISIONED, name: sg-to-alibaba}}
    - {{uuid: conn-active, deviceUuid: {DEVICE}, state: ACTIVE}}
    - {{uuid: conn-pending, deviceUuid: {DEVICE}, state: PENDING}}
    - {{uuid: conn-on-provisioning-device, deviceUuid: dev-provisioning, state: PROVISIONED}}
    - {{uuid: conn-on-unlicensed-device, deviceUuid: dev-unlicensed, state: PROVISIONED}}
    - {{uuid: conn-on-self-configured-device, deviceUuid: dev-self, state: PROVISIONED}}
"""
    + "".join(f"    - {{uuid: {c}, deviceUuid: {DEVICE}, state: PROVISIONED}}\n" for c in PAGE_CONNECTIONS)
    + f"""
alibaba:
  regions: [{SG}, {{regionId: {HK}, ipv6Supported: false}}]
  vbrs:
    - {{vbrId: {VBR_SG1}, regionId: {SG}, status: active, enableIpv6: true, localGatewayIp: 10.0.0.2,
        peerGatewayIp: 10.0.0.1, peeringSubnetMask: 255.255.255.252, localIpv6GatewayIp: "2408:4000::2",
        peerIpv6GatewayIp: "2408:4000::1", peeringIpv6SubnetMask: "126", vlanId: 100}}
    - {{vbrId: {VBR_SG2}, regionId: {SG}, status: active, enableIpv6: false, localGatewayIp: 10.0.1.2,
        peerGatewayIp: 10.0.1.1, peeringSubnetMask: 255.255.255.252}}
    - {{vbrId: {VBR_SG_DOWN}, regionId: {SG}, status: terminated, localGatewayIp: 10.0.2.2,
        peerGatewayIp: 10.0.2.1, peeringSubnetMask: 255.255.255.252}}
    - {{vbrId: {VBR_HK1}, regionId: {HK}, status: active, enableIpv6: true, localGatewayIp: 10.0.3.2,
        peerGatewayIp: 10.0.3.1, peeringSubnetMask: 255.255.255.252}}
"""
)

# Equinix's documented create example (docs/cloud-apis.md, Equinix §2), on our seeded connection.
BGP_BODY = {
    "authenticationKey": "testkey1",
    "connectionUuid": CONNECTION,
    "localAsn": 10012,
    "localIpAddress": "10.0.0.1/29",
    "remoteAsn": 10013,
    "remoteIpAddress": "10.0.0.2",
}


@pytest.fixture
def seed() -> Seed:
    return parse_seed_text(SEED_YAML, "test-seed.yaml")


@pytest.fixture
def sandbox(seed: Seed) -> Iterator[Sandbox]:
    with Sandbox(seed, config=SandboxConfig(random_seed=7)) as running:
        yield running


# -- Equinix: raw httpx, shaped like Equinix's documented examples ---------------------------------


class Equinix:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.http = httpx.Client(base_url=sandbox.equinix_url, timeout=10)
        self._token: str | None = None

    def token_request(self, client_id: str = "sandbox", client_secret: str = "sandbox-secret") -> httpx.Response:
        body = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        return self.http.post("/oauth2/v1/token", json=body, headers={"Accept": "application/json"})

    @property
    def headers(self) -> dict[str, str]:
        if self._token is None:
            response = self.token_request()
            assert response.status_code == 200, response.text
            self._token = response.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, headers=self.headers, **kwargs)

    def post(self, path: str, body: Any) -> httpx.Response:
        return self.http.post(path, json=body, headers=self.headers)

    def put(self, path: str, body: Any) -> httpx.Response:
        return self.http.put(path, json=body, headers=self.headers)

    def create(self, **changes: Any) -> str:
        response = self.post("/ne/v1/bgp", {**BGP_BODY, **changes})
        assert response.status_code == 202, response.text
        uuid_: str = response.json()["uuid"]
        return uuid_


@pytest.fixture
def eq(sandbox: Sandbox) -> Iterator[Equinix]:
    client = Equinix(sandbox)
    yield client
    client.http.close()


# -- Alibaba: the real SDK ----------------------------------------------------------------------


def alibaba_client(
    sandbox: Sandbox,
    *,
    access_key_id: str = "sandbox-ak",
    secret: str = "sandbox-secret",
    region_id: str = SG,
    **config: Any,
) -> Client:
    options = {"read_timeout": 10000, "connect_timeout": 5000, **config}
    cfg = open_api_models.Config(
        access_key_id=access_key_id,
        access_key_secret=secret,
        endpoint=sandbox.alibaba_endpoint,
        protocol="http",
        region_id=region_id,
        **options,
    )
    return Client(cfg)


@pytest.fixture
def ali(sandbox: Sandbox) -> Client:
    return alibaba_client(sandbox)


def expect_error(call: Callable[[], Any], code: str, status: int = 400) -> TeaException:
    with pytest.raises(TeaException) as info:
        call()
    error = info.value
    assert error.code == code, error.data
    assert error.data["statusCode"] == status
    return error


def create_group(ali: Client, vbr: str = VBR_SG1, region: str = SG, **fields: Any) -> str:
    request = vpc.CreateBgpGroupRequest(region_id=region, router_id=vbr, **{"peer_asn": 65010, **fields})
    group_id: str = ali.create_bgp_group(request).body.bgp_group_id
    return group_id


def create_peer(ali: Client, group_id: str, ip: str = "10.0.0.1", region: str = SG, **fields: Any) -> str:
    request = vpc.CreateBgpPeerRequest(region_id=region, bgp_group_id=group_id, peer_ip_address=ip, **fields)
    peer_id: str = ali.create_bgp_peer(request).body.bgp_peer_id
    return peer_id


def describe_groups(ali: Client, region: str = SG, **filters: Any) -> Any:
    return ali.describe_bgp_groups(vpc.DescribeBgpGroupsRequest(region_id=region, **filters)).body


def describe_peers(ali: Client, region: str = SG, **filters: Any) -> Any:
    return ali.describe_bgp_peers(vpc.DescribeBgpPeersRequest(region_id=region, **filters)).body


def acs_date(offset_seconds: float = 0.0) -> str:
    return datetime.fromtimestamp(time.time() + offset_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed_request(
    sandbox: Sandbox,
    action: str,
    params: dict[str, str],
    *,
    secret: str = "sandbox-secret",
    access_key_id: str = "sandbox-ak",
    date: str | None = None,
    nonce: str | None = None,
    body: bytes = b"",
    content_type: str | None = None,
) -> tuple[str, dict[str, str], bytes]:
    """(url, headers, body) of a request signed by hand, like the SDK would (docs/cloud-apis.md, Alibaba §2)."""
    headers = {
        "host": sandbox.alibaba_endpoint,
        "x-acs-action": action,
        "x-acs-version": "2016-04-28",
        "x-acs-date": date or acs_date(),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "accept": "application/json",
    }
    if content_type:
        headers["content-type"] = content_type
    signed = sign_acs3("POST", "/", params, headers, body, access_key_id, secret)
    return f"http://{sandbox.alibaba_endpoint}/?{urlencode(params)}", signed, body


def send(url: str, headers: dict[str, str], body: bytes = b"") -> httpx.Response:
    return httpx.post(url, headers=headers, content=body, timeout=10)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)
