"""The state JSON format: round trips, determinism, the schema, and refusals with JSON paths."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from jsonschema import Draft202012Validator

from reconciler.clouds import KINDS
from reconciler.errors import StateError
from reconciler.model import NO_ENTRIES, JournalEntry, SecretValue, StateDoc, StateResource
from reconciler.package_data import load_schema
from reconciler.state.codec import (
    ADDRESS_RE,
    FORMAT_VERSION,
    KIND_RE,
    UUID_RE,
    check_entry,
    dump_state,
    entry_from_json,
    entry_to_json,
    load_state,
    secret_field_names,
)
from tests.state.strategies import journal_entries, state_docs

LINEAGE = "0b7c6a52-6f53-4a8e-9a57-3c1c2d9e8f10"
SCHEMA = load_schema("state.schema.json")
VALIDATOR = Draft202012Validator(SCHEMA)


def group(name: str = "sg-vbr1", **attributes: Any) -> StateResource:
    return StateResource(
        address=f"AlibabaBgpGroup/{name}",
        kind="AlibabaBgpGroup",
        cloud_id=f"bgpg-{name}",
        region="ap-southeast-1",
        attributes={"peerAsn": 65010, "name": name, **attributes},
    )


def doc(*resources: StateResource, **fields: Any) -> StateDoc:
    return StateDoc(
        lineage=fields.pop("lineage", LINEAGE),
        serial=fields.pop("serial", 3),
        resources={res.address: res for res in resources},
        **fields,
    )


def valid_json() -> dict[str, Any]:
    text = dump_state(
        doc(
            group(),
            pending=(
                JournalEntry(
                    id="i-1",
                    address="AlibabaBgpPeer/p1",
                    kind="AlibabaBgpPeer",
                    action="create",
                    phase="intent",
                    time="2024-05-01T10:00:00Z",
                ),
            ),
        )
    )
    data: dict[str, Any] = json.loads(text)
    return data


def test_the_schema_is_valid_2020_12() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_schema_and_the_codec_agree_on_patterns_and_secret_names() -> None:
    defs = SCHEMA["$defs"]
    assert defs["uuid"]["pattern"] == UUID_RE.pattern
    assert defs["kind"]["pattern"] == KIND_RE.pattern
    assert defs["address"]["pattern"] == ADDRESS_RE.pattern
    every_secret_field = {name for info in KINDS.values() for name in info.secret_fields}
    assert every_secret_field == secret_field_names()
    # The schema names no kind's fields: a pattern that every secret field matches and no other field does.
    secret_name = re.compile(defs["secretFieldName"]["pattern"])
    assert sorted(name for name in every_secret_field if not secret_name.search(name)) == []
    assert sorted(name for info in KINDS.values() for name in info.fields if secret_name.search(name)) == []
    assert SCHEMA["properties"]["format_version"]["const"] == FORMAT_VERSION


def test_the_kind_part_of_an_address_is_a_kind_name() -> None:
    # The reader takes a kind equal to its address's kind part as valid without KIND_RE.
    assert ADDRESS_RE.pattern.startswith(KIND_RE.pattern.removesuffix("$") + "/")


@settings(max_examples=100, deadline=None)
@given(state_docs())
def test_any_document_round_trips_and_validates_against_the_schema(original: StateDoc) -> None:
    text = dump_state(original)
    assert list(VALIDATOR.iter_errors(json.loads(text))) == []
    loaded = load_state(text, "test.json")
    assert loaded == original
    assert dump_state(loaded) == text


@settings(max_examples=100, deadline=None)
@given(journal_entries())
def test_journal_entries_round_trip_and_validate(entry: JournalEntry) -> None:
    data = check_entry(entry)
    entry_schema = {"$ref": "#/$defs/journalEntry", "$defs": SCHEMA["$defs"]}
    assert list(Draft202012Validator(entry_schema).iter_errors(data)) == []
    assert entry_from_json(json.loads(json.dumps(data))) == entry


def test_natural_key_is_a_json_list_and_comes_back_as_a_tuple() -> None:
    entry = JournalEntry(
        id="x",
        address="AlibabaBgpPeer/p1",
        kind="AlibabaBgpPeer",
        action="create",
        phase="intent",
        time="t",
        natural_key=("bgpg-1", "10.0.0.1"),
    )
    data = entry_to_json(entry)
    assert data["natural_key"] == ["bgpg-1", "10.0.0.1"]
    assert entry_from_json(data).natural_key == ("bgpg-1", "10.0.0.1")
    assert "cloud_id" not in data and "dependencies" not in data  # empty fields are omitted


def test_output_is_deterministic_sorted_and_ends_with_a_newline() -> None:
    a, b = group("aa"), group("bb", description="x")
    first = dump_state(doc(a, b))
    second = dump_state(StateDoc(lineage=LINEAGE, serial=3, resources={b.address: b, a.address: a}))
    assert first == second
    assert first.endswith("}\n")
    assert first.index('"AlibabaBgpGroup/aa"') < first.index('"AlibabaBgpGroup/bb"')
    top_keys = re.findall(r'^  "([a-z_]+)":', first, flags=re.MULTILINE)
    assert top_keys == ["format_version", "lineage", "pending", "resources", "serial"]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d.pop("lineage"), "missing required field 'lineage'"),
        (lambda d: d.update(lineage="not-a-uuid"), "$.lineage"),
        (lambda d: d.update(serial=0), "$.serial"),
        (lambda d: d.update(serial="3"), "$.serial"),
        (lambda d: d.update(serial=True), "$.serial"),
        (lambda d: d.update(format_version=0), "$.format_version"),
        (lambda d: d.update(resources=[]), "$.resources"),
        (lambda d: d.update(pending={}), "$.pending"),
        (lambda d: d.update(token="abc"), "unknown field 'token'"),
        (lambda d: d["resources"].update({"Bad Address": d["resources"]["AlibabaBgpGroup/sg-vbr1"]}), "Bad Address"),
        (lambda d: d["resources"]["AlibabaBgpGroup/sg-vbr1"].pop("cloud_id"), "missing required field 'cloud_id'"),
        (lambda d: d["resources"]["AlibabaBgpGroup/sg-vbr1"].update(cloud_id=""), ".cloud_id"),
        (lambda d: d["resources"]["AlibabaBgpGroup/sg-vbr1"].update(region=5), ".region"),
        (lambda d: d["resources"]["AlibabaBgpGroup/sg-vbr1"].update(authKey="x"), "unknown field 'authKey'"),
        (lambda d: d["resources"]["AlibabaBgpGroup/sg-vbr1"]["attributes"].update(authKey="x"), ".attributes.authKey"),
        (
            lambda d: d["resources"]["AlibabaBgpGroup/sg-vbr1"]["attributes"].update(
                nested={"list": [{"authenticationKey": "x"}]}
            ),
            ".attributes.nested.list[0].authenticationKey",
        ),
        (lambda d: d["resources"]["AlibabaBgpGroup/sg-vbr1"].update(dependencies=["x"]), ".dependencies[0]"),
        (
            lambda d: d["resources"]["AlibabaBgpGroup/sg-vbr1"].update(
                dependencies=["AlibabaBgpGroup/a", "AlibabaBgpGroup/a"]
            ),
            "lists an address twice",
        ),
        (lambda d: d["pending"][0].update(phase="failed"), "$.pending[0].phase"),
        (lambda d: d["pending"][0].update(action="destroy"), "$.pending[0].action"),
        (lambda d: d["pending"][0].update(secret="x"), "unknown field 'secret'"),
        (lambda d: d["pending"][0].pop("time"), "missing required field 'time'"),
        (lambda d: d["pending"][0].update(attributes={"authKey": "x"}), "$.pending[0].attributes.authKey"),
        (lambda d: d.update(extra={"authenticationKey": "x"}), "$.extra.authenticationKey"),
    ],
)
def test_invalid_documents_are_refused_by_the_codec_and_by_the_schema(change: Any, path: str) -> None:
    data = valid_json()
    change(data)
    assert not VALIDATOR.is_valid(data), "the schema should refuse this too"
    with pytest.raises(StateError) as caught:
        load_state(json.dumps(data), "state/reconciler.json")
    message = str(caught.value)
    assert message.startswith("state/reconciler.json: ")
    assert path in message


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d.update(lineage=d["lineage"] + "\n"), "$.lineage"),
        (lambda d: d["resources"].update({"AlibabaBgpGroup/x\n": d["resources"]["AlibabaBgpGroup/sg-vbr1"]}), "x\\n"),
        (
            lambda d: d["resources"]["AlibabaBgpGroup/sg-vbr1"].update(dependencies=["AlibabaBgpGroup/a\n"]),
            ".dependencies[0]",
        ),
        (lambda d: d["pending"][0].update(kind="AlibabaBgpPeer\n"), "$.pending[0].kind"),
    ],
)
def test_a_value_with_a_trailing_newline_does_not_pass_for_an_id(change: Any, path: str) -> None:
    # A pattern's `$` also matches before a final newline; the JSON Schema's (ECMA-262) does not.
    data = valid_json()
    change(data)
    with pytest.raises(StateError) as caught:
        load_state(json.dumps(data), "state/reconciler.json")
    assert path in str(caught.value)


def test_a_resource_whose_kind_does_not_match_its_address_is_refused() -> None:
    data = valid_json()
    data["resources"]["AlibabaBgpGroup/sg-vbr1"]["kind"] = "AlibabaBgpPeer"
    with pytest.raises(StateError, match=r"\.kind: 'AlibabaBgpPeer' does not match the address"):
        load_state(json.dumps(data), "s.json")


LITERAL_KEY = "StateNeverQuotesThisKey1"  # a stand-in for a key written into state by hand


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda res: res.update(kind=5), ".kind: must be a kind name (CamelCase, such as BgpPeer)"),
        (lambda res: res.update(kind="Alibaba BgpGroup"), ".kind: must be a kind name (CamelCase, such as BgpPeer)"),
        (lambda res: res.update(kind="AlibabaBgp"), ".kind: 'AlibabaBgp' does not match the address"),
        (lambda res: res.update(attributes=[]), ".attributes: must be an object, not an array"),
        (lambda res: res["attributes"].update(weight=float("nan")), ".attributes.weight: must be a finite number"),
        (
            lambda res: res["attributes"].update(peers=[1, [2, {"authKey": LITERAL_KEY}]]),
            ".attributes.peers[1][1].authKey: is a",
        ),
        (lambda res: res.update(dependencies="AlibabaBgpGroup/a"), ".dependencies: must be an array of addresses"),
        (lambda res: res.update(labels={"team": 1}), ".labels: must be an object of strings"),
        (lambda res: res.update(created_at=None), ".created_at: must be a time (ISO 8601 text)"),
    ],
)
def test_a_broken_resource_rule_names_the_full_json_path(change: Any, message: str) -> None:
    data = valid_json()
    change(data["resources"]["AlibabaBgpGroup/sg-vbr1"])
    with pytest.raises(StateError) as caught:
        load_state(json.dumps(data), "s.json")
    assert str(caught.value).startswith(f"s.json: $.resources['AlibabaBgpGroup/sg-vbr1']{message}")
    assert LITERAL_KEY not in str(caught.value)  # a refusal never quotes a value


def test_attributes_that_are_not_flat_scalars_load_as_written() -> None:
    attributes = {"weight": 1.5, "peers": [1, None, ["a"]], "bfd": {"interval": 300, "on": True}, "name": "x"}
    original = doc(group(**attributes))
    assert load_state(dump_state(original), "s.json") == original


def test_repeated_kinds_regions_and_manifest_files_are_loaded_as_one_object_each() -> None:
    resources = [
        replace(group(f"g{i}"), manifest_file=f"bgp/{i % 2}.yaml", region=None if i == 3 else "ap-southeast-1")
        for i in range(4)
    ]
    loaded = list(load_state(dump_state(doc(*resources)), "s.json").resources.values())
    assert loaded == resources
    assert len({id(res.kind) for res in loaded}) == 1
    assert len({id(res.region) for res in loaded if res.region is not None}) == 1
    assert len({id(res.manifest_file) for res in loaded}) == 2


def test_a_done_create_without_cloud_id_is_refused_by_both() -> None:
    data = valid_json()
    data["pending"] = []
    entry = {"id": "1", "address": "AlibabaBgpPeer/p", "kind": "AlibabaBgpPeer", "action": "create"}
    entry |= {"phase": "done", "time": "t", "attributes": {}}
    entry_schema = Draft202012Validator({"$ref": "#/$defs/journalEntry", "$defs": SCHEMA["$defs"]})
    assert not entry_schema.is_valid(entry)
    with pytest.raises(StateError, match="a done create must say what is in the cloud: missing 'cloud_id'"):
        check_entry(entry_from_json(entry))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the state file is empty (truncated?)"),
        ("\n \t\n", "the state file is empty (truncated?)"),
        (
            '{"format_version": 1, "lineage": "',
            "s.json:1:34: not valid JSON (Unterminated string); the file is truncated or corrupt",
        ),
        ("[1, 2]", "s.json: $: must be a JSON object, not an array"),
        ("null", "s.json: $: must be a JSON object, not null"),
        ('{"format_version": 2, "serial": 9}', "format_version 2 is newer than this reconciler understands (up to 1)"),
    ],
)
def test_unreadable_text_gets_a_clear_message(text: str, expected: str) -> None:
    with pytest.raises(StateError) as caught:
        load_state(text, "s.json")
    assert expected in str(caught.value)


def test_writing_a_secret_attribute_is_refused_without_quoting_the_value() -> None:
    secret = "hunter2-bgp-md5"
    for attributes in ({"authKey": secret}, {"key": SecretValue(secret)}, {"deep": {"authenticationKey": secret}}):
        with pytest.raises(StateError) as caught:
            dump_state(doc(group(**attributes)))
        assert secret not in str(caught.value)
        assert "refusing to write the state: $.resources['AlibabaBgpGroup/sg-vbr1'].attributes" in str(caught.value)


def test_a_journal_entry_with_a_secret_is_refused_without_quoting_it() -> None:
    entry = JournalEntry(
        id="1",
        address="EquinixBgpPeering/sg",
        kind="EquinixBgpPeering",
        action="update",
        phase="intent",
        time="t",
        attributes={"authenticationKey": "hunter2-bgp-md5"},
    )
    with pytest.raises(StateError) as caught:
        check_entry(entry)
    assert "hunter2" not in str(caught.value)
    assert "$.attributes.authenticationKey: is a secret field" in str(caught.value)


def test_a_resource_stored_under_another_address_is_refused() -> None:
    res = group("aa")
    with pytest.raises(StateError, match="holds the resource of another address"):
        dump_state(StateDoc(lineage=LINEAGE, serial=1, resources={"AlibabaBgpGroup/bb": res}))


def test_an_unwritten_document_cannot_be_dumped() -> None:
    # lineage and serial are assigned by the backend's write; a bare StateDoc() is not a file.
    with pytest.raises(StateError, match=r"\$\.lineage"):
        dump_state(StateDoc())


def test_addresses_dependencies_and_attribute_text_are_interned() -> None:
    # A plan holds the manifests', the state's and the live objects' copies of every id and
    # address: interned, they are one object each.
    first = group("g1", virtualBorderRouterId="vbr-t4nexample0000000001")
    second = replace(group("g2", virtualBorderRouterId="vbr-t4nexample0000000001"), dependencies=(first.address,))
    text = dump_state(doc(first, second))
    once, again = load_state(text, "a.json"), load_state(text, "b.json")
    assert once == again == doc(first, second)
    for address in once.resources:  # two reads of the same file, each with its own json.loads
        assert next(a for a in again.resources if a == address) is address
    assert once.resources[second.address].dependencies[0] is again.resources[first.address].address
    # A live object's cloud id is interned too: the state and the refresh hold one string.
    assert once.resources[first.address].cloud_id is again.resources[first.address].cloud_id
    vbr_ids = [r.attributes["virtualBorderRouterId"] for r in (*once.resources.values(), *again.resources.values())]
    assert len({id(v) for v in vbr_ids}) == 1


def test_a_resource_without_labels_shares_the_one_read_only_empty_mapping() -> None:
    loaded = load_state(dump_state(doc(group("g1"), replace(group("g2"), labels={"team": "neteng"}))), "s.json")
    assert loaded.resources["AlibabaBgpGroup/g1"].labels is NO_ENTRIES
    assert dict(loaded.resources["AlibabaBgpGroup/g2"].labels) == {"team": "neteng"}
    with pytest.raises(TypeError):
        loaded.resources["AlibabaBgpGroup/g1"].labels["team"] = "x"  # type: ignore[index]
