"""Saved plans bound to what made them, end to end against the sandbox: `plan --out` signs with
RECONCILER_PLAN_KEY, and `apply PLANFILE` refuses a tampered, unsigned, foreign-version or stale
plan before any cloud call, and takes every secret from the manifests, never from the plan file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.plan.signing import PLAN_KEY_ENV
from reconciler.sandbox import Sandbox
from tests.e2e.conftest import EXAMPLE_KEYS, Result, cli, edit_document, live_counts

KEY = "e2e-plan-key-0f3c9a7d2b6e4f1a8c5d"  # at least 32 bytes
# A credential of another system, in the apply job's environment: it must never become a BGP key.
FOREIGN_SECRET = "ForeignCredentialNotABgpKey9"
ALL_APPLIED = {"equinix_bgp": 4, "alibaba_groups": 5, "alibaba_peers": 6}

Document = dict[str, Any]


@pytest.fixture
def keyed(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(PLAN_KEY_ENV, KEY)
    monkeypatch.setenv("OTHER_SECRET", FOREIGN_SECRET)
    return project


@pytest.fixture
def unkeyed(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(PLAN_KEY_ENV, raising=False)
    monkeypatch.setenv("OTHER_SECRET", FOREIGN_SECRET)
    return project


def _objects(box: Sandbox) -> Document:
    """The BGP objects of both clouds, keys in clear (the sandbox shows them)."""
    everything = box.objects_json()
    return {name: everything[name] for name in ("equinix_bgp", "alibaba_groups", "alibaba_peers")}


def _refused_untouched(box: Sandbox, *args: str) -> Result:
    """Run `apply` expecting a refusal before any cloud call: exit 1, one message, nothing changed."""
    before = _objects(box)
    box.reset_request_counts()
    result = cli("apply", *args)
    assert result.code == 1, result.both
    assert box.request_counts() == {}, "a refused plan made API calls"
    assert _objects(box) == before
    assert "Traceback" not in result.both
    assert KEY not in result.both
    return result


def _edit_plan(path: Path, edit: Callable[[Document], None]) -> None:
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document, indent=2))


def _change(document: Document, address: str) -> Document:
    change: Document = next(c for c in document["resource_changes"] if c["address"] == address)
    return change


def _with_one_update(project: Path) -> None:
    """Everything applied, then one description changed: a plan of one update and 14 no-ops."""
    applied = cli("apply", "bgp", "--auto-approve")
    assert applied.code == 0, applied.both
    edit_document(project / "bgp", "AlibabaBgpGroup", "sg-colo-core", description="Singapore colo, renumbered")


GROUP = "AlibabaBgpGroup/sg-colo-core"
UNCHANGED_PEER = "AlibabaBgpPeer/sg-colo-core-r2"


def _action_edited(document: Document) -> None:
    _change(document, GROUP)["action"] = "delete"


def _noop_made_a_delete(document: Document) -> None:
    _change(document, UNCHANGED_PEER)["action"] = "delete"


def _value_changed(document: Document) -> None:
    change = _change(document, GROUP)
    change["after"]["description"] = "Chosen by whoever edited the plan"
    for field in change["fields"]:
        if field["name"] == "description":
            field["after"] = "Chosen by whoever edited the plan"


def _secret_ref_changed(document: Document) -> None:
    _change(document, GROUP)["secret_refs"]["authKey"] = "env:EQUINIX_CLIENT_SECRET"


@pytest.mark.parametrize("tamper", [_action_edited, _noop_made_a_delete, _value_changed, _secret_ref_changed])
def test_a_tampered_signed_plan_is_refused_before_any_cloud_call(
    keyed: Path, sandbox: Sandbox, tamper: Callable[[Document], None]
) -> None:
    _with_one_update(keyed)
    assert cli("plan", "bgp", "--out", "plan.json").code == 0
    _edit_plan(keyed / "plan.json", tamper)
    refused = _refused_untouched(sandbox, "plan.json")
    assert f"plan file plan.json is refused: its signature does not verify with {PLAN_KEY_ENV}" in refused.err
    assert "sandbox-secret" not in json.dumps(_objects(sandbox))  # the Equinix client secret


def test_a_signed_untouched_plan_applies(keyed: Path, sandbox: Sandbox) -> None:
    planned = cli("plan", "bgp/alibaba", "bgp/equinix", "--out", "plan.json")
    assert planned.code == 0, planned.both
    text = (keyed / "plan.json").read_text()
    assert KEY not in text and KEY not in planned.both
    assert json.loads(text)["manifest_paths"] == ["bgp/alibaba", "bgp/equinix"]
    shown = cli("show", "plan.json")
    assert shown.out.endswith(f"Signature: verified with {PLAN_KEY_ENV}.\n")
    applied = cli("apply", "plan.json")
    assert applied.code == 0, applied.both
    assert "15 done, 0 failed" in applied.out
    assert "not signed" not in applied.both
    assert live_counts(sandbox) == ALL_APPLIED
    assert cli("plan", "bgp", "--detailed-exitcode").code == 0


def test_an_unsigned_plan_is_refused_while_a_key_is_set(
    unkeyed: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("plan", "bgp", "--out", "plan.json").code == 0
    assert "signature" not in json.loads((unkeyed / "plan.json").read_text())
    monkeypatch.setenv(PLAN_KEY_ENV, KEY)
    refused = _refused_untouched(sandbox, "plan.json")
    assert f"plan file plan.json is refused: it is not signed, and {PLAN_KEY_ENV} is set" in refused.err
    assert live_counts(sandbox) == {"equinix_bgp": 0, "alibaba_groups": 0, "alibaba_peers": 0}


def test_a_signed_plan_is_refused_when_apply_has_no_key(
    keyed: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("plan", "bgp", "--out", "plan.json").code == 0
    monkeypatch.delenv(PLAN_KEY_ENV)
    refused = _refused_untouched(sandbox, "plan.json")
    assert f"is signed, but {PLAN_KEY_ENV} is not set, so its signature cannot be verified" in refused.err


def test_a_plan_signed_with_another_key_is_refused(
    keyed: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("plan", "bgp", "--out", "plan.json").code == 0
    monkeypatch.setenv(PLAN_KEY_ENV, "another-plan-key-9b8a7c6d5e4f3a2b1c0d")
    refused = _refused_untouched(sandbox, "plan.json")
    assert "signature does not verify" in refused.err


def test_a_short_key_is_refused_by_plan_and_apply(
    unkeyed: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("plan", "bgp", "--out", "plan.json").code == 0
    monkeypatch.setenv(PLAN_KEY_ENV, "short-plan-key")
    refused = _refused_untouched(sandbox, "plan.json")
    assert f"{PLAN_KEY_ENV} is too short: a plan key needs at least 32 bytes" in refused.err
    (unkeyed / "plan.json").unlink()
    planned = cli("plan", "bgp", "--out", "plan.json")
    assert planned.code == 1 and f"{PLAN_KEY_ENV} is too short" in planned.err
    assert "short-plan-key" not in planned.both
    assert not (unkeyed / "plan.json").exists()


@pytest.mark.parametrize("variable", ["EQUINIX_CLIENT_SECRET", "OTHER_SECRET"])
def test_without_a_key_a_secret_reference_is_never_taken_from_the_plan(
    unkeyed: Path, sandbox: Sandbox, variable: str
) -> None:
    """The plan says to send another variable as the group's key: refused, and its value never
    reaches the cloud, although no key protects the file."""
    assert cli("plan", "bgp", "--out", "plan.json").code == 0
    _edit_plan(unkeyed / "plan.json", lambda d: _change(d, GROUP)["secret_refs"].update(authKey=f"env:{variable}"))
    refused = _refused_untouched(sandbox, "plan.json")
    assert (
        f"saved plan plan.json is refused: its secret references are not those of its manifests: {GROUP} authKey "
        f"is env:{variable} in the plan but env:SG_COLO_BGP_KEY in the manifests" in refused.err
    )
    assert live_counts(sandbox) == {"equinix_bgp": 0, "alibaba_groups": 0, "alibaba_peers": 0}
    assert FOREIGN_SECRET not in refused.both
    # The untouched plan then applies, with the manifests' key.
    assert cli("plan", "bgp", "--out", "plan.json").code == 0
    applied = cli("apply", "plan.json")
    assert applied.code == 0, applied.both
    assert "Note: plan file plan.json is not signed" in applied.err
    groups = {g["Name"]: g for g in sandbox.objects().alibaba_groups.values()}
    assert groups["sg-colo-core"]["AuthKey"] == EXAMPLE_KEYS["SG_COLO_BGP_KEY"]
    stored = json.dumps(_objects(sandbox))
    assert FOREIGN_SECRET not in stored and "sandbox-secret" not in stored


def test_without_a_key_a_secret_digest_cannot_vouch_for_another_reference(unkeyed: Path, sandbox: Sandbox) -> None:
    """Renaming the reference everywhere in the plan (the change and its digest) is refused too."""
    assert cli("plan", "bgp", "--out", "plan.json").code == 0

    def rename(document: Document) -> None:
        _change(document, GROUP)["secret_refs"]["authKey"] = "env:OTHER_SECRET"
        digests = document["secret_digests"]
        digests["env:OTHER_SECRET"] = digests.pop("env:SG_COLO_BGP_KEY")

    _edit_plan(unkeyed / "plan.json", rename)
    refused = _refused_untouched(sandbox, "plan.json")
    assert "the plan has a digest of env:OTHER_SECRET, which no manifest references" in refused.err
    assert "the plan has no digest of env:SG_COLO_BGP_KEY, which the manifests reference" in refused.err


def test_a_plan_made_by_another_version_is_refused(
    keyed: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reconciler
    import reconciler.plan.planner

    with monkeypatch.context() as another_version:
        another_version.setattr(reconciler.plan.planner, "__version__", "0.0.9")
        assert cli("plan", "bgp", "--out", "plan.json").code == 0
    assert cli("show", "plan.json").out.endswith(f"Signature: verified with {PLAN_KEY_ENV}.\n")
    refused = _refused_untouched(sandbox, "plan.json")
    assert (
        f"saved plan plan.json was made by reconciler 0.0.9, and this is reconciler {reconciler.__version__}: "
        "a saved plan is applied only by the version that made it" in refused.err
    )
    assert "`reconciler plan` again" in refused.err


@pytest.mark.parametrize("key", [KEY, None])
def test_a_plan_whose_manifests_changed_is_refused_as_stale(
    unkeyed: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, key: str | None
) -> None:
    if key is not None:
        monkeypatch.setenv(PLAN_KEY_ENV, key)
    _with_one_update(unkeyed)
    assert cli("plan", "bgp", "--out", "plan.json").code == 0
    edit_document(unkeyed / "bgp", "AlibabaBgpGroup", "sg-colo-core", description="Changed after the review")
    refused = _refused_untouched(sandbox, "plan.json")
    assert "saved plan plan.json is stale: the manifests in bgp changed since the plan was made" in refused.err
    assert "`reconciler plan` again" in refused.err


def test_a_plan_is_checked_against_the_manifests_it_names(unkeyed: Path, sandbox: Sandbox) -> None:
    """Applied from another folder, the recorded paths are not there: a clear refusal."""
    assert cli("plan", "bgp", "--out", "plan.json").code == 0
    (unkeyed / "bgp").rename(unkeyed / "elsewhere")
    refused = _refused_untouched(sandbox, "plan.json")
    assert "saved plan plan.json cannot be checked against its manifests (bgp): path not found: bgp" in refused.err
