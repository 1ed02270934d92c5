"""Finding manifest files and reading YAML with positions (`reconciler.manifest.load`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.manifest import load_manifests
from reconciler.manifest.load import MAX_FILE_BYTES, AliasBudget, find_files, load_file, load_text
from reconciler.model import SourcePos
from tests.manifest.builders import dump, group, peer
from tests.manifest.conftest import WriteDocs
from tests.manifest.test_secretfiles import unblocked_after

GROUP_YAML = dump([group()])


def names(found: list[tuple[Path, str]], root: Path) -> list[str]:
    return [path.relative_to(root).as_posix() for path, _ in found]


def test_finds_yaml_files_below_a_folder_skipping_hidden_folders_files_and_state(tmp_path: Path) -> None:
    for rel in [
        "b.yaml",
        "a.yml",
        "sub/c.yaml",
        "sub/deeper/d.yaml",
        ".hidden/e.yaml",
        "sub/.git/f.yaml",
        "state/g.yaml",
        "sub/state/h.yaml",
        ".pre-commit-config.yaml",
        "notes.txt",
        "x.yaml.bak",
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(GROUP_YAML)
    assert names(find_files([tmp_path]), tmp_path) == ["a.yml", "b.yaml", "sub/c.yaml", "sub/deeper/d.yaml"]


def test_reconcilerignore_patterns_apply_below_their_folder(tmp_path: Path) -> None:
    for rel in ["seed.yaml", "keep.yaml", "ci/workflow.yml", "env/prod/seed.yaml", "env/prod/a.yaml", "env/b.yaml"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(GROUP_YAML)
    (tmp_path / ".reconcilerignore").write_text("# not manifests\nseed.yaml\nci/\n\n")
    (tmp_path / "env" / ".reconcilerignore").write_text("prod/a.yaml\n")
    assert names(find_files([tmp_path]), tmp_path) == ["env/b.yaml", "keep.yaml"]


def test_a_file_named_explicitly_is_read_even_if_it_would_be_skipped(tmp_path: Path) -> None:
    hidden = tmp_path / ".hidden" / "x.txt"
    hidden.parent.mkdir()
    hidden.write_text(GROUP_YAML)
    (tmp_path / "a.yaml").write_text(GROUP_YAML)
    found = find_files([hidden, tmp_path, tmp_path / "a.yaml"])
    assert [display for _, display in found] == [hidden.as_posix(), (tmp_path / "a.yaml").as_posix()]


def test_a_path_that_does_not_exist_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifests([tmp_path, tmp_path / "nope", "also-missing"])
    assert f"path not found: {tmp_path / 'nope'}, also-missing" in caught.value.message
    assert [d.file for d in caught.value.diagnostics] == [str(tmp_path / "nope"), "also-missing"]  # type: ignore[attr-defined]


def test_a_folder_without_manifests_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# hi\n")
    with pytest.raises(ManifestError, match=r"no manifests found in .*expected \*.yaml or \*.yml"):
        load_manifests([tmp_path])


def test_non_utf8_is_reported_at_the_offending_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(GROUP_YAML.encode() + b"  description: caf\xe9\n")
    manifests = load_manifests([path])
    [diag] = manifests.diagnostics
    assert (diag.line, diag.col, diag.code) == (GROUP_YAML.count("\n") + 1, 19, "encoding")
    assert diag.message == "the file is not valid UTF-8 (byte 0xe9); save it as UTF-8"


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + GROUP_YAML.encode())
    assert load_manifests([path]).ok


def test_empty_documents_between_separators_are_skipped_and_not_counted(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("---\n" + GROUP_YAML + "---\n---\n# trailing comment\n")
    manifests = load_manifests([path])
    assert manifests.ok and manifests.documents == 1 and len(manifests.resources) == 1


def test_positions_of_values_lists_and_quoted_keys() -> None:
    text = """\
apiVersion: reconciler/v1
kind: AlibabaBgpGroup
metadata:
  name: sg-vbr1
  labels: {team: neteng, "app.kubernetes.io/name": bgp}
  driftIgnore:
    - routeQuota
    - field: description
      reason: noc
spec:
  peerAsn: 65010
"""
    [doc], diags = load_text(text, "t.yaml")
    assert diags == []
    assert (doc.line, doc.col) == (1, 1)
    assert doc.position("spec.peerAsn") == (11, 12)
    assert doc.position("spec") == (10, 1)  # a block mapping: the line of its key
    assert doc.position("metadata.labels") == (5, 11)  # a flow mapping: where it starts
    assert doc.position('metadata.labels["app.kubernetes.io/name"]') == (5, 52)
    assert doc.position("metadata.driftIgnore[0]") == (7, 7)
    assert doc.position("metadata.driftIgnore[1].reason") == (9, 15)
    # Paths that are not written fall back to their nearest parent.
    assert doc.position("spec.bfdMultiHop") == (10, 1)
    assert doc.position("metadata.driftIgnore[1].expires") == (8, 7)
    assert doc.position("nothing.here[3]") == (1, 1)


def test_documents_share_position_tuples_without_mixing_positions_up() -> None:
    """Equal positions in different files are one shared tuple (fewer objects for the garbage
    collector), and each document still reports its own."""
    text = "apiVersion: reconciler/v1\nkind: AlibabaBgpGroup\nspec:\n  peerAsn: 65010\n"
    [a], _ = load_text(text, "a.yaml")
    [b], _ = load_text(text, "b.yaml")
    [shifted], _ = load_text("# a comment\n" + text, "c.yaml")
    assert a.position("spec.peerAsn") == (4, 12) and shifted.position("spec.peerAsn") == (5, 12)
    assert a.position("spec.peerAsn") is b.position("spec.peerAsn")
    assert [a.positions[path] for path in a.positions] == [(1, 1), (1, 13), (2, 7), (3, 1), (4, 12)]
    assert [shifted.positions[path][0] for path in a.positions] == [2, 2, 3, 4, 5]


def test_merge_keys_are_supported_and_explicit_keys_win() -> None:
    text = """\
base: &base {regionId: ap-southeast-1, peerAsn: 1}
spec:
  <<: *base
  peerAsn: 65010
"""
    [doc], diags = load_text(text, "t.yaml")
    assert diags == []
    assert doc.data["spec"] == {"peerAsn": 65010, "regionId": "ap-southeast-1"}
    assert doc.position("spec.peerAsn") == (4, 12)


def test_an_alias_bomb_is_stopped_with_a_diagnostic() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    _, diags = load_text("\n".join(lines) + "\n", "bomb.yaml")
    assert [d.code for d in diags] == ["yaml-size"]
    assert "too large" in diags[0].message


def test_timestamps_stay_text_and_numbers_and_booleans_are_typed() -> None:
    [doc], _ = load_text("d: 2030-01-31\nn: 0x10\nb: yes\nf: 1.5\nz: ~\n", "t.yaml")
    assert doc.data == {"d": "2030-01-31", "n": 16, "b": True, "f": 1.5, "z": None}


def test_load_file_reports_an_unreadable_file(tmp_path: Path) -> None:
    folder = tmp_path / "dir.yaml"
    folder.mkdir()
    result = load_file(folder, "dir.yaml")
    assert [(d.code, d.line) for d in result.diagnostics] == [("file-type", 0)]
    assert result.diagnostics[0].message.startswith("cannot read the file: ")


def test_resources_come_in_file_order_and_positions_are_queryable(write_docs: WriteDocs) -> None:
    first = write_docs("a.yaml", group("g-b"), group("g-a", virtualBorderRouterId="vbr-t4nexample0000000002"))
    write_docs("b.yaml", peer("p1", "g-a", enableBfd=True, bfdMultiHop=3))
    manifests = load_manifests([first.parent])
    assert manifests.ok, manifests.diagnostics
    assert [r.address for r in manifests.resources] == [
        "AlibabaBgpGroup/g-b",
        "AlibabaBgpGroup/g-a",
        "AlibabaBgpPeer/p1",
    ]
    assert manifests.documents == 3
    assert manifests.files == (first, first.parent / "b.yaml")
    b_file = (first.parent / "b.yaml").as_posix()
    assert manifests.position("AlibabaBgpPeer/p1", "spec.bfdMultiHop") == SourcePos(b_file, 9, 16)
    assert manifests.position("AlibabaBgpPeer/p1", "spec.authKey") == SourcePos(b_file, 5, 1)
    assert manifests.position("AlibabaBgpPeer/p1") == SourcePos(b_file, 1, 1)
    assert manifests.position("AlibabaBgpPeer/nope") is None


def test_digest_depends_on_paths_and_contents_only(write_docs: WriteDocs, tmp_path: Path) -> None:
    path = write_docs("a.yaml", group())
    write_docs("b.yaml", peer())
    first = load_manifests([path.parent]).digest
    assert first.startswith("sha256:") and len(first) == len("sha256:") + 64
    # Same files named in another order: same digest.
    assert load_manifests([path.parent / "b.yaml", path]).digest == first
    path.write_text(path.read_text() + "# a comment\n")
    assert load_manifests([path.parent]).digest != first


# --- untrusted input: bounded reading --------------------------------------------------------------


def alias_document(levels: int, fan_out: int = 10) -> str:
    """A small document whose aliases expand to about fan_out ** levels values."""
    lines = [f"a0: &a0 [{', '.join(['x'] * fan_out)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan_out)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_aliases_are_bounded_per_file_across_its_documents() -> None:
    """Anchors do not cross documents, so each document stayed under its own bound while the file
    as a whole grew without one (20 KB became 941 MB)."""
    document = alias_document(5, 6)  # 6**5 = 7,776 values, ~9,300 in all: far below a document's bound
    text = "---\n".join([document] * 12)  # together above 100,000
    docs, diags = load_text(text, "bomb.yaml")
    assert [(d.code, d.file) for d in diags] == [("yaml-size", "bomb.yaml")]
    assert diags[0].message.startswith(
        "YAML aliases in this file expand to more than 100,000 values, the limit for one file"
    )
    assert len(docs) == 12
    # From the limit on, what aliases repeat is dropped, and marked as reported so no rule looks at it.
    assert docs[-1].data["a1"] == [None] * 6
    assert "a1[0]" in docs[-1].unreadable


def test_aliases_are_bounded_over_all_the_files_of_a_run(tmp_path: Path) -> None:
    budget = AliasBudget(per_file=1_000, per_run=2_500)
    first, second = [load_text(alias_document(3), f"f{i}.yaml", budget) for i in range(2)]  # 1,110 each
    assert [d.code for d in first[1] + second[1]] == ["yaml-size", "yaml-size"]  # each file over its own bound
    _, diags = load_text(alias_document(3), "f3.yaml", budget)
    [diag] = diags
    assert diag.file == "f3.yaml"
    assert diag.message.startswith("YAML aliases in the manifests expand to more than 2,500 values, the limit for all")


def test_load_manifests_shares_one_alias_budget_between_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three files, each under the per-file bound, together over the run's bound (smaller bounds
    than the real ones keep the test fast; tests/e2e/test_untrusted_input.py uses the real ones)."""
    monkeypatch.setattr("reconciler.manifest.AliasBudget", lambda: AliasBudget(per_file=1_500, per_run=3_000))
    for i in range(3):
        (tmp_path / f"m{i}.yaml").write_text(alias_document(3))  # 1,110 values from aliases
    manifests = load_manifests([tmp_path])
    [diag] = [d for d in manifests.diagnostics if d.code == "yaml-size"]
    assert diag.file == (tmp_path / "m2.yaml").as_posix()
    assert "the limit for all the files of one run, reached in this file" in diag.message


def test_a_manifest_file_larger_than_1_mib_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(GROUP_YAML.encode() + b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    [diag] = load_manifests([path]).diagnostics
    assert (diag.file, diag.code, diag.line) == (path.as_posix(), "file-size", 0)
    assert str(diag) == (
        f"{path.as_posix()}: the file is larger than 1,048,576 bytes, the limit for one manifest file (1 MiB): "
        "split it into several files"
    )
    path.write_bytes(GROUP_YAML.encode().ljust(MAX_FILE_BYTES, b"\n"))
    assert load_manifests([path]).ok


def test_a_fifo_among_the_manifests_is_reported_and_does_not_hang(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GROUP_YAML)
    os.mkfifo(tmp_path / "x.yaml")
    with unblocked_after(tmp_path / "x.yaml", 30):
        manifests = load_manifests([tmp_path])
    assert [str(d) for d in manifests.diagnostics] == [
        f"{(tmp_path / 'x.yaml').as_posix()}: cannot read the file: it is a FIFO (named pipe); manifests are "
        "regular files (fix or remove it, or list it in .reconcilerignore)"
    ]
    assert [d.code for d in manifests.diagnostics] == ["file-type"]


def test_a_fifo_as_an_ignore_file_does_not_hang(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GROUP_YAML)
    os.mkfifo(tmp_path / ".reconcilerignore")
    with unblocked_after(tmp_path / ".reconcilerignore", 30):
        assert names(find_files([tmp_path]), tmp_path) == ["a.yaml"]


def test_a_symbolic_link_loop_among_the_manifests_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GROUP_YAML)
    (tmp_path / "loop.yaml").symlink_to("loop.yaml")
    (tmp_path / "gone.yaml").symlink_to("missing.yaml")
    manifests = load_manifests([tmp_path])
    assert [(d.file.rsplit("/", 1)[-1], d.code, d.message) for d in manifests.diagnostics] == [
        ("gone.yaml", "read", "cannot read the file: it is a symbolic link to missing.yaml, which does not exist"),
        (
            "loop.yaml",
            "symlink-loop",
            "cannot read the file: it is a symbolic link loop (following it leads back to itself); manifests are "
            "regular files (fix or remove it, or list it in .reconcilerignore)",
        ),
    ]


def test_a_folder_symbolic_link_loop_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.yaml").write_text(GROUP_YAML)
    (tmp_path / "sub" / "again").symlink_to("..", target_is_directory=True)
    assert names(find_files([tmp_path]), tmp_path) == ["sub/a.yaml"]


@pytest.mark.parametrize("kind", ["fifo", "device", "loop"])
def test_a_manifest_path_that_is_not_a_file_or_folder_is_one_clear_error(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "x.yaml"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/null")
    else:
        path.symlink_to("x.yaml")
    what = {
        "fifo": "a FIFO (named pipe)",
        "device": "a character device",
        "loop": "a symbolic link loop (following it leads back to itself)",
    }[kind]
    with unblocked_after(path, 30), pytest.raises(ManifestError) as caught:
        load_manifests([path])
    assert caught.value.message == (
        f"cannot read the manifest paths:\n  {path}: it is {what}: "
        "give manifest files (*.yaml) or folders that hold them"
    )


# (YAML text, line of the mistake, plain explanation, PyYAML's own words kept after it)
YAML_MISTAKES = [
    ("a:\n  b: 1\n  c: d: e\n", 3, "a value holds ': ', which YAML reads as a key: quote the value", "mapping values"),
    ("metadata:\n  name: x\n    labels: y\n", 3, "this key is indented more than its siblings", "mapping values"),
    ("spec:\n  regionId:cn-hongkong\n  peerAsn: 1\n", 2, "a colon is missing the space after it", "mapping values"),
    ("a:\n  b: 1\n  c\n  d: 2\n", 3, "this line has no colon: write key: value", "could not find expected ':'"),
    ("a: @x\n", 1, "a value starts with '@', which YAML reserves: quote the value", "cannot start any token"),
    ("a: `x`\n", 1, "a value starts with '`', which YAML reserves", "cannot start any token"),
    ("a:\n    b: 1\n  c: 2\n", 3, "this line's indentation matches no level above it", "did not find expected key"),
    ("a: 1\n- b\n", 2, "this line's indentation matches no level above it", "did not find expected key"),
    ("a: *nope\n", 1, "*name refers to an anchor (&name) not defined earlier", "found undefined alias"),
    ("a: 'abc\nb: 2\n", 1, "a quoted value opened here is not closed", "end of stream, noticed at line 3"),
    ("a: [1, 2\nc: 2\n", 1, "a [ list ] or { mapping } opened here is not closed", "noticed at line 2"),
    ("apiVersion: reconciler/v1\nkind: [\n", 2, "a [ list ] or { mapping } opened here is not closed", "node content"),
    ("a: &x 1\nb: &x 2\n", 2, "an anchor (&name) is defined twice", "second occurrence"),
    ('a: "\\q"\n', 1, "a double-quoted value holds an unknown \\ escape", "unknown escape"),
    ("a: ]\n", 1, "a value is missing, or starts with a character YAML reserves", "node content"),
]


@pytest.mark.parametrize(("text", "line", "plain", "original"), YAML_MISTAKES)
def test_a_yaml_mistake_is_explained_plainly_at_the_line_that_holds_it(
    text: str, line: int, plain: str, original: str
) -> None:
    _, [diag] = load_text(text, "t.yaml")
    assert diag.code == "yaml-syntax"
    assert diag.line == line, str(diag)
    assert diag.message.startswith(f"invalid YAML: {plain}"), diag.message
    assert original in diag.message.split(" (YAML: ", 1)[1], diag.message
