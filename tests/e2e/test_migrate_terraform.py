"""`reconciler import --from-terraform` end to end, against the sandbox.

The objects the hand-written Terraform fixture (tests/terraform/fixtures/terraform.tfstate)
describes are made in the sandbox by hand (the real Alibaba SDK, raw Equinix HTTP), and the
fixture's ids are swapped for the ones the sandbox gave. Migrating it writes manifests that
validate and records the ids Terraform tracked, so that once the key variables it lists are set
`plan --detailed-exitcode` exits 0; neither the migration nor the plan makes a mutating call;
no key of the fixture reaches the manifests, the output or reconciler's state. Standard input,
ids that cannot be placed (a partial migration, exit 1, completed by a second run), a bad state
file and a second run without `--force` are covered too.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from reconciler.sandbox import Sandbox, Seed
from reconciler.terraform import read_state
from tests.clouds.alibaba.test_terraform import fixture_with_ids
from tests.e2e.conftest import Result, cli, post_equinix_config, spawn
from tests.e2e.test_drift import alibaba_client
from tests.terraform.test_state import FIXTURE, FIXTURE_KEYS

# Where the fixture's objects are: its device (sg-ne1 of examples/sandbox-seed.yaml, ASN 65010),
# its connections, and its VBRs with the region each is in (the Terraform state names only one).
DEVICE = "5f1e8a52-3c1d-4d6e-9a7b-0c2f4e6a8b10"
CONNECTIONS = tuple(f"00000000-0000-4000-8000-00000000000{i}" for i in range(3))
VBRS = {"vbr-test0100000000000": "cn-hongkong", "vbr-test0000000000000": "ap-southeast-1"}
HK_REGION = "cn-hongkong"
HK_ADDRESSES = (
    'module.alibaba.module.vbr["hk"].alicloud_vpc_bgp_group.this["hk-1"]',
    'module.alibaba.module.vbr["hk"].alicloud_vpc_bgp_peer.this[0]',
)
MIGRATED = 7  # the fixture's managed BGP instances (a data source, a deposed object and others left out)
MUTATING = re.compile(r"POST /ne|PUT |PATCH |DELETE |Create|Modify|Delete")
STATEFILE = "terraform.tfstate"
# The fixture's keys hold `-`, which Equinix refuses in a key (letters and digits only): the
# objects are made, and the state written, with the same keys without it.
KEYS = {key: key.replace("-", "") for key in FIXTURE_KEYS}
OUT = "migrated"


def fixture_seed() -> Seed:
    return Seed.from_mapping(
        {
            "equinix": {
                "connections": [{"uuid": c, "deviceUuid": DEVICE, "state": "PROVISIONED"} for c in CONNECTIONS]
            },
            "alibaba": {
                "regions": sorted(set(VBRS.values())),
                "vbrs": [{"vbrId": v, "regionId": r, "status": "active", "bfdEnabled": True} for v, r in VBRS.items()],
            },
        }
    )


def make_fixture_objects(box: Sandbox) -> dict[str, str]:
    """Every BGP object the fixture describes, made in the sandbox from its attributes: the
    fixture's id -> the sandbox's."""
    from alibabacloud_vpc20160428 import models as vpc

    box.add_seed(fixture_seed())
    ids: dict[str, str] = {}
    instances = read_state(str(FIXTURE)).instances
    for instance in instances:
        a = instance.attributes
        if instance.type == "equinix_network_bgp":
            body = {
                "connectionUuid": a["connection_id"],
                "localIpAddress": a["local_ip_address"],
                "localAsn": a["local_asn"],
                "remoteIpAddress": a["remote_ip_address"],
                "remoteAsn": a["remote_asn"],
            }
            if a["authentication_key"]:
                body["authenticationKey"] = KEYS[a["authentication_key"]]
            ids[a["uuid"]] = post_equinix_config(box, body)
        elif instance.type == "alicloud_vpc_bgp_group":
            region = VBRS[a["router_id"]]
            request = vpc.CreateBgpGroupRequest(
                region_id=region,
                router_id=a["router_id"],
                peer_asn=a["peer_asn"],
                name=a["bgp_group_name"],
                auth_key=KEYS[a["auth_key"]] if a["auth_key"] else None,
                description=a["description"] or None,
            )
            ids[a["id"]] = str(alibaba_client(box, region).create_bgp_group(request).body.bgp_group_id)
    groups = {i.attributes["id"]: VBRS[i.attributes["router_id"]] for i in instances if i.type.endswith("_group")}
    for instance in instances:
        a = instance.attributes
        if instance.type == "alicloud_vpc_bgp_peer":
            region = groups[a["bgp_group_id"]]
            request = vpc.CreateBgpPeerRequest(
                region_id=region,
                bgp_group_id=ids[a["bgp_group_id"]],
                peer_ip_address=a["peer_ip_address"],
                enable_bfd=a["enable_bfd"],
                bfd_multi_hop=a["bfd_multi_hop"] if a["enable_bfd"] else None,
            )
            ids[a["id"]] = str(alibaba_client(box, region).create_bgp_peer(request).body.bgp_peer_id)
    return ids


def keys_by_address() -> dict[str, str]:
    """Terraform address -> the key its instance holds in the state written (only those with one)."""
    found: dict[str, str] = {}
    for instance in read_state(str(FIXTURE)).instances:
        key = instance.attributes.get("authentication_key") or instance.attributes.get("auth_key")
        if key:
            found[instance.address] = KEYS[key]
    return found


@pytest.fixture
def migration(project: Path, sandbox: Sandbox) -> dict[str, str]:
    """The fixture's objects in the sandbox, and the fixture with their ids in the project."""
    ids = make_fixture_objects(sandbox)
    (project / STATEFILE).write_bytes(fixture_with_ids({**ids, **KEYS}))
    return ids


def listed_variables(out: str) -> dict[str, list[str]]:
    """The key variables the next steps list: name -> the Terraform addresses that used it."""
    return {m[1]: m[2].split(", ") for m in re.finditer(r"^ +([A-Z][A-Z0-9_]*)  \(used by (.*)\)$", out, re.MULTILINE)}


def set_variables(monkeypatch: pytest.MonkeyPatch, variables: Mapping[str, list[str]]) -> None:
    """Each variable set to the key of the Terraform resources it lists (which all hold it)."""
    keys = keys_by_address()
    for name, addresses in variables.items():
        assert len({keys[address] for address in addresses}) == 1, (name, addresses)
        monkeypatch.setenv(name, keys[addresses[0]])


def state_ids(project: Path) -> dict[str, str]:
    state = json.loads((project / "state" / "reconciler.json").read_text())
    return {address: r["cloud_id"] for address, r in state["resources"].items()}


def mutating_calls(before: Mapping[str, int], after: Mapping[str, int]) -> list[str]:
    return [op for op, n in after.items() if n != before.get(op, 0) and MUTATING.search(op)]


def no_key_anywhere(project: Path, *outputs: Result) -> None:
    """No key of the fixture in any output, nor in any file but the Terraform state itself."""
    for key in (*KEYS, *KEYS.values()):
        for result in outputs:
            assert key not in result.both, f"{key[:8]}... in the output"
        for path in project.rglob("*"):
            if path.is_file() and path.name != STATEFILE:
                assert key.encode() not in path.read_bytes(), f"{key[:8]}... found in {path}"


def migrate(*extra: str) -> Result:
    return cli("import", "--from-terraform", STATEFILE, "--out", OUT, *extra)


def files_of(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_fixture_migrates_to_a_zero_change_plan_with_no_mutating_call(
    project: Path, sandbox: Sandbox, migration: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sandbox.request_counts()
    migrated = migrate("--alibaba-region", HK_REGION)
    assert migrated.code == 0, migrated.both
    assert f"Read {MIGRATED} BGP resource instances" in migrated.out
    assert "Not migrated" not in migrated.out

    # Every migrated resource is in reconciler's state with the id Terraform tracked.
    assert sorted(state_ids(project).values()) == sorted(migration.values())
    out = project / OUT
    assert (out / "keys.env.example").is_file()
    for path in out.rglob("*.yaml"):
        assert path.read_text().startswith("# yaml-language-server: $schema=")

    # One variable per distinct key, naming the Terraform resources that used it.
    variables = listed_variables(migrated.out)
    assert sorted(sorted(addresses) for addresses in variables.values()) == sorted(
        [
            sorted(["equinix_network_bgp.sg_to_hk", HK_ADDRESSES[0]]),
            ['module.edge["sg"].equinix_network_bgp.peering[1]'],
            ["alicloud_vpc_bgp_group.sg"],
        ]
    )
    assert all(name in (out / "keys.env.example").read_text() for name in variables)

    # The next steps: plan, then forget in Terraform without destroying.
    assert f"reconciler plan {OUT}" in migrated.out
    assert migrated.out.count("terraform state rm '") == MIGRATED
    assert "terraform state rm 'module.edge[\"sg\"].equinix_network_bgp.peering[1]'" in migrated.out
    assert "from = module.alibaba.module.vbr.alicloud_vpc_bgp_group.this" in migrated.out
    assert "destroy = false" in migrated.out

    validated = cli("validate", OUT)
    assert validated.code == 0, validated.both
    missing = cli("plan", OUT, "--detailed-exitcode")
    assert missing.code == 1 and all(name in missing.both for name in variables), missing.both
    set_variables(monkeypatch, variables)
    plan = cli("plan", OUT, "--detailed-exitcode")
    assert plan.code == 0, plan.both
    assert "No changes" in plan.out

    after = sandbox.request_counts()
    assert not mutating_calls(before, after), {op: after[op] for op in mutating_calls(before, after)}
    assert any(op.startswith("alibaba Describe") for op in after)
    no_key_anywhere(project, migrated, validated, missing, plan)


def test_the_state_is_read_from_standard_input(project: Path, migration: dict[str, str]) -> None:
    content = (project / STATEFILE).read_bytes()
    process = spawn(
        "import", "--from-terraform", "-", "--out", OUT, "--region", f"alibaba={HK_REGION}", stdin=subprocess.PIPE
    )
    out, err = process.communicate(content.decode(), timeout=120)
    assert process.returncode == 0, out + err
    assert "from standard input" in out
    assert sorted(state_ids(project).values()) == sorted(migration.values())
    no_key_anywhere(project, Result(process.returncode, out, err))


def test_ids_not_placed_are_reported_and_a_second_run_completes_the_migration(
    project: Path, sandbox: Sandbox, migration: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # No region given: only ap-southeast-1, which the sg group names, is looked in.
    partial = migrate()
    assert partial.code == 1, partial.both
    for address in HK_ADDRESSES:
        line = next(line for line in partial.out.splitlines() if line.startswith(f"  {address} ("))
        assert "not found in ap-southeast-1" in line and "(alicloud.hk)" in line, line
    assert "2 of the Terraform state's BGP resource instances were not migrated" in partial.err
    assert "--alibaba-region" in partial.err and "Traceback" not in partial.both
    # What could be placed was written and recorded; the next steps name only that.
    assert len(state_ids(project)) == MIGRATED - 2
    assert all(f"terraform state rm {address!r}" not in partial.out for address in HK_ADDRESSES)
    assert partial.out.count("terraform state rm '") == MIGRATED - 2

    completed = migrate("--alibaba-region", HK_REGION, "--force")
    assert completed.code == 0, completed.both
    assert sorted(state_ids(project).values()) == sorted(migration.values())
    set_variables(monkeypatch, listed_variables(completed.out))
    plan = cli("plan", OUT, "--detailed-exitcode")
    assert plan.code == 0, plan.both
    no_key_anywhere(project, partial, completed, plan)


def test_a_second_run_without_force_refuses_to_overwrite(project: Path, migration: dict[str, str]) -> None:
    first = migrate("--alibaba-region", HK_REGION)
    assert first.code == 0, first.both
    written = files_of(project / OUT)
    state = (project / "state" / "reconciler.json").read_bytes()
    again = migrate("--alibaba-region", HK_REGION)
    assert again.code == 1
    assert "refusing to overwrite" in again.err and "--force" in again.err
    assert files_of(project / OUT) == written
    assert (project / "state" / "reconciler.json").read_bytes() == state


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json {", "is not a Terraform state: it is not JSON (Expecting value at line 1, column 1)"),
        (json.dumps({"version": 3, "resources": []}).encode(), "the state format version is 3; only version 4"),
        (json.dumps({"version": 4, "resources": {"a": 1}}).encode(), "`resources` is not a list"),
    ],
)
def test_a_bad_state_file_is_an_error_that_changes_nothing(
    project: Path, sandbox: Sandbox, content: bytes, message: str
) -> None:
    (project / STATEFILE).write_bytes(content)
    before = sandbox.request_counts()
    result = migrate("--alibaba-region", HK_REGION)
    assert result.code == 1
    assert result.err.startswith(f"Error: {STATEFILE}") and message in result.err, result.err
    assert "Traceback" not in result.both
    assert not (project / OUT).exists() and not (project / "state" / "reconciler.json").exists()
    assert sandbox.request_counts() == before


def test_a_missing_state_file_is_named(project: Path) -> None:
    result = migrate()
    assert result.code == 1
    assert f"cannot read the Terraform state {STATEFILE}" in result.err and "Traceback" not in result.both
