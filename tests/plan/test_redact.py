"""Secrets never rendered: not by any format, not in a saved plan, whatever the planner handed over."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.clouds import KINDS
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.model import LiveObject, Resource, SecretRef, SecretValue, StateDoc
from reconciler.plan.model import Change, FieldChange, SecretChange
from reconciler.plan.planfile import load_plan, save_plan
from reconciler.plan.planner import make_plan
from reconciler.plan.redact import MASK, redact_change, scrub
from reconciler.render import render_change_text, render_field, render_plan
from tests.render.samples import FAKE_SECRET, leaky_plan

FORMATS = ("text", "markdown", "json")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_careless_plan_never_shows_the_secret(fmt: str) -> None:
    for color in (False, True):
        out = render_plan(leaky_plan(), fmt, color=color)
        assert FAKE_SECRET not in out
        assert "Zq9" not in out  # not even a prefix


def test_the_masked_fields_still_say_what_changed() -> None:
    text = render_plan(leaky_plan(), "text")
    assert "      ~ authenticationKey: (sensitive value changed)" in text
    assert "      + authKey: (sensitive value)" in text  # flagged by kind, not by the planner
    assert '      + note: "(sensitive)"' in text  # a SecretValue in an ordinary field
    assert "      - authKey: (sensitive value)" in text  # a delete's before map
    doc = json.loads(render_plan(leaky_plan(), "json"))
    careless, unflagged, deleted = doc["resource_changes"]
    assert careless["before"]["authenticationKey"] == MASK
    assert careless["after"]["authenticationKey"] == MASK
    assert careless["fields"][1]["before"] is None and careless["fields"][1]["after"] is None
    assert unflagged["fields"][1]["sensitive"] is True
    assert unflagged["fields"][1]["secret_change"] == "added"
    assert deleted["before_sensitive"] == {"authKey": True}
    assert doc["extra"] == {"debug": {"key": MASK}}


def test_saved_plan_file_holds_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    save_plan(leaky_plan(), path)
    assert FAKE_SECRET.encode() not in path.read_bytes()
    loaded = load_plan(path)  # what was saved is a valid plan
    for fmt in FORMATS:
        assert FAKE_SECRET not in render_plan(loaded, fmt)


def test_change_helpers_never_show_the_secret() -> None:
    secret = SecretValue(FAKE_SECRET)
    careless = leaky_plan().changes[0]
    assert FAKE_SECRET not in "\n".join(render_change_text(careless))
    assert render_field(FieldChange("authKey", before=secret, after=secret)) == "  authKey: (sensitive value)"
    assert render_field(FieldChange("authKey", after=secret)) == "+ authKey: (sensitive value)"
    assert render_field(FieldChange("x", before="a", after=FAKE_SECRET, sensitive=True)) == (
        "~ x: (sensitive value changed)"
    )


def test_redact_is_the_identity_on_well_formed_changes() -> None:
    change = Change(
        address=f"{EQUINIX_PEERING}/x",
        kind=EQUINIX_PEERING,
        action="update",  # type: ignore[arg-type]
        provider="equinix",
        before={"localAsn": 1},
        after={"localAsn": 2},
        fields=(
            FieldChange("localAsn", before=1, after=2),
            FieldChange("authenticationKey", sensitive=True, secret_change=SecretChange.CHANGED),
        ),
    )
    assert redact_change(change) == change
    assert scrub({"a": [SecretValue("s"), ("t", SecretValue("u"))]}) == {"a": [MASK, ("t", MASK)]}


def test_a_real_planner_plan_with_rotated_keys_shows_no_key(tmp_path: Path) -> None:
    """The lead's planner, fed real secrets: every output and the saved file stay clean."""
    info = KINDS[EQUINIX_PEERING]
    attrs = info.normalise(
        {
            "connectionUuid": "80afc8be-0ce3-4950-be27-3d3e678e6873",
            "localIpAddress": "10.0.0.1/30",
            "localAsn": 65010,
            "remoteIpAddress": "10.0.0.2",
            "remoteAsn": 45104,
        }
    )
    desired = Resource(
        EQUINIX_PEERING,
        "sg",
        attrs,
        secret_refs={"authenticationKey": SecretRef("env", "SG_KEY")},
        secrets={"authenticationKey": SecretValue(FAKE_SECRET)},
    )
    live = LiveObject(
        EQUINIX_PEERING, "eq-1", None, attrs, secrets={"authenticationKey": SecretValue(FAKE_SECRET + "-old")}
    )
    plan = make_plan([desired], StateDoc(), [live])
    assert plan.changes and plan.changes[0].fields  # the key rotation is in the plan
    for fmt in FORMATS:
        out = render_plan(plan, fmt)
        assert FAKE_SECRET not in out
        assert "authenticationKey" in out  # ...as a masked field
    save_plan(plan, tmp_path / "p.json")
    assert FAKE_SECRET.encode() not in (tmp_path / "p.json").read_bytes()
