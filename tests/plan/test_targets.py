"""`--target` selectors: exact addresses, globs and label selectors, plus dependencies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import pytest

from reconciler.errors import UsageError
from reconciler.model import StateDoc
from reconciler.plan.model import Action, Change
from reconciler.plan.planner import make_plan
from reconciler.plan.targets import parse_selector, select_targets
from tests.builders import VBR_OTHER, group, peer, state_of

GROUP, PEER = "AlibabaBgpGroup", "AlibabaBgpPeer"


def _change(address: str, *depends_on: str) -> Change:
    kind = address.partition("/")[0]
    return Change(address=address, kind=kind, action=Action.CREATE, provider="p", depends_on=depends_on)


CHANGES = (
    _change(f"{GROUP}/sg-1"),
    _change(f"{PEER}/sg-a", f"{GROUP}/sg-1"),
    _change(f"{PEER}/sg-b", f"{GROUP}/sg-1"),
    _change(f"{GROUP}/hk-1"),
    _change(f"{PEER}/hk-a", f"{GROUP}/hk-1"),
)
LABELS: Mapping[str, Mapping[str, str]] = {
    f"{PEER}/sg-a": {"link": "sg-ne1-alibaba", "env": "prod"},
    f"{PEER}/hk-a": {"link": "hk-ne1-alibaba"},
    f"{GROUP}/hk-1": {"link": "hk-ne1-alibaba"},
}


@pytest.mark.parametrize(
    ("targets", "selected", "unmatched"),
    [
        ([f"{PEER}/sg-a"], {f"{PEER}/sg-a", f"{GROUP}/sg-1"}, ()),
        ([f"{PEER}/sg-*"], {f"{PEER}/sg-a", f"{PEER}/sg-b", f"{GROUP}/sg-1"}, ()),
        ([f"{PEER}/sg-?"], {f"{PEER}/sg-a", f"{PEER}/sg-b", f"{GROUP}/sg-1"}, ()),
        ([f"{PEER}/[h]k-*"], {f"{PEER}/hk-a", f"{GROUP}/hk-1"}, ()),
        (["*/hk-*"], {f"{PEER}/hk-a", f"{GROUP}/hk-1"}, ()),
        ([f"{GROUP}/*"], {f"{GROUP}/sg-1", f"{GROUP}/hk-1"}, ()),
        (["label:link=sg-ne1-alibaba"], {f"{PEER}/sg-a", f"{GROUP}/sg-1"}, ()),
        (["label:link=hk-ne1-alibaba"], {f"{PEER}/hk-a", f"{GROUP}/hk-1"}, ()),
        (["label:env=prod", f"{GROUP}/hk-1"], {f"{PEER}/sg-a", f"{GROUP}/sg-1", f"{GROUP}/hk-1"}, ()),
        ([f"{PEER}/sg-a", f"{PEER}/nope-*"], {f"{PEER}/sg-a", f"{GROUP}/sg-1"}, (f"{PEER}/nope-*",)),
        ([f"{PEER}/sg-a", "label:link=nowhere"], {f"{PEER}/sg-a", f"{GROUP}/sg-1"}, ("label:link=nowhere",)),
        ([f"{PEER}/SG-*", f"{PEER}/hk-a"], {f"{PEER}/hk-a", f"{GROUP}/hk-1"}, (f"{PEER}/SG-*",)),  # case-sensitive
        (
            ["label:link=SG-NE1-ALIBABA", f"{PEER}/hk-a"],
            {f"{PEER}/hk-a", f"{GROUP}/hk-1"},
            ("label:link=SG-NE1-ALIBABA",),
        ),
        (["label:link=", f"{PEER}/hk-a"], {f"{PEER}/hk-a", f"{GROUP}/hk-1"}, ("label:link=",)),  # empty value: exact
    ],
)
def test_selectors_select_matches_and_their_dependencies(
    targets: Sequence[str], selected: set[str], unmatched: tuple[str, ...]
) -> None:
    selection = select_targets(CHANGES, targets, LABELS)
    assert {c.address for c in selection.changes} == selected
    assert [c.address for c in selection.changes] == [c.address for c in CHANGES if c.address in selected]
    assert selection.unmatched == unmatched
    assert selection.warnings == tuple(f"--target {t!r} matched nothing" for t in unmatched)


@pytest.mark.parametrize("targets", [[f"{PEER}/nope"], [f"{PEER}/zz-*", "label:link=nowhere"]])
def test_when_no_target_matches_it_is_a_usage_error_with_known_addresses(targets: list[str]) -> None:
    with pytest.raises(UsageError, match="matches no resource in the manifests or the state") as raised:
        select_targets(CHANGES, targets, LABELS)
    assert raised.value.hint is not None and f"{GROUP}/hk-1" in raised.value.hint


@pytest.mark.parametrize("text", ["label:", "label:link", "label:=x", "label: =x", ""])
def test_a_malformed_selector_is_a_usage_error_saying_the_valid_forms(text: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_selector(text)
    assert raised.value.hint is not None and "label:key=value" in raised.value.hint
    assert "Kind/name" in raised.value.hint


def test_the_planner_selects_by_declared_labels_and_state_labels_and_warns() -> None:
    g1, p1 = group("g1"), replace(peer("p1", grp="g1"), labels={"link": "one"})
    g2 = group("g2", vbr=VBR_OTHER)
    gone = peer("gone", grp="g2", ip="10.0.0.7")
    state = state_of((g2, "bgpg-2", {}), (gone, "bgp-7", {"bgpGroupId": "bgpg-2"}))
    state = replace(
        state,
        resources={
            **state.resources,
            gone.address: replace(state.resources[gone.address], labels={"link": "two"}, dependencies=(g2.address,)),
        },
    )
    plan = make_plan([g1, p1, g2], state, [], targets=["label:link=one", "label:link=two", "label:link=three"])
    assert sorted(c.address for c in plan.changes) == [f"{GROUP}/g1", f"{GROUP}/g2", f"{PEER}/gone", f"{PEER}/p1"]
    assert {c.address: c.action for c in plan.changes}[f"{PEER}/gone"] is Action.FORGET  # not in the cloud any more
    assert plan.targets == ("label:link=one", "label:link=two", "label:link=three")
    assert "--target 'label:link=three' matched nothing" in plan.warnings


def test_the_planner_keeps_the_usage_error_when_nothing_matches() -> None:
    with pytest.raises(UsageError, match="matches no resource"):
        make_plan([group()], StateDoc(), [], targets=[f"{PEER}/nope-*"])
