"""The Alibaba client (official SDK) over real HTTP against the sandbox."""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER
from reconciler.clouds.alibaba.provider import AlibabaProvider, endpoint_and_protocol, group_object, peer_object
from reconciler.clouds.alibaba.scope import AlibabaScope
from reconciler.clouds.base import Busy, Desired, ObjectRef
from reconciler.errors import ProviderError
from reconciler.model import SecretValue
from reconciler.sandbox import Sandbox, Seed
from tests.clouds.conftest import FAST, OTHER_REGION, REGION, Logs, created, make_seed, vbr_id
from tests.clouds.settle import settle

AUTH_KEY = "AliKey9secret"


def group(
    name: str = "sg-vbr1", *, vbr: str | None = None, region: str = REGION, key: str | None = AUTH_KEY, **attrs: object
) -> Desired:
    return Desired(
        kind=ALIBABA_GROUP,
        name=name,
        attrs={
            "regionId": region,
            "virtualBorderRouterId": vbr or vbr_id(0, 0),
            "name": name,
            "peerAsn": 65010,
            **attrs,
        },
        secrets={"authKey": SecretValue(key) if key else None},
    )


def peer(group_id: str, ip: str = "10.0.0.2", *, region: str = REGION, **attrs: object) -> Desired:
    return Desired(
        kind=ALIBABA_PEER,
        name=f"peer-{ip}",
        attrs={
            "regionId": region,
            "bgpGroupId": group_id,
            "peerIpAddress": ip,
            "enableBfd": True,
            "bfdMultiHop": 1,
            **attrs,
        },
    )


def gref(cloud_id: str, region: str = REGION) -> ObjectRef:
    return ObjectRef(ALIBABA_GROUP, cloud_id, region)


def pref(cloud_id: str, region: str = REGION) -> ObjectRef:
    return ObjectRef(ALIBABA_PEER, cloud_id, region)


# -- idempotent creates -----------------------------------------------------------------------


def test_a_dropped_create_rerun_with_the_same_token_gives_the_same_group(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox(alibaba={"drop_rate": 1.0})
    provider = alibaba(box, max_retries=1)
    with pytest.raises(ProviderError) as caught:
        provider.create(group(), "lineage-1/AlibabaBgpGroup/sg-vbr1/create/3")
    assert caught.value.retryable and "network error" in str(caught.value)
    created = list(box.objects().alibaba_groups)
    assert len(created) == 1  # the first attempt was carried out; the retry (same token) changed nothing
    box.configure(alibaba={"drop_rate": 0.0})
    again = alibaba(box).create(group(), "lineage-1/AlibabaBgpGroup/sg-vbr1/create/3")  # e.g. after a crash
    assert again == created[0]
    assert list(box.objects().alibaba_groups) == created
    assert box.request_counts()["alibaba CreateBgpGroup"] == 3


def test_retries_after_dropped_replies_resend_the_same_token(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox(random_seed=3, alibaba={"drop_rate": 0.6})
    provider = alibaba(box)
    group_id = created(provider.create(group(), "token-group"))
    peer_id = created(provider.create(peer(group_id), "token-peer"))
    objects = box.objects()
    assert list(objects.alibaba_groups) == [group_id] and list(objects.alibaba_peers) == [peer_id]
    counts = box.request_counts()
    assert counts["alibaba CreateBgpGroup"] + counts["alibaba CreateBgpPeer"] > 2  # some replies were lost


def test_the_same_token_with_other_parameters_is_explained(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox()
    provider = alibaba(box)
    provider.create(group(), "token-1")
    with pytest.raises(ProviderError) as caught:
        provider.create(group(peerAsn=65011), "token-1")
    assert caught.value.codes == ("IdempotentParameterMismatch",)
    assert "run plan again" in str(caught.value)
    assert box.request_counts()["alibaba CreateBgpGroup"] == 2  # a validation error is never retried


# -- errors ---------------------------------------------------------------------------------------


def test_errors_carry_the_raw_code_and_message_and_a_sentence_to_act_on(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox()
    with pytest.raises(ProviderError) as caught:
        alibaba(box).create(group(peerAsn=45104), "token-asn")
    error = caught.value
    assert error.codes == ("InvalidPeerAsn.Malformed",)
    assert error.messages == ("invalid peer asn cannot equals aliyun asn:45104",)  # not "code: 400, ..."
    assert error.status == 400 and error.request_id and not error.retryable
    assert error.hint is not None and "peer ASN cannot be 45104, Alibaba's own ASN" in error.hint
    assert box.request_counts()["alibaba CreateBgpGroup"] == 1


def test_local_asn_is_sent_only_when_it_is_not_alibabas(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox(alibaba_custom_local_asn=False)  # like a public account
    provider = alibaba(box)
    group_id = created(provider.create(group(localAsn=45104), "token-a"))
    assert box.objects().alibaba_groups[group_id]["LocalAsn"] == "45104"
    with pytest.raises(ProviderError) as caught:
        provider.create(group("other", localAsn=65001), "token-b")
    assert caught.value.codes == ("OperationUnsupport",)
    assert "remove spec.localAsn" in str(caught.value)


def test_network_errors_are_retryable_and_never_show_the_key(debug_logs: Logs) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "ak",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "sandbox-secret",
        "ALIBABA_CLOUD_VPC_ENDPOINT": f"127.0.0.1:{port}",
    }
    provider = AlibabaProvider.from_env(env, FAST)
    debug_logs.clear()
    logs = debug_logs
    with pytest.raises(ProviderError) as caught:
        provider.create(group(), "token-net")
    text = f"{caught.value}\n{caught.value.messages}\n{logs}"
    assert caught.value.retryable and "network error" in str(caught.value)
    assert AUTH_KEY not in text and "sandbox-secret" not in text and "AuthKey=" not in text
    assert provider.api_calls() == {"CreateBgpGroup": FAST.max_retries + 1}


def test_server_errors_and_throttling_are_retried(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider], debug_logs: Logs
) -> None:
    box = sandbox(random_seed=5, alibaba={"error_rate": 0.5})
    provider = alibaba(box)
    group_id = created(provider.create(group(), "token-5xx"))
    assert list(box.objects().alibaba_groups) == [group_id]
    box.configure(alibaba={"error_rate": 0.0, "throttle_rps": 2.0}, alibaba_throttle_retry_after=True)
    debug_logs.clear()
    logs = debug_logs
    for _ in range(4):
        assert provider.get(gref(group_id)) is not None
    waits = [e["wait"] for e in logs if e["event"] == "api.retry"]
    assert waits and all(w == 1.0 for w in waits)  # x-acs-retry-after: 1000 (milliseconds)
    assert all("Throttling.User" in e["error"] for e in logs if e["event"] == "api.retry")


# -- reads ------------------------------------------------------------------------------------


def test_what_many_objects_report_alike_is_held_once() -> None:
    # Each item its own strings, as from its own reply: statuses, routers and absent keys are
    # held once for a refresh of thousands.
    def group_item(group_id: str) -> dict[str, Any]:
        return {
            "BgpGroupId": group_id,
            "RouterId": "".join(["vbr-", "1"]),
            "Name": "g",
            "PeerAsn": 65010,
            "Status": "".join(["Avail", "able"]),
            "Hold": "".join(["18", "0"]),
        }

    def peer_item(peer_id: str) -> dict[str, Any]:
        return {
            "BgpPeerId": peer_id,
            "BgpGroupId": "bgpg-1",
            "PeerIpAddress": "10.0.0.1",
            "Status": "".join(["Avail", "able"]),
            "BgpStatus": "".join(["Establish", "ed"]),
            "RouterId": "".join(["vbr-", "1"]),
        }

    one, other = group_object(group_item("bgpg-1"), REGION), group_object(group_item("bgpg-2"), REGION)
    assert one.raw_status is other.raw_status and one.info["hold"] is other.info["hold"]
    assert one.secrets is other.secrets and dict(one.secrets) == {"authKey": None}
    keyed = group_object({**group_item("bgpg-3"), "AuthKey": "k3y-value"}, REGION)
    assert keyed.secrets["authKey"] == SecretValue("k3y-value")
    first, second = peer_object(peer_item("bgp-1"), REGION), peer_object(peer_item("bgp-2"), REGION)
    assert first.raw_status is second.raw_status and first.session is second.session
    assert first.info["routerId"] is second.info["routerId"]
    # Ids are interned, as the state's records of them are: one string for both.
    assert peer_object(peer_item("".join(["bgp-", "1"])), REGION).cloud_id is first.cloud_id
    assert group_object(group_item("".join(["bgpg-", "1"])), REGION).cloud_id is one.cloud_id


def test_describe_fields_are_normalised_whatever_their_type() -> None:
    as_strings = group_object(
        {
            "BgpGroupId": "bgpg-1",
            "RegionId": REGION,
            "RouterId": "vbr-1",
            "Name": "g",
            "PeerAsn": "65010",
            "LocalAsn": "45104",
            "IsFake": "true",
            "IpVersion": "ipv4",
            "RouteLimit": "110",
            "AuthKey": "",
            "Status": "Pending",
        },
        REGION,
    )
    as_values = group_object(
        {
            "BgpGroupId": "bgpg-1",
            "RegionId": REGION,
            "RouterId": "vbr-1",
            "Name": "g",
            "PeerAsn": 65010,
            "LocalAsn": 45104,
            "IsFake": True,
            "IpVersion": "IPv4",
            "RouteLimit": 110,
            "AuthKey": "",
            "Status": "Pending",
        },
        REGION,
    )
    assert as_strings.attrs == as_values.attrs
    assert as_strings.attrs["peerAsn"] == 65010 and as_strings.attrs["isFakeAsn"] is True
    assert as_strings.secrets == {"authKey": None} and as_strings.status == "pending"
    live_peer = peer_object(
        {
            "BgpPeerId": "bgp-1",
            "BgpGroupId": "bgpg-1",
            "PeerIpAddress": "10.0.0.2",
            "EnableBfd": "false",
            "BfdMultiHop": 255,
            "BgpStatus": "",
            "Status": "Deleted",
            "IpVersion": "IPv4",
            "ReceivedRouteCount": 3,
        },
        REGION,
    )
    assert live_peer.attrs == {
        "regionId": REGION,
        "bgpGroupId": "bgpg-1",
        "peerIpAddress": "10.0.0.2",
        "enableBfd": False,
        "ipVersion": "IPv4",
    }
    assert live_peer.session is None and live_peer.status == "deleting"
    assert live_peer.info["receivedRouteCount"] == 3


def test_refresh_reads_every_region_in_the_fewest_pages(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox(make_seed(regions=(REGION, OTHER_REGION), vbrs_per_region=3))
    provider = alibaba(box)
    groups = {REGION: [], OTHER_REGION: []}  # type: dict[str, list[str]]
    peers = {REGION: [], OTHER_REGION: []}  # type: dict[str, list[str]]
    for r, (region, n_peers) in enumerate(((REGION, 23), (OTHER_REGION, 4))):
        for v in range(3):
            gid = created(provider.create(group(f"g{v}", vbr=vbr_id(r, v), region=region), f"t-{region}-{v}"))
            groups[region].append(gid)
        for i in range(n_peers):
            gid = groups[region][i // 8]
            peers[region].append(created(provider.create(peer(gid, f"10.0.{i}.2", region=region), f"p-{region}-{i}")))
    provider.page_size = 5
    box.reset_request_counts()
    result = provider.refresh(AlibabaScope(regions=frozenset({REGION, OTHER_REGION})))
    found = sorted(o.cloud_id for o in result.objects)
    assert found == sorted(groups[REGION] + groups[OTHER_REGION] + peers[REGION] + peers[OTHER_REGION])
    lower_bound = {"DescribeBgpGroups": 2 * math.ceil(3 / 5), "DescribeBgpPeers": math.ceil(23 / 5) + math.ceil(4 / 5)}
    assert result.api_calls == lower_bound
    assert box.request_counts() == {f"alibaba {op}": n for op, n in lower_bound.items()}
    only_groups = provider.refresh(AlibabaScope(regions=frozenset({REGION}), kinds=frozenset({ALIBABA_GROUP})))
    assert {o.kind for o in only_groups.objects} == {ALIBABA_GROUP}
    assert only_groups.api_calls == {"DescribeBgpGroups": 1}


def test_requests_in_flight_are_bounded_per_region_so_regions_are_read_side_by_side(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Alibaba's flow control counts requests per region: one region's requests must not wait for
    # another's slots, and none may take more than `max_in_flight` of its own.
    import threading

    box = sandbox(make_seed(regions=(REGION, OTHER_REGION), vbrs_per_region=1))
    provider = alibaba(box, max_in_flight=1)
    real_send = provider._send
    lock = threading.Lock()
    in_flight = {REGION: 0, OTHER_REGION: 0}
    most = dict(in_flight)
    entered = {REGION: threading.Event(), OTHER_REGION: threading.Event()}
    first: list[str] = []
    met: list[bool] = []

    def send(region: str, call: Callable[[], Any]) -> Any:
        with lock:
            in_flight[region] += 1
            most[region] = max(most[region], in_flight[region])
            leads = not first
            first.append(region)
        entered[region].set()
        try:
            if leads:  # the first request stays in flight until the other region has one too
                met.append(entered[OTHER_REGION if region == REGION else REGION].wait(10))
            return real_send(region, call)
        finally:
            with lock:
                in_flight[region] -= 1

    monkeypatch.setattr(provider, "_send", send)
    result = provider.refresh(AlibabaScope(regions=frozenset({REGION, OTHER_REGION})))
    assert result.objects == ()
    assert met == [True]  # both regions had a request in flight at once
    assert most == {REGION: 1, OTHER_REGION: 1}  # never two in one region


def test_a_refresh_without_extras_lists_the_same_objects_with_no_info(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    # A plan reads no extras (route counts, the router of a peer); drift and graph ask for them.
    box = sandbox(make_seed())
    provider = alibaba(box)
    gid = created(provider.create(group("g0"), "t-g0"))
    created(provider.create(peer(gid, "10.0.0.2"), "t-p0"))
    scope = AlibabaScope(regions=frozenset({REGION}))
    full = provider.refresh(scope)
    bare = provider.refresh(AlibabaScope(regions=frozenset({REGION}), extras=False))
    assert {o.kind: bool(o.info.get("hold")) for o in full.objects} == {ALIBABA_GROUP: True, ALIBABA_PEER: True}
    assert [(o.cloud_id, o.attrs, o.status) for o in bare.objects] == [
        (o.cloud_id, o.attrs, o.status) for o in full.objects
    ]
    assert all(dict(o.info) == {} for o in bare.objects)


def test_find_by_natural_key_and_poll(sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]) -> None:
    box = sandbox(make_seed(vbrs_per_region=2))
    provider = alibaba(box)
    g1 = created(provider.create(group("one"), "t1"))
    provider.create(group("one", vbr=vbr_id(0, 1)), "t2")  # same name, another VBR
    peer_ids = [created(provider.create(peer(g1, f"10.0.0.{i}"), f"p{i}")) for i in range(2, 9)]
    found = provider.find(ALIBABA_GROUP, group("one").attrs)
    assert found is not None and found.cloud_id == g1
    assert provider.find(ALIBABA_GROUP, group("two").attrs) is None
    found_peer = provider.find(ALIBABA_PEER, peer(g1, "10.0.0.5").attrs)
    assert found_peer is not None and found_peer.cloud_id == peer_ids[3]
    box.reset_request_counts()
    few = provider.poll([pref(p) for p in peer_ids[:3]])
    assert box.request_counts() == {"alibaba DescribeBgpPeers": 3}
    assert all(v is not None and v.status == "ready" for v in few.values())
    box.reset_request_counts()
    many = provider.poll([pref(p) for p in peer_ids] + [pref("bgp-gone000000000000000000")])
    assert box.request_counts() == {"alibaba DescribeBgpPeers": 1}
    assert many["bgp-gone000000000000000000"] is None and len(many) == 8


def test_poll_describes_by_id_when_that_takes_fewer_calls_than_the_regions_pages(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox(make_seed(vbrs_per_region=2))
    provider = alibaba(box)
    provider.page_size = 2
    groups = [created(provider.create(group("one", vbr=vbr_id(0, v)), f"t{v}")) for v in (0, 1)]  # 8 peers a VBR
    peer_ids = [created(provider.create(peer(groups[i % 2], f"10.0.{i % 2}.{i}"), f"p{i}")) for i in range(2, 16)]
    settle(provider, [pref(p) for p in peer_ids])
    scope = AlibabaScope(regions=frozenset({REGION}), kinds=frozenset({ALIBABA_PEER}))
    assert len(provider.refresh(scope).objects) == 14  # 7 pages of 2
    box.reset_request_counts()
    some = provider.poll([pref(p) for p in peer_ids[:6]])  # more than a few, fewer than 7 pages
    assert box.request_counts() == {"alibaba DescribeBgpPeers": 6}
    assert all(v is not None and v.status == "ready" for v in some.values())
    box.reset_request_counts()
    every = provider.poll([pref(p) for p in peer_ids])
    assert box.request_counts() == {"alibaba DescribeBgpPeers": 7}
    assert set(every) == set(peer_ids) and all(v is not None for v in every.values())


def test_poll_lists_a_region_whose_list_takes_one_page(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox(make_seed(vbrs_per_region=2))
    provider = alibaba(box)
    g1 = created(provider.create(group("one"), "t1"))
    peer_ids = [created(provider.create(peer(g1, f"10.0.0.{i}"), f"p{i}")) for i in range(2, 5)]
    settle(provider, [pref(p) for p in peer_ids])
    scope = AlibabaScope(regions=frozenset({REGION}), kinds=frozenset({ALIBABA_PEER}))
    assert len(provider.refresh(scope).objects) == 3  # one page
    box.reset_request_counts()
    one = provider.poll([pref(peer_ids[0])])
    assert box.request_counts() == {"alibaba DescribeBgpPeers": 1}
    assert one[peer_ids[0]] is not None
    box.reset_request_counts()
    two = provider.poll([pref(p) for p in peer_ids[:2]] + [pref("bgp-gone000000000000000000")])
    assert box.request_counts() == {"alibaba DescribeBgpPeers": 1}  # the page, not three reads
    assert two["bgp-gone000000000000000000"] is None
    assert all((obj := two[p]) is not None and obj.status == "ready" for p in peer_ids[:2])


# -- updates and deletes ----------------------------------------------------------------------


def test_update_sends_only_the_changed_fields(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox()
    provider = alibaba(box)
    group_id = created(provider.create(group(description="Before"), "t-create"))
    wanted = group(key=None, description="After", peerAsn=65099)
    provider.update(gref(group_id), wanted, ["description", "authKey"], "t-update")
    live = provider.get(gref(group_id))
    assert live is not None
    assert live.attrs["description"] == "After" and live.secrets["authKey"] is None  # ClearAuthKey
    assert live.attrs["peerAsn"] == 65010  # not in `changed`: untouched
    peer_id = created(provider.create(peer(group_id, enableBfd=False), "t-peer"))
    provider.update(pref(peer_id), peer(group_id, enableBfd=True, bfdMultiHop=3), ["enableBfd"], "t-bfd")
    live_peer = provider.get(pref(peer_id))
    assert live_peer is not None and live_peer.attrs["enableBfd"] is True and live_peer.attrs["bfdMultiHop"] == 3
    with pytest.raises(ProviderError, match="cannot change in place"):
        provider.update(gref(group_id), wanted, ["virtualBorderRouterId"], "t-bad")


def test_delete_of_a_gone_object_succeeds(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox()
    provider = alibaba(box)
    provider.delete(gref("bgpg-t4gone00000000000000000"), "t-1")
    provider.delete(pref("bgp-t4gone000000000000000000"), "t-2")
    group_id = created(provider.create(group(), "t-3"))
    provider.delete(gref(group_id), "t-4")
    provider.delete(gref(group_id), "t-5")  # already deleting (or gone): still a success
    assert settle(provider, [gref(group_id)], gone=True) == {group_id: None}


def test_a_group_delete_answers_busy_while_its_peers_are_deleting(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox(provision_delay=0.3)
    provider = alibaba(box)
    group_id = created(provider.create(group(), "t-g"))
    settle(provider, [gref(group_id)])
    peer_id = created(provider.create(peer(group_id), "t-p"))
    settle(provider, [pref(peer_id)])
    with pytest.raises(ProviderError) as blocked:
        provider.delete(gref(group_id), "t-del-early")
    assert f"still has peers {peer_id}" in str(blocked.value)
    assert provider.delete(pref(peer_id), "t-del-peer") is None  # Deleting for 0.3 s
    busy = provider.delete(gref(group_id), "t-del-group")
    assert isinstance(busy, Busy) and busy.wait_for == pref(peer_id)  # the one peer whose going unblocks it
    settle(provider, [pref(peer_id)], gone=True)
    assert provider.delete(gref(group_id), "t-del-group") is None  # the same call, once the peer is gone
    assert box.request_counts()["alibaba DeleteBgpGroup"] >= 3  # refused at least once while peers went
    settle(provider, [gref(group_id)], gone=True)
    assert box.objects().alibaba_groups == {}


def test_poll_shows_a_group_that_is_still_pending(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox(provision_delay=5.0)
    provider = alibaba(box)
    group_id = created(provider.create(group(), "t-slow"))
    live = provider.poll([gref(group_id)])[group_id]
    assert live is not None and (live.status, live.raw_status) == ("pending", "Pending")


# -- busy objects: Busy at once instead of waiting inside the call ---------------------------------


def test_a_modify_of_a_pending_group_answers_busy_then_succeeds(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox(provision_delay=1.0)
    provider = alibaba(box)
    group_id = created(provider.create(group(description="Before"), "t-create"))  # Pending for 1 s
    started = time.monotonic()
    busy = provider.update(gref(group_id), group(description="After"), ["description"], "t-modify")
    assert isinstance(busy, Busy) and busy.wait_for == gref(group_id)
    assert time.monotonic() - started < 0.9  # answered before the group settled
    assert "Pending" in busy.reason and AUTH_KEY not in busy.reason
    assert box.request_counts()["alibaba ModifyBgpGroupAttribute"] == 1  # refused once, not retried
    settle(provider, [gref(group_id)])
    assert provider.update(gref(group_id), group(description="After"), ["description"], "t-modify") is None
    live = settle(provider, [gref(group_id)])[group_id]
    assert live is not None and live.attrs["description"] == "After"


def test_a_modify_of_a_modifying_peer_answers_busy_then_succeeds(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox()
    provider = alibaba(box)
    group_id = created(provider.create(group(), "t-g"))
    peer_id = created(provider.create(peer(group_id, enableBfd=False), "t-p"))
    box.configure(provision_delay=1.0)
    first = provider.update(pref(peer_id), peer(group_id, enableBfd=True, bfdMultiHop=2), ["enableBfd"], "t-m1")
    assert first is None  # Modifying for 1 s now
    busy = provider.update(pref(peer_id), peer(group_id, enableBfd=True, bfdMultiHop=4), ["bfdMultiHop"], "t-m2")
    assert isinstance(busy, Busy) and busy.wait_for == pref(peer_id) and "Modifying" in busy.reason
    settle(provider, [pref(peer_id)])
    again = provider.update(pref(peer_id), peer(group_id, enableBfd=True, bfdMultiHop=4), ["bfdMultiHop"], "t-m2")
    assert again is None
    live = settle(provider, [pref(peer_id)])[peer_id]
    assert live is not None and live.attrs["bfdMultiHop"] == 4


def test_a_peer_create_in_a_pending_group_waits_for_the_group(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox(provision_delay=1.0)
    provider = alibaba(box)
    group_id = created(provider.create(group(), "t-g"))  # Pending for 1 s
    busy = provider.create(peer(group_id), "t-p")
    assert isinstance(busy, Busy) and busy.wait_for == gref(group_id)
    assert box.objects().alibaba_peers == {}
    settle(provider, [gref(group_id)])
    peer_id = created(provider.create(peer(group_id), "t-p"))  # the same token, now accepted
    assert list(box.objects().alibaba_peers) == [peer_id]


def test_deletes_of_busy_objects_answer_busy(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox()
    provider = alibaba(box)
    group_id = created(provider.create(group(), "t-g"))
    peer_id = created(provider.create(peer(group_id), "t-p"))
    box.configure(provision_delay=1.0)
    assert provider.update(pref(peer_id), peer(group_id, bfdMultiHop=5), ["bfdMultiHop"], "t-mp") is None
    assert provider.update(gref(group_id), group(description="Busy"), ["description"], "t-mg") is None
    peer_busy = provider.delete(pref(peer_id), "t-dp")
    assert isinstance(peer_busy, Busy) and peer_busy.wait_for == pref(peer_id)
    group_busy = provider.delete(gref(group_id), "t-dg")
    assert isinstance(group_busy, Busy) and group_busy.wait_for == gref(group_id)
    settle(provider, [pref(peer_id), gref(group_id)])
    assert provider.delete(pref(peer_id), "t-dp") is None
    settle(provider, [pref(peer_id)], gone=True)
    assert provider.delete(gref(group_id), "t-dg") is None
    assert settle(provider, [gref(group_id)], gone=True) == {group_id: None}


def test_a_group_delete_with_several_deleting_peers_retries_after_a_while(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    box = sandbox()
    provider = alibaba(box)
    group_id = created(provider.create(group(), "t-g"))
    peer_ids = [created(provider.create(peer(group_id, f"10.0.0.{i}"), f"t-p{i}")) for i in (3, 4)]
    box.configure(provision_delay=1.0)
    for peer_id in peer_ids:
        assert provider.delete(pref(peer_id), f"t-d-{peer_id}") is None
    busy = provider.delete(gref(group_id), "t-dg")
    assert isinstance(busy, Busy) and busy.wait_for is None and busy.retry_after > 0
    assert all(peer_id in busy.reason for peer_id in peer_ids)
    settle(provider, [pref(p) for p in peer_ids], gone=True)
    assert provider.delete(gref(group_id), "t-dg") is None


def test_a_create_on_an_inactive_vbr_answers_busy_with_a_retry_time(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    """The VBR is not an object reconciler polls: nothing to wait for, so try again later."""
    box = sandbox()
    box.add_seed(Seed.from_mapping({"alibaba": {"vbrs": [{**_seed_vbr(), "status": "unconfirmed"}]}}))
    provider = alibaba(box)
    busy = provider.create(group(), "t-g")
    assert isinstance(busy, Busy) and busy.wait_for is None and busy.retry_after > 0
    assert AUTH_KEY not in busy.reason and box.objects().alibaba_groups == {}
    box.add_seed(Seed.from_mapping({"alibaba": {"vbrs": [_seed_vbr()]}}))  # active again
    group_id = created(provider.create(group(), "t-g"))
    assert list(box.objects().alibaba_groups) == [group_id]


def test_operation_conflict_on_a_busy_vbr_answers_busy_for_at_least_three_seconds(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    """Another object on the VBR is still changing: `OperationConflict` is "not now", never a
    failure, and no object on the VBR is the one to wait for (docs/cloud-apis.md, Alibaba §7)."""
    box = sandbox(provision_delay=1.0, alibaba_busy_vbr="conflict")
    provider = alibaba(box)
    created(provider.create(group("sg-vbr1"), "t-g1"))  # Pending for 1 s: the VBR is busy
    busy = provider.create(group("sg-vbr2"), "t-g2")
    assert isinstance(busy, Busy) and busy.retry_after >= 3.0
    assert "OperationConflict" in busy.reason and AUTH_KEY not in busy.reason
    assert provider.api_calls()["CreateBgpGroup"] == 2  # answered at once, not retried inside the call
    assert len(box.objects().alibaba_groups) == 1


def test_a_peer_modify_always_sends_enable_bfd(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    """The SDK documents EnableBfd as "false (default)": a modify of the peer address alone must
    not turn BFD off where the cloud takes the missing parameter as false."""
    box = sandbox(alibaba_modify_peer_without_bfd="disable")
    provider = alibaba(box)
    group_id = created(provider.create(group(), "t-g"))
    peer_id = created(provider.create(peer(group_id, "10.0.0.2", bfdMultiHop=3), "t-p"))
    settle(provider, [gref(group_id), pref(peer_id)])
    assert provider.update(pref(peer_id), peer(group_id, "10.0.0.5", bfdMultiHop=3), ["peerIpAddress"], "t-m") is None
    live = settle(provider, [pref(peer_id)])[peer_id]
    assert live is not None and live.attrs["peerIpAddress"] == "10.0.0.5"
    assert live.attrs["enableBfd"] is True and live.attrs["bfdMultiHop"] == 3


def _seed_vbr() -> dict[str, object]:
    """The first VBR of `make_seed()`, as a seed item."""
    return {
        "vbrId": vbr_id(0, 0),
        "regionId": REGION,
        "status": "active",
        "enableIpv6": False,
        "localGatewayIp": "10.0.0.1",
        "peerGatewayIp": "10.0.0.2",
        "peeringSubnetMask": "255.255.255.0",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:8080", ("127.0.0.1:8080", "http")),
        ("localhost", ("localhost", "http")),
        ("[::1]:9000", ("[::1]:9000", "http")),
        ("vpc.example.internal:8443", ("vpc.example.internal:8443", "http")),
        ("vpc.ap-southeast-1.aliyuncs.com", ("vpc.ap-southeast-1.aliyuncs.com", "https")),
        ("vpc.aliyuncs.com:443", ("vpc.aliyuncs.com:443", "https")),
        ("https://10.1.2.3:8443/", ("10.1.2.3:8443", "https")),
    ],
)
def test_endpoint_protocol_rule(value: str, expected: tuple[str, str]) -> None:
    assert endpoint_and_protocol(value) == expected


def test_the_sdk_is_imported_only_when_a_call_needs_it() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from reconciler.clouds.alibaba.provider import AlibabaProvider;"
        "from reconciler.clouds.base import ProviderOptions;"
        "AlibabaProvider.from_env({}, ProviderOptions());"
        "print(any(m.startswith('alibabacloud') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_concurrent_first_calls_build_the_sdks_http_session_once(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK creates its per-endpoint session without a lock; each extra one costs a TLS context.
    from concurrent.futures import ThreadPoolExecutor

    from darabonba.core import DaraCore

    box = sandbox(make_seed(regions=(REGION, OTHER_REGION), vbrs_per_region=2))  # a fresh port: no session yet
    provider = alibaba(box)
    real_adapter = DaraCore.get_adapter
    adapters: list[str] = []

    def counted(prefix: str, *args: object, **kwargs: object) -> object:
        adapters.append(prefix)
        time.sleep(0.05)  # widen the window in which other first calls could slip in
        return real_adapter(prefix, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(DaraCore, "get_adapter", staticmethod(counted))
    scope = AlibabaScope(regions=frozenset({REGION, OTHER_REGION}))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: provider.refresh(scope), range(8)))
    assert all(r.objects == () for r in results)
    assert adapters == ["http"]  # one endpoint (the sandbox's), one session


def test_calls_that_waited_for_the_first_call_to_an_endpoint_then_go_on_together(
    sandbox: Callable[..., Sandbox], alibaba: Callable[..., AlibabaProvider]
) -> None:
    # Only the first call to an endpoint goes alone; the calls queued behind it must not then
    # take turns (a refresh's first pages would each cost a round trip of their own).
    import threading
    from concurrent.futures import ThreadPoolExecutor

    provider = alibaba(sandbox(make_seed()))
    first_started, first_may_end = threading.Event(), threading.Event()
    later_calls = 4
    together = threading.Barrier(later_calls, timeout=20)  # broken unless all are in flight at once

    def first() -> str:
        first_started.set()
        assert first_may_end.wait(20)
        return "first"

    def later() -> str:
        together.wait()
        return "later"

    with ThreadPoolExecutor(max_workers=1 + later_calls) as pool:
        first_done = pool.submit(provider._send, REGION, first)
        assert first_started.wait(20)
        queued = [pool.submit(provider._send, REGION, later) for _ in range(later_calls)]
        first_may_end.set()
        assert first_done.result() == "first"
        assert [q.result() for q in queued] == ["later"] * later_calls
