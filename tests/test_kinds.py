"""Normalisation: spelling differences must never look like changes."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from reconciler.clouds import KINDS
from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER
from reconciler.kinds import as_bool, as_int, canonical_interface, canonical_ip, ip_version, lower_text


@given(st.integers(0, 2**32 - 1), st.integers(0, 32))
def test_fast_path_agrees_with_ipaddress(address: int, prefix: int) -> None:
    text = str(ipaddress.IPv4Address(address))
    assert canonical_ip(text) == str(ipaddress.ip_address(text))
    assert canonical_interface(f"{text}/{prefix}") == str(ipaddress.ip_interface(f"{text}/{prefix}"))


def test_other_spellings_become_canonical() -> None:
    assert canonical_ip("2001:DB8::0001") == "2001:db8::1"
    assert canonical_ip(" 10.0.0.1 ") == "10.0.0.1"
    assert canonical_interface("10.0.0.1/030") == "10.0.0.1/30"
    assert canonical_interface("2001:DB8::1/126") == "2001:db8::1/126"
    assert canonical_ip("not an ip") == "not an ip"  # left for validation to report


def test_scalars() -> None:
    assert as_int("65010") == 65010 and as_int(65010) == 65010 and as_int(True) is True
    assert as_bool("false") is False and as_bool("True") is True
    assert ip_version("ipv6") == "IPv6" and ip_version("IPV4") == "IPv4"


def test_a_string_of_digits_int_cannot_read_is_kept_as_is() -> None:
    # "²" is a digit to str.isdigit but not a number to int(): a reply with it must not crash.
    assert as_int("6501²") == "6501²" and as_int(" 65010 ") == 65010


def test_defaults_and_bfd_hop_count_while_bfd_is_off() -> None:
    group = KINDS[ALIBABA_GROUP].normalise({"peerAsn": "65010", "isFakeAsn": "false"})
    assert group == {
        "description": "",
        "ipVersion": "IPv4",
        "routeQuota": 110,
        "isFakeAsn": False,
        "localAsn": 45104,
        "peerAsn": 65010,
    }
    peer = KINDS[ALIBABA_PEER].normalise({"enableBfd": "False", "bfdMultiHop": 255})
    assert "bfdMultiHop" not in peer
    assert KINDS[ALIBABA_PEER].normalise({"enableBfd": True, "bfdMultiHop": "3"})["bfdMultiHop"] == 3


def test_normalised_text_is_interned_so_equal_values_are_one_object() -> None:
    # A plan holds the same ids in its manifests, its state and its live objects.
    info = KINDS[ALIBABA_PEER]
    written = {
        "regionId": "ap-southeast-1",
        "bgpGroupId": "".join(["bgpg-", "t4nexample"]),
        "peerIpAddress": "10.0.0.1",
    }
    read = {"regionId": "ap-southeast-1", "bgpGroupId": "".join(["bgpg-t4n", "example"]), "peerIpAddress": "10.0.0.1"}
    assert written["bgpGroupId"] is not read["bgpGroupId"]
    one, other = info.normalise(written), info.normalise(read)
    assert one == other
    assert one["bgpGroupId"] is other["bgpGroupId"]
    assert one["ipVersion"] is other["ipVersion"]


def test_ip_version_and_lower_text_keep_one_object_per_spelling() -> None:
    assert ip_version("ipv4") is ip_version("IPV4") is ip_version("IPv4")
    lower = "".join(["00000000-0000-4000-8000-", "000000000001"])
    assert lower_text(lower) is lower
    assert lower_text("ABC-def") == "abc-def"
    assert lower_text(12) == "12"
