"""Two live objects with the natural key of one resource: plan refuses, drift reports an error."""

from __future__ import annotations

import pytest

from reconciler.drift import detect
from reconciler.errors import PlanError
from reconciler.model import StateDoc
from reconciler.plan.ambiguous import find_ambiguities
from reconciler.plan.planner import make_plan
from tests.builders import CONN, equinix, group, live_of, state_of

FIRST, SECOND = "6a1f0000-0000-4000-8000-000000000001", "6a1f0000-0000-4000-8000-000000000002"


@pytest.mark.parametrize("in_state", [True, False], ids=["managed", "declared only"])
def test_two_configs_on_one_connection_stop_the_plan_naming_both(in_state: bool) -> None:
    e = equinix()
    state = state_of((e, FIRST, {})) if in_state else StateDoc()
    live = [live_of(e, FIRST), live_of(e, SECOND)]
    with pytest.raises(PlanError) as raised:
        make_plan([e], state, live)
    message = str(raised.value)
    assert FIRST in message and SECOND in message
    assert f"{e.address}: 2 objects in the cloud have its" in message


def test_drift_reports_two_configs_on_one_connection_as_an_error() -> None:
    e = equinix()
    report = detect([e], state_of((e, FIRST, {})), [live_of(e, FIRST), live_of(e, SECOND)])
    (error,) = report.errors
    assert FIRST in error and SECOND in error
    assert report.exit_code() == 1


def test_duplicates_nobody_declares_or_manages_and_objects_on_their_way_out_are_not_ambiguous() -> None:
    e, g = equinix(), group()
    other = equinix("other", conn=CONN.replace("8", "9"))
    live = [
        live_of(other, FIRST),
        live_of(other, SECOND),  # not ours: drift lists them as unmanaged, nothing more
        live_of(e, "mine"),
        live_of(e, "leaving", status="deleting"),
        live_of(g, "bgpg-1"),
    ]
    assert find_ambiguities([e, g], StateDoc(), live) == ()
    plan = make_plan([e, g], StateDoc(), live)  # adopts its own, without a doubt
    assert {(c.address, c.cloud_id) for c in plan.changes} == {(e.address, "mine"), (g.address, "bgpg-1")}
