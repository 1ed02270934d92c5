"""`reconciler sandbox serve`: run the local emulators of both cloud APIs until Ctrl-C / SIGTERM.

With `--data FILE` it holds that file as `--sandbox` runs do (`store.hold_data_file`), so the two
never serve one file at once. `--seed-from PATH...` derives the seed from manifests as `--sandbox`
does; that needs the clouds' registry, which the sandbox never imports, so it comes from
`reconciler.workflow`, imported only then.
"""

from __future__ import annotations

import math
import shlex
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import click

from reconciler.context import AppContext
from reconciler.errors import UsageError
from reconciler.package_data import example_path
from reconciler.sandbox import Sandbox, SandboxConfig, Seed, load_seed
from reconciler.sandbox.admin import ADMIN_TOKEN_HEADER
from reconciler.sandbox.config import DEFAULT_PROFILE, PROFILES, SandboxError, apply_changes
from reconciler.sandbox.store import hold_data_file


class _FiniteFloatRange(click.FloatRange):
    """click's FloatRange, without NaN and infinity: NaN passes every range check, and neither
    is a delay, a rate or a latency."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        number: float = super().convert(value, param, ctx)
        if not math.isfinite(number):
            low = 0.0 if self.min is None else self.min
            expected = f"{low:g}..{self.max:g}" if self.max is not None else f"{low:g} or more"
            self.fail(f"{number} is not a finite number; expected {expected}", param, ctx)
        return number


@click.group(name="sandbox")
def command() -> None:
    """Run the local emulators of the Equinix and Alibaba APIs (docs/sandbox.md, "Running it")."""


@command.command("serve")
@click.option(
    "--equinix-port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port of the Equinix API (0: a free port).",
)
@click.option(
    "--alibaba-port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port of the Alibaba VPC API (0: a free port).",
)
@click.option(
    "--data",
    "data_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep everything in this file across restarts (plus FILE.log while running).",
)
@click.option(
    "--seed",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Seed YAML: devices, connections, regions, VBRs (default: the examples' seed).",
)
@click.option(
    "--seed-from",
    "seed_from",
    multiple=True,
    metavar="PATH",
    help="Derive the seed from the manifests at PATH, as --sandbox does (repeatable; keys are not read).",
)
@click.option(
    "--profile",
    "--sandbox-profile",
    "profile",
    type=click.Choice(PROFILES),
    default=None,
    help=f"How closely to act like the real clouds (default: the global --sandbox-profile, env "
    f"RECONCILER_SANDBOX_PROFILE, else {DEFAULT_PROFILE}; docs/sandbox.md, Profiles).",
)
@click.option(
    "--latency-ms",
    type=_FiniteFloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Latency added to every request.",
)
@click.option(
    "--jitter-ms", type=_FiniteFloatRange(min=0), default=0.0, show_default=True, help="Plus a random 0..N ms."
)
@click.option(
    "--fault-rate",
    type=_FiniteFloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Fraction of requests answered with a 5xx (0..1).",
)
@click.option(
    "--throttle-rps",
    type=_FiniteFloatRange(min=0),
    default=None,
    help="Throttle above N requests/s per API; 0: never (default: the profile's rate).",
)
@click.option(
    "--drop-rate",
    type=_FiniteFloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Fraction of changes carried out, then answered by closing the connection (0..1).",
)
@click.option(
    "--provision-failure-rate",
    type=_FiniteFloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Fraction of asynchronous changes that fail (0..1).",
)
@click.option(
    "--provision-delay",
    type=_FiniteFloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds before a change is provisioned / available / gone.",
)
@click.option("--random-seed", type=int, default=None, help="Make injected faults and ids repeatable.")
@click.pass_context
def serve(
    ctx: click.Context,
    equinix_port: int,
    alibaba_port: int,
    data_file: Path | None,
    seed: Path | None,
    seed_from: tuple[str, ...],
    profile: str | None,
    latency_ms: float,
    jitter_ms: float,
    fault_rate: float,
    throttle_rps: float | None,
    drop_rate: float,
    provision_failure_rate: float,
    provision_delay: float,
    random_seed: int | None,
) -> None:
    """Serve both APIs on 127.0.0.1 until interrupted; print the endpoints and the exports to paste."""
    app = ctx.find_object(AppContext)
    seed_file = seed or (app.seed if app is not None else None)
    if seed_file is not None and seed_from:
        raise UsageError(
            "--seed and --seed-from are alternatives", hint="give a seed file or manifests to derive the seed from"
        )
    derived = _seed_from_manifests(seed_from, app) if seed_from else None
    profile = profile or (app.sandbox_profile if app is not None else DEFAULT_PROFILE)
    faults: dict[str, float | None] = {
        "latency_ms": latency_ms,
        "jitter_ms": jitter_ms,
        "error_rate": fault_rate,
        "drop_rate": drop_rate,
        "provision_failure_rate": provision_failure_rate,
    }
    if throttle_rps is not None:  # else the profile's rate
        faults["throttle_rps"] = throttle_rps or None
    config = apply_changes(
        SandboxConfig.for_profile(profile),
        {
            "provision_delay": provision_delay,
            "random_seed": random_seed,
            "equinix": faults,
            "alibaba": faults,
        },
    )
    sandbox = Sandbox(
        derived or (load_seed(seed_file) if seed_file else None),
        config=config,
        data_file=data_file,
        equinix_port=equinix_port,
        alibaba_port=alibaba_port,
    )
    lock_timeout = app.lock_timeout if app is not None else 0.0
    with _held(data_file, lock_timeout):
        _serve(sandbox, ", ".join(seed_from) if seed_from else seed_file, data_file, profile)
    click.echo("sandbox stopped" + (f"; data saved in {data_file}" if data_file else ""))


def _seed_from_manifests(paths: tuple[str, ...], app: AppContext | None) -> Seed:
    from reconciler.workflow import seed_from_manifests

    return seed_from_manifests(paths, app)


@contextmanager
def _held(data_file: Path | None, timeout: float) -> Iterator[None]:
    """The data file, held for the server's whole life (nothing to hold in memory only)."""
    if data_file is None:
        yield
        return
    if data_file.is_dir():
        raise SandboxError(f"--data {data_file} is a folder", hint="name a file (it is created when missing)")
    data_file.parent.mkdir(parents=True, exist_ok=True)
    with hold_data_file(data_file, "`reconciler sandbox serve`", timeout):
        yield


def _serve(sandbox: Sandbox, seed_text: Path | str | None, data_file: Path | None, profile: str) -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        sandbox.start()
        try:
            _print_banner(sandbox, seed_text, data_file, profile)
            while not stop.wait(0.2):
                pass
        finally:
            sandbox.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _print_banner(sandbox: Sandbox, seed_file: Path | str | None, data_file: Path | None, profile: str) -> None:
    env = sandbox.env()
    lines = [
        "reconciler sandbox is running (Ctrl-C to stop)",
        f"  Equinix API:   {sandbox.equinix_url}   client id {env['EQUINIX_CLIENT_ID']} / "
        f"secret {env['EQUINIX_CLIENT_SECRET']}",
        f"  Alibaba VPC:   {sandbox.alibaba_endpoint}   AccessKey {env['ALIBABA_CLOUD_ACCESS_KEY_ID']} / "
        f"{env['ALIBABA_CLOUD_ACCESS_KEY_SECRET']}",
        f"  seed:          {seed_file or _default_seed_text()}",
        f"  data:          {data_file or 'in memory only'}",
        f"  profile:       {profile} (docs/sandbox.md, Profiles; change it at POST /_sandbox/config)",
        f"  control:       {sandbox.equinix_url}/_sandbox/info (also on the Alibaba port)",
        f"  admin token:   {sandbox.admin_token} (header {ADMIN_TOKEN_HEADER}: control calls from a browser "
        "or through a proxy need it)",
        "",
        "Paste into your shell:",
        *(f"export {name}={shlex.quote(value)}" for name, value in env.items()),
    ]
    click.echo("\n".join(lines))
    sys.stdout.flush()


def _default_seed_text() -> str:
    try:
        return f"{example_path('sandbox-seed.yaml')} (default)"
    except FileNotFoundError:
        return "none (examples/sandbox-seed.yaml is missing): no devices, connections, regions or VBRs"
