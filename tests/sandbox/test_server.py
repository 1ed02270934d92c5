"""The Sandbox object: ports, lifecycle, env(), objects()."""

from __future__ import annotations

import socket

import pytest

from reconciler.sandbox import Sandbox, SandboxError, Seed


def test_each_sandbox_gets_fresh_ports(seed: Seed) -> None:
    """docs/cloud-apis.md, Alibaba §1 (the SDK's pool outlives a server): each sandbox gets fresh ports."""
    with Sandbox(seed) as first, Sandbox(seed) as second:
        ports = {first.equinix_url, second.equinix_url, first.alibaba_endpoint, second.alibaba_endpoint}
        assert len(ports) == 4
        assert first.alibaba_endpoint.startswith("127.0.0.1:")
        assert first.equinix_url.startswith("http://127.0.0.1:")


def test_env_points_both_providers_here(sandbox: Sandbox) -> None:
    """docs/architecture.md, Environment, and docs/sandbox.md (Running it: the default credentials)."""
    assert sandbox.env() == {
        "EQUINIX_API_ENDPOINT": sandbox.equinix_url,
        "EQUINIX_CLIENT_ID": "sandbox",
        "EQUINIX_CLIENT_SECRET": "sandbox-secret",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "sandbox-ak",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "sandbox-secret",
        "ALIBABA_CLOUD_VPC_ENDPOINT": sandbox.alibaba_endpoint,
    }


def test_lifecycle_errors(seed: Seed) -> None:
    """docs/sandbox.md (Running it): start/stop misuse is a clear error; stop is idempotent."""
    sandbox = Sandbox(seed)
    with pytest.raises(SandboxError, match="not running"):
        sandbox.request_counts()
    sandbox.start()
    with pytest.raises(SandboxError, match="already running"):
        sandbox.start()
    sandbox.stop()
    sandbox.stop()  # twice is fine


def test_port_in_use_is_a_clear_error(seed: Seed) -> None:
    """docs/sandbox.md (Running it: `reconciler sandbox serve --alibaba-port N`): a busy port is named."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        with pytest.raises(SandboxError, match=f"--alibaba-port {port}: cannot listen on 127.0.0.1:{port}"):
            Sandbox(seed, alibaba_port=port).start()
    finally:
        busy.close()


def test_fixed_ports_are_honoured(seed: Seed) -> None:
    """docs/sandbox.md (Running it: `reconciler sandbox serve --equinix-port N`)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with Sandbox(seed, equinix_port=port) as sandbox:
        assert sandbox.equinix_url == f"http://127.0.0.1:{port}"


def test_objects_snapshot_is_read_only(sandbox: Sandbox) -> None:
    """docs/sandbox.md: objects() is a read-only snapshot."""
    objects = sandbox.objects()
    with pytest.raises(TypeError):
        objects.devices["x"] = {}  # type: ignore[index]
    assert objects.counts() == {"equinix_bgp": 0, "alibaba_groups": 0, "alibaba_peers": 0}
