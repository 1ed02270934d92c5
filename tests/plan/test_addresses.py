"""The core of the live address checks: which session ends are checked, with which linked end, and
what the findings mean (errors or warnings, `--allow-address-mismatch`)."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.clouds.base import AddressFinding
from reconciler.errors import PlanError
from reconciler.manifest import checked as checked_module
from reconciler.manifest.checked import Checked
from reconciler.manifest.load import Document
from reconciler.plan.addresses import Verdict, refuse_mismatches, session_ends, verdict
from tests.manifest.builders import equinix, group, peer

LINKED = AddressFinding("m.yaml:2:3", "spec.peerIpAddress", "10.0.0.3 is not the peer gateway", linked=True)
UNLINKED = AddressFinding("m.yaml:4:3", "spec.peerIpAddress", "10.0.0.9 is outside the subnet", linked=False)
UNCHECKED = AddressFinding("m.yaml:1:3", "spec.x", "not checked: refused", linked=True, checked=False)


@pytest.mark.parametrize(
    ("findings", "allow", "errors", "warnings"),
    [
        ((), False, (), ()),
        ((LINKED,), False, (LINKED,), ()),
        ((LINKED,), True, (), (str(LINKED),)),
        ((UNLINKED,), False, (), (str(UNLINKED),)),
        ((UNCHECKED,), False, (), (str(UNCHECKED),)),
        ((LINKED, UNLINKED, UNCHECKED), False, (LINKED,), (str(UNLINKED), str(UNCHECKED))),
        ((LINKED, UNLINKED, UNCHECKED), True, (), (str(LINKED), str(UNLINKED), str(UNCHECKED))),
    ],
)
def test_verdict(
    findings: tuple[AddressFinding, ...], allow: bool, errors: tuple[AddressFinding, ...], warnings: tuple[str, ...]
) -> None:
    assert verdict(findings, allow) == Verdict(errors, warnings)


def test_the_refusal_lists_every_error_and_warning_and_the_way_out() -> None:
    refuse_mismatches(verdict((UNLINKED,), False))  # warnings alone never refuse
    with pytest.raises(PlanError) as refused:
        refuse_mismatches(verdict((LINKED, UNLINKED), False))
    assert refused.value.message == (
        "1 address of linked sessions cannot form the session with what is live:\n"
        "m.yaml:2:3: spec.peerIpAddress: 10.0.0.3 is not the peer gateway\n"
        "warning: m.yaml:4:3: spec.peerIpAddress: 10.0.0.9 is outside the subnet"
    )
    assert "--allow-address-mismatch" in str(refused.value)


def checked(*docs: dict[str, Any]) -> list[Checked]:
    return [
        Checked.of(Document(file="m.yaml", index=i, data=doc, positions={"": (i + 1, 1)}), str(doc["kind"]), ())
        for i, doc in enumerate(docs)
    ]


def test_session_ends_come_with_the_end_they_are_linked_with() -> None:
    docs = checked(
        group(),
        peer("linked", labels={"link": "a"}),
        peer("alone", peerIpAddress="10.0.0.5"),
        equinix(labels={"link": "a"}),
        equinix("other", localIpAddress="10.9.0.1/30", remoteIpAddress="10.9.0.2"),
    )
    ends = session_ends(docs)
    pairs = {
        cloud: [(e.own.doc.address, e.other.doc.address if e.other else None) for e in found]
        for cloud, found in ends.items()
    }
    assert pairs == {
        "alibaba": [("AlibabaBgpPeer/linked", "EquinixBgpPeering/sg-ne1-to-alibaba"), ("AlibabaBgpPeer/alone", None)],
        "equinix": [
            ("EquinixBgpPeering/sg-ne1-to-alibaba", "AlibabaBgpPeer/linked"),
            ("EquinixBgpPeering/other", None),
        ],
    }
    # A peer's end carries its group, where its router is named.
    assert [m.address for m in ends["alibaba"][0].own.members] == ["AlibabaBgpGroup/sg-vbr1"]
    # Only the plan's addresses (a --target selection) are checked; the link is still found.
    only = session_ends(docs, frozenset({"AlibabaBgpPeer/linked"}))
    assert [(e.own.doc.address, e.other is not None) for e in only["alibaba"]] == [("AlibabaBgpPeer/linked", True)]
    assert "equinix" not in only
    # The ends hold the addresses they need; the parsing caches of the checks are emptied.
    assert checked_module._parse_peer_ip.cache_info().currsize == 0


def test_an_end_exposes_only_the_values_that_passed_the_schema() -> None:
    def end_of(doc: dict[str, Any], *failed: str) -> Any:
        docs = [Checked.of(Document(file="m.yaml", index=0, data=doc, positions={"": (1, 1)}), doc["kind"], failed)]
        [ends] = session_ends(docs).values()
        return ends[0].own

    device = end_of(equinix(localAsn="65010"), "spec.localAsn")
    assert device.local_asn is None  # failed its schema check: unknown, never compared
    assert device.remote_asn is not None and device.remote_asn.value == 45104
    assert str(device.local_address.value) == "10.0.0.1" and str(device.local_address.shown) == "10.0.0.1/30"
    assert device.key is not None and device.key.ref is None  # it declares no key
    assert end_of(equinix(), "spec.authenticationKey").key is None  # its key is unknown
    no_remote = end_of(equinix(remoteIpAddress=None))
    assert no_remote.remote_address is None and no_remote.remote_asn is not None


def test_the_ends_keep_where_their_values_are_written_but_not_their_documents_data() -> None:
    # A plan lets the manifests' documents go once its session ends are made: each end keeps its
    # own document's place (address, positions) for its messages, and its members (a peer's
    # group, whose VBR the checks read) whole.
    positions = {"": (3, 1), "spec.peerIpAddress": (9, 20), "spec.localIpAddress": (7, 19)}
    docs = [
        Checked.of(Document(file="m.yaml", index=i, data=doc, positions=positions), str(doc["kind"]), ())
        for i, doc in enumerate((group(), peer("linked", labels={"link": "a"}), equinix(labels={"link": "a"})))
    ]
    ends = session_ends(docs)
    [alibaba] = ends["alibaba"]
    [device] = ends["equinix"]
    for end in (alibaba.own, device.own, alibaba.other):
        assert end is not None and end.doc.doc.data is None
    assert alibaba.own.doc.address == "AlibabaBgpPeer/linked" and alibaba.own.doc.where == "m.yaml:3:1"
    assert alibaba.own.remote_address is not None and alibaba.own.remote_address.doc is alibaba.own.doc
    assert alibaba.own.remote_address.doc.at("spec.peerIpAddress") == "m.yaml:9:20"
    [member] = alibaba.own.members
    assert member.get("spec.virtualBorderRouterId") == group()["spec"]["virtualBorderRouterId"]
    assert alibaba.own.remote_asn is not None and alibaba.own.remote_asn.doc is member  # the group's, whole
    local = device.own.local_address
    assert local is not None and local.doc is device.own.doc and local.doc.at("spec.localIpAddress") == "m.yaml:7:19"
    assert alibaba.other is not None and alibaba.other.doc.address == device.own.doc.address


def test_the_peers_of_one_group_share_what_it_exposes() -> None:
    # A plan makes an end of every peer; a group's ASNs and key are made once, not once a peer.
    docs = checked(group(), peer("p1"), peer("p2", peerIpAddress="10.0.0.6"))
    first, second = (e.own for e in session_ends(docs)["alibaba"])
    assert first.doc.address != second.doc.address
    assert first.local_asn is second.local_asn and first.remote_asn is second.remote_asn
    assert first.key is second.key and first.remote_asn is not None and first.remote_asn.value == 65010
