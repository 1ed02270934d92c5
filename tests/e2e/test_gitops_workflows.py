"""The example GitOps workflows' shell steps, run as GitHub Actions runs them, against a sandbox.

Each `run:` step of a job runs with `bash --noprofile --norc -eo pipefail` (GitHub's `shell: bash`)
and the environment the workflow sets (secrets and variables filled in by the test), with
`$GITHUB_ENV`, `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY` files between steps. `uses:` steps are
skipped: the checkout is the test's folder, the artifacts stay in it, and `reconciler` is the one
under test. A stub `gh` stands in for GitHub's API: a pull request whose reviewed plan artifact is
gone (expired), no pull request at all (a direct push), or one whose artifact is a given plan.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.sandbox import Sandbox
from tests.e2e.conftest import EXAMPLE_KEYS, EXAMPLES, REPO, live_counts

WORKFLOWS = REPO / "examples" / "gitops" / "github" / "workflows"
GITLAB_CI = REPO / "examples" / "gitops" / "gitlab" / ".gitlab-ci.yml"
PLAN_KEY = "0123456789abcdef" * 4
HEAD_SHA = "1" * 40
MERGE_SHA = "2" * 40

# A stand-in for the GitHub CLI. Every call is logged; `--jq` is applied with the real jq, as gh does.
GH_STUB = r"""#!/usr/bin/env bash
set -euo pipefail
echo "$*" >> "$GH_STUB_LOG"
jq_expr=""
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --jq) jq_expr=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
dir=.
for ((i = 0; i < ${#args[@]}; i++)); do [ "${args[$i]}" = --dir ] && dir=${args[$((i + 1))]}; done
case "${args[0]} ${args[1]}" in
  "api repos/"*) out=$GH_STUB_PULLS ;;
  "run list") out='[{"databaseId": 4242}]' ;;
  "run download")
    if [ -z "${GH_STUB_ARTIFACT:-}" ]; then echo "no valid artifacts found to download" >&2; exit 1; fi
    mkdir -p "$dir" && cp "$GH_STUB_ARTIFACT" "$dir/plan.json"
    exit 0 ;;
  *) echo "gh stub: unexpected call: $*" >&2; exit 3 ;;
esac
if [ -n "$jq_expr" ]; then printf '%s' "$out" | jq -r "$jq_expr"; else printf '%s' "$out"; fi
"""

MERGED_PR = json.dumps(
    [{"number": 7, "merged_at": "2030-01-01T00:00:00Z", "base": {"ref": "main"}, "head": {"sha": HEAD_SHA}}]
)


@dataclass
class JobRun:
    ok: bool
    ran: list[str] = field(default_factory=list)  # names of the run: steps that ran
    failed_step: str | None = None
    log: str = ""
    summary: str = ""
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class Runner:
    """Runs one workflow's jobs in `workdir`, like a GitHub runner would (for `run:` steps)."""

    workdir: Path
    base_env: dict[str, str]
    secrets: Mapping[str, str]
    variables: Mapping[str, str]

    def expand(self, value: Any) -> str:
        def one(match: re.Match[str]) -> str:
            expr = match.group(1).strip()
            if m := re.fullmatch(r"secrets\.(\w+)", expr):
                return self.secrets.get(m.group(1), "")  # an unset secret is an empty string
            if m := re.fullmatch(r"vars\.(\w+) \|\| '([^']*)'", expr):
                return self.variables.get(m.group(1)) or m.group(2)
            if expr == "github.token":
                return "stub-token"
            raise AssertionError(f"the test does not know the expression {expr!r}")

        return re.sub(r"\$\{\{(.*?)\}\}", one, str(value))

    def run_job(self, workflow: Mapping[str, Any], job_name: str, needs: Mapping[str, JobRun] = {}) -> JobRun:
        job = workflow["jobs"][job_name]
        assert workflow["defaults"]["run"]["shell"] == "bash", "run steps must fail on a failing pipe"
        env = {**self.base_env}
        env.update({k: self.expand(v) for k, v in {**workflow.get("env", {}), **job.get("env", {})}.items()})
        runner_temp = self.workdir.parent / f"runner-temp-{job_name}"
        shutil.rmtree(runner_temp, ignore_errors=True)
        runner_temp.mkdir()
        github_env = runner_temp / "github_env"
        summary = runner_temp / "step_summary"
        result = JobRun(ok=True)
        if "if" in job and not self.condition(job["if"], result, needs):
            return JobRun(ok=False)
        for index, step in enumerate(job["steps"]):
            if "run" not in step or "pip install" in step["run"]:
                continue  # actions (checkout, artifacts) and installing reconciler: the test's own
            if "if" in step and not self.condition(step["if"], result, needs):
                continue
            output = runner_temp / f"output-{index}"
            github_env.touch()
            output.touch()
            step_env = {
                **env,
                **dict(line.split("=", 1) for line in github_env.read_text().splitlines() if "=" in line),
                **{k: self.expand(v) for k, v in step.get("env", {}).items()},
                "RUNNER_TEMP": str(runner_temp),
                "GITHUB_ENV": str(github_env),
                "GITHUB_OUTPUT": str(output),
                "GITHUB_STEP_SUMMARY": str(summary),
            }
            script = runner_temp / f"step-{index}.sh"
            script.write_text(step["run"])
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                check=False,
                cwd=self.workdir,
                env=step_env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            name = step.get("name", step["run"].splitlines()[0])
            result.ran.append(name)
            result.log += f"--- {name}\n{proc.stdout}{proc.stderr}"
            if "id" in step:
                result.outputs[step["id"]] = dict(
                    line.split("=", 1) for line in output.read_text().splitlines() if "=" in line
                )
            if proc.returncode != 0:
                result.ok, result.failed_step = False, name
                break
        result.summary = summary.read_text() if summary.exists() else ""
        return result

    @staticmethod
    def condition(expr: str, current: JobRun, needs: Mapping[str, JobRun]) -> bool:
        m = re.fullmatch(r"(steps|needs)\.([\w-]+)\.outputs\.(\w+) (==|!=) '([^']*)'", expr.strip())
        assert m, f"the test does not know the condition {expr!r}"
        scope, name, key, op, value = m.groups()
        if scope == "needs":
            if not needs[name].ok:
                return False  # a job whose needed job failed is skipped
            found = needs[name].outputs.get("plan", {}).get(key, "")
        else:
            found = current.outputs.get(name, {}).get(key, "")
        return (found == value) if op == "==" else (found != value)


def workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


def dotenv(values: Mapping[str, str]) -> str:
    return "".join(f"{name}={value}\n" for name, value in values.items())


@pytest.fixture
def gitops(tmp_path: Path, sandbox: Sandbox) -> Runner:
    """A GitOps checkout (manifests in bgp/), a stub `gh` on PATH, and the secrets the workflows use."""
    checkout = tmp_path / "checkout"
    shutil.copytree(EXAMPLES / "alibaba", checkout / "bgp" / "alibaba")
    shutil.copytree(EXAMPLES / "equinix", checkout / "bgp" / "equinix")
    (tmp_path / "state").mkdir()
    stubs = tmp_path / "bin"
    stubs.mkdir()
    (stubs / "gh").write_text(GH_STUB)
    (stubs / "gh").chmod(0o755)
    # A runner's environment: none of the developer's reconciler settings or keys.
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RECONCILER_", "EQUINIX_", "ALIBABA_", "GITHUB_", "GH_")) and k not in EXAMPLE_KEYS
    }
    base.update(
        {
            "PATH": f"{stubs}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": "example-org/bgp",
            "GITHUB_SHA": MERGE_SHA,
            "GITHUB_REF_NAME": "main",
            "GH_STUB_LOG": str(tmp_path / "gh.log"),
            "GH_STUB_PULLS": MERGED_PR,
            # The sandbox's endpoints (the credentials come as the workflows' secrets).
            "EQUINIX_API_ENDPOINT": sandbox.env()["EQUINIX_API_ENDPOINT"],
            "ALIBABA_CLOUD_VPC_ENDPOINT": sandbox.env()["ALIBABA_CLOUD_VPC_ENDPOINT"],
        }
    )
    secrets = {
        **{k: v for k, v in sandbox.env().items() if k.endswith(("_ID", "_SECRET"))},
        "RECONCILER_STATE": str(tmp_path / "state" / "reconciler.json"),
        "RECONCILER_PLAN_KEY": PLAN_KEY,
        "BGP_KEYS": dotenv(EXAMPLE_KEYS),
    }
    return Runner(checkout, base, secrets, {})


def state_addresses(runner: Runner) -> list[str]:
    path = Path(runner.secrets["RECONCILER_STATE"])
    if not path.exists():
        return []
    return sorted(json.loads(path.read_text()).get("resources", {}))


def assert_no_key_shown(*texts: str) -> None:
    for text in texts:
        for key in EXAMPLE_KEYS.values():
            assert key not in text


@pytest.mark.parametrize(
    ("pulls", "verdict"),
    [
        (MERGED_PR, "The plan reviewed in #7 (run 4242) cannot be downloaded"),
        ("[]", "No merged pull request for this commit (a direct push?)"),
    ],
    ids=["artifact-expired", "direct-push"],
)
def test_merge_without_a_reviewed_plan_fails_and_applies_nothing(
    gitops: Runner, sandbox: Sandbox, pulls: str, verdict: str
) -> None:
    gitops.base_env["GH_STUB_PULLS"] = pulls
    before = live_counts(sandbox)
    apply_workflow = workflow("reconciler-apply.yml")
    plan_job = gitops.run_job(apply_workflow, "plan")
    assert not plan_job.ok and plan_job.failed_step == "Check the plan was reviewed", plan_job.log
    assert f"::error title=Unreviewed plan::{verdict}" in plan_job.log
    assert "Nothing was applied" in plan_job.log
    # The fresh plan is in the job summary, marked as not reviewed.
    assert "EquinixBgpPeering/sg-ne1-to-alibaba" in plan_job.summary
    assert f"## {verdict}" in plan_job.summary and "was not reviewed" in plan_job.summary
    # The apply job is skipped (its plan job failed); nothing changed anywhere.
    assert not gitops.run_job(apply_workflow, "apply", {"plan": plan_job}).ran
    assert live_counts(sandbox) == before
    assert state_addresses(gitops) == []
    log = Path(gitops.base_env["GH_STUB_LOG"]).read_text()
    assert ("run download 4242" in log) == (pulls == MERGED_PR)
    assert_no_key_shown(plan_job.log, plan_job.summary, (gitops.workdir / "plan.json").read_text())


def test_apply_fresh_applies_the_unreviewed_plan(gitops: Runner, sandbox: Sandbox) -> None:
    gitops.variables = {"RECONCILER_ON_STALE_PLAN": "apply-fresh"}
    apply_workflow = workflow("reconciler-apply.yml")
    plan_job = gitops.run_job(apply_workflow, "plan")
    assert plan_job.ok, plan_job.log
    assert "::warning title=Unreviewed plan::" in plan_job.log
    apply_job = gitops.run_job(apply_workflow, "apply", {"plan": plan_job})
    assert apply_job.ok and "Apply exactly the signed plan" in apply_job.ran, apply_job.log
    assert "EquinixBgpPeering/sg-ne1-to-alibaba" in state_addresses(gitops)
    # Planned again: nothing left to do, and the apply job is skipped.
    again = gitops.run_job(apply_workflow, "plan")
    assert again.ok and again.outputs["plan"]["changes"] == "false", again.log
    assert not gitops.run_job(apply_workflow, "apply", {"plan": again}).ran
    assert_no_key_shown(plan_job.log, apply_job.log, Path(gitops.secrets["RECONCILER_STATE"]).read_text())


def test_pull_request_plan_then_merge_applies_the_reviewed_changes(gitops: Runner, tmp_path: Path) -> None:
    pr_job = gitops.run_job(workflow("reconciler-plan.yml"), "plan")
    assert pr_job.ok and pr_job.outputs["plan"]["exitcode"] == "2", pr_job.log
    assert "EquinixBgpPeering/sg-ne1-to-alibaba" in pr_job.summary
    reviewed = tmp_path / "artifact-plan.json"
    shutil.move(gitops.workdir / "plan.json", reviewed)
    gitops.base_env["GH_STUB_ARTIFACT"] = str(reviewed)
    apply_workflow = workflow("reconciler-apply.yml")
    plan_job = gitops.run_job(apply_workflow, "plan")
    assert plan_job.ok, plan_job.log
    assert "makes exactly the changes reviewed in #7" in plan_job.log
    apply_job = gitops.run_job(apply_workflow, "apply", {"plan": plan_job})
    assert apply_job.ok, apply_job.log
    assert "AlibabaBgpPeer/sg-vbr1-ne1" in state_addresses(gitops)


def test_a_failing_pipe_fails_the_step(gitops: Runner) -> None:
    """GitHub's `shell: bash` is `bash -eo pipefail`: what every workflow here runs its steps with."""
    flow = {"defaults": {"run": {"shell": "bash"}}, "jobs": {"j": {"steps": [{"run": "false | cat\necho after"}]}}}
    job = gitops.run_job(flow, "j")
    assert not job.ok and "after" not in job.log
    for path in WORKFLOWS.glob("*.yml"):
        assert workflow(path.name)["defaults"]["run"]["shell"] == "bash", path


def test_workflows_name_no_key_variable_and_no_local_state() -> None:
    """Keys come from one BGP_KEYS secret (a secrets file); the state from a backend URL secret."""
    for path in [*WORKFLOWS.glob("*.yml"), GITLAB_CI]:
        text = path.read_text()
        assert "SG_BGP_KEY:" not in text and "HK_BGP_KEY:" not in text, path
        assert "state/reconciler.json" not in text, path
        assert "--max-deletes" in text or path.name == "reconciler-drift.yml", path
    assert "--require-established" in (WORKFLOWS / "reconciler-drift.yml").read_text()


def test_gitlab_scripts_fail_on_a_failing_pipe_and_apply_only_on_manifest_changes() -> None:
    ci = yaml.safe_load(GITLAB_CI.read_text())
    for name, job in ci.items():
        if not isinstance(job, dict) or "script" not in job:
            continue
        for block in job["script"]:
            if re.search(r"[^|]\|[^|]", block):
                assert "set -o pipefail" in block, f"{name}: {block.splitlines()[0]}"
    assert "drift" in ci and "--require-established" in ci["drift"]["script"][0]
    for name in ("plan-main", "apply"):
        assert all(rule.get("changes") == ["bgp/**/*"] for rule in ci[name]["rules"]), name
