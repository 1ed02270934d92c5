"""Reading `BgpInfo` replies as LiveObjects (reconciler/clouds/equinix/configs.py)."""

from __future__ import annotations

from typing import Any

from reconciler.clouds.equinix.configs import live_object
from reconciler.model import SecretValue

REPLY: dict[str, Any] = {
    "uuid": "u-1",
    "connectionUuid": "80afc8be-0ce3-4950-be27-3d3e678e6873",
    "virtualDeviceUuid": "d-1",
    "localIpAddress": "10.0.0.1/30",
    "localAsn": 65010,
    "remoteIpAddress": "10.0.0.2",
    "remoteAsn": 45104,
    "provisioningStatus": "PROVISIONED",
    "state": "Established",
}


def respelt(reply: dict[str, Any], spelling: dict[str, str]) -> dict[str, Any]:
    return {spelling.get(key, key): value for key, value in reply.items()}


def test_replies_of_one_list_may_spell_keys_differently() -> None:
    usual = live_object(REPLY)
    odd = live_object(respelt(REPLY, {"uuid": "Uuid", "connectionUuid": "connectionUUID", "state": "STATE"}))
    assert usual is not None and odd is not None
    assert odd == usual
    assert odd.cloud_id == "u-1" and odd.session == "Established"
    assert live_object(REPLY) == usual  # the usual spelling again, after an odd one


def test_of_two_spellings_of_a_field_the_last_one_counts() -> None:
    first_usual = live_object({**REPLY, "connectionUUID": "AAAA"})
    first_odd = live_object({"connectionUUID": "AAAA", **REPLY})
    assert first_usual is not None and first_odd is not None
    assert first_usual.attrs["connectionUuid"] == "aaaa"
    assert first_odd.attrs["connectionUuid"] == REPLY["connectionUuid"]


def test_missing_fields_read_as_none_and_extras_only_when_reported() -> None:
    odd = live_object({"UUID": "u-2"})
    assert odd is not None and odd.cloud_id == "u-2" and odd.attrs == {}
    live = live_object({"uuid": "u-2", "createdDate": None, "lastUpdatedDate": "2026-01-01"})
    assert live is not None
    assert live.attrs == {} and live.status == "pending" and live.session is None
    assert live.info == {"lastUpdatedDate": "2026-01-01"}


def test_a_deprovisioned_config_is_absent_whatever_the_spelling() -> None:
    assert (
        live_object(
            respelt({**REPLY, "provisioningStatus": "DEPROVISIONED"}, {"provisioningStatus": "ProvisioningStatus"})
        )
        is None
    )


def test_what_many_configs_report_alike_is_held_once() -> None:
    # A refresh of 25,000 configs holds their statuses, device and (absent) keys once each.
    def reply(uuid: str) -> dict[str, Any]:  # each its own strings, as from its own JSON reply
        return {
            **REPLY,
            "uuid": uuid,
            "virtualDeviceUuid": "".join(["d-", "1"]),
            "provisioningStatus": "".join(["PROVISIONED", ""]),
            "state": "".join(["Establish", "ed"]),
        }

    one, other = live_object(reply("u-1")), live_object(reply("u-2"))
    assert one is not None and other is not None
    assert one.raw_status is other.raw_status and one.session is other.session
    assert one.info["virtualDeviceUuid"] is other.info["virtualDeviceUuid"]
    assert one.secrets is other.secrets and dict(one.secrets) == {"authenticationKey": None}
    keyed = live_object({**REPLY, "authenticationKey": "abcdef1"})
    assert keyed is not None and keyed.secrets["authenticationKey"] == SecretValue("abcdef1")
    # Its id is interned, as the state's record of it is: one string for both.
    again = live_object(reply("".join(["u-", "1"])))
    assert again is not None and again.cloud_id is one.cloud_id
