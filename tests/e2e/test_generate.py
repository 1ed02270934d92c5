"""`reconciler generate` end to end: objects made by hand with the real Alibaba SDK and raw
Equinix HTTP are written as manifests that validate; with `--import` the next plan shows no
changes once the listed key variables are set (and names every missing one before); no key
value reaches any output, file or the state; names that collide or are not valid manifest
names still give valid, unique names; generate makes no mutating call and never overwrites
without `--force`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from reconciler.sandbox import Sandbox, Seed
from tests.e2e.conftest import Result, cli, post_equinix_config
from tests.e2e.test_drift import alibaba_client

SG_DEVICE = "5f1e8a52-3c1d-4d6e-9a7b-0c2f4e6a8b10"  # sg-ne1, ASN 65010 (examples/sandbox-seed.yaml)
HK_DEVICE = "7a2b9c3d-4e5f-4a6b-8c7d-9e0f1a2b3c41"  # hk-ne1, ASN 65020
SEED_CONNECTIONS = {
    "80afc8be-0ce3-4950-be27-3d3e678e6873": SG_DEVICE,
    "3b6d2c1e-8f4a-4e7b-9c5d-1a2b3c4d5e6f": SG_DEVICE,
    "9d0c4e55-2b7a-4c1f-8e3d-6f5a4b3c2d10": HK_DEVICE,
    "0e7f6a5b-4c3d-4b2a-9f1e-8d7c6b5a4f32": HK_DEVICE,
}
EXTRA_CONNECTIONS = {f"4c8e1f20-6a3b-4d5c-8e7f-9a0b1c2d3e{i:02d}": SG_DEVICE for i in range(4)}
SEED_VBRS = {
    "vbr-t4nsgequinix000000001": "ap-southeast-1",
    "vbr-t4nsgcolo0000000000002": "ap-southeast-1",
    "vbr-j6nhkequinix000000001": "cn-hongkong",
    "vbr-j6nhkoffice00000000002": "cn-hongkong",
}
EXTRA_VBRS = {"vbr-t4ngen00000000000001": "ap-southeast-1", "vbr-j6ngen00000000000002": "cn-hongkong"}
SHARED_KEY = "GenSharedKeyNotReal1"  # the Singapore session's two ends
GROUP_KEY = "GenGroupKeyNotReal22"
EQUINIX_KEY = "GenEquinixKeyNotReal3"
KEYS = (SHARED_KEY, GROUP_KEY, EQUINIX_KEY)
ASN = {SG_DEVICE: 65010, HK_DEVICE: 65020}


def extra_seed() -> Seed:
    return Seed.from_mapping(
        {
            "equinix": {
                "connections": [
                    {"uuid": c, "deviceUuid": d, "state": "PROVISIONED"} for c, d in EXTRA_CONNECTIONS.items()
                ]
            },
            "alibaba": {
                "regions": ["ap-southeast-1", "cn-hongkong"],
                "vbrs": [
                    {"vbrId": v, "regionId": r, "status": "active", "bfdEnabled": True} for v, r in EXTRA_VBRS.items()
                ],
            },
        }
    )


def create_group(box: Sandbox, region: str, vbr: str, name: str, peer_asn: int, key: str | None) -> str:
    from alibabacloud_vpc20160428 import models as vpc

    request = vpc.CreateBgpGroupRequest(
        region_id=region, router_id=vbr, peer_asn=peer_asn, name=name, auth_key=key, description="Made by hand"
    )
    return str(alibaba_client(box, region).create_bgp_group(request).body.bgp_group_id)


def create_peer(box: Sandbox, region: str, group: str, address: str, bfd: bool) -> None:
    from alibabacloud_vpc20160428 import models as vpc

    request = vpc.CreateBgpPeerRequest(
        region_id=region, bgp_group_id=group, peer_ip_address=address, enable_bfd=bfd, bfd_multi_hop=1 if bfd else None
    )
    alibaba_client(box, region).create_bgp_peer(request)


def config(connection: str, local: str, remote_asn: int, key: str | None) -> dict[str, object]:
    body: dict[str, object] = {
        "connectionUuid": connection,
        "localIpAddress": f"{local}/30",
        "localAsn": ASN[(SEED_CONNECTIONS | EXTRA_CONNECTIONS)[connection]],
        "remoteIpAddress": local.rpartition(".")[0] + "." + str(int(local.rpartition(".")[2]) + 1),
        "remoteAsn": remote_asn,
    }
    if key:
        body["authenticationKey"] = key
    return body


def make_fifty(box: Sandbox, names: list[str]) -> None:
    """6 VBRs with a group and 6 peers each (42), and 8 Equinix configs: 50 objects. The
    Singapore group's first peer and the first config are the two ends of one session."""
    box.add_seed(extra_seed())
    for v, (vbr, region) in enumerate({**SEED_VBRS, **EXTRA_VBRS}.items()):
        key = SHARED_KEY if v == 0 else (GROUP_KEY if v % 2 else None)
        group = create_group(box, region, vbr, names[v], 65010 if v == 0 else 64600 + v, key)
        for p in range(6):
            create_peer(box, region, group, f"10.{v}.{p}.1" if v else f"10.0.0.{1 + 4 * p}", bfd=v != 3 and p % 2 == 0)
    for c, connection in enumerate({**SEED_CONNECTIONS, **EXTRA_CONNECTIONS}):
        if c == 0:
            post_equinix_config(box, config(connection, "10.0.0.1", 45104, SHARED_KEY))
        else:
            post_equinix_config(box, config(connection, f"192.168.{c}.1", 64512, EQUINIX_KEY if c % 3 else None))


def generate(*extra: str) -> Result:
    return cli(
        "generate", "--out", "onboard", "--alibaba", "ap-southeast-1", "--alibaba", "cn-hongkong",
        "--equinix", "all", *extra,
    )  # fmt: skip


def variables(out: Path) -> dict[str, list[str]]:
    """keys.env.example: variable -> the objects its comment lines name."""
    found: dict[str, list[str]] = {}
    users: list[str] = []
    for line in (out / "keys.env.example").read_text().splitlines():
        if line.startswith("# ") and "/" in line.split(" ")[1]:
            users.append(line[2:])
        elif m := re.fullmatch(r"([A-Z0-9_]+)=", line):
            found[m[1]] = users
            users = []
    return found


def no_key_anywhere(root: Path, *outputs: Result) -> None:
    for key in KEYS:
        for result in outputs:
            assert key not in result.both
        for path in root.rglob("*"):
            if path.is_file():  # the sandbox's data (keys in clear) is in the user's cache folder
                assert key.encode() not in path.read_bytes(), f"{key[:6]}... found in {path}"


def test_generate_import_then_plan_shows_no_changes(
    project: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["sg-vbr1", "colo-a", "hk-vbr1", "office-b", "gen-c", "gen-d"]
    make_fifty(sandbox, names)
    before = sandbox.request_counts()
    generated = generate("--import")
    assert generated.code == 0, generated.both
    mutating = {op: n for op, n in sandbox.request_counts().items() if n != before.get(op, 0)}
    assert not [op for op in mutating if re.search(r"POST /ne|PUT |Create|Modify|Delete", op)], mutating
    out = project / "onboard"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.yaml")) == [
        "alibaba/ap-southeast-1.yaml",
        "alibaba/cn-hongkong.yaml",
        "equinix/hk-ne1-7a2b9c3d.yaml",
        "equinix/sg-ne1-5f1e8a52.yaml",
    ]
    for path in out.rglob("*.yaml"):
        assert path.read_text().startswith("# yaml-language-server: $schema=")
    docs = [d for p in sorted(out.rglob("*.yaml")) for d in yaml.safe_load_all(p.read_text())]
    assert len(docs) == 50
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "AlibabaBgpGroup"} == set(names)
    linked = [d["metadata"]["name"] for d in docs if d["metadata"].get("labels", {}).get("link")]
    assert sorted(linked) == ["sg-ne1-10-0-0-1", "vbr-t4nsgequinix000000001-10-0-0-1"]

    validated = cli("validate", "onboard")
    assert validated.code == 0, validated.both

    listed = variables(out)
    missing = cli("plan", "onboard", "--detailed-exitcode")
    assert missing.code == 1
    assert all(name in missing.both for name in listed), missing.both
    assert "Traceback" not in missing.both

    for name, users in listed.items():
        group_users = [u for u in users if u.startswith("AlibabaBgpGroup/")]
        if any("10.0.0.1/30" in u for u in users) or any(u.startswith("AlibabaBgpGroup/sg-vbr1 ") for u in users):
            value = SHARED_KEY
        else:
            value = GROUP_KEY if group_users else EQUINIX_KEY
        monkeypatch.setenv(name, value)
    assert len(listed) == 3  # identical keys share one variable
    plan = cli("plan", "onboard", "--detailed-exitcode")
    assert plan.code == 0, plan.both
    assert "No changes" in plan.out

    again = generate("--import")
    assert again.code == 1 and "refusing to overwrite" in again.both and "--force" in again.both
    first = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    forced = generate("--force")
    assert forced.code == 0, forced.both
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == first  # byte-identical
    no_key_anywhere(project, generated, validated, missing, plan, again, forced)


def test_without_import_the_first_plan_adopts(project: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    group = create_group(sandbox, "ap-southeast-1", "vbr-t4nsgcolo0000000000002", "colo", 64700, None)
    create_peer(sandbox, "ap-southeast-1", group, "10.10.0.2", bfd=False)
    result = cli("generate", "--out", "onboard", "--alibaba", "ap-southeast-1:vbr-t4nsgcolo0000000000002")
    assert result.code == 0, result.both
    assert not (project / "onboard" / "keys.env.example").exists()  # no key, no variable
    plan = cli("plan", "onboard")
    assert plan.code == 0, plan.both
    assert "2 to adopt" in plan.out


def test_names_that_collide_or_are_invalid_give_valid_unique_names(project: Path, sandbox: Sandbox) -> None:
    names = ["core", "core", "Core_Router.1", "x9", "core", "Edge_Router-2"]
    make_fifty(sandbox, names)
    generated = generate("--import")
    assert generated.code == 0, generated.both
    out = project / "onboard"
    docs = [d for p in sorted(out.rglob("*.yaml")) for d in yaml.safe_load_all(p.read_text())]
    for kind in {d["kind"] for d in docs}:
        kind_names = [d["metadata"]["name"] for d in docs if d["kind"] == kind]
        assert len(kind_names) == len(set(kind_names))
    groups = sorted(d["metadata"]["name"] for d in docs if d["kind"] == "AlibabaBgpGroup")
    # A Name made valid where it can be; a repeated one falls back to the VBR and first peer address
    # (which of the three groups named "core" keeps it depends on their ids, given by the cloud).
    assert groups[:3] == ["core", "core-router-1", "edge-router-2"] and groups[-1] == "x9"
    assert all(re.fullmatch(r"vbr-[a-z0-9]+-10-\d-0-1", g) for g in groups[3:5]), groups
    validated = cli("validate", "onboard")
    assert validated.code == 0, validated.both
    # The groups whose Alibaba Name could not be kept are renamed by the first apply, and the output says so.
    assert generated.out.count("the first apply renames it") == 4
    no_key_anywhere(project, generated, validated)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--alibaba", "Hong Kong"], "is not a region or region:VBR"),
        (["--equinix", "sg-ne1"], "neither `all` nor a device uuid"),
        (["--scope", "nowhere=x"], "is not CLOUD=ARG with a known cloud"),
        ([], "generate needs at least one scope"),
    ],
)
def test_bad_arguments_are_clear_errors(project: Path, args: list[str], message: str) -> None:
    result = cli("generate", "--out", "onboard", *args)
    assert result.code == 1 and message in result.both and "Traceback" not in result.both
    assert not (project / "onboard").exists()
