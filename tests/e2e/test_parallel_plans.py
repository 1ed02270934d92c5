"""Saved plans of parallel pull requests, end to end against the sandbox: a plan is stale only when
an address it changes or depends on moved (in the state, the manifests or a key), so plans over
disjoint addresses apply in either order; and `--target` globs and label selectors."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reconciler.plan.digest import make_digests
from reconciler.plan.planfile import load_plan, save_plan
from reconciler.sandbox import Sandbox
from reconciler.workflow import load_desired
from tests.e2e.conftest import EXAMPLE_KEYS, Result, cli, edit_document, remove_document

GROUP = "AlibabaBgpGroup/sg-colo-core"
PEER = "AlibabaBgpPeer/sg-colo-core-r2"
HK_GROUP = "AlibabaBgpGroup/hk-office"
STATE_MOVED = "the state entry changed (applied by another run since)"


class Checkouts:
    """Git checkouts of one repository (main and one per pull request) sharing one state, as CI
    jobs do. Each command runs in the checkout it names, with the manifests in its bgp/."""

    def __init__(self, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.project = project
        self.monkeypatch = monkeypatch
        (project / "shared-state").mkdir()
        monkeypatch.setenv("RECONCILER_STATE", str(project / "shared-state" / "reconciler.json"))
        self.clone("main")

    def clone(self, name: str, source: str | None = None) -> Path:
        """A new checkout, with the manifests of `source` (default: the examples)."""
        folder = self.project / name
        (folder / ".git").mkdir(parents=True)  # a Git work tree: the state records files relative to it
        shutil.copytree(self.project / (f"{source}/bgp" if source else "bgp"), folder / "bgp")
        return folder

    def run(self, name: str, *args: str) -> Result:
        self.monkeypatch.chdir(self.project / name)
        return cli(*args)

    def bgp(self, name: str) -> Path:
        return self.project / name / "bgp"

    def plan(self, name: str) -> None:
        planned = self.run(name, "plan", "bgp", "--out", f"{self.project}/{name}.plan")
        assert planned.code == 0, planned.both

    def apply(self, name: str, checkout: str | None = None) -> Result:
        return self.run(checkout or name, "apply", f"{self.project}/{name}.plan")


@pytest.fixture
def repo(project: Path, monkeypatch: pytest.MonkeyPatch) -> Checkouts:
    """main applied; nothing else yet."""
    checkouts = Checkouts(project, monkeypatch)
    applied = checkouts.run("main", "apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    return checkouts


def _pull_request(repo: Checkouts, name: str, change: Any) -> None:
    """A pull request branched from main: its change made, its plan saved."""
    repo.clone(name, "main")
    change(repo.bgp(name))
    repo.plan(name)


def _hk_description(bgp: Path) -> None:
    edit_document(bgp, "AlibabaBgpGroup", "hk-office", description="Hong Kong office, new uplink")


def _peer_multihop(bgp: Path) -> None:
    edit_document(bgp, "AlibabaBgpPeer", "sg-colo-core-r2", bfdMultiHop=3)


def _peer_without_bfd(bgp: Path) -> None:
    edit_document(bgp, "AlibabaBgpPeer", "sg-colo-core-r2", enableBfd=False, bfdMultiHop=None)


def _peer_removed(bgp: Path) -> None:
    remove_document(bgp, "AlibabaBgpPeer", "sg-colo-core-r2")


def _group_description(bgp: Path) -> None:
    edit_document(bgp, "AlibabaBgpGroup", "sg-colo-core", description="Singapore colo, renumbered")


def _live(sandbox: Sandbox) -> tuple[dict[str, Any], dict[str, Any]]:
    objects = sandbox.objects()
    groups = {g["Name"]: g for g in objects.alibaba_groups.values() if g["Status"] != "Deleting"}
    peers = {p["PeerIpAddress"]: p for p in objects.alibaba_peers.values() if p["Status"] != "Deleting"}
    return groups, peers


def _assert_both_applied(repo: Checkouts, sandbox: Sandbox) -> None:
    """Both changes are in the clouds and in the state: main, holding both, plans no change."""
    _hk_description(repo.bgp("main"))
    _peer_multihop(repo.bgp("main"))
    replanned = repo.run("main", "plan", "bgp", "--detailed-exitcode")
    assert replanned.code == 0, replanned.both
    groups, peers = _live(sandbox)
    assert groups["hk-office"]["Description"] == "Hong Kong office, new uplink"
    assert str(peers["10.10.0.3"]["BfdMultiHop"]) == "3"


@pytest.mark.parametrize("order", [("a", "b"), ("b", "a")])
def test_plans_over_disjoint_addresses_both_apply_in_either_order(
    repo: Checkouts, sandbox: Sandbox, order: tuple[str, str]
) -> None:
    _pull_request(repo, "a", _hk_description)
    _pull_request(repo, "b", _peer_multihop)
    first, second = order
    applied = repo.apply(first)
    assert applied.code == 0, applied.both
    applied = repo.apply(second)
    assert applied.code == 0, applied.both
    _assert_both_applied(repo, sandbox)


def test_the_second_merge_applies_on_main_holding_both_changes(repo: Checkouts, sandbox: Sandbox) -> None:
    """GitOps: each pull request planned on its merge ref; after the first merged, the second's
    apply job runs on main, whose manifests hold both changes."""
    _pull_request(repo, "a", _hk_description)
    _pull_request(repo, "b", _peer_multihop)
    _hk_description(repo.bgp("main"))  # a merged
    applied = repo.apply("a", "main")
    assert applied.code == 0, applied.both
    _peer_multihop(repo.bgp("main"))  # b merged
    applied = repo.apply("b", "main")
    assert applied.code == 0, applied.both
    _assert_both_applied(repo, sandbox)


@pytest.mark.parametrize(
    ("first", "second", "moved"),
    [
        pytest.param(_peer_multihop, _peer_without_bfd, [PEER], id="both change the same peer"),
        pytest.param(_peer_removed, _peer_multihop, [PEER], id="one deletes what the other changes"),
        pytest.param(_peer_multihop, _peer_removed, [PEER], id="one changes what the other deletes"),
        pytest.param(_group_description, _peer_multihop, [GROUP], id="one changes the group of the other's peer"),
    ],
)
def test_overlapping_plans_refuse_the_second_naming_what_moved(
    repo: Checkouts, sandbox: Sandbox, first: Any, second: Any, moved: list[str]
) -> None:
    _pull_request(repo, "a", first)
    _pull_request(repo, "b", second)
    applied = repo.apply("a")
    assert applied.code == 0, applied.both
    live_before = _live(sandbox)
    state_before = (repo.project / "shared-state" / "reconciler.json").read_bytes()
    refused = repo.apply("b")
    assert refused.code == 1
    assert "saved plan" in refused.err and "is stale: the state changed since the plan was made" in refused.err
    for address in moved:
        assert f"{address} ({STATE_MOVED})" in refused.err
    assert "`reconciler plan` again" in refused.err
    assert "Traceback" not in refused.both
    assert _live(sandbox) == live_before
    assert (repo.project / "shared-state" / "reconciler.json").read_bytes() == state_before


def test_on_main_a_plan_whose_addresses_changed_in_the_manifests_is_refused(repo: Checkouts) -> None:
    _pull_request(repo, "a", _peer_multihop)
    _pull_request(repo, "b", _peer_without_bfd)
    _peer_multihop(repo.bgp("main"))
    assert repo.apply("a", "main").code == 0
    refused = repo.apply("b", "main")  # main holds a's value for the peer, not the one b planned
    assert refused.code == 1
    assert "is stale: the manifests in bgp changed since the plan was made" in refused.err
    assert f"{PEER} (the manifests changed for it)" in refused.err


def test_a_key_change_refuses_the_plans_using_it_only(repo: Checkouts, monkeypatch: pytest.MonkeyPatch) -> None:
    _pull_request(repo, "a", _group_description)  # the group has the key env:SG_COLO_BGP_KEY
    _pull_request(repo, "b", _hk_description)  # its key is env:HK_OFFICE_BGP_KEY
    monkeypatch.setenv("SG_COLO_BGP_KEY", "RotatedColoKey2")
    refused = repo.apply("a")
    assert refused.code == 1
    assert "is stale: secret env:SG_COLO_BGP_KEY changed since the plan was made" in refused.err
    assert f"{GROUP} (its key changed: env:SG_COLO_BGP_KEY)" in refused.err
    assert "RotatedColoKey2" not in refused.both and EXAMPLE_KEYS["SG_COLO_BGP_KEY"] not in refused.both
    applied = repo.apply("b")
    assert applied.code == 0, applied.both


def test_a_plan_applies_after_an_unrelated_key_reference_changed_elsewhere(repo: Checkouts) -> None:
    """Another pull request moved a peering to another key variable: references outside the
    plan's footprint are not its concern."""
    _pull_request(repo, "a", _hk_description)
    edit_document(repo.bgp("main"), "AlibabaBgpGroup", "sg-colo-core", authKey={"fromEnv": "SG_BGP_KEY"})
    _hk_description(repo.bgp("main"))
    applied = repo.apply("a", "main")
    assert applied.code == 0, applied.both


# -- --target selectors --------------------------------------------------------------------------


def _planned(*targets: str) -> tuple[list[str], dict[str, Any]]:
    args = [arg for target in targets for arg in ("--target", target)]
    result = cli("plan", "bgp", *args, "--format", "json")
    assert result.code == 0, result.both
    document: dict[str, Any] = json.loads(result.out)
    return sorted(c["address"] for c in document["resource_changes"]), document


def test_a_glob_target_selects_matches_and_their_dependencies(project: Path) -> None:
    addresses, document = _planned("AlibabaBgpPeer/sg-colo-*")
    assert addresses == [
        "AlibabaBgpGroup/sg-colo-core",
        "AlibabaBgpGroup/sg-colo-core-v6",
        "AlibabaBgpPeer/sg-colo-core-r1",
        "AlibabaBgpPeer/sg-colo-core-r1-v6",
        "AlibabaBgpPeer/sg-colo-core-r2",
    ]
    assert document["targets"] == ["AlibabaBgpPeer/sg-colo-*"] and document["warnings"] == []


def test_a_label_target_selects_both_ends_of_a_link(project: Path) -> None:
    addresses, _ = _planned("label:link=sg-ne1-alibaba")
    assert addresses == ["AlibabaBgpGroup/sg-vbr1", "AlibabaBgpPeer/sg-vbr1-ne1", "EquinixBgpPeering/sg-ne1-to-alibaba"]


def test_a_label_target_finds_a_resource_removed_from_the_manifests_by_its_recorded_labels(project: Path) -> None:
    assert cli("apply", "bgp", "--auto-approve", "--target", "label:link=sg-ne1-alibaba").code == 0
    remove_document(project / "bgp", "AlibabaBgpPeer", "sg-vbr1-ne1")  # both ends of the link
    remove_document(project / "bgp", "EquinixBgpPeering", "sg-ne1-to-alibaba")
    result = cli("plan", "bgp", "--target", "label:link=sg-ne1-alibaba", "--format", "json")
    assert result.code == 0, result.both
    actions = {c["address"]: c["action"] for c in json.loads(result.out)["resource_changes"]}
    assert actions == {
        "AlibabaBgpGroup/sg-vbr1": "no-op",
        "AlibabaBgpPeer/sg-vbr1-ne1": "delete",
        "EquinixBgpPeering/sg-ne1-to-alibaba": "forget",
    }


def test_a_target_matching_nothing_is_a_warning_when_another_matched(project: Path) -> None:
    addresses, document = _planned("AlibabaBgpGroup/hk-office", "Nothing/*", "label:link=nowhere")
    assert addresses == ["AlibabaBgpGroup/hk-office"]
    assert document["warnings"] == [
        "--target 'Nothing/*' matched nothing",
        "--target 'label:link=nowhere' matched nothing",
    ]
    shown = cli("plan", "bgp", "--target", "AlibabaBgpGroup/hk-office", "--target", "Nothing/*")
    assert shown.code == 0 and "--target 'Nothing/*' matched nothing" in shown.both


def test_targets_that_all_match_nothing_are_a_usage_error(project: Path, sandbox: Sandbox) -> None:
    refused = cli("plan", "bgp", "--target", "Nothing/*", "--target", "label:link=nowhere")
    assert refused.code == 1
    assert "--target 'Nothing/*', 'label:link=nowhere' matches no resource in the manifests or the state" in refused.err
    assert "AlibabaBgpGroup/hk-office" in refused.err  # the known addresses
    assert "Traceback" not in refused.both


@pytest.mark.parametrize("selector", ["label:link", "label:=x"])
def test_a_malformed_label_selector_is_a_usage_error(project: Path, selector: str) -> None:
    refused = cli("apply", "bgp", "--auto-approve", "--target", selector)
    assert refused.code == 1
    assert f"--target '{selector}' is not a valid label selector: expected label:key=value" in refused.err
    assert "a glob such as" in refused.err and "Traceback" not in refused.both


def test_a_plan_without_a_footprint_keeps_the_strict_rule(repo: Checkouts) -> None:
    """A plan of format 1.1 records no footprint: any apply since makes it stale, as it always did."""
    _pull_request(repo, "a", _hk_description)
    _pull_request(repo, "b", _peer_multihop)
    saved = repo.project / "b.plan"
    # As format 1.1 made it: no footprint, and a digest of every key the manifests use.
    _, resources = load_desired([str(repo.bgp("b"))])
    older = replace(load_plan(saved), footprint=None, format_version="1.1", secret_digests=make_digests(resources))
    save_plan(older, saved)
    assert repo.apply("a").code == 0
    refused = repo.apply("b")
    assert refused.code == 1
    assert "is stale: the state changed since the plan was made (plan made at serial" in refused.err
    assert STATE_MOVED not in refused.err
