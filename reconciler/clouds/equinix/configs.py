"""A Network Edge BGP config on the wire: the `BgpInfo` the API returns, read as a LiveObject, and the
request body of a create or update (docs/cloud-apis.md, Equinix §2 and §5)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from reconciler.clouds.base import Desired
from reconciler.clouds.equinix.kinds import EQUINIX_PEERING, KEY_FIELD, PEERING
from reconciler.model import NO_ENTRIES, LiveObject, SecretValue, Status, shared_text, shared_values

# `provisioningStatus` in manifest vocabulary; anything else is pending (docs/cloud-apis.md, Equinix §7).
STATUS: Mapping[str, Status] = {
    "PROVISIONING": "pending",
    "PENDING_UPDATE": "pending",
    "PROVISIONED": "ready",
    "FAILED": "failed",
    "DEPROVISIONING": "deleting",
}
GONE_STATUS = "DEPROVISIONED"  # treated as absent

FIELDS = ("connectionUuid", "localIpAddress", "localAsn", "remoteIpAddress", "remoteAsn")
UPDATABLE_FIELDS = FIELDS[1:]  # a PUT cannot move a config to another connection

# A JSON reply item: the API's field names and values, untyped.
Item = dict[str, Any]


def lower_keys(item: Mapping[str, Any]) -> dict[str, Any]:
    # The API has spelt `connectionUuid` as `connectionUUID` before: match names case-blind.
    return {str(k).lower(): v for k, v in item.items()}


def item_uuid(item: Mapping[str, Any]) -> str:
    uuid = item.get("uuid")  # the usual spelling first: this runs for every item of every list page
    return str(uuid if uuid is not None else lower_keys(item).get("uuid"))


# A config without a key: one read-only mapping for all of them.
_NO_KEY: Mapping[str, SecretValue | None] = MappingProxyType({KEY_FIELD: None})


# The read-only extras of a config: (LiveObject.info name, its lower-case key in the item).
_INFO_KEYS = tuple(
    (name, name.lower()) for name in ("virtualDeviceUuid", "provisioningStatus", "createdDate", "lastUpdatedDate")
)


def live_object(item: Mapping[str, Any], *, extras: bool = True) -> LiveObject | None:
    """A `BgpInfo` as a LiveObject in manifest vocabulary; None for a DEPROVISIONED config.
    Without `extras`, its `info` is empty."""
    fields = lower_keys(item)
    raw_status = shared_text(fields.get("provisioningstatus") or "")
    if raw_status == GONE_STATUS:
        return None
    attrs = PEERING.normalise({name: fields.get(name.lower()) for name in FIELDS})
    key = fields.get(KEY_FIELD.lower())
    info = NO_ENTRIES
    if extras:
        info = shared_values({name: fields[lowered] for name, lowered in _INFO_KEYS if fields.get(lowered) is not None})
    return LiveObject(
        kind=EQUINIX_PEERING,
        cloud_id=sys.intern(str(fields.get("uuid"))),  # the state's record holds the same id
        region=None,
        attrs=attrs,
        status=STATUS.get(raw_status, "pending"),
        raw_status=raw_status,
        secrets={KEY_FIELD: SecretValue(str(key))} if key else _NO_KEY,
        session=shared_text(fields["state"]) if fields.get("state") else None,
        info=info,
    )


def differs(live: LiveObject, desired: Desired) -> bool:
    """Whether a PUT would change `live`: a field or the key differs from `desired`."""
    wanted = PEERING.normalise(desired.attrs)
    if any(live.attrs.get(f) != wanted.get(f) for f in UPDATABLE_FIELDS):
        return True
    return KEY_FIELD in desired.secrets and live.secrets.get(KEY_FIELD) != desired.secrets[KEY_FIELD]


def request_body(desired: Desired, *, with_connection: bool) -> tuple[dict[str, Any], list[str]]:
    """The body of a POST (`with_connection`) or PUT, and the secret values it carries (to keep
    them out of messages). A PUT sends all five fields plus the key, `""` for no key; a POST
    without a key leaves the field out (docs/cloud-apis.md, Equinix §5)."""
    attrs = PEERING.normalise(desired.attrs)
    body: dict[str, Any] = {name: attrs[name] for name in UPDATABLE_FIELDS}
    if with_connection:
        body["connectionUuid"] = attrs["connectionUuid"]
    secrets: list[str] = []
    if KEY_FIELD in desired.secrets:
        key = desired.secrets[KEY_FIELD]
        if key is not None:
            body[KEY_FIELD] = key.reveal()
            secrets.append(key.reveal())
        elif not with_connection:
            body[KEY_FIELD] = ""  # PUT: an empty key removes it; POST: simply omitted
    return body, secrets
