"""Drafts to files: valid manifests whatever the live names, byte-identical output, one variable
per distinct key, links between mirrored ends only, and never a key value."""

from __future__ import annotations

import random
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings

from reconciler.clouds.alibaba import generate as alibaba
from reconciler.clouds.equinix import generate as equinix
from reconciler.generate import Draft, assemble
from reconciler.generate.assemble import KEYS_FILE
from reconciler.generate.files import write_files
from reconciler.manifest import load_manifests
from tests.generate.livesets import LiveSet, equinix_config, live_sets


def drafts_of(live: LiveSet) -> list[Draft]:
    configs = equinix.taken(["all"], live.objects)
    return [
        *alibaba.drafts(["ap-southeast-1", "cn-hongkong"], live.objects),
        *equinix.drafts_of(configs, live.device_names),
    ]


def schema(path: str) -> str:
    return "../schemas/manifest.schema.json"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(live_sets())
def test_generated_files_validate_and_hold_no_key(live: LiveSet) -> None:
    generated = assemble(drafts_of(live), schema)
    with __import__("tempfile").TemporaryDirectory() as folder:
        write_files(Path(folder), generated.files)
        loaded = load_manifests([folder])
        errors = [str(d) for d in loaded.diagnostics if d.severity == "error"]
        assert not errors, "\n".join(errors)
        assert len(loaded.resources) == len(live.objects)
    text = "".join(generated.files.values())
    assert not any(key in text for key in live.keys)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(live_sets())
def test_output_is_the_same_whatever_the_listing_order(live: LiveSet) -> None:
    first = assemble(drafts_of(live), schema)
    shuffled = list(live.objects)
    random.Random(7).shuffle(shuffled)
    again = assemble(drafts_of(LiveSet(shuffled, live.device_names, live.keys)), schema)
    assert first.files == again.files


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(live_sets(max_vbrs=300))
def test_a_large_random_live_set_validates(live: LiveSet) -> None:
    generated = assemble(drafts_of(live), schema)
    with __import__("tempfile").TemporaryDirectory() as folder:
        write_files(Path(folder), generated.files)
        loaded = load_manifests([folder])
        assert not [d for d in loaded.diagnostics if d.severity == "error"]


def test_identical_keys_share_one_variable_and_mirrored_ends_are_linked() -> None:
    device = "5f1e8a52-3c1d-4d6e-9a7b-0c2f4e6a8b10"
    mirrored = equinix_config(1, device, "10.0.0.1/30", 65010, "10.0.0.2", 45104, "SameKey123")
    other = equinix_config(2, device, "10.0.1.1/30", 65010, "10.0.1.2", 45104, "SameKey123")
    keyless = equinix_config(3, device, "10.0.2.1/30", 65010, "10.0.2.2", 45104, None)
    generated = assemble(equinix.drafts_of([mirrored, other, keyless], {device: "sg-ne1"}), schema)
    docs = list(yaml.safe_load_all(generated.files["equinix/sg-ne1-5f1e8a52.yaml"]))
    refs = [d["spec"].get("authenticationKey") for d in docs]
    assert refs == [{"fromEnv": "SG_NE1_10_0_0_1_BGP_KEY"}, {"fromEnv": "SG_NE1_10_0_0_1_BGP_KEY"}, None]
    assert [k.name for k in generated.keys] == ["SG_NE1_10_0_0_1_BGP_KEY"]
    example = generated.files[KEYS_FILE]
    assert "SG_NE1_10_0_0_1_BGP_KEY=\n" in example and "SameKey123" not in example
    assert "EquinixBgpPeering/sg-ne1-10-0-0-1 (10.0.0.1/30 on connection" in example
    assert generated.files[next(iter(generated.files))].startswith("# yaml-language-server: $schema=")


def test_a_peer_and_a_config_that_mirror_each_other_are_linked_and_share_a_key() -> None:
    from reconciler.clouds.alibaba.provider import group_object, peer_object

    region, vbr = "ap-southeast-1", "vbr-t4nexample0000000001"
    group = group_object(
        {"BgpGroupId": "bgpg-1", "RouterId": vbr, "Name": "sg-vbr1", "PeerAsn": 65010, "AuthKey": "SameKey123"},
        region,
    )
    peer = peer_object({"BgpPeerId": "bgp-1", "BgpGroupId": "bgpg-1", "PeerIpAddress": "10.0.0.1"}, region)
    stranger = peer_object({"BgpPeerId": "bgp-2", "BgpGroupId": "bgpg-1", "PeerIpAddress": "10.0.9.1"}, region)
    device = "5f1e8a52-3c1d-4d6e-9a7b-0c2f4e6a8b10"
    config = equinix_config(1, device, "10.0.0.1/30", 65010, "10.0.0.2", 45104, "SameKey123")
    wrong_key = equinix_config(2, device, "10.0.9.1/30", 65010, "10.0.9.2", 45104, "OtherKey123")
    drafts = [*alibaba.drafts([region], [group, peer, stranger]), *equinix.drafts_of([config, wrong_key], {})]
    generated = assemble(drafts, schema)
    docs = [d for path, text in generated.files.items() if path.endswith(".yaml") for d in yaml.safe_load_all(text)]
    links = {d["metadata"]["name"]: d["metadata"].get("labels", {}).get("link") for d in docs}
    assert generated.links == 1
    assert links["vbr-t4nexample0000000001-10-0-0-1"] == links["ne-5f1e8a52-10-0-0-1"] is not None
    assert links["vbr-t4nexample0000000001-10-0-9-1"] is None  # the keys differ
    assert len(generated.keys) == 2
