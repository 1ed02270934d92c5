"""Options that take a value per cloud, built from the registry so no command names a cloud.

Each such option has one spelling per registered cloud (`--<cloud> ARG`, `--<cloud>-region
REGION`) and one generic spelling for any cloud (`--scope CLOUD=ARG`, `--region CLOUD=REGION`).
`per_cloud_option` adds the per-cloud spellings to a command; `values_by_cloud` merges both
spellings into one mapping, cloud name -> values in the order given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import click

from reconciler.clouds import CLOUDS
from reconciler.clouds.base import Cloud
from reconciler.errors import UsageError

Command = TypeVar("Command", bound=Callable[..., Any])


def per_cloud_option(
    suffix: str, metavar: str, help_for: Callable[[Cloud], str], clouds: Iterable[str] | None = None
) -> Callable[[Command], Command]:
    """`--<cloud><suffix> METAVAR` (repeatable) for each cloud in `clouds` (default: every
    registered one). The values reach the command as keyword `<dest>` of `dest_of(cloud)`."""

    def decorate(command: Command) -> Command:
        for name in sorted(clouds if clouds is not None else CLOUDS, reverse=True):  # click shows them sorted
            command = click.option(
                f"--{name}{suffix}", dest_of(name, suffix), multiple=True, metavar=metavar, help=help_for(CLOUDS[name])
            )(command)
        return command

    return decorate


def dest_of(cloud: str, suffix: str) -> str:
    """The keyword a per-cloud option's values reach the command under."""
    return f"per_cloud{suffix.replace('-', '_')}_{cloud}".replace("-", "_")


def values_by_cloud(
    option: str,
    pairs: Sequence[str],
    per_cloud: Mapping[str, Sequence[str]],
    suffix: str,
    allowed: Sequence[str] | None = None,
    value: str = "ARG",
) -> dict[str, tuple[str, ...]]:
    """Cloud name -> its values, from the per-cloud options (`per_cloud`: the command's keyword
    arguments) and from `option CLOUD=VALUE` (`pairs`), each value once, in the order given.
    `allowed` limits the clouds `pairs` may name (default: every registered one); `value` names
    what a value is, in messages."""
    clouds = sorted(allowed if allowed is not None else CLOUDS)
    found: dict[str, list[str]] = {}
    for name in clouds:
        values = per_cloud.get(dest_of(name, suffix), ())
        if values:
            found.setdefault(name, []).extend(values)
    for pair in pairs:
        name, equals, given = pair.partition("=")
        if not equals or name not in clouds or not given.strip():
            example = clouds[0] if clouds else "CLOUD"
            raise UsageError(
                f"{option} {pair!r} is not CLOUD={value} with a known cloud",
                hint=f"clouds: {', '.join(clouds) or '(none)'}; e.g. {option} {example}={value}",
            )
        found.setdefault(name, []).append(given.strip())
    return {name: tuple(dict.fromkeys(values)) for name, values in found.items()}
