"""Reading a Terraform state: the hand-written fixture (modules, `count`, `for_each`, a data source,
a deposed object), standard input, and bad input refused with a message that quotes no value."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from reconciler.terraform import TerraformStateError, parse_state, read_state

FIXTURE = Path(__file__).parent / "fixtures" / "terraform.tfstate"
# Every key in the fixture: none may appear in any text this package returns.
FIXTURE_KEYS = ("fixture-shared-key-7Qx", "fixture-edge-key-9Zt", "fixture-sg-key-3Rm", "fixture-deposed-key-0Aa")


def fixture_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return document


def state_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def test_every_managed_instance_is_read_with_its_full_address() -> None:
    state = read_state(str(FIXTURE))
    assert state.terraform_version == "1.9.8"
    assert [i.address for i in state.instances] == [
        "equinix_network_bgp.sg_to_hk",
        'module.edge["sg"].equinix_network_bgp.peering[0]',
        'module.edge["sg"].equinix_network_bgp.peering[1]',
        'module.alibaba.module.vbr["hk"].alicloud_vpc_bgp_group.this["hk-1"]',  # the deposed one is left out
        'module.alibaba.module.vbr["hk"].alicloud_vpc_bgp_peer.this[0]',
        "alicloud_vpc_bgp_group.sg",
        'alicloud_vpc_bgp_peer.sg["peer\'s \\"edge\\""]',  # HCL escapes inside the key
        "random_integer.vlan_id",
    ]  # the data source is not managed: left out
    by_address = {i.address: i for i in state.instances}
    grouped = by_address['module.alibaba.module.vbr["hk"].alicloud_vpc_bgp_group.this["hk-1"]']
    assert grouped.resource_address == "module.alibaba.module.vbr.alicloud_vpc_bgp_group.this"
    assert grouped.provider_config == "alicloud.hk"
    assert by_address["alicloud_vpc_bgp_group.sg"].provider_config == "alicloud"
    assert by_address['module.edge["sg"].equinix_network_bgp.peering[1]'].resource_address == (
        "module.edge.equinix_network_bgp.peering"
    )


def test_instances_never_show_their_attributes() -> None:
    state = read_state(str(FIXTURE))
    text = repr(state) + str(state) + "".join(repr(i) + str(i) for i in state.instances)
    assert not [key for key in FIXTURE_KEYS if key in text]


def test_a_dash_reads_standard_input() -> None:
    state = read_state("-", stdin=io.BytesIO(FIXTURE.read_bytes()))
    assert len(state.instances) == 8


def test_a_too_large_state_is_refused_from_a_file_and_from_standard_input(tmp_path: Path) -> None:
    path = tmp_path / "big.tfstate"
    path.write_bytes(FIXTURE.read_bytes())
    limit = len(FIXTURE.read_bytes()) - 1
    with pytest.raises(TerraformStateError, match=f"larger than {limit:,} bytes"):
        read_state(str(path), limit=limit)
    with pytest.raises(TerraformStateError, match="standard input is larger than"):
        read_state("-", stdin=io.BytesIO(FIXTURE.read_bytes()), limit=limit)


def test_a_folder_a_fifo_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path, what in ((tmp_path, "a folder"), (fifo, "a FIFO"), (tmp_path / "none", "not readable")):
        with pytest.raises(TerraformStateError, match=what) as caught:
            read_state(str(path))
        assert str(path) in str(caught.value) and "terraform state pull" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"version": 4, "resources": [{"attributes": {"auth_key": "fixture-sg-key-3Rm"', "not JSON"),
        (b'"fixture-sg-key-3Rm"', "its JSON is not an object"),
        (b"\xff\xfe fixture-sg-key-3Rm", "not UTF-8"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"version": 3, "modules": []}', "format version is 3; only version 4"),
        (b'{"serial": 1}', "format version is missing or not a number"),
        (b'{"version": 4, "encrypted_data": "fixture-sg-key-3Rm", "encryption_version": "v0"}', "encrypted OpenTofu"),
        (b'{"version": 4, "resources": {"a": 1}}', "`resources` is not a list"),
    ],
)
def test_bad_documents_are_refused_without_quoting_them(content: bytes, expected: str) -> None:
    with pytest.raises(TerraformStateError, match=expected) as caught:
        parse_state(content, "state.json")
    assert "state.json" in str(caught.value)
    assert "fixture-sg-key-3Rm" not in str(caught.value) + repr(caught.value)


def test_bad_instances_are_refused_with_their_place() -> None:
    document = fixture_document()
    document["resources"][1]["instances"][1]["index_key"] = {"key": "fixture-edge-key-9Zt"}
    with pytest.raises(TerraformStateError, match=r"resources\[1\]\.instances\[1\]: `index_key` is neither") as caught:
        parse_state(state_bytes(document), "state.json")
    assert "fixture-edge-key-9Zt" not in str(caught.value)

    document = fixture_document()
    del document["resources"][5]["instances"][0]["attributes"]
    document["resources"][5]["instances"][0]["attributes_flat"] = {"auth_key": "fixture-sg-key-3Rm"}
    with pytest.raises(TerraformStateError, match=r"format of Terraform 0\.11") as caught:
        parse_state(state_bytes(document), "state.json")
    assert "alicloud_vpc_bgp_group.sg" in str(caught.value) and "fixture-sg-key-3Rm" not in str(caught.value)

    document = fixture_document()
    document["resources"][1]["module"] = 'module.edge["sg"'
    with pytest.raises(TerraformStateError, match=r"resources\[1\]: `module` is not a module path"):
        parse_state(state_bytes(document), "state.json")


def test_an_empty_state_has_no_instances() -> None:
    assert parse_state(b'{"version": 4, "terraform_version": "1.6.0", "resources": []}', "s").instances == ()


def test_a_provider_of_another_form_is_named_as_written() -> None:
    from reconciler.terraform.state import provider_config

    source = 'provider["registry.terraform.io/aliyun/alicloud"]'
    assert provider_config(f"{source}.hk") == "alicloud.hk"
    # `$` alone also matches before a final newline: that is another form, named as written.
    assert provider_config(f"{source}\n") == f"{source}\n"
