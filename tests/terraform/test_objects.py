"""Terraform instances as live objects through the registry (memcloud included), groups of
identical keys, and the next steps; no key value in any text, error or repr."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from reconciler.clouds import CLOUDS
from reconciler.errors import ReconcilerError
from reconciler.model import LiveObject
from reconciler.terraform import (
    key_groups,
    next_steps,
    parse_state,
    read_objects,
    read_state,
    removed_blocks,
    shell_quoted,
    state_rm_commands,
    terraform_types,
)
from tests.terraform.test_state import FIXTURE, FIXTURE_KEYS
from tests.testcloud import registered


@pytest.fixture
def memcloud() -> Iterator[None]:
    with registered():
        yield


def name_by_first_id(objects: Sequence[LiveObject]) -> str:
    return "KEY_" + objects[0].cloud_id[-4:].upper().replace("-", "_")


def test_the_fixture_reads_as_the_clouds_objects_with_shared_keys_grouped() -> None:
    state = read_state(str(FIXTURE))
    read = read_objects(state.instances, terraform_types(CLOUDS.values()))
    assert read.unread == ()
    assert len(read.objects) == 7  # random_integer is no registered type
    groups = key_groups(read.objects, name_by_first_id)
    assert [(g.variable, g.addresses) for g in groups] == [
        (
            "KEY_AA01",
            (
                "equinix_network_bgp.sg_to_hk",
                'module.alibaba.module.vbr["hk"].alicloud_vpc_bgp_group.this["hk-1"]',
            ),
        ),
        ("KEY_AA03", ('module.edge["sg"].equinix_network_bgp.peering[1]',)),
        ("KEY_0001", ("alicloud_vpc_bgp_group.sg",)),
    ]
    assert {use.field for use in groups[0].uses} == {"authenticationKey", "authKey"}


def test_memcloud_instances_are_read_through_the_registry(memcloud: None) -> None:
    document = {
        "version": 4,
        "resources": [
            {
                "module": 'module.core["r1"]',
                "mode": "managed",
                "type": "memcloud_router",
                "name": "bgp",
                "provider": 'provider["registry.terraform.io/example/memcloud"]',
                "instances": [
                    {
                        "attributes": {
                            "id": "rt-1",
                            "router_id": "R1",
                            "name": "edge",
                            "peer_asn": "65020",
                            "md5_key": "k-1",
                        }
                    },
                    {"index_key": 1, "attributes": {"router_id": "R1", "name": "edge2", "md5_key": "k-1"}},
                ],
            }
        ],
    }
    state = parse_state(json.dumps(document).encode(), "memcloud.tfstate")
    read = read_objects(state.instances, terraform_types(CLOUDS.values()))
    [obj] = read.objects
    assert obj.address == 'module.core["r1"].memcloud_router.bgp' and obj.cloud == "memcloud"
    assert obj.live.attrs == {"routerId": "r1", "name": "edge", "localAsn": 64512, "peerAsn": 65020, "description": ""}
    [unread] = read.unread
    assert unread.address == 'module.core["r1"].memcloud_router.bgp[1]'
    assert unread.reason == "cannot be read: the attribute `id` is missing"


def test_a_repeated_object_and_a_gone_one_are_reported_not_taken() -> None:
    document: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    twin = json.loads(json.dumps(document["resources"][0]))
    twin["name"] = "twin"
    document["resources"].append(twin)
    document["resources"][1]["instances"][0]["attributes"]["provisioning_status"] = "DEPROVISIONED"
    state = parse_state(json.dumps(document).encode(), "s")
    read = read_objects(state.instances, terraform_types(CLOUDS.values()))
    assert [(u.address, u.reason) for u in read.unread] == [
        ('module.edge["sg"].equinix_network_bgp.peering[0]', "describes no live object (the cloud reports it gone)"),
        (
            "equinix_network_bgp.twin",
            "is the same object (3a1b2c3d-0000-4000-8000-00000000aa01) as equinix_network_bgp.sg_to_hk",
        ),
    ]


def test_two_keys_named_alike_are_refused() -> None:
    read = read_objects(read_state(str(FIXTURE)).instances, terraform_types(CLOUDS.values()))
    with pytest.raises(ReconcilerError, match="same variable name SAME"):
        key_groups(read.objects, lambda objects: "SAME")


def test_next_steps_quote_addresses_and_offer_removed_blocks_for_whole_resources() -> None:
    state = read_state(str(FIXTURE))
    read = read_objects(state.instances, terraform_types(CLOUDS.values()))
    groups = key_groups(read.objects, name_by_first_id)
    text = next_steps(groups, read.objects, state.instances, "reconciler plan migrated")
    assert "KEY_AA01  (used by equinix_network_bgp.sg_to_hk, module.alibaba" in text
    assert "Run `reconciler plan migrated`: it should show no changes." in text
    assert """terraform state rm 'module.edge["sg"].equinix_network_bgp.peering[1]'""" in text
    assert """terraform state rm 'alicloud_vpc_bgp_peer.sg["peer'"'"'s \\"edge\\""]'""" in text
    assert "from = module.alibaba.module.vbr.alicloud_vpc_bgp_group.this\n" in text
    assert "[" not in "".join(line for line in text.splitlines() if "from =" in line)  # no instance keys
    assert text.count("destroy = false") == 6  # one per resource block


def test_a_resource_migrated_in_part_gets_state_rm_only() -> None:
    state = read_state(str(FIXTURE))
    read = read_objects(state.instances, terraform_types(CLOUDS.values()))
    some = [obj for obj in read.objects if not obj.address.endswith("peering[0]")]
    blocks = removed_blocks(some, state.instances)
    assert not any("module.edge.equinix_network_bgp.peering" in block for block in blocks)
    text = next_steps((), some, state.instances, "reconciler plan m")
    assert "Only some instances of these resource blocks" in text
    assert "        module.edge.equinix_network_bgp.peering" in text
    assert "Set the key variables" not in text


def test_shell_quoting_survives_a_shell() -> None:
    import shlex

    address = 'a.b["it\'s \\"x\\" $HOME `id`"]'
    [command] = state_rm_commands([address])
    assert shlex.split(command) == ["terraform", "state", "rm", address]
    assert shell_quoted("x") == "'x'"


def test_no_key_appears_in_any_text_error_or_repr(capsys: pytest.CaptureFixture[str]) -> None:
    state = read_state(str(FIXTURE))
    read = read_objects(state.instances, terraform_types(CLOUDS.values()))
    groups = key_groups(read.objects, name_by_first_id)
    texts = [
        repr(state),
        repr(read),
        str(read),
        repr(groups),
        next_steps(groups, read.objects, state.instances, "reconciler plan m"),
        *(repr(obj.live.secrets) + str(dict(obj.live.secrets)) for obj in read.objects),
    ]
    document: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    document["resources"][5]["instances"][0]["attributes"]["router_id"] = None  # unreadable, with its key
    bad = read_objects(parse_state(json.dumps(document).encode(), "s").instances, terraform_types(CLOUDS.values()))
    texts.append(repr(bad.unread))
    captured = capsys.readouterr()
    texts += [captured.out, captured.err]
    leaked = [key for key in FIXTURE_KEYS for text in texts if key in text]
    assert not leaked
    assert "router_id" in repr(bad.unread)
