"""Recording generated resources in state (`generate --import`, `import --from-terraform`), on a
real state file: every resource with its cloud id, region and dependencies, no key; the files
written only once every entry is known to be recordable; conflicts refused with nothing
written; a second record of the same objects is a no-op; a held lock refuses before anything."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reconciler.clouds.alibaba.provider import group_object, peer_object
from reconciler.clouds.equinix.configs import live_object
from reconciler.context import AppContext
from reconciler.errors import LockError, UsageError
from reconciler.generate import GeneratedResource, assemble
from reconciler.generate.draft import Draft
from reconciler.generate.record import record_in_state, state_additions
from reconciler.model import LiveObject, StateDoc, StateResource
from reconciler.state import open_backend
from reconciler.workflow import Workspace
from tests.state import fixtures
from tests.state.fixtures import Holder

start_holder = fixtures.start_holder

KEY = "RecordKeyNotReal42"
REGION = "ap-southeast-1"
GROUP_ID = "bgpg-record000000000001"
PEER_ID = "bgp-record0000000000001"
CONFIG_ID = "3a1b2c3d-0000-4000-8000-0000000000c1"


def live_objects() -> list[LiveObject]:
    group = group_object(
        {
            "BgpGroupId": GROUP_ID,
            "RouterId": "vbr-record00000000001",
            "RegionId": REGION,
            "Name": "core",
            "PeerAsn": 65010,
            "AuthKey": KEY,
            "Status": "Available",
        },
        REGION,
    )
    peer = peer_object(
        {"BgpPeerId": PEER_ID, "BgpGroupId": GROUP_ID, "PeerIpAddress": "10.0.0.1", "Status": "Available"}, REGION
    )
    config = live_object(
        {
            "uuid": CONFIG_ID,
            "connectionUuid": "00000000-0000-4000-8000-0000000000c1",
            "localIpAddress": "10.0.0.2/30",
            "localAsn": 65010,
            "remoteIpAddress": "10.0.0.1",
            "remoteAsn": 45104,
            "authenticationKey": KEY,
            "provisioningStatus": "PROVISIONED",
        }
    )
    assert config is not None
    return [group, peer, config]


def resources() -> tuple[GeneratedResource, ...]:
    from reconciler.clouds import CLOUDS

    live = live_objects()
    drafts: list[Draft] = []
    for cloud in CLOUDS.values():
        mine = [o for o in live if o.kind in {info.kind for info in cloud.kinds}]
        drafts += cloud.generate(cloud.unmanaged_scope((), mine).generate_args(mine), mine, _NoReads())
    return assemble(drafts, lambda _: "manifest.schema.json").resources


class _NoReads:
    """A provider whose extra reads (a device's name) are refused: names fall back to ids."""


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "state" / "reconciler.json"


@pytest.fixture
def workspace(state_file: Path) -> Iterator[Workspace]:
    app = AppContext(str(state_file), sandbox=False, seed=None, log_format="text", verbose=False, lock_timeout=0.0)
    ws = Workspace(app, open_backend(str(state_file)), {})
    yield ws
    ws.close()


def recorder() -> tuple[list[str], Callable[[], None]]:
    calls: list[str] = []
    return calls, lambda: calls.append("files")


def test_every_resource_is_recorded_with_its_cloud_id_and_no_key(workspace: Workspace, state_file: Path) -> None:
    generated = resources()
    calls, write = recorder()
    written = record_in_state(workspace, "generate", generated, write)
    assert calls == ["files"]
    assert written.serial == 1
    stored = workspace.backend.read()
    assert {address: r.cloud_id for address, r in stored.resources.items()} == {
        r.address: r.draft.live.cloud_id for r in generated
    }
    group = next(r for r in generated if r.draft.live.cloud_id == GROUP_ID)
    peer = next(r for r in generated if r.draft.live.cloud_id == PEER_ID)
    assert stored.resources[peer.address].dependencies == (group.address,)
    assert stored.resources[peer.address].region == REGION
    assert stored.resources[group.address].attributes == dict(group.draft.live.attrs)
    assert KEY not in state_file.read_text() and KEY not in json.dumps(
        {a: dict(r.attributes) for a, r in stored.resources.items()}
    )


def test_recording_the_same_objects_again_adds_nothing(workspace: Workspace) -> None:
    generated = resources()
    record_in_state(workspace, "generate", generated, lambda: None)
    first = workspace.backend.read()
    calls, write = recorder()
    record_in_state(workspace, "import", generated, write)
    assert calls == ["files"]
    assert workspace.backend.read().resources == first.resources


@pytest.mark.parametrize("clash", ["address", "cloud id"])
def test_a_conflict_is_refused_before_any_file_is_written(workspace: Workspace, clash: str) -> None:
    generated = resources()
    target = generated[0]
    if clash == "address":
        other = StateResource(target.address, target.draft.live.kind, "another-id", REGION, {})
        expected = f"{target.address} is already managed with cloud id another-id"
    else:
        elsewhere = f"{target.draft.live.kind}/elsewhere"
        other = StateResource(elsewhere, target.draft.live.kind, target.draft.live.cloud_id, REGION, {})
        expected = f"{target.draft.live.cloud_id} is already managed as {elsewhere}"
    with workspace.backend.lock("seed"):
        workspace.backend.write(StateDoc(resources={other.address: other}))
    before = workspace.backend.read()
    calls, write = recorder()
    with pytest.raises(UsageError, match="cannot import into state") as refused:
        record_in_state(workspace, "import", generated, write)
    assert expected in str(refused.value) and "--state" in str(refused.value)
    assert calls == []
    assert workspace.backend.read() == before


def test_many_conflicts_are_summed_up() -> None:
    generated = resources()
    taken = {
        f"Kind/other-{i}": StateResource(f"Kind/other-{i}", r.draft.live.kind, r.draft.live.cloud_id, None, {})
        for i, r in enumerate(generated)
    }
    more = {f"Kind/x{i}": StateResource(f"Kind/x{i}", "Kind", f"id-{i}", None, {}) for i in range(4)}
    state = StateDoc(resources={**taken, **more})
    extra = [
        GeneratedResource(
            Draft(
                live=LiveObject(generated[0].draft.live.kind, f"id-{i}", None, {}),
                names=(),
                spec={},
                file="f",
                order=(),
            ),
            f"n{i}",
            (),
        )
        for i in range(4)
    ]
    with pytest.raises(UsageError) as refused:
        state_additions(state, (*generated, *extra))
    assert str(refused.value).count("is already managed") == 5
    assert "; and 2 more" in str(refused.value)


def test_a_held_lock_refuses_before_any_file_is_written(
    workspace: Workspace, state_file: Path, start_holder: Callable[[str, str, str], Holder]
) -> None:
    holder = start_holder(str(state_file), "hold", "apply")
    holder.expect("locked")
    calls, write = recorder()
    with pytest.raises(LockError):
        record_in_state(workspace, "import", resources(), write)
    assert calls == []
    holder.release()
    assert not workspace.backend.read().resources
