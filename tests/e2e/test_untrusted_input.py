"""Manifests as untrusted input, end to end through the CLI: `reconciler plan` runs on pull
requests nobody reviewed yet, so what a manifest names must not read files outside the
repository, hang, exhaust memory or crash, and every refusal is one clear message, exit 1,
made before any cloud API call."""

from __future__ import annotations

import os
import re
import resource
import subprocess
from pathlib import Path

import pytest

from reconciler.sandbox import Sandbox
from tests.e2e.conftest import Result, cli, edit_document, spawn

CANARY = "CanarySecretNeverShown77"
OFFICE = ("AlibabaBgpGroup", "hk-office")  # a group whose key no other end shares
OFFICE_FILE = r"bgp/alibaba/cn-hongkong\.yaml"


def run_bounded(*args: str, timeout: float = 60, memory: int | None = None) -> Result:
    """The CLI as a real process that must finish within `timeout` (and, with `memory`, within
    that many bytes of address space): a hang or a memory blow-up fails the test, not the suite."""

    def limit_memory() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    proc = spawn(*args, preexec_fn=limit_memory)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"`reconciler {' '.join(args)}` did not finish within {timeout} s")
    return Result(proc.returncode, out, err)


def refused(result: Result, sandbox: Sandbox, *expected: str) -> None:
    """Exit 1 with one clear message holding each `expected` pattern, no traceback, no secret, no API call."""
    assert result.code == 1, result.both
    for pattern in expected:  # validate reports on stdout, the other commands fail on stderr
        assert re.search(pattern, result.both), f"{pattern!r} not in:\n{result.both}"
    assert "Traceback" not in result.both and "internal error" not in result.both
    assert CANARY not in result.both
    assert sum(sandbox.request_counts().values()) == 0


@pytest.fixture
def outside(project: Path, sandbox: Sandbox) -> Path:
    """A secret outside the manifests' folder (no Git work tree here: the root is bgp/)."""
    path = project / "outside.key"
    path.write_text(CANARY + "\n")
    sandbox.reset_request_counts()
    return path


# --- fromFile ------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["validate"], ["plan"], ["plan", "--refresh-only"], ["drift"]])
def test_a_key_file_out_of_the_repository_is_refused_before_any_api_call(
    project: Path, sandbox: Sandbox, outside: Path, command: list[str]
) -> None:
    edit_document(project / "bgp", *OFFICE, authKey={"fromFile": "../../outside.key"})
    root = os.path.realpath(project / "bgp")
    refused(
        cli(*command, "bgp"),
        sandbox,
        rf"{OFFICE_FILE}:\d+:\d+: spec\.authKey\.fromFile: '\.\./\.\./outside\.key' is {re.escape(str(outside))}, "
        rf"outside the secrets root {re.escape(root)} \(the folder holding the manifests\): a key file must be inside "
        r"it, or allowed with --secrets-allow PATH",
    )


def test_apply_refuses_it_too(project: Path, sandbox: Sandbox, outside: Path) -> None:
    edit_document(project / "bgp", *OFFICE, authKey={"fromFile": str(outside)})
    refused(cli("apply", "--auto-approve", "bgp"), sandbox, r"spec\.authKey\.fromFile: '/.*outside\.key' is outside")


def test_proc_self_environ_never_reaches_a_cloud(
    project: Path, sandbox: Sandbox, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI_DEPLOY_TOKEN", CANARY)
    edit_document(project / "bgp", *OFFICE, authKey={"fromFile": "/proc/self/environ"})
    refused(
        cli("plan", "bgp"),
        sandbox,
        rf"{OFFICE_FILE}:\d+:\d+: spec\.authKey\.fromFile: '/proc/self/environ' leads through a symbolic link to "
        r"/proc/\d+/environ, outside the secrets root",
    )


@pytest.mark.parametrize("variable", ["EQUINIX_CLIENT_SECRET", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "GITHUB_TOKEN"])
@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_credential_of_the_job_is_never_a_bgp_key(
    project: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, variable: str, command: str
) -> None:
    """`fromEnv` naming the job's own credentials would have `apply` send one to a cloud as a key,
    while the plan shows only "(sensitive)"."""
    monkeypatch.setenv(variable, CANARY)
    edit_document(project / "bgp", *OFFICE, authKey={"fromEnv": variable})
    sandbox.reset_request_counts()
    refused(
        cli(command, "bgp"),
        sandbox,
        rf"{OFFICE_FILE}:\d+:\d+: spec\.authKey\.fromEnv: environment variable {variable} holds a credential",
    )


def test_a_symbolic_link_out_of_the_repository_is_refused_and_one_inside_it_is_fine(
    project: Path, sandbox: Sandbox, outside: Path
) -> None:
    keys = project / "bgp" / "keys"
    keys.mkdir()
    (keys / "office.key").symlink_to(outside)
    edit_document(project / "bgp", *OFFICE, authKey={"fromFile": "../keys/office.key"})
    refused(cli("plan", "bgp"), sandbox, r"'\.\./keys/office\.key' leads through a symbolic link to .*outside\.key")
    (keys / "office.key").unlink()
    (keys / "real.key").write_text("OfficeKeyFromFile1\n")
    (keys / "office.key").symlink_to("real.key")
    assert cli("plan", "bgp").code == 0


def test_the_secrets_root_is_the_git_work_tree_holding_the_manifests(
    project: Path, sandbox: Sandbox, outside: Path
) -> None:
    edit_document(project / "bgp", *OFFICE, authKey={"fromFile": "../../outside.key"})
    assert cli("plan", "bgp").code == 1
    (project / ".git").mkdir()  # the project is now a repository: outside.key is inside it
    result = cli("plan", "bgp")
    assert result.code == 0, result.both
    assert CANARY not in result.both


@pytest.mark.parametrize(
    "how", ["--secrets-root", "RECONCILER_SECRETS_ROOT", "--secrets-allow", "RECONCILER_SECRETS_ALLOW"]
)
def test_the_root_and_the_allow_list_can_be_chosen(
    project: Path, sandbox: Sandbox, outside: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    edit_document(project / "bgp", *OFFICE, authKey={"fromFile": str(outside)})
    value = str(project) if "ROOT" in how.upper() else str(outside)
    if how.startswith("--"):
        result = cli("plan", "bgp", how, value)  # a global option, after the command too
    else:
        monkeypatch.setenv(how, value)
        result = cli("plan", "bgp")
    assert result.code == 0, result.both
    assert CANARY not in result.both


def test_a_fifo_as_a_key_file_does_not_hang_plan(project: Path, sandbox: Sandbox, outside: Path) -> None:
    os.mkfifo(project / "bgp" / "office.key")
    edit_document(project / "bgp", *OFFICE, authKey={"fromFile": "../office.key"})
    refused(
        run_bounded("plan", "bgp"),
        sandbox,
        rf"{OFFICE_FILE}:\d+:\d+: spec\.authKey: secret file bgp/office\.key is a FIFO \(named pipe\), not a regular "
        "file: fromFile names a file that holds the key",
    )


def test_a_device_as_a_key_file_is_refused_without_reading_it(project: Path, sandbox: Sandbox, outside: Path) -> None:
    edit_document(project / "bgp", *OFFICE, authKey={"fromFile": "/dev/zero"})
    result = run_bounded("--secrets-allow", "/dev/zero", "plan", "bgp", memory=2 * 1024**3)
    refused(result, sandbox, r"spec\.authKey: secret file /dev/zero is a character device, not a regular file")


def test_a_key_file_larger_than_4_kb_is_refused(project: Path, sandbox: Sandbox, outside: Path) -> None:
    (project / "bgp" / "office.key").write_text(CANARY * 200)
    edit_document(project / "bgp", *OFFICE, authKey={"fromFile": "../office.key"})
    refused(cli("plan", "bgp"), sandbox, r"secret file bgp/office\.key is larger than 4,096 bytes")


# --- manifest files ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_fifo_among_the_manifests_does_not_hang(project: Path, sandbox: Sandbox, command: str) -> None:
    os.mkfifo(project / "bgp" / "x.yaml")
    sandbox.reset_request_counts()
    refused(run_bounded(command, "bgp"), sandbox, r"bgp/x\.yaml: cannot read the file: it is a FIFO \(named pipe\)")


def test_a_symbolic_link_loop_among_the_manifests_is_a_message(project: Path, sandbox: Sandbox) -> None:
    (project / "bgp" / "loop.yaml").symlink_to("loop.yaml")
    sandbox.reset_request_counts()
    refused(cli("plan", "bgp"), sandbox, r"bgp/loop\.yaml: cannot read the file: it is a symbolic link loop")
    refused(cli("plan", "bgp/loop.yaml"), sandbox, r"bgp/loop\.yaml: it is a symbolic link loop")


def test_a_manifest_that_is_a_symbolic_link_out_of_the_repository_is_never_read(
    project: Path, sandbox: Sandbox, outside: Path
) -> None:
    """A pull request could add `bgp/x.yaml -> /proc/self/environ`: parsing it would quote what it
    holds in a YAML error. Files found in a folder must really be inside it (or its Git work tree);
    a link that stays inside is fine."""
    (project / "bgp" / "leak.yaml").symlink_to(outside)
    refused(
        cli("plan", "bgp"), sandbox, r"bgp/leak\.yaml: it is a symbolic link out of .*: manifests found in a folder"
    )
    (project / "bgp" / "leak.yaml").unlink()
    (project / "bgp" / "same.yaml").symlink_to(project / "bgp" / "equinix" / "sg-ne1.yaml")
    assert cli("validate", "bgp").code == 0


@pytest.mark.parametrize("path", ["/dev/null", "/dev/zero"])
def test_a_device_given_as_a_manifest_path_is_a_message(project: Path, sandbox: Sandbox, path: str) -> None:
    sandbox.reset_request_counts()
    refused(cli("validate", path), sandbox, rf"{path}: it is a character device: give manifest files \(\*\.yaml\)")


def alias_bomb(levels: int, last: int) -> str:
    """One document whose aliases expand to about 11,111 x `last` values (levels=4)."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    lines.append(f"a{levels}: [{', '.join([f'*a{levels - 1}'] * last)}]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_across_documents_is_stopped_naming_the_file(project: Path, sandbox: Sandbox) -> None:
    """20 KB of YAML used to grow to 941 MB: each document stayed under its own bound."""
    (project / "bgp" / "bomb.yaml").write_text("---\n".join([alias_bomb(3, 9)] * 100))  # ~10,000 values each
    sandbox.reset_request_counts()
    result = run_bounded("plan", "bgp", memory=2 * 1024**3)
    refused(
        result,
        sandbox,
        r"bgp/bomb\.yaml:\d+:\d+: .*YAML aliases in this file expand to more than 100,000 values, the limit for one",
    )


def test_aliases_are_bounded_over_all_the_files_of_one_run(project: Path, sandbox: Sandbox) -> None:
    for i in range(12):  # ~90,000 values each: every file under its bound, together over 1,000,000
        (project / "bgp" / f"bomb{i:02d}.yaml").write_text(alias_bomb(4, 7))
    sandbox.reset_request_counts()
    result = cli("validate", "bgp")
    refused(
        result,
        sandbox,
        r"bgp/bomb11\.yaml:\d+:\d+: .*YAML aliases in the manifests expand to more than 1,000,000 values, the limit "
        "for all the files of one run, reached in this file",
    )
    assert result.out.count("YAML aliases") == 1  # the files before it were within the bounds


def test_a_manifest_file_larger_than_1_mib_is_refused_naming_it(project: Path, sandbox: Sandbox) -> None:
    (project / "bgp" / "huge.yaml").write_text("# padding\n" * 110_000)
    sandbox.reset_request_counts()
    refused(cli("plan", "bgp"), sandbox, r"bgp/huge\.yaml: the file is larger than 1,048,576 bytes, the limit for one")


# --- addresses -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name", "spec", "message"),
    [
        ("AlibabaBgpPeer", "hk-office-edge1", {"peerIpAddress": "::"}, "'::' is the unspecified address"),
        ("AlibabaBgpPeer", "hk-office-edge1", {"peerIpAddress": "fe80::1%eth0"}, "has a zone \\(%eth0\\)"),
        ("AlibabaBgpPeer", "hk-office-edge1", {"peerIpAddress": "224.0.0.1"}, "is a multicast address"),
        ("AlibabaBgpPeer", "hk-office-edge1", {"peerIpAddress": "255.255.255.255"}, "the limited broadcast address"),
        (
            "EquinixBgpPeering",
            "hk-ne1-to-aws",
            {"localIpAddress": "169.254.10.1/0"},
            "has a /0 prefix, shorter than a peering subnet can be: use a prefix of /8 or longer",
        ),
    ],
)
def test_addresses_that_cannot_peer_are_refused_before_any_api_call(
    project: Path, sandbox: Sandbox, kind: str, name: str, spec: dict[str, str], message: str
) -> None:
    path = edit_document(project / "bgp", kind, name, **spec)
    field = next(iter(spec))
    sandbox.reset_request_counts()
    where = re.escape(path.relative_to(project).as_posix())
    refused(cli("plan", "bgp"), sandbox, rf"{where}:\d+:\d+: spec\.{field}: .*{message}")
