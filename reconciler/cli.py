"""The `reconciler` command line: global options, command registry and error handling.

One module per command lives in `reconciler.commands`; each is imported only when its command
runs, so `reconciler --help` stays fast.
"""

from __future__ import annotations

import importlib
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn, cast

import click

from reconciler import __version__
from reconciler.context import AppContext, SecretsOptions
from reconciler.errors import ReconcilerError, StateError, UsageError
from reconciler.masking import mask_url_passwords

# command name -> (module, one-line help). The module defines `command` (a click.Command).
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("reconciler.commands.validate", "Check manifests against the schema and the rules."),
    "plan": ("reconciler.commands.plan", "Show what apply would change."),
    "apply": ("reconciler.commands.apply", "Make the clouds match the manifests (or a saved plan)."),
    "drift": ("reconciler.commands.drift", "Report what changed outside reconciler (read-only)."),
    "doctor": ("reconciler.commands.doctor", "Check the cloud accounts the manifests use (read-only)."),
    "show": ("reconciler.commands.show", "Render a saved plan file."),
    "graph": ("reconciler.commands.graph", "Draw the BGP topology (Mermaid or DOT), coloured by health or a plan."),
    "import": (
        "reconciler.commands.import_",
        "Take an existing cloud object under management, or migrate from a Terraform state.",
    ),
    "generate": ("reconciler.commands.generate", "Write manifests for live objects (brownfield onboarding)."),
    "state": ("reconciler.commands.state", "Inspect or edit the state: list, show, rm, unlock."),
    "sandbox": ("reconciler.sandbox.command", "Run the local emulators of the cloud APIs."),
    "init": ("reconciler.commands.init", "Write .gitignore entries, an example manifest and CI workflows."),
}

# The state when --state and RECONCILER_STATE are not given; its folder is created if missing.
DEFAULT_STATE = "state/reconciler.json"
# reconciler.sandbox.config.PROFILES, spelt out so that `reconciler --help` imports no sandbox code.
SANDBOX_PROFILES = ("lenient", "realistic", "pessimistic")


def _sandbox_profile(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if value in SANDBOX_PROFILES:
        return value
    source = ctx.get_parameter_source(param.name or "")
    where = "RECONCILER_SANDBOX_PROFILE" if source is click.core.ParameterSource.ENVIRONMENT else "--sandbox-profile"
    raise click.BadParameter(
        f"{value!r} is not a sandbox profile; valid: {', '.join(SANDBOX_PROFILES)}", ctx, param, where
    )


def _allowed_paths(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[Path, ...]:
    # RECONCILER_SECRETS_ALLOW=/a:/b: is split on os.pathsep; an empty entry would otherwise
    # become "." and allow the working folder.
    return tuple(Path(path) for path in value if path)


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, _ = COMMANDS[cmd_name]
        command = importlib.import_module(module_name).command
        assert isinstance(command, click.Command)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        # `reconciler plan --help` shows help and opens nothing: the group's checks skip it.
        ctx.meta[_HELP_ASKED] = any(arg in ctx.help_option_names for arg in rest[: _end_of_options(rest)])
        return name, command, rest

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help text from the registry, without importing every command module.
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, help_) in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="reconciler")
@click.option(
    "--state",
    "state_url",
    envvar="RECONCILER_STATE",
    default=DEFAULT_STATE,
    show_default=True,
    help="State backend: a file path or a postgresql:// URL (env RECONCILER_STATE).",
)
@click.option(
    "--sandbox",
    is_flag=True,
    help="Use an embedded sandbox of the clouds (its data in the user's cache folder, or --sandbox-data FILE).",
)
@click.option(
    "--seed",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Sandbox seed file (default: derived from what the manifests presuppose).",
)
@click.option(
    "--sandbox-profile",
    envvar="RECONCILER_SANDBOX_PROFILE",
    callback=_sandbox_profile,
    metavar="[lenient|realistic|pessimistic]",
    default="realistic",
    show_default=True,
    help="How closely the embedded sandbox (and `sandbox serve`) acts like the real clouds: lenient, "
    "realistic or pessimistic (env RECONCILER_SANDBOX_PROFILE; docs/sandbox.md, Profiles).",
)
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Log line format."
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logs, API call counts and tracebacks.")
@click.option(
    "--lock-timeout",
    type=float,
    default=0.0,
    show_default=True,
    help="Seconds to wait for the state lock before failing.",
)
@click.option(
    "--secrets-root",
    envvar="RECONCILER_SECRETS_ROOT",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder that fromFile secret references must stay inside (default: the Git work tree holding "
    "the manifests, else their common folder; env RECONCILER_SECRETS_ROOT).",
)
@click.option(
    "--secrets-allow",
    envvar="RECONCILER_SECRETS_ALLOW",
    multiple=True,
    type=click.Path(),
    callback=_allowed_paths,
    metavar="PATH",
    help="A file or folder outside the secrets root that fromFile may also read; repeatable "
    f"(env RECONCILER_SECRETS_ALLOW, paths separated by {os.pathsep!r}).",
)
@click.option(
    "--secrets-file",
    envvar="RECONCILER_SECRETS_FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A dotenv file (NAME=value lines, mode 600) that {fromEnv: NAME} references read when the "
    "environment lacks NAME; the environment wins (env RECONCILER_SECRETS_FILE).",
)
@click.option(
    "--sandbox-data",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the embedded sandbox keeps its data (default: a file in the user's cache folder, "
    "keyed by the repository's path).",
)
@click.pass_context
def cli(
    ctx: click.Context,
    state_url: str,
    sandbox: bool,
    seed: Path | None,
    sandbox_profile: str,
    log_format: str,
    verbose: bool,
    lock_timeout: float,
    secrets_root: Path | None,
    secrets_allow: tuple[Path, ...],
    secrets_file: Path | None,
    sandbox_data: Path | None,
) -> None:
    """Declarative BGP peering across clouds: plan, apply and drift, Terraform style.

    Exit codes: 0 success / no changes, 1 error, 2 changes present (plan --detailed-exitcode)
    or drift found (drift).
    """
    from reconciler import log

    log.configure(log_format, verbose)
    if ctx.invoked_subcommand not in _STATELESS_COMMANDS:
        _check_state_folder(state_url, ctx.get_parameter_source("state_url"))
    if ctx.invoked_subcommand not in _NO_BACKEND_NEEDED and not ctx.meta.get(_HELP_ASKED):
        check_ci_backend(ctx.get_parameter_source("state_url"), sandbox)
    secrets = SecretsOptions(secrets_root, secrets_allow)
    ctx.obj = AppContext(
        state_url,
        sandbox,
        seed,
        log_format,
        verbose,
        lock_timeout,
        sandbox_profile,
        secrets,
        secrets_file=secrets_file,
        sandbox_data=sandbox_data,
    )


# Commands that never open the state: a state path is not checked for them.
_STATELESS_COMMANDS = frozenset({"validate", "show", "sandbox", "init", None})
# Commands that need no state backend chosen in CI: those, `init`, and `doctor` (it never reads
# or writes the state). `graph` reads the state only to draw health, and checks then.
_NO_BACKEND_NEEDED = _STATELESS_COMMANDS | {"doctor", "graph"}
_HELP_ASKED = "reconciler.help_asked"


def _end_of_options(args: list[str]) -> int:
    return args.index("--") if "--" in args else len(args)


def check_ci_backend(source: click.core.ParameterSource | None, sandbox: bool) -> None:
    """In a CI job (CI=true), a state backend nobody chose is an error: the default local file
    would start empty on every runner and be thrown away with it, so apply would create
    everything again. An explicit --state (even a local file) is the user's choice; the embedded
    sandbox is never a real cloud. An empty RECONCILER_STATE counts as unset."""
    ci = os.environ.get("CI", "")
    if sandbox or ci.strip().lower() not in ("true", "1"):
        return
    if source in (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT):
        return
    raise UsageError(
        f"no state backend is set, and this is a CI job (CI={ci}): the default local state file "
        f"({DEFAULT_STATE}) would be thrown away with the runner",
        hint="set a shared backend: --state postgresql://USER@HOST/DB or the RECONCILER_STATE "
        "environment variable (e.g. from a CI secret); --state FILE uses a local file anyway",
    )


def _check_state_folder(state_url: str, source: click.core.ParameterSource | None) -> None:
    """A state path the user gave must be in a folder that exists: a missing folder is more likely
    a typo than a wish, and creating it would scatter state files. Only the default location's
    folder (state/ in the working folder) is created when missing, by the first apply."""
    given = source in (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)
    if not given or state_url == DEFAULT_STATE:
        return
    path = state_url.removeprefix("file://")
    if "://" in path or not path.strip():
        return  # a database URL, or a value the backend itself refuses with a message
    folder = Path(path).expanduser().parent
    try:
        os.stat(folder)
    except FileNotFoundError:
        where = "--state" if source is click.core.ParameterSource.COMMANDLINE else "RECONCILER_STATE"
        raise StateError(
            f"the state folder {folder} (from {where} {state_url}) does not exist; nothing was created",
            hint=f"create it (mkdir -p {shlex.quote(str(folder))}), "
            f"or give {where} a file path in a folder that exists",
        ) from None
    except OSError:
        return  # not a folder, not readable...: the backend says which, naming the path


def _global_options() -> tuple[frozenset[str], frozenset[str]]:
    """(global options that take no value, global options that take one), read from `cli` itself
    so that an option added later is parsed like the others."""
    flags: set[str] = {"-h", "--help"}
    valued: set[str] = set()
    for param in cli.params:
        if isinstance(param, click.Option):
            names = {*param.opts, *param.secondary_opts}
            (flags if param.is_flag or param.count else valued).update(names)
    return frozenset(flags), frozenset(valued)


def _command_index(args: list[str], valued: frozenset[str]) -> int | None:
    """Where the command name is: the first argument that is neither a global option nor the
    value of one (`--state state plan`: the command is `plan`, not the state path `state`)."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return i + 1 if i + 1 < len(args) else None
        if arg in valued:
            i += 2  # the option and its value
        elif arg.startswith("-"):
            i += 1  # a flag, `--option=value`, or an unknown option that click reports
        else:
            return i
    return None


def hoist_global_options(args: list[str]) -> list[str]:
    """Accept global options after the command too (`reconciler plan --sandbox`), as users type
    them: they are moved in front of the command name. `sandbox serve` keeps its own options."""
    flags, valued = _global_options()
    at = _command_index(args, valued)
    if at is None or args[at] not in COMMANDS or args[at] == "sandbox":
        return args
    head, tail, rest = list(args[:at]), [args[at]], args[at + 1 :]
    i = 0
    while i < len(rest):
        arg = rest[i]
        option = arg.split("=", 1)[0]
        if arg == "--":
            tail += rest[i:]
            break
        if arg in flags - {"-h", "--help"}:  # help after the command is the command's help
            head.append(arg)
        elif option in valued:
            head.append(arg)
            if "=" not in arg and i + 1 < len(rest):
                i += 1
                head.append(rest[i])
        else:
            tail.append(arg)
        i += 1
    return head + tail


GC_YOUNG_THRESHOLD = 10_000  # allocations between collections of the youngest generation (default 700)


def _terminate(signum: int, frame: object) -> None:
    # CI cancels jobs with SIGTERM: unwind like Ctrl-C so locks are released and state is saved.
    raise KeyboardInterrupt


def program() -> None:
    """The `reconciler` program (its console script and `python -m reconciler`): `main`, in a
    process of its own, which runs with the cycle collector off (reconciler/collector.py)."""
    from reconciler.collector import program_runs

    program_runs()
    main()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; turn expected errors into one message and exit code 1."""
    import gc
    import signal

    # A run builds many objects that live to its end (manifests, state, live objects) and few
    # cycles. Where the cycle collector runs (an apply's calls, `main` called in-process), at the
    # default thresholds it would run about 750 times in a plan of 10,000 peers, 0.4 s of its CPU;
    # at these, about 50 times (bench/, docs/architecture.md).
    gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 10)
    # `import httpx` also imports httpx's own command-line client whenever its extras (rich, click,
    # pygments) are installed, as they are here for reconciler's output: about 30 ms of every run
    # that talks to an HTTP API. Nothing in this process runs that client; marked as not
    # importable, httpx gives `httpx.main` a stub instead, as it does when the extras are missing.
    modules = cast("dict[str, ModuleType | None]", sys.modules)  # None in it: "not importable"
    modules.setdefault("httpx._main", None)
    signal.signal(signal.SIGTERM, _terminate)
    args = hoist_global_options(list(sys.argv[1:] if argv is None else argv))
    fail = _Failure(verbose="-v" in args or "--verbose" in args, json_logs=_log_format(args) == "json")
    try:
        code: Any = cli.main(args=args, prog_name="reconciler", standalone_mode=False)
    except ReconcilerError as exc:
        fail(exc.message, exc.exit_code, hint=exc.hint)
    except click.exceptions.Abort:
        fail("aborted", 1, traceback=False)
    except click.ClickException as exc:
        if not fail.json_logs:
            exc.show()
            sys.exit(1 if exc.exit_code == 2 else exc.exit_code)  # usage errors are errors: exit 1
        usage = exc.ctx.get_usage() if isinstance(exc, click.UsageError) and exc.ctx else None
        fail(exc.format_message(), 1 if exc.exit_code == 2 else exc.exit_code, hint=usage, traceback=False)
    except KeyboardInterrupt:
        fail("interrupted", 1, traceback=False)
    except Exception as exc:  # a bug: say so plainly, traceback only with -v
        fail(f"internal error: {type(exc).__name__}: {exc} (run with -v for details)", 1)
    sys.exit(code if isinstance(code, int) else 0)


def _log_format(args: list[str]) -> str:
    """The --log-format among the global options (in front of the command once hoisted)."""
    _, valued = _global_options()
    end = _command_index(args, valued)
    head = args if end is None else args[:end]
    found = "text"
    for i, arg in enumerate(head):
        if arg == "--log-format" and i + 1 < len(head):
            found = head[i + 1]
        elif arg.startswith("--log-format="):
            found = arg.split("=", 1)[1]
    return found


@dataclass(frozen=True)
class _Failure:
    """How the final error is shown: one `Error:` line on stderr, or with `--log-format json` one
    JSON log line, so a log collector parses the whole output. Tracebacks only with -v."""

    verbose: bool
    json_logs: bool

    def __call__(self, message: str, code: int, *, hint: str | None = None, traceback: bool = True) -> NoReturn:
        message = mask_url_passwords(message)  # a state URL quoted in an error keeps its password
        hint = None if hint is None else mask_url_passwords(hint)
        with_traceback = traceback and self.verbose
        if self.json_logs:
            from reconciler import log

            log.configure("json", self.verbose)  # also when click failed before the options were read
            fields: dict[str, object] = {"exit_code": code}
            if hint:
                fields["hint"] = hint
            log.get_logger("reconciler").error(message, exc_info=with_traceback, **fields)
        else:
            if with_traceback:
                import traceback as tb

                tb.print_exc()
            click.echo(f"Error: {message}" if not hint else f"Error: {message}\n  hint: {hint}", err=True)
        sys.exit(code)
