"""Where `fromFile` references may point and how key files are read (`reconciler.manifest.secretfiles`).

A manifest is untrusted input (`plan` runs on unreviewed pull requests): a reference may read only
a small regular file inside the secrets root or on the allow-list, and no message shows what a
file holds.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from reconciler.errors import SecretError
from reconciler.manifest.secretfiles import MAX_KEY_FILE_BYTES, SecretFiles, read_key_file, secret_files

CANARY = "CanaryContentNeverShown42"


def rule_for(root: Path, *allow: Path) -> SecretFiles:
    return secret_files([root], root, allow)


def refused(name: Path | str, rule: SecretFiles | None) -> str:
    with pytest.raises(SecretError) as caught:
        read_key_file(str(name), rule)
    message = str(caught.value)
    assert CANARY not in message
    return message


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with manifests in bgp/, a key inside it and a secret outside it."""
    root = tmp_path / "repo"
    (root / "bgp" / "keys").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "bgp" / "keys" / "sg.key").write_text("InsideKey1\n")
    (tmp_path / "outside.key").write_text(CANARY)
    return root


# --- the root ----------------------------------------------------------------------------------


def test_the_default_root_is_the_git_work_tree_holding_the_manifests(repo: Path) -> None:
    rule = secret_files([repo / "bgp" / "a.yaml", repo / "bgp"])
    assert rule.root == os.path.realpath(repo)
    assert rule.root_is == "the Git work tree of the manifests"


def test_a_git_file_marks_a_work_tree_too(tmp_path: Path) -> None:
    """A linked work tree or a submodule has a `.git` file, not a folder."""
    (tmp_path / "wt" / "bgp").mkdir(parents=True)
    (tmp_path / "wt" / ".git").write_text("gitdir: /elsewhere\n")
    assert secret_files([tmp_path / "wt" / "bgp"]).root == os.path.realpath(tmp_path / "wt")


def test_without_git_the_root_is_the_folder_the_manifest_paths_have_in_common(tmp_path: Path) -> None:
    (tmp_path / "bgp" / "a").mkdir(parents=True)
    (tmp_path / "bgp" / "b").mkdir()
    (tmp_path / "bgp" / "b" / "x.yaml").write_text("")
    rule = secret_files([tmp_path / "bgp" / "a", tmp_path / "bgp" / "b" / "x.yaml"])
    assert rule.root == os.path.realpath(tmp_path / "bgp")
    assert rule.root_is == "the folder holding the manifests"


def test_secrets_root_overrides_the_default(repo: Path, tmp_path: Path) -> None:
    rule = secret_files([repo / "bgp"], tmp_path)
    assert (rule.root, rule.root_is) == (os.path.realpath(tmp_path), "--secrets-root")
    assert read_key_file(str(tmp_path / "outside.key"), rule) == CANARY


# --- where a reference may point -----------------------------------------------------------------


def test_a_file_inside_the_root_is_read_and_its_newline_stripped(repo: Path) -> None:
    assert read_key_file(str(repo / "bgp" / "keys" / "sg.key"), rule_for(repo)) == "InsideKey1"


@pytest.mark.parametrize("how", ["dot-dot", "absolute"])
def test_a_file_outside_the_root_is_refused_naming_the_root_and_what_is_valid(
    repo: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.chdir(repo)
    name = "bgp/../../outside.key" if how == "dot-dot" else str(repo.parent / "outside.key")
    message = refused(name, rule_for(repo))
    assert f"secret file {name} is outside the secrets root {os.path.realpath(repo)} (--secrets-root)" in message
    assert "--secrets-allow PATH (env RECONCILER_SECRETS_ALLOW)" in message
    assert "--secrets-root DIR" in message


def test_proc_self_environ_is_refused(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANARY_CI_SECRET", CANARY)
    message = refused("/proc/self/environ", rule_for(repo))
    assert "outside the secrets root" in message


def test_a_symbolic_link_out_of_the_root_is_refused(repo: Path) -> None:
    link = repo / "bgp" / "keys" / "link.key"
    link.symlink_to(repo.parent / "outside.key")
    message = refused(link, rule_for(repo))
    assert f"leads through a symbolic link to {os.path.realpath(repo.parent / 'outside.key')}" in message


def test_a_symbolic_link_to_a_folder_out_of_the_root_is_refused(repo: Path) -> None:
    (repo / "bgp" / "elsewhere").symlink_to(repo.parent, target_is_directory=True)
    assert "leads through a symbolic link" in refused(repo / "bgp" / "elsewhere" / "outside.key", rule_for(repo))


def test_a_symbolic_link_inside_the_root_to_a_file_inside_it_is_fine(repo: Path) -> None:
    link = repo / "bgp" / "current.key"
    link.symlink_to("keys/sg.key")
    assert read_key_file(str(link), rule_for(repo)) == "InsideKey1"


def test_the_allow_list_names_files_or_folders(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.key"
    assert read_key_file(str(outside), rule_for(repo, outside)) == CANARY
    assert read_key_file(str(outside), rule_for(repo, tmp_path)) == CANARY
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys-other").mkdir()
    (tmp_path / "keys-other" / "x.key").write_text(CANARY)
    # A folder allows what is below it, not a sibling whose name starts the same way.
    assert "outside the secrets root" in refused(tmp_path / "keys-other" / "x.key", rule_for(repo, tmp_path / "keys"))


def test_a_nul_character_in_the_path_is_refused_clearly(repo: Path) -> None:
    assert "NUL character" in refused("keys/a\0b", rule_for(repo))
    assert "NUL character" in refused("keys/a\0b", None)


def test_the_rule_reads_nothing(repo: Path) -> None:
    fifo = repo / "bgp" / "keys" / "pipe.key"
    os.mkfifo(fifo)
    assert rule_for(repo).problem(str(fifo)) is None  # returns at once: the FIFO was not opened


# --- what may be read ----------------------------------------------------------------------------


@contextmanager
def unblocked_after(fifo: Path, seconds: float) -> Iterator[None]:
    """Fails the test if reading `fifo` blocks (the defect) for `seconds`: it is then opened for
    writing, so that the reader sees EOF and the test fails instead of hanging."""
    returned, released = threading.Event(), threading.Event()

    def release() -> None:
        if returned.wait(seconds):
            return
        while not returned.is_set():
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # lets a blocked reader see EOF
                released.set()
            except OSError:  # nobody reading (ENXIO): try again until the reader returned
                returned.wait(0.05)

    helper = threading.Thread(target=release, daemon=True)
    helper.start()
    try:
        yield
    finally:
        returned.set()
        helper.join()
    assert not released.is_set(), f"reading {fifo} blocked until a writer came"


def test_a_fifo_is_refused_without_waiting_for_a_writer(repo: Path) -> None:
    fifo = repo / "bgp" / "keys" / "pipe.key"
    os.mkfifo(fifo)
    with unblocked_after(fifo, 30), pytest.raises(SecretError) as caught:
        read_key_file(str(fifo), rule_for(repo))
    assert str(caught.value) == (
        f"secret file {fifo} is a FIFO (named pipe), not a regular file: fromFile names a file that holds the key"
    )


def test_a_device_is_refused_before_it_is_read(repo: Path) -> None:
    message = refused("/dev/zero", rule_for(repo, Path("/dev/zero")))
    assert message == (
        "secret file /dev/zero is a character device, not a regular file: fromFile names a file that holds the key"
    )


def test_a_folder_is_refused(repo: Path) -> None:
    assert "is a folder, not a regular file" in refused(repo / "bgp" / "keys", rule_for(repo))


def test_a_file_of_more_than_4_kb_is_refused_without_reading_it_all(repo: Path) -> None:
    big = repo / "bgp" / "keys" / "big.key"
    big.write_text(CANARY * 1000)
    message = refused(big, rule_for(repo))
    assert message == (
        f"secret file {big} is larger than 4,096 bytes: a key file holds one BGP key (at most 64 characters)"
    )
    exact = repo / "bgp" / "keys" / "exact.key"
    exact.write_text("k" * MAX_KEY_FILE_BYTES)
    assert len(read_key_file(str(exact), rule_for(repo))) == MAX_KEY_FILE_BYTES


def test_a_symbolic_link_loop_and_a_dangling_link_are_refused_clearly(repo: Path) -> None:
    loop = repo / "bgp" / "keys" / "loop.key"
    loop.symlink_to("loop.key")
    assert refused(loop, rule_for(repo)) == (
        f"cannot read secret file {loop}: it is a symbolic link loop (following it leads back to itself)"
    )
    dangling = repo / "bgp" / "keys" / "gone.key"
    dangling.symlink_to("nowhere.key")
    assert refused(dangling, rule_for(repo)) == (
        f"cannot read secret file {dangling}: it is a symbolic link to nowhere.key, which does not exist"
    )
    assert refused(repo / "bgp" / "keys" / "missing.key", rule_for(repo)) == (
        f"secret file {repo / 'bgp' / 'keys' / 'missing.key'} does not exist"
    )


def test_without_a_rule_files_are_still_read_safely(tmp_path: Path) -> None:
    """`apply PLANFILE` reads the references a plan names: no rule, but the same safe reading."""
    fifo = tmp_path / "pipe.key"
    os.mkfifo(fifo)
    with unblocked_after(fifo, 30):
        assert "FIFO" in refused(fifo, None)
    assert "character device" in refused("/dev/zero", None)
    (tmp_path / "anywhere.key").write_text("AnyKey1\n")
    assert read_key_file(str(tmp_path / "anywhere.key"), None) == "AnyKey1"
