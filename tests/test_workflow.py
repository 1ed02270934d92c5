"""What the commands share: refresh, and what recovering an interrupted apply tells the plan."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from reconciler.clouds import CLOUDS, refresh_scopes
from reconciler.clouds.base import ObjectRef, ProviderOptions, RefreshResult, RefreshScope
from reconciler.context import AppContext
from reconciler.errors import UsageError
from reconciler.manifest import load_manifests
from reconciler.model import LiveObject, Resource, StateDoc, StateResource, utc_now
from reconciler.state import open_backend
from reconciler.workflow import (
    Workspace,
    build_plan,
    default_options,
    observe,
    open_workspace,
    plan_scopes,
    presupposed_by,
    session_ends_of,
)
from tests.apply.fakes import CLOUD, ROUTER, FakeProvider, live, registered
from tests.manifest.builders import equinix, group, peer


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


@pytest.mark.parametrize(
    ("value", "read_lag"), [("", ProviderOptions().create_grace), ("0", 0.0), (" 8.5 ", 8.5)], ids=repr
)
def test_plan_and_drift_wait_out_the_read_lag_apply_is_given(value: str, read_lag: float) -> None:
    assert default_options({"RECONCILER_READ_LAG": value}).create_grace == read_lag


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf"])
def test_a_read_lag_that_is_not_a_number_of_seconds_is_refused(value: str) -> None:
    with pytest.raises(UsageError, match="RECONCILER_READ_LAG"):
        default_options({"RECONCILER_READ_LAG": value})


@pytest.mark.parametrize("just_created", [True, False], ids=["just created", "created long ago"])
def test_a_just_created_object_the_list_does_not_show_is_looked_for_until_the_read_lag_passed(
    tmp_path: Path, fake_cloud: None, just_created: bool
) -> None:
    """An apply right after another (one killed after its create, say) may refresh before reads
    show the new object. Until the read lag after its creation has passed, it is looked for again;
    an object created long ago and not listed is gone."""
    app = AppContext(str(tmp_path / "state.json"), False, None, "text", False, 0.0)
    ws = Workspace(app, open_backend(app.state_url), {}, ProviderOptions(create_grace=30.0))
    shows_on_second_look = [None, live(ROUTER, "router-1")]

    def get(ref: ObjectRef) -> LiveObject | None:
        return shows_on_second_look.pop(0) if shows_on_second_look else live(ROUTER, ref.cloud_id)

    provider = FakeProvider(on_get=get)  # its list shows nothing
    ws._providers[CLOUD] = provider
    address = f"{ROUTER}/a"
    created_at = utc_now() if just_created else None
    recorded = {address: StateResource(address, ROUTER, "router-1", "r1", {}, created_at=created_at)}
    try:
        observed = observe(ws, [], StateDoc(resources=recorded))
    finally:
        ws.close()
    if created_at is None:
        assert observed.objects == () and not [c for c in provider.calls if c[0] == "get"]
    else:
        assert [o.cloud_id for o in observed.objects] == ["router-1"]
        assert [c[0] for c in provider.calls].count("get") == 2


def test_session_ends_are_made_for_clouds_that_check_addresses_and_for_the_ends_linked_with_them(
    tmp_path: Path,
) -> None:
    # Equinix checks no address itself: its peerings become ends only as the other end of a link,
    # so a plan of many peerings does not hold an end for each.
    docs = [
        group(),
        peer("linked", labels={"link": "a"}),
        peer("alone", peerIpAddress="10.0.0.5"),
        equinix(labels={"link": "a"}),
        equinix(
            "other",
            connectionUuid="22222222-2222-4222-8222-222222222222",
            localIpAddress="10.9.0.1/30",
            remoteIpAddress="10.9.0.2",
        ),
    ]
    (tmp_path / "bgp.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    manifests = load_manifests([tmp_path])
    assert manifests.ok, manifests.diagnostics
    assert not CLOUDS["equinix"].checks_addresses and CLOUDS["alibaba"].checks_addresses
    ends = session_ends_of(manifests)
    pairs = {
        cloud: [(e.own.doc.address, e.other.doc.address if e.other else None) for e in found]
        for cloud, found in ends.items()
    }
    assert pairs == {
        "alibaba": [("AlibabaBgpPeer/linked", "EquinixBgpPeering/sg-ne1-to-alibaba"), ("AlibabaBgpPeer/alone", None)]
    }


def test_what_the_sandbox_presupposes_is_made_only_when_the_embedded_sandbox_reads_it(tmp_path: Path) -> None:
    # A plan holds its resources anyway; without --sandbox, nothing reads what the sandbox would
    # need of them, so none of it is made (a plan of 50,000 peers held 50,000 of them).
    def unread() -> Iterator[Resource]:
        raise AssertionError("the resources were read for a sandbox that is not running")
        yield  # a generator: reading it is what fails

    app = AppContext(str(tmp_path / "state.json"), False, None, "text", False, 0.0)
    with open_workspace(app, presupposed_by(unread())) as ws:
        assert ws.sandbox is None
    made = list(presupposed_by([Resource(ROUTER, "r1", {"routerId": "r1"})]))
    assert [(p.kind, p.address, dict(p.attrs)) for p in made] == [(ROUTER, f"{ROUTER}/r1", {"routerId": "r1"})]


def test_a_plan_refreshes_without_the_objects_extras(tmp_path: Path, fake_cloud: None) -> None:
    # No part of a plan reads `LiveObject.info`; left out, 50,000 live objects take about 18 MB less.
    desired = [Resource(ROUTER, "r1", {"routerId": "r1"})]
    assert refresh_scopes(desired, StateDoc())[CLOUD].extras
    assert not plan_scopes(desired, StateDoc())[CLOUD].extras
    asked: list[RefreshScope] = []

    class Recording(FakeProvider):
        def refresh(self, scope: RefreshScope) -> RefreshResult:
            asked.append(scope)
            return super().refresh(scope)

    app = AppContext(str(tmp_path / "state.json"), False, None, "text", False, 0.0)
    ws = Workspace(app, open_backend(app.state_url), {})
    ws._providers[CLOUD] = Recording()
    try:
        plan, _ = build_plan(ws, desired, "", operation="plan")
    finally:
        ws.close()
    assert [c.address for c in plan.changes] == [f"{ROUTER}/r1"]
    assert [scope.extras for scope in asked] == [False]


def test_a_plan_lets_the_manifests_documents_go_once_its_session_ends_are_made(tmp_path: Path) -> None:
    (tmp_path / "bgp.yaml").write_text(yaml.safe_dump_all([group(), peer(), equinix()], sort_keys=False))
    manifests = load_manifests([tmp_path])
    assert manifests.ok, manifests.diagnostics
    app = AppContext(str(tmp_path / "state.json"), False, None, "text", False, 0.0)
    ws = Workspace(app, open_backend(app.state_url), {})
    ws._providers.update(alibaba=FakeProvider(), equinix=FakeProvider())
    try:
        plan, _ = build_plan(ws, manifests.resources, manifests.digest, operation="plan", manifests=manifests)
    finally:
        ws.close()
    assert sorted(c.action.value for c in plan.changes) == ["create", "create", "create"]
    # The address checks ran on the ends (this provider cannot read VBRs: said as a warning).
    assert any("cannot read VBRs" in w for w in plan.warnings)
    assert list(manifests.checked) == [] and len(manifests.resources) == 3


def test_a_heavy_clients_provider_is_made_while_the_other_clouds_refresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Making Alibaba's provider imports its SDK: the main thread does it while Equinix's refresh
    # already waits on its first replies, not before that refresh starts.
    import threading

    assert CLOUDS["alibaba"].heavy_client and not CLOUDS["equinix"].heavy_client
    light_started = threading.Event()
    made: list[tuple[str, str, bool]] = []

    class Light(FakeProvider):
        def refresh(self, scope: RefreshScope) -> RefreshResult:
            light_started.set()
            return super().refresh(scope)

    def make(name: str, env: object, options: object) -> FakeProvider:
        if name == "equinix":
            made.append((name, threading.current_thread().name, False))
            return Light()
        made.append((name, threading.current_thread().name, light_started.wait(10)))
        return FakeProvider()

    monkeypatch.setattr("reconciler.workflow.make_provider", make)
    app = AppContext(str(tmp_path / "state.json"), False, None, "text", False, 0.0)
    ws = Workspace(app, open_backend(app.state_url), {})
    scopes = {"alibaba": RefreshScope(), "equinix": RefreshScope()}
    try:
        observed = observe(ws, [], StateDoc(), scopes)
    finally:
        ws.close()
    assert observed.objects == ()
    main = threading.main_thread().name
    assert made == [("equinix", main, False), ("alibaba", main, True)]
