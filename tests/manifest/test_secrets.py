"""Resolving secret references when planning (`reconciler.manifest.secrets`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.manifest import Diagnostic, load_manifests, resolve_secrets, secret_files
from reconciler.model import Resource, SecretValue
from tests.manifest.builders import equinix, group, peer
from tests.manifest.conftest import WriteDocs
from tests.manifest.test_secretfiles import unblocked_after

LINK = {"link": "sg-ne1-alibaba"}


def linked_set(write_docs: WriteDocs, group_key: dict[str, str], eq_key: dict[str, str]) -> Path:
    return write_docs(
        "linked.yaml",
        group(authKey=group_key),
        peer(labels=LINK),
        equinix(labels=LINK, authenticationKey=eq_key),
    )


def resources(path: Path) -> tuple[Resource, ...]:
    manifests = load_manifests([path])
    assert manifests.ok, [str(d) for d in manifests.diagnostics]
    return manifests.resources


def problems(path: Path) -> tuple[str, tuple[Diagnostic, ...]]:
    with pytest.raises(ManifestError) as caught:
        resolve_secrets(resources(path))
    diags = tuple(d for d in caught.value.diagnostics if isinstance(d, Diagnostic))
    return str(caught.value), diags


def test_env_and_file_references_resolve(write_docs: WriteDocs, monkeypatch: pytest.MonkeyPatch) -> None:
    path = linked_set(write_docs, {"fromFile": "keys/sg.key"}, {"fromEnv": "SG_BGP_KEY"})
    (path.parent / "keys").mkdir()
    (path.parent / "keys" / "sg.key").write_text("SameKeyBothEnds1\r\n")
    monkeypatch.setenv("SG_BGP_KEY", "SameKeyBothEnds1")
    grp, _, eq = resolve_secrets(resources(path))
    assert grp.secrets["authKey"] == SecretValue("SameKeyBothEnds1")  # CRLF stripped
    assert eq.secrets["authenticationKey"].reveal() == "SameKeyBothEnds1"
    assert "SameKeyBothEnds1" not in repr(grp) + repr(eq)


def test_every_unresolvable_reference_is_reported_at_its_field(
    write_docs: WriteDocs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SG_BGP_KEY", raising=False)
    path = write_docs(
        "a.yaml",
        group(authKey={"fromEnv": "SG_BGP_KEY"}),
        group("empty-key", virtualBorderRouterId="vbr-t4nexample0000000002", authKey={"fromFile": "empty.key"}),
        equinix(authenticationKey={"fromFile": "missing.key"}),
    )
    (path.parent / "empty.key").write_text("\n")
    message, diags = problems(path)
    file = path.as_posix()
    missing = (path.parent / "missing.key").as_posix()
    empty = (path.parent / "empty.key").as_posix()
    assert [str(d) for d in diags] == [
        f"{file}:9:3: spec.authKey: environment variable SG_BGP_KEY is not set",
        f"{file}:20:3: spec.authKey: file:{empty} resolves to an empty value",
        f"{file}:33:3: spec.authenticationKey: secret file {missing} does not exist",
    ]
    assert [d.code for d in diags] == ["secret-unresolved"] * 3
    assert message.startswith("3 secret problems:\n  ")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("abc12", "it is shorter than 6 characters"),
        ("a" * 61, "it is longer than 60 characters"),
    ],
)
def test_equinix_keys_are_checked_without_printing_them(
    write_docs: WriteDocs, monkeypatch: pytest.MonkeyPatch, value: str, reason: str
) -> None:
    monkeypatch.setenv("EQ_KEY", value)
    message, [diag] = problems(write_docs("a.yaml", equinix(authenticationKey={"fromEnv": "EQ_KEY"})))
    assert diag.path == "spec.authenticationKey" and diag.line == 11 and diag.code == "secret-format"
    assert diag.message == ("the key from env:EQ_KEY is not valid: Equinix needs a key of 6-60 characters; " + reason)
    assert value not in message


@pytest.mark.parametrize("value", ["9abcdefg", "abc-defg!", "a" * 6, "A" * 60])
def test_equinix_keys_of_6_to_60_characters_of_any_kind_are_accepted(
    write_docs: WriteDocs, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """Only the length is documented (Terraform checks 6-60); which characters the API takes is
    unconfirmed, so a key is not refused for them (docs/cloud-apis.md, Equinix §10)."""
    monkeypatch.setenv("EQ_KEY", value)
    loaded = load_manifests([write_docs("a.yaml", equinix(authenticationKey={"fromEnv": "EQ_KEY"}))])
    (resource,) = resolve_secrets(loaded.resources)
    assert resource.secrets["authenticationKey"].reveal() == value


def test_linked_ends_with_different_references_but_the_same_key_are_fine(
    write_docs: WriteDocs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALI_KEY", "SharedKey123")
    monkeypatch.setenv("EQ_KEY", "SharedKey123")
    path = linked_set(write_docs, {"fromEnv": "ALI_KEY"}, {"fromEnv": "EQ_KEY"})
    assert len(resolve_secrets(resources(path))) == 3


def test_linked_ends_with_different_keys_are_an_error_that_shows_no_value(
    write_docs: WriteDocs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALI_KEY", "AlibabaSideKey1")
    monkeypatch.setenv("EQ_KEY", "EquinixSideKey2")
    path = linked_set(write_docs, {"fromEnv": "ALI_KEY"}, {"fromEnv": "EQ_KEY"})
    message, [diag] = problems(path)
    assert (diag.path, diag.code, diag.line) == ("spec.authenticationKey", "mirror-key", 34)
    assert diag.message == (
        "the two ends of link 'sg-ne1-alibaba' use different keys: env:EQ_KEY here and env:ALI_KEY on "
        "AlibabaBgpGroup/sg-vbr1 (values not shown); both ends of one session need the same key"
    )
    assert "AlibabaSideKey1" not in message and "EquinixSideKey2" not in message


def test_resources_without_secrets_pass_through_unchanged(write_docs: WriteDocs) -> None:
    found = resources(write_docs("a.yaml", group(), peer()))
    assert resolve_secrets(found) == found


# --- fromFile in untrusted manifests (`manifest.secretfiles`) ----------------------------------


def test_load_manifests_reports_a_reference_out_of_the_secrets_root_at_its_position(write_docs: WriteDocs) -> None:
    path = write_docs(
        "a.yaml",
        group(authKey={"fromFile": "../../outside.key"}),
        equinix(authenticationKey={"fromFile": "/proc/self/environ"}),
    )
    rule = secret_files([path.parent])
    manifests = load_manifests([path], rule)
    assert not manifests.ok and manifests.resources == ()
    file, root = path.as_posix(), rule.root
    outside = os.path.realpath(path.parent.parent.parent / "outside.key")
    assert [(d.line, d.col, d.path, d.code) for d in manifests.diagnostics] == [
        (10, 15, "spec.authKey.fromFile", "secret-file"),
        (23, 15, "spec.authenticationKey.fromFile", "secret-file"),
    ]
    first, second = (str(d) for d in manifests.diagnostics)
    assert first.startswith(
        f"{file}:10:15: spec.authKey.fromFile: '../../outside.key' is {outside}, outside the secrets root {root} "
        "(the folder holding the manifests): a key file must be inside it, or allowed with --secrets-allow PATH"
    )
    assert "'/proc/self/environ' leads through a symbolic link to /proc/" in second
    # Without a rule, loading reads manifests only (references are checked when they are read).
    assert load_manifests([path]).ok


def test_resolving_refuses_a_file_out_of_the_manifests_tree_by_default(
    write_docs: WriteDocs, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_docs("a.yaml", group(authKey={"fromFile": "../outside.key"}))
    (path.parent.parent / "outside.key").write_text("OutsideValue99\n")
    message, [diag] = problems(path)
    assert (diag.line, diag.path, diag.code) == (9, "spec.authKey", "secret-unresolved")
    assert "is outside the secrets root" in diag.message
    assert "OutsideValue99" not in message
    allowed = secret_files([path], allow=[path.parent.parent / "outside.key"])
    (resource,) = resolve_secrets(load_manifests([path], allowed).resources, allowed)
    assert resource.secrets["authKey"].reveal() == "OutsideValue99"


def test_resolving_a_fifo_key_file_reports_it_without_hanging(write_docs: WriteDocs) -> None:
    path = write_docs("a.yaml", group(authKey={"fromFile": "pipe.key"}))
    os.mkfifo(path.parent / "pipe.key")
    with unblocked_after(path.parent / "pipe.key", 30):
        _, [diag] = problems(path)
    assert diag.message.endswith("is a FIFO (named pipe), not a regular file: fromFile names a file that holds the key")
