""".reconcilerignore files follow gitignore's rules (`reconciler.manifest.load.find_files`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.manifest.load import IGNORE_FILE, find_files
from tests.manifest.builders import dump, group

GROUP_YAML = dump([group()])


def tree(root: Path, files: list[str], ignores: dict[str, str]) -> None:
    """Manifest files at the given relative paths, and ignore files {folder: content}."""
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(GROUP_YAML, encoding="utf-8")
    for folder, content in ignores.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / IGNORE_FILE).write_text(content, encoding="utf-8")


def found(root: Path, *paths: Path | str) -> list[str]:
    return [path.relative_to(root).as_posix() for path, _ in find_files(list(paths) or [root])]


def test_negation_brings_a_file_back_and_the_last_matching_pattern_wins(tmp_path: Path) -> None:
    tree(
        tmp_path,
        ["a.yaml", "keep.yaml", "late.yaml", "sub/b.yaml", "sub/keep.yaml", "drafts/keep.yaml"],
        {".": "*.yaml\n!keep.yaml\n!late.yaml\nlate.yaml\ndrafts/\n!drafts/keep.yaml\n"},
    )
    # drafts/keep.yaml stays out: as in git, a file cannot be brought back from an ignored folder.
    assert found(tmp_path) == ["keep.yaml", "sub/keep.yaml"]


def test_a_slash_in_the_middle_or_at_the_start_anchors_the_pattern_to_its_folder(tmp_path: Path) -> None:
    tree(
        tmp_path,
        ["foo/a.yaml", "foo/sub/b.yaml", "bar/foo/c.yaml", "top.yml", "sub/d.yml", "e.yaml"],
        {".": "foo/*.yaml\n/*.yml\n"},
    )
    # `*` never crosses a slash; an anchored pattern matches only right below its folder.
    assert found(tmp_path) == ["bar/foo/c.yaml", "e.yaml", "foo/sub/b.yaml", "sub/d.yml"]


def test_double_star_folder_pattern_matches_at_every_depth_including_the_top(tmp_path: Path) -> None:
    tree(
        tmp_path,
        ["generated/a.yaml", "env/generated/b.yaml", "env/prod/generated/c.yaml", "generated.yaml", "env/d.yaml"],
        {".": "**/generated/\n"},
    )
    assert found(tmp_path) == ["env/d.yaml", "generated.yaml"]


def test_a_folder_only_pattern_matches_folders_and_not_files(tmp_path: Path) -> None:
    tree(
        tmp_path,
        [
            "env/drafts/a.yaml",  # `/**/` matches zero folders too
            "env/prod/drafts/b.yaml",
            "env/prod/eu/drafts/c.yaml",
            "drafts/d.yaml",  # the pattern is anchored below env/
            "env/drafts.yaml",
            "archive/e.yaml",
            "sub/archive-2020/f.yaml",
            "archive.yaml",  # a file, not a folder
        ],
        {".": "env/**/drafts/\narchive*/\n"},
    )
    assert found(tmp_path) == ["archive.yaml", "drafts/d.yaml", "env/drafts.yaml"]


def test_a_backslash_escapes_a_leading_hash_or_bang(tmp_path: Path) -> None:
    tree(
        tmp_path,
        ["#scratch.yaml", "!old.yaml", "#comment.yaml", "old.yaml", "scratch.yaml"],
        {".": "\\#scratch.yaml\n\\!old.yaml\n#comment.yaml\n"},
    )
    # `#comment.yaml` is a comment line, so that file is read.
    assert found(tmp_path) == ["#comment.yaml", "old.yaml", "scratch.yaml"]


def test_a_nested_ignore_file_is_relative_to_its_folder_and_overrides_shallower_ones(tmp_path: Path) -> None:
    tree(
        tmp_path,
        [
            "main.yaml",
            "a.draft.yaml",
            "keep.draft.yaml",  # env's negation does not reach above env/
            "other/keep.draft.yaml",  # nor into a sibling folder
            "env/keep.draft.yaml",  # brought back by the deeper file
            "env/b.draft.yaml",
            "env/local.yaml",  # the top-level file's patterns still apply below env/
            "only-here.yaml",
            "env/only-here.yaml",
            "env/sub/only-here.yaml",  # `/only-here.yaml` is anchored to env/
            "prod/x.yaml",
            "env/prod/y.yaml",  # a folder ignored above, brought back by the deeper file
        ],
        {".": "*.draft.yaml\nlocal.yaml\nprod/\n", "env": "!keep.draft.yaml\n/only-here.yaml\n!prod/\n"},
    )
    assert found(tmp_path) == [
        "env/keep.draft.yaml",
        "env/prod/y.yaml",
        "env/sub/only-here.yaml",
        "main.yaml",
        "only-here.yaml",
    ]


def test_hidden_and_state_folders_stay_skipped_and_a_file_named_explicitly_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree(
        tmp_path,
        [".hidden/a.yaml", "state/b.yaml", "sub/state/c.yaml", ".x.yaml", "seed.yaml", "sub/seed.yaml", "main.yaml"],
        {".": "# not manifests\n!.hidden/\n!state/\n!.x.yaml\nseed.yaml\n"},
    )
    # No pattern brings back hidden files and folders, or folders named state.
    assert found(tmp_path) == ["main.yaml"]
    # A file named on the command line is read even though the ignore file lists it.
    assert found(tmp_path, tmp_path / "seed.yaml", tmp_path) == ["seed.yaml", "main.yaml"]
    # Relative paths, as typed in the shell, work the same way.
    monkeypatch.chdir(tmp_path)
    assert [display for _, display in find_files(["."])] == ["main.yaml"]
    assert [display for _, display in find_files(["sub/seed.yaml", "."])] == ["sub/seed.yaml", "main.yaml"]


def test_a_pattern_git_cannot_use_matches_nothing_and_the_others_still_apply(tmp_path: Path) -> None:
    tree(tmp_path, ["seed.yaml", "main.yaml", "bad.yaml"], {".": "!\nseed.yaml\nbad.yaml\\\n"})
    assert found(tmp_path) == ["bad.yaml", "main.yaml"]
