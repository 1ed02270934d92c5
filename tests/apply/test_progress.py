"""The live apply display prints addresses and cloud messages as they are, never as rich markup."""

from __future__ import annotations

import io
from contextlib import redirect_stderr

import pytest

from reconciler.apply.engine import StepResult
from reconciler.apply.progress import LiveReporter
from reconciler.apply.steps import Step, build_steps
from reconciler.plan.model import Action, Change

# Text that rich would read as markup: a closing tag that matches nothing, and a style tag.
API_MESSAGE = "HTTP 404 for [/ne/v1/bgp/abc]: [bold]not found"


def step(address: str) -> Step:
    kind = address.partition("/")[0]
    provider = "equinix" if kind.startswith("Equinix") else "alibaba"
    (only,) = build_steps([Change(address, kind, Action.CREATE, provider)])
    return only


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Room for a whole line: the assertions look for text that must not be wrapped."""
    monkeypatch.setenv("COLUMNS", "200")


@pytest.mark.usefixtures("wide")
def test_a_failure_message_with_brackets_is_printed_literally() -> None:
    failing = step("EquinixBgpPeering/sg-ne1")
    stderr = io.StringIO()
    with redirect_stderr(stderr), LiveReporter([failing]) as reporter:
        reporter.started(failing)
        reporter.finished(StepResult(failing, "failed", message=API_MESSAGE, elapsed=0.4))
    output = stderr.getvalue()
    assert f"failed EquinixBgpPeering/sg-ne1 create 0.4s ({API_MESSAGE})" in output


@pytest.mark.usefixtures("wide")
def test_addresses_in_flight_with_brackets_are_printed_literally() -> None:
    done = step("AlibabaBgpGroup/[/ne/v1/bgp/abc]")
    in_flight = step("AlibabaBgpPeer/[bold]p")
    stderr = io.StringIO()
    with redirect_stderr(stderr), LiveReporter([done, in_flight]) as reporter:
        reporter.started(done)
        reporter.started(in_flight)
        reporter.waiting(in_flight, "bgp-1")
        reporter.finished(StepResult(done, "done", cloud_id="bgpg-1", elapsed=1.0))
    # The last frame of the display, printed when it stops, still shows the step in flight.
    output = stderr.getvalue()
    assert "done AlibabaBgpGroup/[/ne/v1/bgp/abc] create 1.0s" in output
    assert "AlibabaBgpPeer/[bold]p  waiting for the cloud" in output
