"""`reconciler drift --format openmetrics` end to end, against the sandbox: the file node_exporter's
textfile collector reads, parsed with prometheus_client's OpenMetrics parser."""

from __future__ import annotations

import stat
import time
from pathlib import Path

from prometheus_client.openmetrics.parser import text_string_to_metric_families

from reconciler.sandbox import Sandbox
from tests.e2e.conftest import EXAMPLE_KEYS, cli
from tests.e2e.test_drift import state_ids
from tests.e2e.test_hardening import AZURE, apply, post_azure_config

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
WAIT = 60.0  # seconds: how long the cloud's reads may take to show a change


def samples(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def sessions_up(found: Samples) -> dict[str, float]:
    return {dict(labels)["address"]: v for (name, labels), v in found.items() if name == "reconciler_bgp_session_up"}


def drift_metrics(out: Path) -> tuple[int, Samples]:
    result = cli("drift", "bgp", "--format", "openmetrics", "--out", str(out))
    assert result.code in (0, 2), result.both
    assert result.out == ""  # the metrics go to the file; a scheduled run stays quiet
    return result.code, samples(out.read_text())


def test_the_metrics_file_shows_sessions_drift_coverage_and_calls(project: Path, sandbox: Sandbox) -> None:
    assert cli("apply", "bgp", "--auto-approve").code == 0
    textfiles = project / "textfile_collector"
    textfiles.mkdir()
    out = textfiles / "reconciler.prom"
    started = time.time()

    code, found = drift_metrics(out)
    assert code == 0
    up = sessions_up(found)
    assert up and set(up.values()) == {1.0}, up
    assert {dict(labels)["cloud"] for (n, labels) in found if n == "reconciler_bgp_session_up"} == {
        "alibaba",
        "equinix",
    }
    assert found[("reconciler_drift_detected", ())] == 0
    managed = found[("reconciler_managed_resources", (("scope", "manifests"),))]
    assert managed == found[("reconciler_in_scope_resources", (("scope", "manifests"),))] > 0
    assert found[("reconciler_coverage_ratio", (("scope", "manifests"),))] == 1
    calls = {dict(labels)["cloud"]: v for (n, labels), v in found.items() if n == "reconciler_api_calls"}
    assert set(calls) == {"alibaba", "equinix"} and all(v >= 1 for v in calls.values())
    assert found[("reconciler_last_success_timestamp_seconds", ())] >= int(started)
    # Readable by the collector's user; no temporary file left for it to read.
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert [p.name for p in textfiles.iterdir()] == ["reconciler.prom"]
    text = out.read_text()
    assert not any(key in text for key in EXAMPLE_KEYS.values())

    # A session goes down and a peer is deleted behind reconciler's back.
    ids = state_ids(project)
    down = "AlibabaBgpPeer/hk-vbr1-ne1"
    sandbox.set_session_state(ids[down], "Idle")
    deadline = time.monotonic() + WAIT
    while True:
        code, found = drift_metrics(out)
        if sessions_up(found).get(down) == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert sessions_up(found)[down] == 0
    assert sum(sessions_up(found).values()) == len(up) - 1
    # Health alone is not drift (no --require-established): exit 0, as the text format says.
    assert code == 0 and found[("reconciler_drift_detected", ())] == 0
    assert cli("drift", "bgp", "--format", "openmetrics", "--require-established", "--out", str(out)).code == 2
    assert samples(out.read_text())[("reconciler_drift_detected", ())] == 1

    # Without --out the same metrics go to standard output.
    printed = cli("drift", "bgp", "--format", "openmetrics")
    assert printed.code == 0 and printed.out.endswith("# EOF\n")
    assert sessions_up(samples(printed.out))[down] == 0


def test_a_run_with_errors_leaves_the_last_good_file(project: Path, sandbox: Sandbox) -> None:
    sandbox.configure(equinix_duplicate_post="duplicate")
    assert apply("--target", AZURE).code == 0
    out = project / "reconciler.prom"
    assert cli("drift", "bgp", "--format", "openmetrics", "--out", str(out)).code == 0
    good = out.read_text()
    assert ("reconciler_last_success_timestamp_seconds", ()) in samples(good)

    second = post_azure_config(sandbox)  # two configs on one connection: an error no plan fixes
    failed = cli("drift", "bgp", "--format", "openmetrics", "--out", str(out))
    assert failed.code == 1, failed.both
    assert second in failed.err and "left as it was" in failed.err
    assert "Traceback" not in failed.err
    assert out.read_text() == good
    # On standard output the errors are counted, and no success time is claimed.
    printed = cli("drift", "bgp", "--format", "openmetrics")
    assert printed.code == 1
    found = samples(printed.out)
    assert found[("reconciler_drift_errors", ())] == 1
    assert ("reconciler_last_success_timestamp_seconds", ()) not in found


def test_out_is_refused_where_it_cannot_work(project: Path) -> None:
    wrong_format = cli("drift", "bgp", "--format", "json", "--out", "drift.json")
    assert wrong_format.code == 1
    assert "--out drift.json: only --format openmetrics writes a file" in wrong_format.err
    missing = cli("drift", "bgp", "--format", "openmetrics", "--out", "no/such/folder/reconciler.prom")
    assert missing.code == 1
    assert "folder no/such/folder does not exist" in missing.err
    for result in (wrong_format, missing):
        assert "Traceback" not in result.err and result.out == ""
    assert not (project / "drift.json").exists()
