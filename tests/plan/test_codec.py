"""The plan codec (`reconciler.plan.codec`): schema, exact round trip, sensitive maps."""

from __future__ import annotations

import json
import re
import string
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.clouds import KINDS
from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.package_data import load_schema
from reconciler.plan.codec import change_to_dict, plan_from_dict, plan_to_dict, plan_to_json
from reconciler.plan.model import Action, Change, FieldChange, Plan, SecretChange, SecretDigest
from reconciler.render import render_plan
from tests.render.samples import (
    big_plan,
    create_group,
    create_peer,
    delete_peer,
    forget_peering,
    leaky_plan,
    noop_peer,
    replace_peering,
    sample_plan,
    update_group,
)


def _errors(validator: Any, document: Any) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(document)]


def test_every_json_output_matches_the_schema(plan_validator: Any) -> None:
    plans = [
        sample_plan(),
        sample_plan(changes=(), lineage=None, serial=0, secret_digests={}, created_at="", tool_version=""),
        sample_plan(mode="refresh-only", targets=("AlibabaBgpGroup/sg-vbr1",)),
        leaky_plan(),
        big_plan(300),
    ]
    for plan in plans:
        document = json.loads(render_plan(plan, "json"))
        assert _errors(plan_validator, document) == []


def test_the_schema_rejects_what_it_should(plan_validator: Any) -> None:
    good = plan_to_dict(sample_plan())
    bad_action = json.loads(json.dumps(good))
    bad_action["resource_changes"][0]["action"] = "explode"
    assert _errors(plan_validator, bad_action)[0].startswith("$.resource_changes[0].action: 'explode' is not one of")
    secret_value = json.loads(json.dumps(good))
    secret_value["resource_changes"][2]["before"]["authKey"] = "hunter2"
    assert _errors(plan_validator, secret_value) != []
    sensitive_with_value = json.loads(json.dumps(good))
    sensitive_with_value["resource_changes"][2]["fields"][1]["after"] = "hunter2"
    assert _errors(plan_validator, sensitive_with_value) == [
        "$.resource_changes[2].fields[1].after: 'hunter2' is not of type 'null'"
    ]
    not_true = json.loads(json.dumps(good))
    not_true["resource_changes"][0]["after_sensitive"]["authKey"] = "x"
    assert _errors(plan_validator, not_true) == ["$.resource_changes[0].after_sensitive.authKey: True was expected"]
    missing = {k: v for k, v in good.items() if k != "serial"}
    assert _errors(plan_validator, missing) == ["$: 'serial' is a required property"]


def test_secret_fields_are_recognised_by_a_naming_pattern_not_a_list() -> None:
    plan_defs = load_schema("plan.schema.json")["$defs"]
    pattern = plan_defs["secretFieldName"]["pattern"]
    assert pattern == load_schema("state.schema.json")["$defs"]["secretFieldName"]["pattern"]
    assert list(plan_defs["attributes"]["patternProperties"]) == [pattern]
    secret_name = re.compile(pattern)
    assert sorted(f for info in KINDS.values() for f in info.secret_fields if not secret_name.search(f)) == []
    assert sorted(f for info in KINDS.values() for f in info.fields if secret_name.search(f)) == []


def test_a_cloud_the_schema_has_never_heard_of_passes_it(plan_validator: Any) -> None:
    kind = "ExampleBgpSession"  # registered by no cloud: the schema must not list kinds or secret fields
    change = Change(
        address=f"{kind}/s1",
        kind=kind,
        name="s1",
        action=Action.UPDATE,
        provider="examplecloud",
        before={"peerAsn": 65010, "sharedAuthKey": "(sensitive)"},
        after={"peerAsn": 65020, "sharedAuthKey": "(sensitive)"},
        fields=(
            FieldChange("peerAsn", before=65010, after=65020),
            FieldChange("sharedAuthKey", sensitive=True, secret_change=SecretChange.CHANGED),
        ),
        secret_refs={"sharedAuthKey": "env:KEY"},
    )
    document = plan_to_dict(sample_plan(changes=(change,)))
    assert _errors(plan_validator, document) == []
    document["resource_changes"][0]["after"]["sharedAuthKey"] = "hunter2"
    assert [e.split(": ")[0] for e in _errors(plan_validator, document)] == ["$.resource_changes[0].after"]


def test_every_field_of_the_schema_is_described() -> None:
    schema = load_schema("plan.schema.json")
    undescribed: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if "description" not in sub:
                    undescribed.append(f"{path}.{name}")
            for key, sub in node.items():
                if key not in ("if", "then"):  # conditions restate fields, they do not add any
                    walk(sub, f"{path}.{key}")
        elif isinstance(node, list):
            for sub in node:
                walk(sub, path)

    walk(schema, "$")
    assert undescribed == []
    assert len(schema["$defs"]["resourceChange"]["properties"]) == 26


def test_top_level_shape() -> None:
    d = plan_to_dict(sample_plan())
    assert list(d) == [
        "format_version",
        "tool_version",
        "created_at",
        "mode",
        "lineage",
        "serial",
        "manifests_digest",
        "manifest_paths",
        "secret_digests",
        "targets",
        "warnings",
        "api_calls",
        "summary",
        "resource_changes",
        "extra",
    ]
    assert d["format_version"] == "1.2"
    assert d["manifest_paths"] is None
    assert plan_to_dict(sample_plan(manifest_paths=("bgp", "more/x.yaml")))["manifest_paths"] == ["bgp", "more/x.yaml"]
    assert d["summary"] == {
        "create": 2,
        "update": 2,
        "replace": 1,
        "delete": 1,
        "forget": 1,
        "adopt": 1,
        "no-op": 1,
    }
    assert d["secret_digests"]["env:SG_BGP_KEY"] == {"salt": "c2FsdC0x", "digest": "9f86d081884c7d659a2feaa0c55ad015"}
    assert [c["action"] for c in d["resource_changes"]] == [
        "create",
        "create",
        "update",
        "update",
        "replace",
        "adopt",
        "no-op",
        "delete",
        "forget",
    ]
    assert [c["destructive"] for c in d["resource_changes"]].count(True) == 3


def test_resource_change_fields() -> None:
    peer = change_to_dict(create_peer())
    assert peer["after_unknown"] == ["bgpGroupId"]
    assert peer["refs"] == {"bgpGroup": "AlibabaBgpGroup/sg-vbr2"}
    assert peer["depends_on"] == ["AlibabaBgpGroup/sg-vbr2"]
    assert peer["fields"][1] == {
        "name": "bgpGroupId",
        "before": None,
        "after": None,
        "sensitive": False,
        "secret_change": None,
        "forces_replacement": False,
        "after_unknown": True,
    }
    replace = change_to_dict(replace_peering())
    assert replace["replace_fields"] == ["connectionUuid"]
    assert replace["reason"] == "connectionUuid cannot be changed in place"
    assert replace["fields"][0]["forces_replacement"] is True


def test_sensitive_maps_say_true_for_secret_fields_only() -> None:
    created = change_to_dict(create_group())
    assert (created["before_sensitive"], created["after_sensitive"]) == ({}, {"authKey": True})
    updated = change_to_dict(update_group())
    assert (updated["before_sensitive"], updated["after_sensitive"]) == ({"authKey": True}, {"authKey": True})
    assert updated["fields"][1] == {
        "name": "authKey",
        "before": None,
        "after": None,
        "sensitive": True,
        "secret_change": "changed",
        "forces_replacement": False,
        "after_unknown": False,
    }
    removed = Change(
        address=f"{EQUINIX_PEERING}/x",
        kind=EQUINIX_PEERING,
        action=Action.UPDATE,
        provider="equinix",
        fields=(FieldChange("authenticationKey", sensitive=True, secret_change=SecretChange.REMOVED),),
    )
    d = change_to_dict(removed)
    assert (d["before_sensitive"], d["after_sensitive"]) == ({"authenticationKey": True}, {})
    unchanged_ref = Change(
        address=f"{ALIBABA_GROUP}/g",
        kind=ALIBABA_GROUP,
        action=Action.UPDATE,
        provider="alibaba",
        fields=(FieldChange("peerAsn", before=1, after=2),),
        secret_refs={"authKey": "env:K"},
    )
    d = change_to_dict(unchanged_ref)
    assert (d["before_sensitive"], d["after_sensitive"]) == ({"authKey": True}, {"authKey": True})
    for change in (delete_peer(), forget_peering(), noop_peer()):
        d = change_to_dict(change)
        assert d["before_sensitive"] == {} and d["after_sensitive"] == {}


def test_round_trip_of_the_sample_plan() -> None:
    plan = sample_plan()
    assert plan_from_dict(plan_to_dict(plan)) == plan
    assert plan_from_dict(json.loads(plan_to_json(plan))) == plan


def test_reader_ignores_unknown_keys_and_recomputes_derived_ones() -> None:
    d = plan_to_dict(sample_plan())
    d["added_in_1_1"] = {"anything": True}
    d["summary"] = {"create": 99}
    d["resource_changes"][0]["new_key"] = 1
    d["resource_changes"][0]["destructive"] = True
    assert plan_from_dict(d) == sample_plan()


# ------------------------------------------------------------------ random plans

_names = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8)
_attr_names = st.sampled_from(
    ["regionId", "peerAsn", "localAsn", "description", "peerIpAddress", "enableBfd", "bfdMultiHop", "labels"]
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.text(max_size=20),
    st.floats(allow_nan=False, allow_infinity=False),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_names, inner, max_size=3),
    max_leaves=6,
)
_attrs = st.dictionaries(_attr_names, _values, max_size=5)
_secret_names = st.sampled_from(["authKey", "authenticationKey"])


@st.composite
def _fields(draw: st.DrawFn) -> FieldChange:
    if draw(st.booleans()):
        return FieldChange(
            draw(_secret_names),
            sensitive=True,
            secret_change=draw(st.sampled_from(SecretChange)),
            forces_replacement=draw(st.booleans()),
        )
    return FieldChange(
        draw(_attr_names),
        before=draw(_values),
        after=draw(_values),
        forces_replacement=draw(st.booleans()),
        after_unknown=draw(st.booleans()),
    )


@st.composite
def _changes(draw: st.DrawFn) -> Change:
    kind = draw(st.sampled_from([EQUINIX_PEERING, ALIBABA_GROUP, ALIBABA_PEER]))
    name = draw(_names)
    optional_text = st.none() | st.text(min_size=1, max_size=12)
    return Change(
        address=f"{kind}/{name}",
        kind=kind,
        name=name,
        action=draw(st.sampled_from(Action)),
        provider=KINDS[kind].cloud,
        reason=draw(st.text(max_size=30)),
        cloud_id=draw(optional_text),
        region=draw(optional_text),
        before=draw(st.none() | _attrs),
        after=draw(st.none() | _attrs),
        fields=tuple(draw(st.lists(_fields(), max_size=4))),
        replace_fields=tuple(draw(st.lists(_attr_names, max_size=2))),
        after_unknown=tuple(draw(st.lists(_attr_names, max_size=2))),
        refs=draw(st.dictionaries(st.sampled_from(["bgpGroup"]), st.just(f"{ALIBABA_GROUP}/g"))),
        secret_refs=draw(st.dictionaries(_secret_names, st.sampled_from(["env:K", "file:k/x.key"]), max_size=1)),
        depends_on=tuple(draw(st.lists(st.just(f"{ALIBABA_GROUP}/g"), max_size=1))),
        previous_address=draw(st.none() | st.just(f"{kind}/old-{name}")),
        outside_change=draw(st.booleans()),
    )


@st.composite
def _plans(draw: st.DrawFn) -> Plan:
    return Plan(
        changes=tuple(draw(st.lists(_changes(), max_size=5))),
        lineage=draw(st.none() | st.uuids().map(str)),
        serial=draw(st.integers(0, 10**6)),
        manifests_digest=draw(st.text(max_size=20)),
        manifest_paths=draw(st.none() | st.lists(st.text(min_size=1, max_size=10), max_size=3).map(tuple)),
        secret_digests=draw(
            st.dictionaries(
                st.sampled_from(["env:A", "file:b"]),
                st.builds(SecretDigest, salt=st.text(max_size=8), digest=st.text(max_size=8)),
            )
        ),
        mode=draw(st.sampled_from(["normal", "refresh-only"])),
        targets=tuple(draw(st.lists(_names.map(lambda n: f"{ALIBABA_GROUP}/{n}"), max_size=2))),
        created_at=draw(st.text(max_size=25)),
        tool_version=draw(st.text(max_size=8)),
        api_calls=draw(
            st.dictionaries(st.sampled_from(["alibaba", "equinix"]), st.dictionaries(_names, st.integers(0, 99)))
        ),
        warnings=tuple(draw(st.lists(st.text(max_size=20), max_size=2))),
        format_version=draw(st.sampled_from(["1.0", "1.1", "1.7"])),
        extra=draw(st.dictionaries(_names, _values, max_size=2)),
    )


@settings(max_examples=100, deadline=None)
@given(plan=_plans())
def test_random_plans_round_trip_and_match_the_schema(plan: Plan, plan_validator: Any) -> None:
    document = json.loads(plan_to_json(plan))
    assert _errors(plan_validator, document) == []
    assert plan_from_dict(document) == plan
