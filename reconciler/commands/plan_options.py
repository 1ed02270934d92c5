"""The options `plan` and `apply PATH...` share to say what to plan: targets, subsets, forced
replacements, destroy, the deletion limit and whether a session address that the live router rules
out is only a warning. One definition, so the two commands cannot drift."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import click

from reconciler.errors import UsageError

F = TypeVar("F", bound=Callable[..., object])


@dataclass(frozen=True, slots=True)
class PlanChoices:
    """What to plan, as `plan` and `apply PATH...` take it."""

    targets: tuple[str, ...] = ()
    refresh_only: bool = False
    prune: bool = False
    replace: tuple[str, ...] = ()
    destroy: bool = False
    max_deletes: int | None = None
    allow_address_mismatch: bool = False  # a linked session's address the live router rules out: a warning

    def check(self) -> PlanChoices:
        """UsageError for choices that contradict each other."""
        if self.destroy and (self.refresh_only or self.replace):
            raise UsageError(
                "--destroy removes everything in the state: it goes with neither --refresh-only nor --replace"
            )
        return self

    @property
    def reads_keys(self) -> bool:
        """A refresh-only or destroy plan sends no key: its manifests are read for metadata only."""
        return not (self.refresh_only or self.destroy)


def plan_choice_options(refresh_only_help: str, destroy_help: str) -> Callable[[F], F]:
    """The click options behind `PlanChoices` (`--max-deletes` also from RECONCILER_MAX_DELETES)."""
    options = [
        click.option("--refresh-only", is_flag=True, help=refresh_only_help),
        click.option(
            "--target",
            "targets",
            multiple=True,
            metavar="SELECTOR",
            help="Limit to what SELECTOR matches (an address Kind/name, a glob, or label:key=value) and its "
            "dependencies; repeatable.",
        ),
        click.option(
            "--prune",
            is_flag=True,
            help="Delete state resources whose manifest file lies outside PATHS, as if removed.",
        ),
        click.option(
            "--replace", "replace", multiple=True, metavar="ADDRESS", help="Replace ADDRESS even if nothing differs."
        ),
        click.option("--destroy", is_flag=True, help=destroy_help),
        click.option(
            "--max-deletes",
            envvar="RECONCILER_MAX_DELETES",
            type=click.IntRange(0),
            default=None,
            metavar="N",
            help="Fail, before any change, when the plan deletes or replaces more than N resources "
            "(env RECONCILER_MAX_DELETES).",
        ),
        click.option(
            "--allow-address-mismatch",
            is_flag=True,
            help="Plan even when an address of a linked session cannot form it with the live router's "
            "gateway addresses (a warning instead of an error).",
        ),
    ]

    def decorate(function: F) -> F:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate
