"""The opt-in live suite: reconciler against real Equinix and Alibaba Cloud accounts, through the CLI.

It runs only with `RECONCILER_LIVE=1`, real credentials in the usual variables and scratch objects
named below; otherwise every test is skipped with the reason in the pytest summary, before any
fixture runs or any provider is built (CI never sets `RECONCILER_LIVE`).

    RECONCILER_LIVE=1                          turn the suite on
    EQUINIX_CLIENT_ID, EQUINIX_CLIENT_SECRET   (EQUINIX_API_ENDPOINT optional)
    RECONCILER_LIVE_EQUINIX_CONNECTION         a scratch Fabric connection (see below)
    RECONCILER_LIVE_EQUINIX_LOCAL_IP           the device's address with its prefix, e.g. 169.254.100.1/30
    RECONCILER_LIVE_EQUINIX_LOCAL_ASN          the device's ASN
    RECONCILER_LIVE_EQUINIX_REMOTE_IP          the other side's address, e.g. 169.254.100.2
    RECONCILER_LIVE_EQUINIX_REMOTE_ASN         the other side's ASN
    ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET   (ALIBABA_CLOUD_VPC_ENDPOINT optional)
    RECONCILER_LIVE_ALIBABA_REGION             e.g. ap-southeast-1
    RECONCILER_LIVE_ALIBABA_VBR                a scratch VBR in that region (active, with a free peer slot)
    RECONCILER_LIVE_ALIBABA_PEER_ASN           the ASN of the other side of the VBR (not 45104)
    RECONCILER_LIVE_ALIBABA_PEER_IP            the other side's address on the VBR
    RECONCILER_LIVE_ALIBABA_BFD=1              optional: turn BFD on in the update step (only if the
                                               account has BFD: it is off by default)
    RECONCILER_LIVE_TIMEOUT                    optional: apply --timeout in seconds (default 1800)

Each cloud's lifecycle test creates, verifies, updates (a key rotation included), verifies again
and removes its objects with `doctor`, `plan`, `apply` and `drift`, in a fresh folder with its own
state. The Alibaba test creates and deletes one BGP group and one peer on the scratch VBR.

**Equinix cannot delete a BGP config** (docs/cloud-apis.md, Equinix §6). Removing the peering from
the manifests *forgets* it: the config stays on the connection, with the last key the test set.
That is why the connection must be a scratch one: the next run adopts the config left there
instead of creating another.

The manifests may not be empty (reconciler refuses a folder with no document), so the removal
step keeps one placeholder document, on a connection or VBR that does not exist, and plans and
applies with `--target` the removed addresses only; the placeholder is never applied.
"""

from __future__ import annotations

import os
import secrets
import string
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Result, cli, write_documents

LIVE = os.environ.get("RECONCILER_LIVE") == "1"
EQUINIX_VARIABLES = (
    "EQUINIX_CLIENT_ID",
    "EQUINIX_CLIENT_SECRET",
    "RECONCILER_LIVE_EQUINIX_CONNECTION",
    "RECONCILER_LIVE_EQUINIX_LOCAL_IP",
    "RECONCILER_LIVE_EQUINIX_LOCAL_ASN",
    "RECONCILER_LIVE_EQUINIX_REMOTE_IP",
    "RECONCILER_LIVE_EQUINIX_REMOTE_ASN",
)
ALIBABA_VARIABLES = (
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "RECONCILER_LIVE_ALIBABA_REGION",
    "RECONCILER_LIVE_ALIBABA_VBR",
    "RECONCILER_LIVE_ALIBABA_PEER_ASN",
    "RECONCILER_LIVE_ALIBABA_PEER_IP",
)
NAME = "reconciler-live"  # fixed, so that what a crashed run left behind is adopted, not duplicated
GROUP, PEER, PEERING = f"AlibabaBgpGroup/{NAME}", f"AlibabaBgpPeer/{NAME}", f"EquinixBgpPeering/{NAME}"
KEY_VARIABLE = "RECONCILER_LIVE_BGP_KEY"
# Where the removal step's placeholder document points: nothing real, as it is never applied.
PLACEHOLDER_CONNECTION = "00000000-0000-4000-8000-00000000dead"
PLACEHOLDER_VBR = "vbr-reconcilerliveplaceholder"


def _missing(names: tuple[str, ...]) -> list[str]:
    return [name for name in names if not os.environ.get(name)]


pytestmark = pytest.mark.skipif(
    not LIVE,
    reason="live tests against real cloud accounts run only with RECONCILER_LIVE=1 and scratch objects "
    "(README.md, 'Trying a real account')",
)
needs_equinix = pytest.mark.skipif(
    LIVE and bool(_missing(EQUINIX_VARIABLES)),
    reason=f"the live Equinix test needs {', '.join(_missing(EQUINIX_VARIABLES))}",
)
needs_alibaba = pytest.mark.skipif(
    LIVE and bool(_missing(ALIBABA_VARIABLES)),
    reason=f"the live Alibaba test needs {', '.join(_missing(ALIBABA_VARIABLES))}",
)


def new_key() -> str:
    """A fresh BGP key that every cloud accepts: 20 letters and digits, starting with a letter."""
    alphabet = string.ascii_letters + string.digits
    return "Live" + "".join(secrets.choice(alphabet) for _ in range(16))


def timeout() -> str:
    return os.environ.get("RECONCILER_LIVE_TIMEOUT", "1800")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh folder with its own state file (`state/reconciler.json`), never the user's."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RECONCILER_STATE", raising=False)
    monkeypatch.setenv(KEY_VARIABLE, new_key())
    yield tmp_path


def write(folder: Path, *docs: Mapping[str, Any]) -> Path:
    for old in folder.glob("*.yaml"):
        old.unlink()
    write_documents(folder / "live.yaml", [dict(d) for d in docs])
    return folder


def alibaba_docs(description: str, bfd: bool) -> list[dict[str, Any]]:
    env = os.environ
    peer_spec: dict[str, Any] = {"bgpGroup": NAME, "peerIpAddress": env["RECONCILER_LIVE_ALIBABA_PEER_IP"]}
    if bfd:
        peer_spec.update(enableBfd=True, bfdMultiHop=1)
    return [
        {
            "apiVersion": "reconciler/v1",
            "kind": "AlibabaBgpGroup",
            "metadata": {"name": NAME},
            "spec": {
                "regionId": env["RECONCILER_LIVE_ALIBABA_REGION"],
                "virtualBorderRouterId": env["RECONCILER_LIVE_ALIBABA_VBR"],
                "peerAsn": int(env["RECONCILER_LIVE_ALIBABA_PEER_ASN"]),
                "authKey": {"fromEnv": KEY_VARIABLE},
                "description": description,
            },
        },
        {"apiVersion": "reconciler/v1", "kind": "AlibabaBgpPeer", "metadata": {"name": NAME}, "spec": peer_spec},
    ]


def equinix_doc(connection: str | None = None) -> dict[str, Any]:
    env = os.environ
    return {
        "apiVersion": "reconciler/v1",
        "kind": "EquinixBgpPeering",
        "metadata": {"name": NAME if connection is None else f"{NAME}-placeholder"},
        "spec": {
            "connectionUuid": connection or env["RECONCILER_LIVE_EQUINIX_CONNECTION"],
            "localIpAddress": env["RECONCILER_LIVE_EQUINIX_LOCAL_IP"],
            "localAsn": int(env["RECONCILER_LIVE_EQUINIX_LOCAL_ASN"]),
            "remoteIpAddress": env["RECONCILER_LIVE_EQUINIX_REMOTE_IP"],
            "remoteAsn": int(env["RECONCILER_LIVE_EQUINIX_REMOTE_ASN"]),
            "authenticationKey": {"fromEnv": KEY_VARIABLE},
        },
    }


def ok(result: Result, *codes: int) -> Result:
    assert result.code in (codes or (0,)), f"exit {result.code}:\n{result.both}"
    return result


def apply(*args: str) -> Result:
    return ok(cli("apply", "--auto-approve", "--timeout", timeout(), *args))


def no_changes(folder: Path) -> None:
    """The clouds match the manifests, keys included (plan compares them with the live values)."""
    ok(cli("plan", "--detailed-exitcode", str(folder)), 0)
    ok(cli("drift", str(folder)), 0)


def no_failed_check(folder: Path, cloud: str) -> Result:
    result = cli("doctor", str(folder))
    failed = [line for line in result.out.splitlines() if line.startswith("FAIL") and f" {cloud} " in line]
    assert not failed, "doctor found problems with the live account:\n" + result.both
    return result


def planned(plan: Result, address: str) -> str:
    """The plan's line for `address` (its action)."""
    found = [line for line in plan.out.splitlines() if f" {address} " in f"{line} " and "will be" in line]
    assert len(found) == 1, f"no single line for {address} in the plan:\n{plan.out}"
    return found[0]


def managed() -> list[str]:
    """The addresses the state records."""
    return [line.split()[0] for line in ok(cli("state", "list")).out.splitlines() if line.strip()]


@needs_alibaba
def test_alibaba_group_and_peer_lifecycle(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = workdir / "bgp"
    bfd = os.environ.get("RECONCILER_LIVE_ALIBABA_BFD") == "1"
    write(folder, *alibaba_docs("reconciler live test", bfd=False))
    no_failed_check(folder, "alibaba")
    try:
        # create (or adopt what a crashed run left), then verify
        plan = ok(cli("plan", "--detailed-exitcode", str(folder)), 2)
        assert GROUP in plan.out and PEER in plan.out
        apply(str(folder))
        no_changes(folder)
        assert GROUP in managed() and PEER in managed()

        # update: a description, a key rotation and, where the account has it, BFD
        monkeypatch.setenv(KEY_VARIABLE, new_key())
        write(folder, *alibaba_docs("reconciler live test, updated", bfd=bfd))
        plan = ok(cli("plan", "--detailed-exitcode", str(folder)), 2)
        assert "(sensitive value changed)" in plan.out and "updated" in plan.out
        assert os.environ[KEY_VARIABLE] not in plan.both
        apply(str(folder))
        no_changes(folder)
    finally:
        # remove both (also after a failure above, so that nothing is left on the scratch VBR)
        removal = remove(folder, placeholder_group(), PEER, GROUP)
    assert removal is not None
    assert "will be deleted" in planned(removal, GROUP) and "will be deleted" in planned(removal, PEER)
    assert GROUP not in managed() and PEER not in managed()
    write(folder, *alibaba_docs("reconciler live test", bfd=False))
    plan = ok(cli("plan", "--detailed-exitcode", str(folder)), 2)
    assert "will be created" in planned(plan, GROUP)  # gone from the cloud: nothing left to adopt


def remove(folder: Path, placeholder: Mapping[str, Any], *addresses: str) -> Result | None:
    """Remove the managed ones among `addresses` from the manifests, plan and apply just that;
    the placeholder keeps the manifests from being empty and is never applied. Returns the plan
    (None when none of them is managed)."""
    recorded = managed()
    targets = [arg for address in addresses if address in recorded for arg in ("--target", address)]
    if not targets:
        return None
    write(folder, placeholder)
    removal = ok(cli("plan", *targets, str(folder)))
    apply(*targets, str(folder))
    return removal


def placeholder_group() -> dict[str, Any]:
    """A group that is never applied, on a VBR id that does not exist: on the scratch VBR it would
    be taken for a rename of the group being removed (a renamed group is renamed in place)."""
    group = alibaba_docs("placeholder, never applied", bfd=False)[0]
    spec = {**group["spec"], "virtualBorderRouterId": PLACEHOLDER_VBR}
    return {**group, "metadata": {"name": f"{NAME}-placeholder"}, "spec": spec}


@needs_equinix
def test_equinix_peering_lifecycle(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = workdir / "bgp"
    write(folder, equinix_doc())
    no_failed_check(folder, "equinix")

    # create (or adopt the config an earlier run left on the scratch connection), then verify
    plan = ok(cli("plan", "--detailed-exitcode", str(folder)), 2)
    assert PEERING in plan.out
    apply(str(folder))
    no_changes(folder)
    assert "has BGP config" in no_failed_check(folder, "equinix").out

    # update: a key rotation (the addresses and ASNs are the connection's; they stay)
    monkeypatch.setenv(KEY_VARIABLE, new_key())
    plan = ok(cli("plan", "--detailed-exitcode", str(folder)), 2)
    assert "(sensitive value changed)" in plan.out
    assert os.environ[KEY_VARIABLE] not in plan.both
    apply(str(folder))
    no_changes(folder)

    # remove: Equinix has no delete, so the plan forgets the config and says it stays on the connection
    removal = remove(folder, equinix_doc(PLACEHOLDER_CONNECTION), PEERING)
    assert removal is not None
    assert "will be forgotten" in planned(removal, PEERING) and "stays on the connection" in removal.out
    assert PEERING not in managed()
    print(
        f"\nThe BGP config stays on Fabric connection {os.environ['RECONCILER_LIVE_EQUINIX_CONNECTION']} "
        "(Equinix cannot delete it); the next live run adopts it."
    )


@pytest.mark.skipif(
    LIVE and bool(_missing(EQUINIX_VARIABLES)) and bool(_missing(ALIBABA_VARIABLES)),
    reason="the live doctor test needs the variables of at least one cloud",
)
def test_doctor_passes_on_the_live_account(workdir: Path) -> None:
    docs: list[dict[str, Any]] = []
    if not _missing(ALIBABA_VARIABLES):
        docs += alibaba_docs("reconciler live test", bfd=os.environ.get("RECONCILER_LIVE_ALIBABA_BFD") == "1")
    if not _missing(EQUINIX_VARIABLES):
        docs.append(equinix_doc())
    result = cli("doctor", str(write(workdir / "bgp", *docs)))
    assert result.code == 0, result.both
    for name in ("EQUINIX_CLIENT_SECRET", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_ACCESS_KEY_ID"):
        value = os.environ.get(name)
        assert not value or value not in result.both
