"""`reconciler apply`'s own logic: what the first and the second interrupt do, lazy loading, and the
checks of a saved plan against its manifests and the version that made it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from reconciler.apply.engine import Outcome, StepResult
from reconciler.apply.steps import build_steps
from reconciler.clouds.alibaba.kinds import ALIBABA_PEER
from reconciler.commands.apply import (
    ApplyIncomplete,
    _check_tool_version,
    _interrupt_handler,
    _interrupts,
    _secret_ref_mismatches,
)
from reconciler.errors import PlanError
from reconciler.model import JournalEntry, Resource, StateDoc
from reconciler.plan.model import Action, Change, Plan, PlanMode, SecretDigest
from tests.builders import equinix


class Exited(Exception):
    """Stands for `os._exit`, which cannot run inside the test process."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@pytest.fixture
def exits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    codes: list[int] = []

    def fake_exit(code: int) -> None:
        codes.append(code)
        raise Exited(code)

    monkeypatch.setattr(os, "_exit", fake_exit)
    return codes


@pytest.fixture
def signal_handlers() -> Iterator[None]:
    """Whatever a test installs, the process's handlers are back afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def test_the_first_interrupt_stops_new_work_and_says_so(exits: list[int], capsys: pytest.CaptureFixture[str]) -> None:
    stop = threading.Event()
    _interrupt_handler(stop, lambda: 0)(signal.SIGINT, None)
    assert stop.is_set()
    assert exits == []
    assert "Interrupted: finishing the calls in flight and saving state (Ctrl-C again" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("unconfirmed", "said"),
    [
        (3, "3 calls in flight are unknown, the next run confirms them from the journal"),
        (1, "1 call in flight is unknown, the next run confirms it from the journal"),
        (0, "no call was in flight; the next run resolves what the journal records"),
    ],
)
def test_the_second_interrupt_exits_at_once_with_status_1_saying_what_is_unknown(
    exits: list[int], capsys: pytest.CaptureFixture[str], unconfirmed: int, said: str
) -> None:
    stop = threading.Event()
    handler = _interrupt_handler(stop, lambda: unconfirmed)
    handler(signal.SIGINT, None)
    capsys.readouterr()
    with pytest.raises(Exited):
        handler(signal.SIGTERM, None)
    assert exits == [1]
    assert capsys.readouterr().err.strip() == f"Interrupted again: exiting now; {said}"


@pytest.mark.usefixtures("signal_handlers")
def test_handlers_are_restored_after_an_apply_that_was_not_interrupted() -> None:
    before = signal.getsignal(signal.SIGINT)
    with _interrupts(threading.Event(), lambda: 0):
        assert signal.getsignal(signal.SIGINT) is not before
        assert signal.getsignal(signal.SIGTERM) is signal.getsignal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.usefixtures("signal_handlers")
def test_after_an_interrupt_the_handler_stays_so_that_a_second_one_still_exits(exits: list[int]) -> None:
    stop = threading.Event()
    with _interrupts(stop, lambda: 0):
        installed = signal.getsignal(signal.SIGINT)
        assert callable(installed)
        installed(signal.SIGINT, None)
    assert signal.getsignal(signal.SIGINT) is installed  # saving state may take a while
    with pytest.raises(Exited):
        installed(signal.SIGINT, None)
    assert exits == [1]


def _result(address: str, outcome: Outcome) -> StepResult:
    change = Change(address=address, kind=ALIBABA_PEER, action=Action.CREATE, provider="alibaba")
    (step,) = build_steps([change])
    return StepResult(step, outcome)


@pytest.mark.parametrize(
    ("outcomes", "pending_intent", "message"),
    [
        (
            ["done", "failed"],
            False,
            "apply failed: the state records exactly what was done; fix the cause of the failure above",
        ),
        (
            ["failed", "failed", "skipped"],
            False,
            "apply failed: the state records exactly what was done; fix the cause of the 2 failures above, "
            "then run apply again for the 1 change skipped because of them",
        ),
        (
            ["failed", "sent"],
            False,
            "apply failed: the state records exactly what was done; fix the cause of the failure above, "
            "then run apply again to finish",
        ),
        (
            ["failed"],
            True,
            "apply failed: the state records exactly what was done; fix the cause of the failure above, "
            "then run apply again to finish",
        ),
        (
            ["done", "sent", "cancelled"],
            False,
            "apply did not complete: the state records exactly what was done; run apply again to finish",
        ),
    ],
)
def test_run_apply_again_is_said_only_when_something_is_pending(
    outcomes: list[Outcome], pending_intent: bool, message: str
) -> None:
    results = [_result(f"{ALIBABA_PEER}/p{i}", outcome) for i, outcome in enumerate(outcomes)]
    intent = JournalEntry(
        id="i1", address=f"{ALIBABA_PEER}/p0", kind=ALIBABA_PEER, action="create", phase="intent", time="t"
    )
    state = StateDoc(pending=(intent,) if pending_intent else ())
    assert str(ApplyIncomplete(results, state)) == message


def test_loading_the_cli_and_the_apply_command_loads_no_engine_no_provider_and_no_sdk() -> None:
    probe = (
        "import sys, reconciler.cli, reconciler.commands.apply\n"
        "heavy = ('reconciler.apply', 'reconciler.clouds.equinix.provider', 'reconciler.clouds.alibaba.provider',\n"
        "         'httpx', 'alibabacloud_', 'Tea', 'darabonba')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def _key_plan() -> tuple[Plan, Resource]:
    """A plan that creates a peering keyed by env:SG_KEY and deletes a removed peer, and the
    peering as the manifests declare it."""
    declared = equinix(key="ManifestKey1")
    create = Change(
        address=declared.address,
        kind=declared.kind,
        action=Action.CREATE,
        provider="equinix",
        secret_refs={"authenticationKey": "env:SG_KEY"},
    )
    removed = Change(address=f"{ALIBABA_PEER}/gone", kind=ALIBABA_PEER, action=Action.DELETE, provider="alibaba")
    plan = Plan(
        changes=(create, removed), lineage=None, serial=0, secret_digests={"env:SG_KEY": SecretDigest("00", "00")}
    )
    return plan, declared


def test_secret_references_must_be_those_the_manifests_declare() -> None:
    plan, declared = _key_plan()
    create, removed = plan.changes
    assert _secret_ref_mismatches(plan, [declared]) == []
    stolen = replace(
        plan, changes=(replace(create, secret_refs={"authenticationKey": "env:EQUINIX_CLIENT_SECRET"}), removed)
    )
    assert _secret_ref_mismatches(stolen, [declared]) == [
        f"{declared.address} authenticationKey is env:EQUINIX_CLIENT_SECRET in the plan but env:SG_KEY in the manifests"
    ]
    dropped = replace(plan, changes=(replace(create, secret_refs={}), removed))
    assert _secret_ref_mismatches(dropped, [declared]) == [
        f"{declared.address} authenticationKey is no secret in the plan but env:SG_KEY in the manifests"
    ]
    on_a_delete = replace(plan, changes=(create, replace(removed, secret_refs={"authKey": "file:/etc/shadow"})))
    assert _secret_ref_mismatches(on_a_delete, [declared]) == [
        f"{ALIBABA_PEER}/gone authKey is file:/etc/shadow in the plan but no secret in the manifests"
    ]


def test_the_secret_digests_must_name_the_manifests_references() -> None:
    plan, declared = _key_plan()
    assert _secret_ref_mismatches(replace(plan, secret_digests={}), [declared]) == [
        "the plan has no digest of env:SG_KEY, which the manifests reference"
    ]
    other = {"env:SG_KEY": SecretDigest("00", "00"), "env:OTHER": SecretDigest("00", "00")}
    assert _secret_ref_mismatches(replace(plan, secret_digests=other), [declared]) == [
        "the plan has a digest of env:OTHER, which no manifest references"
    ]


def test_a_refresh_only_plan_names_no_secret() -> None:
    plan, declared = _key_plan()
    create, removed = plan.changes
    refresh = replace(plan, mode=PlanMode.REFRESH_ONLY, secret_digests={})
    assert _secret_ref_mismatches(refresh, [declared]) == [
        f"{declared.address} authenticationKey is env:SG_KEY in the plan but no secret in the manifests"
    ]
    assert (
        _secret_ref_mismatches(replace(refresh, changes=(replace(create, secret_refs={}), removed)), [declared]) == []
    )


def test_a_plan_is_applied_only_by_the_version_that_made_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import reconciler

    plan, _ = _key_plan()
    monkeypatch.setattr(reconciler, "__version__", "1.2.0")
    _check_tool_version(replace(plan, tool_version="1.2.0"), Path("p.json"))
    with pytest.raises(PlanError) as caught:
        _check_tool_version(replace(plan, tool_version="1.1.9"), Path("p.json"))
    assert str(caught.value) == (
        "saved plan p.json was made by reconciler 1.1.9, and this is reconciler 1.2.0: a saved plan is applied "
        "only by the version that made it\n"
        "  hint: run `reconciler plan` again with this version and review the new plan"
    )
    with pytest.raises(PlanError, match="made by an unknown version of reconciler"):
        _check_tool_version(replace(plan, tool_version=""), Path("p.json"))
