"""Persistence: `--data` survives restarts and `kill -9`; the change log stays append-only."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from reconciler.sandbox import Sandbox, SandboxConfig, SandboxError, Seed
from reconciler.sandbox.records import EquinixBgp
from reconciler.sandbox.seed import parse_seed_text
from reconciler.sandbox.store import Store

from .conftest import (
    BGP_BODY,
    PAGE_CONNECTIONS,
    SEED_YAML,
    Equinix,
    alibaba_client,
    create_group,
    create_peer,
    describe_groups,
)


def test_everything_survives_a_restart(tmp_path: Path, seed: Seed) -> None:
    """docs/sandbox.md (Persistence): objects, ids, keys, creation times, statuses, overrides and
    ClientTokens persist."""
    data = tmp_path / "sandbox.json"
    with Sandbox(seed, data_file=data) as sandbox:
        eq = Equinix(sandbox)
        uuid = eq.create()
        ali = alibaba_client(sandbox)
        group_id = create_group(ali, client_token="tok-restart", auth_key="grp-key")
        peer_id = create_peer(ali, group_id)
        sandbox.set_session_state(peer_id, "Active")
        before = sandbox.objects()
    with Sandbox(seed, data_file=data) as sandbox:
        after = sandbox.objects()
        assert after.equinix_bgp == before.equinix_bgp  # same createdDate, key in clear, status
        assert after.alibaba_groups == before.alibaba_groups
        assert after.alibaba_peers[peer_id]["BgpStatus"] == "Active"
        assert after.alibaba_peers == before.alibaba_peers
        eq = Equinix(sandbox)  # tokens are not persisted: a new one is needed
        assert eq.get(f"/ne/v1/bgp/{uuid}").json()["authenticationKey"] == "testkey1"
        ali = alibaba_client(sandbox)
        assert create_group(ali, client_token="tok-restart", auth_key="grp-key") == group_id
        assert describe_groups(ali).total_count == 1


def test_status_is_derived_from_timestamps_across_restart(tmp_path: Path, seed: Seed) -> None:
    """docs/sandbox.md (Persistence): statuses come from created_at + delay, so a stopped sandbox still
    "provisions"."""
    data = tmp_path / "sandbox.json"
    with Sandbox(seed, config=SandboxConfig(provision_delay=0.3), data_file=data) as sandbox:
        uuid = Equinix(sandbox).create()
        assert sandbox.objects().equinix_bgp[uuid]["provisioningStatus"] == "PROVISIONING"
    time.sleep(0.35)
    with Sandbox(seed, data_file=data) as sandbox:
        assert sandbox.objects().equinix_bgp[uuid]["provisioningStatus"] == "PROVISIONED"


def test_log_is_append_only_and_compacted_at_stop(tmp_path: Path, seed: Seed) -> None:
    """docs/sandbox.md (Persistence): one log line per change (no snapshot rewrite per request);
    snapshot + empty log after stop."""
    data = tmp_path / "sandbox.json"
    log = tmp_path / "sandbox.json.log"
    with Sandbox(seed, data_file=data) as sandbox:
        snapshot = data.read_bytes()
        assert log.stat().st_size == 0  # the seed was compacted into the snapshot at start
        eq = Equinix(sandbox)
        for connection in PAGE_CONNECTIONS[:20]:
            eq.create(connectionUuid=connection)
        assert data.read_bytes() == snapshot
        lines = log.read_bytes().splitlines()
        assert len(lines) == 20
        assert {json.loads(line)["t"] for line in lines} == {"equinix_bgp"}
        assert oct(data.stat().st_mode & 0o777) == "0o600"  # BGP keys are in clear inside
    assert log.stat().st_size == 0
    tables = json.loads(data.read_bytes())["tables"]
    assert len(tables["equinix_bgp"]) == 20
    assert tables["equinix_bgp"][0]["authentication_key"] == "testkey1"


def test_kill_minus_nine_loses_no_acknowledged_change(tmp_path: Path) -> None:
    """docs/sandbox.md (Persistence): every mutation is durable before its response; `kill -9` loses
    nothing acknowledged."""
    seed_file = tmp_path / "seed.yaml"
    seed_file.write_text(SEED_YAML)
    data = tmp_path / "sandbox.json"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "sandbox", "serve", "--seed", str(seed_file), "--data", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        exports = _read_exports(process)
        http = httpx.Client(base_url=exports["EQUINIX_API_ENDPOINT"])
        token = http.post(
            "/oauth2/v1/token",
            json={"grant_type": "client_credentials", "client_id": "sandbox", "client_secret": "sandbox-secret"},
        ).json()["access_token"]
        acknowledged = []
        for connection in PAGE_CONNECTIONS[:10]:
            response = http.post(
                "/ne/v1/bgp",
                json={**BGP_BODY, "connectionUuid": connection},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 202
            acknowledged.append(response.json()["uuid"])
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    assert (tmp_path / "sandbox.json.log").stat().st_size > 0  # never compacted: the log holds the changes
    with Sandbox(Seed(), data_file=data) as sandbox:
        assert list(sandbox.objects().equinix_bgp) == acknowledged
        assert len(sandbox.objects().connections) == 36  # the seed survived too


def _read_exports(process: subprocess.Popen[str]) -> dict[str, str]:
    assert process.stdout is not None
    exports: dict[str, str] = {}
    deadline = time.monotonic() + 20
    while len(exports) < 6:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"sandbox exited early: {process.stderr.read() if process.stderr else ''}")
        if line.startswith("export "):
            name, _, value = line[len("export ") :].strip().partition("=")
            exports[name] = value
        if time.monotonic() > deadline:
            raise AssertionError("no banner from the sandbox")
    return exports


def test_torn_last_log_line_is_ignored(tmp_path: Path) -> None:
    """docs/sandbox.md (Persistence): a torn last log line (a crash mid-write, never acknowledged) is
    dropped."""
    data = tmp_path / "d.json"
    log = tmp_path / "d.json.log"
    record = EquinixBgp(status="PROVISIONED", created_at=1.0, uuid="u-1", connection_uuid="c-1")
    line = json.dumps({"t": "equinix_bgp", "k": "u-1", "v": dataclasses.asdict(record)})
    log.write_text(line + "\n" + '{"t": "equinix_bgp", "k": "u-2", "v": {"uu')
    store = Store(data)
    store.open()
    try:
        assert [r.uuid for r in store.values("equinix_bgp")] == ["u-1"]
        assert log.stat().st_size == 0
    finally:
        store.close()


def test_corrupt_files_are_reported(tmp_path: Path) -> None:
    """docs/sandbox.md (Persistence): bad data files are refused with the file (and line) named, not
    half-loaded."""
    data = tmp_path / "d.json"
    data.write_text("not json")
    with pytest.raises(SandboxError, match=r"d\.json: not a sandbox data file"):
        Store(data).open()
    data.write_text(json.dumps({"format": "something-else/9"}))
    with pytest.raises(SandboxError, match="expected format 'reconciler-sandbox/1'"):
        Store(data).open()
    data.unlink()
    (tmp_path / "d.json.log").write_text('garbage\n{"t": "vbrs", "k": "x", "del": true}\n')
    with pytest.raises(SandboxError, match=r"d\.json\.log:1: corrupt change log line"):
        Store(data).open()


def test_store_without_data_file_is_memory_only() -> None:
    """docs/sandbox.md (Persistence): without --data nothing touches the disk and sync is a no-op."""
    store = Store(None)
    store.open()
    with store.lock:
        ticket = store.put("equinix_bgp", EquinixBgp(status="PROVISIONED", created_at=0.0, uuid="u"))
    store.sync(ticket)
    assert ticket == 0
    assert store.count("equinix_bgp") == 1
    store.close()


def test_lag_deleted_peers_and_remembered_refusals_survive_a_restart(tmp_path: Path) -> None:
    """docs/sandbox.md (Persistence): read lag, `Deleted` peers, tombstones and remembered ClientToken
    refusals are stored as timestamps, so a restarted sandbox answers the same."""
    from alibabacloud_vpc20160428 import models as vpc

    from .conftest import SG, VBR_SG2, alibaba_client, create_group, create_peer, describe_peers, expect_error

    def vbr_sg2(extra: str) -> Seed:
        text = f"alibaba:\n  vbrs: [{{vbrId: {VBR_SG2}, regionId: {SG}, peerGatewayIp: 10.0.1.1{extra}}}]\n"
        return parse_seed_text(text, "vbr.yaml")

    data = tmp_path / "sandbox.json"
    config = SandboxConfig(alibaba_deleted_peer_linger=60, alibaba_token_remembers_refusals=True)
    with Sandbox(parse_seed_text(SEED_YAML, "seed.yaml"), config=config, data_file=data) as sandbox:
        sandbox.add_seed(vbr_sg2(", nqaQuotaExceeded: true"))
        ali = alibaba_client(sandbox)
        group_id = create_group(ali)
        expect_error(lambda: create_peer(ali, create_group(ali, vbr=VBR_SG2), client_token="t1"), "QuotaExceeded.Nqa")
        deleted = create_peer(ali, group_id, ip="10.0.0.5")
        gone = create_peer(ali, group_id, ip="10.0.0.6")
        ali.delete_bgp_peer(vpc.DeleteBgpPeerRequest(region_id=SG, bgp_peer_id=deleted))
        sandbox.configure(alibaba_read_lag=60, alibaba_deleted_peer_linger=0)
        ali.delete_bgp_peer(vpc.DeleteBgpPeerRequest(region_id=SG, bgp_peer_id=gone))
        hidden = create_peer(ali, group_id, ip="10.0.0.7")
        before = [(p.bgp_peer_id, p.status) for p in describe_peers(ali).bgp_peers.bgp_peer]
        assert before == [(deleted, "Deleted"), (gone, "Available")]
    with Sandbox(vbr_sg2(""), config=config, data_file=data) as sandbox:  # the quota is fixed now
        ali = alibaba_client(sandbox)
        assert [(p.bgp_peer_id, p.status) for p in describe_peers(ali).bgp_peers.bgp_peer] == before
        assert set(sandbox.objects().alibaba_peers) == {deleted, hidden}  # only reads lag
        group_sg2 = next(g for g, item in sandbox.objects().alibaba_groups.items() if item["RouterId"] == VBR_SG2)
        expect_error(lambda: create_peer(ali, group_sg2, client_token="t1"), "QuotaExceeded.Nqa")
        assert create_peer(ali, group_sg2, client_token="t2")
