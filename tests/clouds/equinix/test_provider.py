"""The Equinix client over real HTTP against the sandbox."""

from __future__ import annotations

import contextlib
import gc
import gzip
import http.server
import json
import math
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from reconciler.clouds.base import Busy, Desired, ObjectRef, ProviderOptions, RefreshScope
from reconciler.clouds.equinix.configs import live_object
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING
from reconciler.clouds.equinix.provider import EquinixProvider
from reconciler.clouds.equinix.scope import EquinixScope
from reconciler.errors import ProviderError
from reconciler.model import SecretValue
from reconciler.sandbox import Sandbox, SandboxConfig, Seed
from tests.clouds.conftest import DEVICE, EQUINIX_SECRET, FAST, Logs, connection_uuid, created, make_seed
from tests.clouds.settle import settle

KEY = "Sgkey123abc"


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A handler for a test server: it logs nothing, and sends whole bodies."""

    def send(self, status: int, data: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": content_type, **headers, "Content-Length": str(len(data))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


class TokenServingHandler(QuietHandler):
    """A bare Equinix stand-in: answers every POST with a token; tests add the GETs they need."""

    def reply(self, body: object) -> None:
        self.send(200, json.dumps(body).encode(), "application/json")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.reply({"access_token": "t", "token_timeout": "3600"})


@contextlib.contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A real HTTP server on a fresh port, answering with `handler`; its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def peering(i: int = 0, *, remote_asn: int = 45104, key: str | None = KEY) -> Desired:
    return Desired(
        kind=EQUINIX_PEERING,
        name=f"peering-{i}",
        attrs={
            "connectionUuid": connection_uuid(i),
            "localIpAddress": "10.0.0.1/30",
            "localAsn": 65010,
            "remoteIpAddress": "10.0.0.2",
            "remoteAsn": remote_asn,
        },
        secrets={"authenticationKey": SecretValue(key) if key else None},
    )


def configs_on(box: Sandbox, connection: str) -> list[dict[str, Any]]:
    return [dict(c) for c in box.objects().equinix_bgp.values() if c["connectionUuid"] == connection]


# -- OAuth2 ---------------------------------------------------------------------------------------


def test_token_is_renewed_before_it_expires(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    box = sandbox(equinix_token_timeout=2)  # the client renews 1 s before (half of a short lifetime)
    provider = equinix(box)
    provider.refresh(RefreshScope())
    provider.refresh(RefreshScope())
    time.sleep(1.1)
    provider.refresh(RefreshScope())
    counts = box.request_counts()
    assert counts["equinix POST /oauth2/v1/token"] == 2
    assert counts["equinix GET /ne/v1/bgp"] == 3  # never a 401 and a second try


def test_a_401_reauthenticates_once_and_retries(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    """The server forgets the cached token (as a restart does): a 401, one new login, one retry."""
    box = sandbox()
    provider = equinix(box)
    provider.create(peering(), "unused")
    # The sandbox keeps tokens in memory only; dropping them is exactly what its restart does.
    # (Re-binding the same port right after stop() is not reliable, so no real restart here.)
    box._running().equinix.tokens.clear()
    box.reset_request_counts()
    result = provider.refresh(RefreshScope())
    counts = box.request_counts()
    assert [o.attrs["connectionUuid"] for o in result.objects] == [connection_uuid(0)]
    assert counts == {"equinix GET /ne/v1/bgp": 2, "equinix POST /oauth2/v1/token": 1}


def test_a_refused_login_is_not_retried_and_names_the_variables(sandbox: Callable[..., Sandbox]) -> None:
    box = sandbox()
    env = {**box.env(), "EQUINIX_CLIENT_SECRET": "wrong-secret-value"}
    provider = EquinixProvider.from_env(env, FAST)
    try:
        for _ in range(3):
            with pytest.raises(ProviderError) as caught:
                provider.refresh(RefreshScope())
    finally:
        provider.close()
    text = str(caught.value)
    assert "EQUINIX_CLIENT_ID" in text and "EQUINIX_CLIENT_SECRET" in text
    assert caught.value.status in (400, 401)
    assert "wrong-secret-value" not in text
    # One login attempt for three calls: the account locks after 5 bad tries.
    assert box.request_counts()["equinix POST /oauth2/v1/token"] == 1


def test_missing_credentials_are_reported_at_first_use(sandbox: Callable[..., Sandbox]) -> None:
    box = sandbox()
    provider = EquinixProvider.from_env({"EQUINIX_API_ENDPOINT": box.equinix_url}, FAST)
    with pytest.raises(ProviderError) as caught:
        provider.refresh(RefreshScope())
    provider.close()
    assert "EQUINIX_CLIENT_ID and EQUINIX_CLIENT_SECRET" in str(caught.value)
    assert box.request_counts() == {}


# -- paging -----------------------------------------------------------------------------------


def populate(box: Sandbox, provider: EquinixProvider, n: int) -> list[str]:
    return [created(provider.create(peering(i), "unused")) for i in range(n)]


def test_paging_with_a_capped_limit_sees_every_config_once(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    box = sandbox(make_seed(connections=23), equinix_list_limit_cap=7)
    provider = equinix(box)
    created = populate(box, provider, 23)
    box.reset_request_counts()
    result = provider.refresh(RefreshScope())
    ids = [o.cloud_id for o in result.objects]
    assert sorted(ids) == sorted(created) and len(ids) == 23
    # Asked for 100 a page, got 7: the lower bound ceil(23 / 7) = 4 pages, no more.
    assert box.request_counts() == {"equinix GET /ne/v1/bgp": math.ceil(23 / 7)}
    assert result.api_calls == {"GET /ne/v1/bgp": 4}


def test_a_refresh_without_extras_lists_the_same_objects_with_no_info(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    # A plan reads no extras; the device a config is on stays for those that ask (drift, graph).
    box = sandbox(make_seed(connections=3))
    provider = equinix(box)
    populate(box, provider, 3)
    full = provider.refresh(RefreshScope())
    bare = provider.refresh(RefreshScope(extras=False))
    assert all(o.info.get("virtualDeviceUuid") for o in full.objects) and len(full.objects) == 3
    assert [(o.cloud_id, o.attrs, o.status) for o in bare.objects] == [
        (o.cloud_id, o.attrs, o.status) for o in full.objects
    ]
    assert all(dict(o.info) == {} for o in bare.objects)


def test_a_refresh_keeps_no_page_body_for_the_cycle_collector(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    # A plan runs with the cycle collector off (reconciler/collector.py): what a page's response
    # holds must be freed by reference counting alone, or every body would stay to the end.
    box = sandbox(make_seed(connections=5), equinix_list_limit_cap=2)
    provider = equinix(box)
    populate(box, provider, 5)
    gc.collect()
    gc.disable()
    try:
        assert len(provider.refresh(RefreshScope()).objects) == 5
        kept = 0
        for thing in gc.get_objects():  # what is tracked, unreachable cycles included
            if isinstance(thing, httpx.Response):
                with contextlib.suppress(httpx.ResponseNotRead):
                    kept += len(thing.content)
    finally:
        gc.enable()
    assert kept == 0


def test_refresh_lists_by_connection_when_that_is_cheaper(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    box = sandbox(make_seed(connections=30), equinix_list_limit_cap=5)
    provider = equinix(box)
    created = populate(box, provider, 30)
    box.reset_request_counts()
    # The scope names the connection of a declared peering and of a recorded one; state ids are
    # shared by both clouds (the other cloud's one is not this provider's business).
    scope = EquinixScope(
        connections=frozenset({connection_uuid(20), connection_uuid(25)}),
        ids=frozenset({created[25], "bgpg-t4nexample0000000000001"}),
    )
    result = provider.refresh(scope)
    # First page (5 of 30) + the two connections' lists = 3 list calls, instead of 6 unfiltered
    # pages; never a read by id.
    assert {o.cloud_id for o in result.objects} == {created[20], created[25]}
    assert result.api_calls == {"GET /ne/v1/bgp": 3}


def test_poll_reads_few_objects_by_id_and_many_by_list(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    box = sandbox(make_seed(connections=12))
    provider = equinix(box)
    created = populate(box, provider, 12)
    refs = [ObjectRef(EQUINIX_PEERING, c, None) for c in created]
    box.reset_request_counts()
    few = provider.poll([*refs[:3], ObjectRef(EQUINIX_PEERING, "00000000-dead-4000-8000-000000000000", None)])
    assert box.request_counts() == {"equinix GET /ne/v1/bgp/{uuid}": 4}
    assert [few[r.cloud_id].status for r in refs[:3]] == ["ready"] * 3  # type: ignore[union-attr]
    assert few["00000000-dead-4000-8000-000000000000"] is None
    box.reset_request_counts()
    many = provider.poll(refs)
    assert box.request_counts() == {"equinix GET /ne/v1/bgp": 1}
    assert set(many) == set(created) and all(v is not None for v in many.values())


# -- errors and retries ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["object", "array"])
def test_both_error_shapes_become_a_provider_error(
    shape: str, sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    box = sandbox(equinix_error_shape=shape)
    provider = equinix(box)
    cloud_id = created(provider.create(peering(), "unused"))
    bad = Desired(EQUINIX_PEERING, "peering-0", {**peering().attrs, "remoteIpAddress": "10.9.9.9"}, peering().secrets)
    with pytest.raises(ProviderError) as caught:
        provider.update(ObjectRef(EQUINIX_PEERING, cloud_id, None), bad, ["remoteIpAddress"], "unused")
    error = caught.value
    assert error.status == 400
    assert error.codes and all(code.startswith("IC-NE-") for code in error.codes)
    assert "remoteIpAddress" in error.properties
    assert "HTTP 400" in str(error) and "PUT /ne/v1/bgp/{uuid}" in str(error)
    assert KEY not in str(error)


@pytest.fixture
def html_gateway() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server that answers everything with an HTML 502, like a broken gateway."""
    seen: list[str] = []

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            seen.append(self.path)
            self.send(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")

    with serving(Handler) as url:
        yield url, seen


@pytest.fixture
def hiccup_server() -> Iterator[tuple[str, list[int]]]:
    """A real HTTP server holding 20 configs that caps `limit` at 7 and, once, answers the page at
    offset 7 short (3 items): what the sandbox cannot be made to do on purpose."""
    offsets: list[int] = []
    items = [
        {
            "uuid": f"cfg-{i:02d}",
            "connectionUuid": connection_uuid(i),
            "localIpAddress": "10.0.0.1/30",
            "localAsn": 65010,
            "remoteIpAddress": "10.0.0.2",
            "remoteAsn": 45104,
            "provisioningStatus": "PROVISIONED",
        }
        for i in range(20)
    ]

    class Handler(TokenServingHandler):
        def do_GET(self) -> None:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            offset, limit = int(query["offset"][0]), min(int(query["limit"][0]), 7)
            offsets.append(offset)
            size = 3 if offset == 7 and offsets.count(7) == 1 else limit
            self.reply(
                {
                    "pagination": {"offset": offset, "limit": limit, "total": len(items)},
                    "data": items[offset : offset + size],
                }
            )

    with serving(Handler) as url:
        yield url, offsets


def test_a_short_page_makes_paging_continue_from_where_it_stopped(hiccup_server: tuple[str, list[int]]) -> None:
    url, offsets = hiccup_server
    env = {"EQUINIX_API_ENDPOINT": url, "EQUINIX_CLIENT_ID": "me", "EQUINIX_CLIENT_SECRET": EQUINIX_SECRET}
    provider = EquinixProvider.from_env(env, FAST)
    result = provider.refresh(RefreshScope())
    provider.close()
    ids = [o.cloud_id for o in result.objects]
    assert sorted(ids) == [f"cfg-{i:02d}" for i in range(20)]  # every config once, none skipped
    # First page, then offsets 7 and 14 concurrently; 7 came back short (3), so on from 10.
    assert offsets[0] == 0 and sorted(offsets[1:3]) == [7, 14] and offsets[3:] == [10, 17]


def test_a_compressed_page_is_read_once_decompressed() -> None:
    # The client reads each body from the stream as it came and lets httpx decode it once.
    page = {
        "pagination": {"offset": 0, "limit": 100, "total": 1},
        "data": [{"uuid": "cfg-00", "connectionUuid": connection_uuid(0), "provisioningStatus": "PROVISIONED"}],
    }

    class Handler(TokenServingHandler):
        def do_GET(self) -> None:
            self.send(200, gzip.compress(json.dumps(page).encode()), "application/json", **{"Content-Encoding": "gzip"})

    with serving(Handler) as url:
        env = {"EQUINIX_API_ENDPOINT": url, "EQUINIX_CLIENT_ID": "me", "EQUINIX_CLIENT_SECRET": EQUINIX_SECRET}
        provider = EquinixProvider.from_env(env, FAST)
        result = provider.refresh(RefreshScope())
        provider.close()
    assert [(o.cloud_id, o.attrs["connectionUuid"]) for o in result.objects] == [("cfg-00", connection_uuid(0))]


def test_a_non_json_error_body_is_reported_readably(html_gateway: tuple[str, list[str]]) -> None:
    url, seen = html_gateway
    env = {"EQUINIX_API_ENDPOINT": url, "EQUINIX_CLIENT_ID": "me", "EQUINIX_CLIENT_SECRET": EQUINIX_SECRET}
    provider = EquinixProvider.from_env(env, ProviderOptions(max_retries=2, backoff_base=0.001, backoff_max=0.01))
    with pytest.raises(ProviderError) as caught:
        provider.refresh(RefreshScope())
    provider.close()
    assert caught.value.status == 502 and caught.value.retryable
    assert "502 Bad Gateway" in str(caught.value)
    assert len(seen) == 3  # the first try and two retries of the login, then it gives up


def test_server_errors_are_retried_until_they_succeed(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider], debug_logs: Logs
) -> None:
    box = sandbox(make_seed(connections=9), equinix_list_limit_cap=3)
    provider = equinix(box)
    created = populate(box, provider, 9)
    box.configure(random_seed=11, equinix={"error_rate": 0.5})
    box.reset_request_counts()
    debug_logs.clear()
    logs = debug_logs
    result = provider.refresh(RefreshScope())
    assert sorted(o.cloud_id for o in result.objects) == sorted(created)
    server_seen = box.request_counts()["equinix GET /ne/v1/bgp"]
    retries = [e for e in logs if e["event"] == "api.retry"]
    assert server_seen == 3 + len(retries) > 3  # 3 pages, plus one request per retry
    assert result.api_calls == {"GET /ne/v1/bgp": server_seen}


def test_throttling_waits_what_retry_after_says(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider], debug_logs: Logs
) -> None:
    box = sandbox()
    provider = equinix(box)
    provider.refresh(RefreshScope())
    box.configure(equinix={"throttle_rps": 2.0})
    debug_logs.clear()
    logs = debug_logs
    for _ in range(4):
        provider.refresh(RefreshScope())
    waits = [e["wait"] for e in logs if e["event"] == "api.retry"]
    assert waits and all(w == 1.0 for w in waits)  # the sandbox sends `Retry-After: 1`
    assert all("429" in e["error"] for e in logs if e["event"] == "api.retry")


# -- create, adopt, delete --------------------------------------------------------------------


def test_a_dropped_post_is_adopted_not_repeated(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider], debug_logs: Logs
) -> None:
    box = sandbox(equinix={"drop_rate": 1.0}, equinix_read_lag=0.3)
    provider = equinix(box)
    debug_logs.clear()
    logs = debug_logs
    cloud_id = created(provider.create(peering(), "unused"))
    configs = configs_on(box, connection_uuid(0))
    assert [c["uuid"] for c in configs] == [cloud_id]  # exactly one: adopted, not duplicated
    assert box.request_counts()["equinix POST /ne/v1/bgp"] == 1
    assert [e["uuid"] for e in logs if e["event"] == "equinix.adopted_after_ambiguous_create"] == [cloud_id]


def test_create_adopts_an_existing_config_and_updates_it(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    box = sandbox()
    first = created(equinix(box).create(peering(remote_asn=45104), "unused"))
    box.reset_request_counts()
    again = created(equinix(box).create(peering(remote_asn=64999, key=None), "unused"))
    assert again == first
    counts = box.request_counts()
    assert "equinix POST /ne/v1/bgp" not in counts and counts["equinix PUT /ne/v1/bgp/{uuid}"] == 1
    [config] = configs_on(box, connection_uuid(0))
    assert config["remoteAsn"] == 64999 and not config.get("authenticationKey")


def test_create_answers_busy_for_a_provisioning_config_then_updates_it(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    """Adopting a config that must change while it is still PROVISIONING: nothing is sent, the
    answer is Busy waiting for that config, and the same call updates it once it settled."""
    box = sandbox(provision_delay=0.3)
    provider = equinix(box)
    first = created(provider.create(peering(remote_asn=45104), "unused"))  # PROVISIONING for 0.3 s
    ref = ObjectRef(EQUINIX_PEERING, first, None)
    busy = provider.create(peering(remote_asn=64998), "unused")
    assert isinstance(busy, Busy) and busy.wait_for == ref
    assert "PROVISIONING" in busy.reason and KEY not in busy.reason
    assert "equinix PUT /ne/v1/bgp/{uuid}" not in box.request_counts()
    settle(provider, [ref])
    assert provider.create(peering(remote_asn=64998), "unused") == first
    [config] = configs_on(box, connection_uuid(0))
    assert config["remoteAsn"] == 64998


def test_update_of_a_provisioning_config_answers_busy_at_once(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    """A PUT refused while the config is still PROVISIONING changed nothing: Busy, waiting for the
    config, without blocking; the same call succeeds once it settled."""
    box = sandbox(provision_delay=1.0)
    provider = equinix(box)
    cloud_id = created(provider.create(peering(remote_asn=45104), "unused"))
    ref = ObjectRef(EQUINIX_PEERING, cloud_id, None)
    started = time.monotonic()
    busy = provider.update(ref, peering(remote_asn=64997), ["remoteAsn"], "unused")
    assert isinstance(busy, Busy) and busy.wait_for == ref
    assert time.monotonic() - started < 0.9  # answered before the config settled
    assert "PROVISIONING" in busy.reason and KEY not in busy.reason
    assert box.request_counts()["equinix PUT /ne/v1/bgp/{uuid}"] == 1  # the refused one
    [config] = configs_on(box, connection_uuid(0))
    assert config["remoteAsn"] == 45104 and config["provisioningStatus"] == "PROVISIONING"
    settle(provider, [ref])
    assert provider.update(ref, peering(remote_asn=64997), ["remoteAsn"], "unused") is None
    assert settle(provider, [ref])[cloud_id].attrs["remoteAsn"] == 64997  # type: ignore[union-attr]


def test_update_of_a_pending_update_config_answers_busy(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    box = sandbox()
    provider = equinix(box)
    cloud_id = created(provider.create(peering(remote_asn=45104), "unused"))
    ref = ObjectRef(EQUINIX_PEERING, cloud_id, None)
    box.configure(provision_delay=1.0)
    assert provider.update(ref, peering(remote_asn=64996), ["remoteAsn"], "unused") is None  # PENDING_UPDATE now
    busy = provider.update(ref, peering(remote_asn=64995), ["remoteAsn"], "unused")
    assert isinstance(busy, Busy) and busy.wait_for == ref and "PENDING_UPDATE" in busy.reason
    settle(provider, [ref])
    assert provider.update(ref, peering(remote_asn=64995), ["remoteAsn"], "unused") is None
    assert settle(provider, [ref])[cloud_id].attrs["remoteAsn"] == 64995  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("seed_change", "expected"),
    [
        ({"device_status": "PROVISIONING"}, "virtual device sg-ne1 (" + DEVICE + ") is PROVISIONING"),
        ({"license_status": "APPLYING_LICENSE"}, "has license status APPLYING_LICENSE"),
        ({"connection_state": "PENDING"}, f"Fabric connection {connection_uuid(0)} is PENDING"),
    ],
)
def test_prerequisite_failures_name_the_object_and_its_status(
    seed_change: dict[str, str], expected: str, sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    box = sandbox(make_seed(**seed_change))  # type: ignore[arg-type]
    with pytest.raises(ProviderError) as caught:
        equinix(box).create(peering(), "unused")
    assert expected in str(caught.value)
    assert "equinix POST /ne/v1/bgp" not in box.request_counts()


@pytest.mark.parametrize("state", ["PROVISIONING", "REPROVISIONING"])
def test_a_connection_on_its_way_answers_busy_and_nothing_is_posted(
    state: str, sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    """Every documented Fabric state is understood: one that becomes ready by itself is "not now"."""
    box = sandbox(make_seed(connection_state=state))
    busy = equinix(box).create(peering(), "unused")
    assert isinstance(busy, Busy) and state in busy.reason and busy.retry_after >= 10
    assert "equinix POST /ne/v1/bgp" not in box.request_counts()


def test_forbidden_prerequisite_reads_are_warned_about_once_and_the_post_decides(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider], debug_logs: Logs
) -> None:
    """Credentials for Network Edge only may not read Fabric connections or devices (403): that
    is advice lost, not a failure (docs/cloud-apis.md, Equinix §9)."""
    box = sandbox(make_seed(connections=2), equinix_prerequisite_reads="forbidden")
    provider = equinix(box)
    debug_logs.clear()
    logs = debug_logs
    first = created(provider.create(peering(0), "unused"))
    second = created(provider.create(peering(1), "unused"))
    assert set(box.objects().equinix_bgp) == {first, second}
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert [e["operation"] for e in warnings] == ["GET /fabric/v4/connections/{uuid}"]  # once, not per create
    assert EQUINIX_SECRET not in str(logs)


def test_prerequisite_lookups_are_cached_per_provider(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    box = sandbox(make_seed(connections=3))
    populate(box, equinix(box), 3)
    counts = box.request_counts()
    assert counts["equinix GET /ne/v1/devices/{uuid}"] == 1
    # The first connection is read, and its device's search answers for the other two.
    assert counts["equinix GET /fabric/v4/connections/{connectionId}"] == 1
    assert counts["equinix POST /fabric/v4/connections/search"] == 1


def test_creates_on_one_device_read_its_connections_in_search_pages(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    """One GET per create made N creates cost N connection reads: a search of the device's
    connections, 100 a page, answers them all."""
    box = sandbox(make_seed(connections=250))
    provider = equinix(box)
    box.reset_request_counts()
    populate(box, provider, 250)
    counts = box.request_counts()
    assert counts["equinix POST /ne/v1/bgp"] == 250
    assert counts["equinix GET /fabric/v4/connections/{connectionId}"] == 1
    assert counts["equinix POST /fabric/v4/connections/search"] == 3  # 100 + 100 + 50
    assert counts["equinix GET /ne/v1/devices/{uuid}"] == 1


def test_a_connection_the_search_shows_not_ready_is_read_again_at_its_create(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    """The search only vouches for ready connections: one still provisioning is read at its own
    create (and answers Busy), while a ready one of the same search is not read again."""
    seed = make_seed(connections=3).to_mapping()
    seed["equinix"]["connections"][1]["state"] = "PROVISIONING"
    box = sandbox(Seed.from_mapping(seed))
    provider = equinix(box)
    created(provider.create(peering(0), "unused"))
    box.reset_request_counts()
    busy = provider.create(peering(1), "unused")
    assert isinstance(busy, Busy) and "PROVISIONING" in busy.reason
    assert box.request_counts() == {"equinix GET /fabric/v4/connections/{connectionId}": 1}
    created(provider.create(peering(2), "unused"))  # ready in the search: no read of its own
    assert box.request_counts()["equinix GET /fabric/v4/connections/{connectionId}"] == 1


def test_delete_of_a_gone_config_succeeds_and_of_a_live_one_explains(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    box = sandbox()
    provider = equinix(box)
    provider.delete(ObjectRef(EQUINIX_PEERING, "00000000-dead-4000-8000-000000000000", None), "unused")
    cloud_id = created(provider.create(peering(), "unused"))
    with pytest.raises(ProviderError) as caught:
        provider.delete(ObjectRef(EQUINIX_PEERING, cloud_id, None), "unused")
    assert "no delete for BGP configs" in str(caught.value)


def test_poll_follows_provisioning_and_shows_a_failure(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    box = sandbox(make_seed(connections=2), provision_delay=0.2)
    provider = equinix(box)
    cloud_id = created(provider.create(peering(0), "unused"))
    settled = settle(provider, [ObjectRef(EQUINIX_PEERING, cloud_id, None)])
    assert settled[cloud_id] is not None and settled[cloud_id].raw_status == "PROVISIONED"  # type: ignore[union-attr]
    box.configure(equinix={"provision_failure_rate": 1.0})
    failing = created(provider.create(peering(1), "unused"))
    failed = settle(provider, [ObjectRef(EQUINIX_PEERING, failing, None)])[failing]
    assert failed is not None and failed.status == "failed" and failed.raw_status == "FAILED"


# -- normalisation and secrets ----------------------------------------------------------------


def test_string_typed_and_legacy_fields_are_normalised() -> None:
    live = live_object(
        {
            "uuid": "u-1",
            "connectionUUID": "80AFC8BE-0CE3-4950-BE27-3D3E678E6873",
            "localIpAddress": "10.0.0.1/30",
            "localAsn": "65010",
            "remoteAsn": "45104",
            "remoteIpAddress": "10.0.0.2",
            "authenticationKey": "",
            "provisioningStatus": "PENDING_UPDATE",
            "state": "Active",
        }
    )
    assert live is not None
    assert live.attrs == {
        "connectionUuid": "80afc8be-0ce3-4950-be27-3d3e678e6873",
        "localIpAddress": "10.0.0.1/30",
        "localAsn": 65010,
        "remoteIpAddress": "10.0.0.2",
        "remoteAsn": 45104,
    }
    assert live.status == "pending" and live.session == "Active"
    assert live.secrets == {"authenticationKey": None}
    assert live_object({"uuid": "u-2", "provisioningStatus": "DEPROVISIONED"}) is None


def test_no_secret_reaches_logs_or_error_text(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider], debug_logs: Logs
) -> None:
    box = sandbox(make_seed(connections=2), equinix={"drop_rate": 1.0})
    provider = equinix(box)
    errors: list[str] = []
    debug_logs.clear()
    logs = debug_logs
    cloud_id = created(provider.create(peering(0), "unused"))
    box.configure(equinix={"drop_rate": 0.0}, equinix_duplicate_post="reject")
    for attempt in (
        lambda: provider.update(
            ObjectRef(EQUINIX_PEERING, cloud_id, None),
            Desired(EQUINIX_PEERING, "p", {**peering().attrs, "remoteIpAddress": "1.2.3.4"}, peering().secrets),
            ["remoteIpAddress"],
            "unused",
        ),
        lambda: provider.create(
            Desired(EQUINIX_PEERING, "p", {**peering(1).attrs, "localAsn": 0}, peering(1).secrets), "unused"
        ),
    ):
        with pytest.raises(ProviderError) as caught:
            attempt()
        errors.append(str(caught.value))
        errors.append(repr(caught.value.messages))
    text = "\n".join(errors) + "\n" + repr(logs)
    assert logs and len(errors) == 4
    assert KEY not in text and EQUINIX_SECRET not in text
    live = provider.get(ObjectRef(EQUINIX_PEERING, cloud_id, None))
    assert live is not None and KEY not in repr(live)
    assert live.secrets["authenticationKey"] == SecretValue(KEY)  # compared in memory, never shown


def test_sandbox_config_defaults_this_suite_relies_on() -> None:
    config = SandboxConfig()
    assert config.equinix_client_secret == EQUINIX_SECRET
    assert config.equinix_duplicate_post == "reject"


def test_a_new_config_may_be_invisible_for_a_moment_after_the_post(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    box = sandbox(make_seed(connections=2), equinix_read_lag=0.3)  # new configs stay invisible 0.3 s
    provider = equinix(box)
    cloud_id = created(provider.create(peering(0), "unused"))
    ref = ObjectRef(EQUINIX_PEERING, cloud_id, None)
    assert provider.get(ref) is None  # the transient 404
    assert provider.poll([ref]) == {cloud_id: None}
    settled = settle(provider, [ref])
    assert settled[cloud_id] is not None and settled[cloud_id].status == "ready"  # type: ignore[union-attr]


# -- creates share their reads; polls keep to their own request budget ---------------------------


def test_creates_on_one_device_share_one_list_of_its_configs(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    """Two reads before every POST made an apply of N creates cost 3N calls: the device's list
    answers "has this connection a config?" for every create on the device."""
    box = sandbox(make_seed(connections=6))
    provider = equinix(box)
    box.reset_request_counts()
    populate(box, provider, 6)
    counts = box.request_counts()
    assert counts["equinix POST /ne/v1/bgp"] == 6
    assert counts["equinix GET /ne/v1/bgp"] == 1  # one list of the device, for all six
    assert "equinix GET /ne/v1/bgp/connection/{connectionUuid}" not in counts
    # The prerequisites stay: the first connection read, the device's search for the others.
    assert counts["equinix GET /fabric/v4/connections/{connectionId}"] == 1
    assert counts["equinix POST /fabric/v4/connections/search"] == 1


def test_a_config_made_after_the_device_list_is_adopted_once_the_list_is_old(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider], monkeypatch: pytest.MonkeyPatch
) -> None:
    box = sandbox(make_seed(connections=2))
    provider = equinix(box)
    created(provider.create(peering(0), "unused"))  # lists the device: connection 1 has no config
    by_hand = created(equinix(box).create(peering(1), "unused"))
    monkeypatch.setattr("reconciler.clouds.equinix.provider.DEVICE_LIST_MAX_AGE", 0.0)
    box.reset_request_counts()
    assert provider.create(peering(1), "unused") == by_hand  # adopted, not posted again
    assert "equinix POST /ne/v1/bgp" not in box.request_counts()
    assert [c["uuid"] for c in configs_on(box, connection_uuid(1))] == [by_hand]


def test_a_connection_asked_about_again_is_looked_up_itself(
    sandbox: Callable[..., Sandbox], equinix: Callable[..., EquinixProvider]
) -> None:
    """A create called again (after Busy) must see what happened on its connection since the
    device's list: here a config made meanwhile, which the list cannot show yet."""
    box = sandbox(make_seed(connections=2))
    provider = equinix(box)
    created(provider.create(peering(0), "unused"))
    box.reset_request_counts()
    first = created(provider.create(peering(0, remote_asn=64999), "unused"))  # same connection, again
    counts = box.request_counts()
    assert "equinix POST /ne/v1/bgp" not in counts and counts["equinix PUT /ne/v1/bgp/{uuid}"] == 1
    assert counts["equinix GET /ne/v1/bgp/connection/{connectionUuid}"] == 1
    assert [c["uuid"] for c in configs_on(box, connection_uuid(0))] == [first]


@pytest.fixture
def held_reads() -> Iterator[tuple[str, threading.Event, threading.Event]]:
    """A real HTTP server whose reads of one config wait until the test lets them go: (url, the
    event set once such a read arrived, the event that lets it go)."""
    arrived, release = threading.Event(), threading.Event()
    item = {
        "uuid": "cfg-held",
        "connectionUuid": connection_uuid(0),
        "localIpAddress": "10.0.0.1/30",
        "localAsn": 65010,
        "remoteIpAddress": "10.0.0.2",
        "remoteAsn": 45104,
        "provisioningStatus": "PROVISIONING",
    }

    class Handler(TokenServingHandler):
        def do_GET(self) -> None:
            if self.path.endswith("/cfg-held"):
                arrived.set()
                release.wait(WAIT * 3)  # longer than the test waits for the call
            self.reply(item)

    with serving(Handler) as url:
        yield url, arrived, release
        release.set()


WAIT = 20.0  # seconds: a generous deadline for what should happen at once


def test_a_poll_in_flight_never_holds_a_request_slot_a_call_needs(
    held_reads: tuple[str, threading.Event, threading.Event],
) -> None:
    """With one request slot, a settle poll still in flight must not keep a call waiting: polls
    have a budget of their own."""
    url, arrived, release = held_reads
    env = {"EQUINIX_API_ENDPOINT": url, "EQUINIX_CLIENT_ID": "me", "EQUINIX_CLIENT_SECRET": EQUINIX_SECRET}
    fast = {f: getattr(FAST, f) for f in FAST.__dataclass_fields__}
    # One request slot, and no request timeout that would free it while the poll is held.
    options = ProviderOptions(**{**fast, "max_in_flight": 1, "request_timeout": WAIT * 4})
    provider = EquinixProvider.from_env(env, options)
    polling = threading.Thread(target=provider.poll, args=([ObjectRef(EQUINIX_PEERING, "cfg-held", None)],))
    polling.start()
    try:
        assert arrived.wait(WAIT), "the poll never reached the server"
        call = threading.Thread(target=provider.get, args=(ObjectRef(EQUINIX_PEERING, "cfg-other", None),))
        call.start()
        call.join(WAIT)  # returns at once when the poll holds no slot of the calls
        assert not call.is_alive(), "the call waited for the poll"
    finally:
        release.set()
        polling.join(WAIT)
        provider.close()


@pytest.mark.parametrize(
    ("endpoint", "verified"), [("https://api.equinix.example", True), ("http://127.0.0.1:9", False)]
)
def test_certificates_are_checked_on_every_https_endpoint(endpoint: str, verified: bool) -> None:
    import ssl

    provider = EquinixProvider(endpoint, "client-id", SecretValue("not-a-real-secret"), ProviderOptions())
    try:
        context = provider._http._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert (context.verify_mode == ssl.CERT_REQUIRED) is verified
        assert context.check_hostname is verified
    finally:
        provider.close()
