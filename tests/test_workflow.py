"""What the commands share: refresh, and what recovering an interrupted apply tells the plan."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.context import AppContext
from reconciler.model import StateDoc, StateResource
from reconciler.state import open_backend
from reconciler.workflow import Workspace, observe
from tests.apply.fakes import CLOUD, ROUTER, FakeProvider, live, registered


@pytest.fixture
def fake_cloud() -> Iterator[None]:
    yield from registered()


def test_an_object_recovery_found_counts_as_seen_even_if_the_list_does_not_show_it_yet(
    tmp_path: Path, fake_cloud: None
) -> None:
    """Reads may lag a create: the object an interrupted create made, found by looking it up, may
    still be missing from a list made a moment later. The plan must not take it for deleted."""
    app = AppContext(str(tmp_path / "state.json"), False, None, "text", False, 0.0)
    ws = Workspace(app, open_backend(app.state_url), {})
    listed = live(ROUTER, "router-1")
    ws._providers[CLOUD] = FakeProvider(objects={listed.cloud_id: listed})
    found_by_recovery = live(ROUTER, "router-2")
    ws.recovered.append(found_by_recovery)
    recorded = {
        f"{ROUTER}/{name}": StateResource(f"{ROUTER}/{name}", ROUTER, cloud_id, "r1", {})
        for name, cloud_id in (("a", "router-1"), ("b", "router-2"))
    }
    try:
        observed = observe(ws, [], StateDoc(resources=recorded))
    finally:
        ws.close()
    assert sorted(o.cloud_id for o in observed.objects) == ["router-1", "router-2"]
