"""What a run imports, and when: the fixed cost every command pays.

Each case runs the CLI (or the logging module) in a fresh interpreter, since what is imported is
a property of a whole process, and reports the modules it ended with.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import EXAMPLE_KEYS, EXAMPLES

REPO = Path(__file__).resolve().parents[1]
SDK = ("alibabacloud_vpc20160428", "alibabacloud_tea_openapi", "alibabacloud_credentials", "Tea", "darabonba")
HTTP = ("aiohttp", "requests", "httpx")  # the embedded sandbox serves with aiohttp
MODELS = "alibabacloud_vpc20160428.models"

# Runs `reconciler ARGS`, then writes the modules it imported, and which threads imported the VPC
# client module, as JSON to the file named first.
PROBE = """
import json, sys, threading
report, args = sys.argv[1], sys.argv[2:]
importers = []
sys.addaudithook(lambda event, details: event == "import" and details[0] == "alibabacloud_vpc20160428.client"
                 and importers.append(threading.current_thread().name))
from reconciler.cli import main
try:
    main(args)
except SystemExit as exit:
    code = exit.code
with open(report, "w") as out:
    modules = sorted(name for name, module in sys.modules.items() if module is not None)  # None: not importable
    json.dump({"code": code, "modules": modules, "client_importers": importers}, out)
"""

EQUINIX_ONLY = """\
apiVersion: reconciler/v1
kind: EquinixBgpPeering
metadata: {name: startup-probe}
spec:
  connectionUuid: 80afc8be-0ce3-4950-be27-3d3e678e6873
  localIpAddress: 10.0.0.1/30
  localAsn: 65010
  remoteIpAddress: 10.0.0.2
  remoteAsn: 45104
"""


def environment() -> dict[str, str]:
    env = {**os.environ, **EXAMPLE_KEYS}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def probe(tmp_path: Path, *args: str) -> dict[str, object]:
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), *args],
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert report.exists(), done.stderr[-3000:]
    found: dict[str, object] = json.loads(report.read_text())
    assert found["code"] in (0, None), done.stdout[-3000:] + done.stderr[-3000:]
    return found


def imported(found: dict[str, object], *packages: str) -> list[str]:
    modules = found["modules"]
    assert isinstance(modules, list)
    return [m for m in modules if m.split(".")[0] in packages]


def examples_project(tmp_path: Path) -> Path:
    for cloud in ("alibaba", "equinix"):
        shutil.copytree(EXAMPLES / cloud, tmp_path / "bgp" / cloud)
    return tmp_path


def test_help_imports_no_cloud_client_and_no_logging_library(tmp_path: Path) -> None:
    found = probe(tmp_path, "--help")
    assert imported(found, *SDK, *HTTP, "structlog", "rich", "jsonschema", "tenacity") == []


def test_validate_imports_no_cloud_client_and_no_logging_library(tmp_path: Path) -> None:
    examples_project(tmp_path)
    found = probe(tmp_path, "validate", "bgp")
    assert imported(found, *SDK, *HTTP, "structlog", "tenacity") == []


def test_a_plan_without_alibaba_resources_never_imports_its_sdk(tmp_path: Path) -> None:
    (tmp_path / "bgp").mkdir()
    (tmp_path / "bgp" / "peer.yaml").write_text(EQUINIX_ONLY)
    found = probe(tmp_path, "--sandbox", "plan", "bgp")
    assert imported(found, *SDK) == []
    assert imported(found, "structlog") == []  # nothing was logged
    assert "httpx" in imported(found, "httpx")
    assert imported(found, "pygments") == [] and "rich.syntax" not in imported(found, "rich")  # httpx's CLI


@pytest.mark.parametrize("command", ["plan", "drift"])
def test_the_alibaba_sdk_is_imported_once_by_the_main_thread_and_only_the_models_used(
    tmp_path: Path, command: str
) -> None:
    examples_project(tmp_path)
    found = probe(tmp_path, "--sandbox", command, "bgp")
    assert found["client_importers"] == ["MainThread"]  # not in the refresh threads
    models = [m for m in imported(found, "alibabacloud_vpc20160428") if m.startswith(f"{MODELS}.")]
    assert f"{MODELS}._describe_bgp_peers_request" in models
    assert 0 < len(models) < 60  # not the whole API (over 1,200 modules)
    assert imported(found, "structlog") == []


@pytest.mark.parametrize("command", ["plan", "drift"])
def test_a_run_whose_calls_all_succeed_never_imports_the_retry_library(tmp_path: Path, command: str) -> None:
    examples_project(tmp_path)
    found = probe(tmp_path, "--sandbox", command, "bgp")
    assert "alibabacloud_vpc20160428.client" in imported(found, "alibabacloud_vpc20160428")  # it made calls
    assert imported(found, "tenacity") == []


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_a_plan_printed_to_a_pipe_imports_no_rich(tmp_path: Path, fmt: str) -> None:
    examples_project(tmp_path)
    found = probe(tmp_path, "--sandbox", "plan", "--format", fmt, "bgp")  # with changes: nothing applied
    assert imported(found, "rich") == []  # only colour needs it


def test_a_run_whose_files_all_come_from_the_cache_imports_no_yaml_parser(tmp_path: Path) -> None:
    examples_project(tmp_path)
    cold = probe(tmp_path, "validate", "bgp")  # stores every file in the cache (XDG_CACHE_HOME)
    assert "yaml" in imported(cold, "yaml")
    warm = probe(tmp_path, "validate", "bgp")  # (the embedded sandbox reads its seed with PyYAML)
    assert imported(warm, "yaml") == []
    assert "reconciler.manifest.parse" not in imported(warm, "reconciler")


LIST_MODELS = """
import json, sys
if sys.argv[1] == "lazy":
    from reconciler.clouds.alibaba import sdk
    package = sdk.load().vpc_models
    names = dir(package)
else:
    import alibabacloud_vpc20160428.models as package
    names = [name for name, value in vars(package).items() if isinstance(value, type)]
classes = {name: getattr(package, name) for name in names}
print(json.dumps({name: f"{cls.__module__}:{cls.__qualname__}" for name, cls in classes.items()}))
"""


def test_the_lazy_models_package_offers_exactly_the_sdks_classes() -> None:
    def models(how: str) -> dict[str, str]:
        done = subprocess.run(
            [sys.executable, "-c", LIST_MODELS, how], env=environment(), capture_output=True, text=True, check=True
        )
        listed: dict[str, str] = json.loads(done.stdout)
        return listed

    lazy, eager = models("lazy"), models("eager")
    assert len(lazy) > 1000
    assert lazy == eager


# Logs as commands do: configure, then lines at several levels; reports whether structlog was
# imported after each step, and what reached stderr.
LOGS = """
import json, sys
from reconciler import log
log.configure(sys.argv[1], sys.argv[2] == "verbose")
steps = {"configured": "structlog" in sys.modules}
logger = log.get_logger("reconciler.test")
logger.debug("a debug line", detail=1)
steps["after debug"] = "structlog" in sys.modules
logger.warning("a warning line", detail=2)
steps["after warning"] = "structlog" in sys.modules
print(json.dumps(steps))
"""


def run_logs(log_format: str, verbose: bool) -> tuple[dict[str, bool], str]:
    done = subprocess.run(
        [sys.executable, "-c", LOGS, log_format, "verbose" if verbose else "quiet"],
        env=environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    steps: dict[str, bool] = json.loads(done.stdout)
    return steps, done.stderr


def test_logging_imports_structlog_only_for_the_first_line_logged() -> None:
    steps, err = run_logs("text", verbose=False)
    assert steps == {"configured": False, "after debug": False, "after warning": True}
    assert "a debug line" not in err
    assert "a warning line" in err and "detail=2" in err and "[warning" in err


def test_json_logs_are_json_lines_whenever_structlog_is_imported() -> None:
    steps, err = run_logs("json", verbose=False)
    assert steps["after debug"] is False
    lines = [json.loads(line) for line in err.splitlines()]
    assert [(line["event"], line["level"], line["detail"]) for line in lines] == [("a warning line", "warning", 2)]


def test_verbose_logging_shows_debug_lines() -> None:
    steps, err = run_logs("text", verbose=True)
    assert steps["configured"] is True
    assert "a debug line" in err and "a warning line" in err


FOREIGN = """
import sys
from reconciler import log
log.configure("text", False)
import structlog
from structlog.testing import capture_logs
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(0))
with capture_logs() as logs:
    log.get_logger("reconciler.test").debug("captured", detail=3)
assert logs == [{"event": "captured", "detail": 3, "log_level": "debug"}], logs
"""


def test_a_structlog_configuration_made_later_is_respected() -> None:
    # As the test suite does: configure structlog itself after a command configured logging.
    subprocess.run([sys.executable, "-c", FOREIGN], env=environment(), capture_output=True, text=True, check=True)
