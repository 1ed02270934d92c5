"""End-to-end fixtures: a sandbox of both clouds, a project folder with manifests, and the CLI.

The CLI runs in-process (fast) through `reconciler.cli.main`, or as a real subprocess where a
test needs one (kill -9, locks held by another process, Ctrl-C).
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from reconciler.cli import main
from reconciler.sandbox import Sandbox, SandboxConfig, load_seed

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

# The examples' key references (examples/README.md), with obviously fake values.
EXAMPLE_KEYS = {
    "SG_BGP_KEY": "ExampleSgKeyNotReal1",
    "HK_BGP_KEY": "ExampleHkKeyNotReal1",
    "AZURE_SG_BGP_KEY": "ExampleAzureKeyNotReal1",
    "AWS_HK_BGP_KEY": "ExampleAwsKeyNotReal1",
    "SG_COLO_BGP_KEY": "ExampleColoKeyNotReal1",
    "HK_OFFICE_BGP_KEY": "ExampleOfficeKeyNotReal1",
}


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err


# The core scenarios (marked `profiles`) run against each of these as well as the lenient default
# the other tests use (docs/sandbox.md, "Profiles").
PROFILES = ("realistic", "pessimistic")
# Read lag the pessimistic profile shows, plus a margin: what apply waits out before judging a change.
PESSIMISTIC_READ_LAG = "6"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "sandbox_profile" in metafunc.fixturenames and metafunc.definition.get_closest_marker("profiles"):
        metafunc.parametrize("sandbox_profile", ("lenient", *PROFILES), indirect=True)


@pytest.fixture
def sandbox_profile(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "lenient"))


def profile_config(profile: str) -> SandboxConfig:
    """The profile as the end-to-end tests use it. Two account settings that are not API
    behaviour are kept as the examples need them (a custom local ASN; a throttle rate the whole
    suite can live with), so a pessimistic run tests the tool, not the account's quotas."""
    if profile == "lenient":
        return SandboxConfig(provision_delay=0.0)
    return SandboxConfig.for_profile(
        profile,
        provision_delay=0.0,
        alibaba_custom_local_asn=True,
        equinix={"throttle_rps": 20.0},
        alibaba={"throttle_rps": 20.0},
    )


@pytest.fixture
def sandbox(sandbox_profile: str) -> Iterator[Sandbox]:
    with Sandbox(load_seed(EXAMPLES / "sandbox-seed.yaml"), config=profile_config(sandbox_profile)) as box:
        yield box


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox, sandbox_profile: str) -> Path:
    """A GitOps-like folder: manifests in bgp/, state in state/, keys and sandbox in the environment."""
    shutil.copytree(EXAMPLES / "alibaba", tmp_path / "bgp" / "alibaba")
    shutil.copytree(EXAMPLES / "equinix", tmp_path / "bgp" / "equinix")
    monkeypatch.chdir(tmp_path)
    for name, value in {**EXAMPLE_KEYS, **sandbox.env()}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RECONCILER_STATE", raising=False)
    if sandbox_profile == "pessimistic":
        monkeypatch.setenv("RECONCILER_READ_LAG", PESSIMISTIC_READ_LAG)
    return tmp_path


def cli(*args: str) -> Result:
    """Run the reconciler CLI in this process, as a user would from the shell."""
    out, err = io.StringIO(), io.StringIO()
    previous = signal.getsignal(signal.SIGTERM)
    code: Any = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            main(list(args))
    except SystemExit as exc:
        code = exc.code
    finally:
        signal.signal(signal.SIGTERM, previous)
    return Result(int(code or 0), out.getvalue(), err.getvalue())


def spawn(*args: str, env: Mapping[str, str] | None = None, **kwargs: Any) -> subprocess.Popen[str]:
    """Start the CLI as a real process (for kill -9, locks, Ctrl-C)."""
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def run(*args: str, timeout: float = 120, env: Mapping[str, str] | None = None) -> Result:
    proc = spawn(*args, env=env)
    out, err = proc.communicate(timeout=timeout)
    return Result(proc.returncode, out, err)


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def write_documents(path: Path, docs: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))


def edit_document(root: Path, kind: str, name: str, **spec: Any) -> Path:
    """Change spec fields of one document in the manifests (None removes the field)."""
    for path in sorted(root.rglob("*.yaml")):
        docs = documents(path)
        for doc in docs:
            if doc["kind"] == kind and doc["metadata"]["name"] == name:
                for key, value in spec.items():
                    if value is None:
                        doc["spec"].pop(key, None)
                    else:
                        doc["spec"][key] = value
                write_documents(path, docs)
                return path
    raise AssertionError(f"no {kind}/{name} in {root}")


def remove_document(root: Path, kind: str, name: str) -> None:
    for path in sorted(root.rglob("*.yaml")):
        docs = documents(path)
        kept = [d for d in docs if not (d["kind"] == kind and d["metadata"]["name"] == name)]
        if len(kept) != len(docs):
            write_documents(path, kept)
            return
    raise AssertionError(f"no {kind}/{name} in {root}")


def live_counts(box: Sandbox) -> dict[str, int]:
    return box.objects().counts()


def post_equinix_config(box: Sandbox, body: Mapping[str, Any]) -> str:
    """POST a BGP config to the sandbox by hand (what a killed apply, or a person, made); its uuid."""
    with httpx.Client(base_url=box.equinix_url, timeout=10) as http:
        token = http.post(
            "/oauth2/v1/token",
            json={"grant_type": "client_credentials", "client_id": "sandbox", "client_secret": "sandbox-secret"},
        ).json()["access_token"]
        posted = http.post("/ne/v1/bgp", json=dict(body), headers={"Authorization": f"Bearer {token}"})
        assert posted.status_code == 202, posted.text
        return str(posted.json()["uuid"])


@pytest.fixture
def examples_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Git work tree with the examples' manifests in bgp/, the keys in the environment."""
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "alibaba", root / "bgp" / "alibaba")
    shutil.copytree(EXAMPLES / "equinix", root / "bgp" / "equinix")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    monkeypatch.chdir(root)
    monkeypatch.delenv("RECONCILER_STATE", raising=False)
    for name, value in EXAMPLE_KEYS.items():
        monkeypatch.setenv(name, value)
    return root
