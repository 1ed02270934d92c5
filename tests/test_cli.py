"""The CLI frame: global options anywhere, unknown commands, exit codes, no tracebacks."""

from __future__ import annotations

import subprocess
import sys

from reconciler.cli import hoist_global_options


def test_global_options_after_the_command_move_in_front() -> None:
    assert hoist_global_options(["plan", "--sandbox", "bgp", "--state", "s.json", "-v", "--out", "p"]) == [
        "--sandbox",
        "--state",
        "s.json",
        "-v",
        "plan",
        "bgp",
        "--out",
        "p",
    ]
    assert hoist_global_options(["--sandbox", "apply", "--log-format=json", "x"]) == [
        "--sandbox",
        "--log-format=json",
        "apply",
        "x",
    ]


def test_sandbox_serve_keeps_its_own_seed_option() -> None:
    args = ["sandbox", "serve", "--seed", "seed.yaml"]
    assert hoist_global_options(args) == args


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler", *args], capture_output=True, text=True, check=False)


def test_help_lists_every_command_and_version_works() -> None:
    help_text = run("--help").stdout
    for name in ("validate", "plan", "apply", "drift", "show", "import", "state", "sandbox"):
        assert f"  {name}" in help_text
    assert run("--version").stdout.startswith("reconciler, version ")


def test_usage_errors_exit_1_without_traceback() -> None:
    for args in (["nosuchcommand"], ["plan", "--no-such-option"], ["--log-format", "xml", "plan"]):
        result = run(*args)
        assert result.returncode == 1, args
        assert "Traceback" not in result.stderr
        assert result.stderr.strip()
