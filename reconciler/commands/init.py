"""`reconciler init [DIR]`: lay out a repository that stays clean.

It writes, below DIR (created when missing):

- `.gitignore` entries for the files reconciler writes that must not be committed: the local
  state's journal, backup and lock record, saved plans, and the embedded sandbox's data (its BGP
  keys are in clear) should `--sandbox-data` point into the repository;
- a `.reconcilerignore` saying what manifest discovery skips, to fill in;
- an example manifest (`bgp/example.yaml`, with the schema line editors read) and the list of
  its key variables (`bgp/keys.env.example`, no value);
- with `--ci github|gitlab`, the GitOps workflows of that CI (examples/gitops/).

A file that exists is never overwritten: it is kept, and said so. An existing `.gitignore` only
gets the missing entries appended at its end, every line of it kept as it was. Every target is
checked before the first write, so a target that cannot be written leaves DIR as it was.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import click

from reconciler.errors import UsageError
from reconciler.package_data import example_files

# Patterns for the files reconciler writes beside a local state file (reconciler/state/local.py:
# `<state>.journal`, `<state>.backup`, `<state>.lock.json`), the saved plans the docs and the
# workflows name, and the sandbox's data (`FILE`, `FILE.log`, `FILE.lock`, `FILE.lock.json`).
GITIGNORE_HEADER = "# reconciler: files it writes that stay out of the repository"
GITIGNORE_ENTRIES = (
    "*.json.journal",
    "*.json.backup",
    "*.lock.json",
    "plan.json",
    "*.plan.json",
    "sandbox.json",
    "sandbox.json.*",
)

RECONCILERIGNORE = """\
# What `reconciler validate`, `plan` and `apply` do not read as manifests, below this folder
# (gitignore syntax: patterns, folders with a trailing /, ! to take one back).
# Hidden files and folders (.github/, .gitlab-ci.yml) and folders named state are skipped
# already. Every other *.yaml or *.yml file must be a reconciler document: list the YAML files
# that are not, for example:
#
# docker-compose.yml
# charts/
"""

# --ci NAME -> (folder below examples/gitops, the folder below DIR that its files go to).
CI_LAYOUTS: Mapping[str, tuple[str, str]] = {
    "github": ("github/workflows", ".github/workflows"),
    "gitlab": ("gitlab", ""),
}
EXAMPLE_FOLDER = "bgp"


class Outcome(StrEnum):
    WRITTEN = "written"
    KEPT = "kept"
    UPDATED = "updated"


@dataclass(frozen=True, slots=True)
class Target:
    """One file init writes: its path relative to DIR and its content."""

    path: str
    content: str


@dataclass(frozen=True, slots=True)
class Done:
    path: str
    outcome: Outcome
    detail: str


@click.command(name="init")
@click.argument("folder", metavar="[DIR]", default=".", type=click.Path(path_type=Path))
@click.option(
    "--ci",
    type=click.Choice(sorted(CI_LAYOUTS)),
    help="Also write the GitOps workflows of this CI (github: .github/workflows/; gitlab: .gitlab-ci.yml).",
)
def command(folder: Path, ci: str | None) -> int:
    """Write .gitignore entries, a .reconcilerignore, an example manifest and, with --ci, the
    GitOps workflows into DIR (default: .). Files that exist are kept, never overwritten."""
    targets = [
        Target(".reconcilerignore", RECONCILERIGNORE),
        *_example_targets(folder),
        *_ci_targets(ci),
    ]
    _check_writable(folder, [".gitignore", *(t.path for t in targets)])
    folder.mkdir(parents=True, exist_ok=True)
    done = [_add_to_gitignore(folder / ".gitignore")]
    done += [_write_new(folder, target) for target in targets]
    click.echo(f"Initialised {folder}:")
    width = max(len(outcome) for outcome in Outcome)
    for item in done:
        click.echo(f"  {item.outcome:<{width}}  {item.path}" + (f" ({item.detail})" if item.detail else ""))
    click.echo(
        f"Next: set the key variables listed in {EXAMPLE_FOLDER}/keys.env.example, then "
        f"`reconciler --sandbox plan {EXAMPLE_FOLDER}` tries the manifests with no cloud account."
    )
    return 0


def _example_targets(folder: Path) -> list[Target]:
    """The example manifest, its schema line pointing at this installation's schema (as
    `generate` writes it), and its key variables."""
    from reconciler.generate.assemble import SCHEMA_HEADER
    from reconciler.generate.files import schema_ref_for

    schema_ref = schema_ref_for(folder)
    targets = []
    for name, source in example_files(f"gitops/{EXAMPLE_FOLDER}").items():
        path = f"{EXAMPLE_FOLDER}/{name}"
        content = source.read_text(encoding="utf-8")
        if content.startswith(SCHEMA_HEADER):
            content = f"{SCHEMA_HEADER}{schema_ref(path)}\n{content.partition(chr(10))[2]}"
        targets.append(Target(path, content))
    return targets


def _ci_targets(ci: str | None) -> list[Target]:
    if ci is None:
        return []
    source, destination = CI_LAYOUTS[ci]
    return [
        Target(f"{destination}/{name}" if destination else name, path.read_text(encoding="utf-8"))
        for name, path in example_files(f"gitops/{source}").items()
    ]


def _check_writable(folder: Path, paths: list[str]) -> None:
    """Refuse, before anything is written, a DIR or a folder on the way to a target that exists
    but is not a folder (a file named `bgp`, say)."""
    if os.path.lexists(folder) and not folder.is_dir():
        raise UsageError(f"{folder} is not a folder", hint="give a folder to initialise (it is created when missing)")
    for relative in paths:
        for parent in reversed(Path(relative).parents[:-1]):
            where = folder / parent
            if os.path.lexists(where) and not where.is_dir():
                raise UsageError(
                    f"cannot write {relative} below {folder}: {parent} is not a folder; nothing was written",
                    hint=f"move {where} aside, or initialise another folder",
                )


def _write_new(folder: Path, target: Target) -> Done:
    path = folder / target.path
    if os.path.lexists(path):
        return Done(target.path, Outcome.KEPT, "it exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: a file that appeared since the check is kept too, never overwritten.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return Done(target.path, Outcome.KEPT, "it exists")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(target.content)
    return Done(target.path, Outcome.WRITTEN, "")


def _add_to_gitignore(path: Path) -> Done:
    """Write `.gitignore`, or append the entries it lacks at the end of an existing one: its
    lines stay as they are (appending replaces nothing, and every repository has a .gitignore
    that these entries belong in)."""
    if not os.path.lexists(path):
        return _write_new(path.parent, Target(path.name, _gitignore_block(GITIGNORE_ENTRIES)))
    if path.is_symlink() or not path.is_file():
        return Done(path.name, Outcome.KEPT, "not a regular file; add the entries yourself")
    existing = path.read_bytes()
    present = {line.strip() for line in existing.decode("utf-8", "replace").splitlines()}
    missing = [entry for entry in GITIGNORE_ENTRIES if entry not in present]
    if not missing:
        return Done(path.name, Outcome.KEPT, "it has every entry")
    separator = "\n" if existing and not existing.endswith(b"\n") else ""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(separator + ("\n" if existing.strip() else "") + _gitignore_block(missing))
    return Done(path.name, Outcome.UPDATED, f"{len(missing)} missing entries added at its end")


def _gitignore_block(entries: tuple[str, ...] | list[str]) -> str:
    return "\n".join([GITIGNORE_HEADER, *entries]) + "\n"
