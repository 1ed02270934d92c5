"""The Equinix kind: one Network Edge BGP config per Fabric connection (docs/cloud-apis.md, Equinix)."""

from __future__ import annotations

from reconciler.kinds import KindInfo, as_int, canonical_interface, canonical_ip, lower_text

CLOUD_NAME = "equinix"
EQUINIX_PEERING = "EquinixBgpPeering"
KEY_FIELD = "authenticationKey"

PEERING = KindInfo(
    kind=EQUINIX_PEERING,
    cloud=CLOUD_NAME,
    title="the BGP session of a Network Edge device on one Fabric connection",
    fields=("connectionUuid", "localIpAddress", "localAsn", "remoteIpAddress", "remoteAsn"),
    secret_fields=(KEY_FIELD,),
    replace_only=frozenset({"connectionUuid"}),
    natural_key=("connectionUuid",),
    defaults={},
    normalisers={
        "connectionUuid": lower_text,
        "localIpAddress": canonical_interface,
        "remoteIpAddress": canonical_ip,
        "localAsn": as_int,
        "remoteAsn": as_int,
    },
    region_field=None,
    deletable=False,
    no_delete_reason=(
        "the Equinix Network Edge API has no delete for BGP configs: reconciler stops managing "
        "it and the config stays on the connection"
    ),
    has_session=True,
    summary_fields=("localIpAddress", "remoteAsn"),
)
