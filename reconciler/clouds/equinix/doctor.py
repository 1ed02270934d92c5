"""`reconciler doctor` for Equinix Network Edge: read-only checks of a real account.

What is checked (docs/cloud-apis.md, Equinix §1, §2 and §9):

- the credentials: one client-credentials login (`POST /oauth2/v1/token`). Only one: Equinix locks
  the account after 5 failed logins;
- one read of every API the client calls: the BGP list, one BGP config, the connection lookup,
  the Fabric connection, the virtual device and the Fabric connection search. The two mutating calls (`POST /ne/v1/bgp`,
  `PUT /ne/v1/bgp/{uuid}`) cannot be tried without changing something, so they are listed as not
  checked; docs/cloud-apis.md names no Equinix role or permission for any of these calls;
- every Fabric connection the manifests name: it exists, its state allows BGP (the inferred rule
  of U-E15), its A side is a Network Edge device that is PROVISIONED, licensed and not
  SELF-CONFIGURED, and whether the connection already has a BGP config (an apply adopts it).

Every read goes through the provider's own request plumbing (`_get_json`, `find`), so doctor
sees what `plan` and `apply` would see, with the same retries and the same secret masking.
Nothing here sends a POST or a PUT to the API, apart from the token request and the connection
search (a read that takes its question as a body).

A `DoctorCheck` that passed with a hint is a warning: nothing failed, but something could not be
confirmed (a mutating call, a check that an earlier failure kept from running).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler.clouds.base import DoctorCheck, DoctorReport, ProviderOptions
from reconciler.clouds.equinix.kinds import CLOUD_NAME, EQUINIX_PEERING
from reconciler.clouds.equinix.paging import parse_page
from reconciler.clouds.equinix.prerequisites import (
    COMING_EQUINIX_STATUSES,
    COMING_STATES,
    READY_EQUINIX_STATUSES,
    READY_LICENSES,
    READY_STATES,
    SEARCH_OP,
    SEARCH_PATH,
    STALLED_EQUINIX_STATUSES,
    STALLED_STATES,
    device_of,
    search_body,
    search_page,
)
from reconciler.errors import ProviderError, ResourceNotFound
from reconciler.model import LiveObject, Resource

if TYPE_CHECKING:  # the provider (httpx) is imported only when doctor runs
    from reconciler.clouds.equinix.provider import EquinixProvider

BGP_PATH = "/ne/v1/bgp"
NIL_UUID = "00000000-0000-0000-0000-000000000000"  # read where no real config is known: 404 expected

LIST_OP = f"GET {BGP_PATH}"
ONE_OP = f"GET {BGP_PATH}/{{uuid}}"
LOOKUP_OP = f"GET {BGP_PATH}/connection/{{uuid}}"
FABRIC_OP = "GET /fabric/v4/connections/{uuid}"
DEVICE_OP = "GET /ne/v1/devices/{uuid}"

_ROLE = "which Equinix role grants it is unconfirmed (docs/cloud-apis.md names none): ask your Equinix administrator"
# What each call needs, in words: no source names the role (docs/cloud-apis.md, Equinix §9, U-E16).
NEEDS: Mapping[str, str] = {
    LIST_OP: "read access to Network Edge BGP configurations",
    ONE_OP: "read access to Network Edge BGP configurations",
    LOOKUP_OP: "read access to Network Edge BGP configurations",
    FABRIC_OP: "read access to Fabric connections (an API user without Fabric permissions may get 403 here, U-E16)",
    SEARCH_OP: "read access to Fabric connections (search)",
    DEVICE_OP: "read access to Network Edge virtual devices",
    f"POST {BGP_PATH}": "write access to Network Edge BGP configurations (create)",
    f"PUT {BGP_PATH}/{{uuid}}": "write access to Network Edge BGP configurations (update)",
}


@dataclass(frozen=True, slots=True)
class _Read:
    """The outcome of one read: a value, "not found" (404), or another error."""

    value: Any = None
    missing: bool = False
    error: ProviderError | None = None

    @property
    def answered(self) -> bool:
        """The API answered the read: a value or a 404 (the call itself is allowed)."""
        return self.error is None


def _read(call: Callable[..., Any], *args: Any) -> _Read:
    try:
        return _Read(value=call(*args))
    except ResourceNotFound:
        return _Read(missing=True)
    except ProviderError as error:
        return _Read(error=error)


def _refused(error: ProviderError) -> bool:
    return error.status in (401, 403)


def _what_failed(error: ProviderError) -> str:
    if _refused(error):
        return f"refused: {error.message}"
    if error.retryable and error.status is None:
        return f"network error: {error.message}"
    if error.retryable:
        return f"unavailable: {error.message}"
    return f"failed: {error.message}"


def _hint_for(op: str, error: ProviderError) -> str:
    if _refused(error):
        return f"the API user needs {NEEDS[op]}; {_ROLE}"
    if error.retryable and error.status is None:
        return "check EQUINIX_API_ENDPOINT and the network (proxy, firewall), then run doctor again"
    if error.retryable:
        return "Equinix is unavailable or throttling: run doctor again later"
    return error.hint or ""


@dataclass(frozen=True, slots=True)
class _Connection:
    uuid: str
    addresses: tuple[str, ...]  # the peerings that name it
    local_asns: frozenset[int]


def _connections(desired: Sequence[Resource]) -> list[_Connection]:
    named: dict[str, list[Resource]] = {}
    for resource in desired:
        if resource.kind == EQUINIX_PEERING and resource.attrs.get("connectionUuid"):
            named.setdefault(str(resource.attrs["connectionUuid"]).lower(), []).append(resource)
    return [
        _Connection(
            uuid,
            tuple(r.address for r in resources),
            frozenset(int(r.attrs["localAsn"]) for r in resources if r.attrs.get("localAsn") is not None),
        )
        for uuid, resources in sorted(named.items())
    ]


def doctor(desired: Sequence[Resource], env: Mapping[str, str], options: ProviderOptions) -> Iterator[DoctorCheck]:
    """The checks, in order: credentials, API reads, mutating APIs (not checked), connections, devices."""
    from reconciler.clouds.equinix.provider import DEFAULT_ENDPOINT, EquinixProvider

    client_id = env.get("EQUINIX_CLIENT_ID", "")
    client_secret = env.get("EQUINIX_CLIENT_SECRET", "")
    endpoint = env.get("EQUINIX_API_ENDPOINT") or DEFAULT_ENDPOINT
    report = DoctorReport(CLOUD_NAME, hide=[client_id, client_secret])
    missing = [
        name
        for name, value in (("EQUINIX_CLIENT_ID", client_id), ("EQUINIX_CLIENT_SECRET", client_secret))
        if not value
    ]
    if missing:
        report.fail(
            "credentials",
            f"no credentials: {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set",
            "set EQUINIX_CLIENT_ID and EQUINIX_CLIENT_SECRET to the OAuth2 client credentials of an Equinix API "
            "user (or run with --sandbox)",
        )
        _skipped(report)
        yield from report.checks
        return
    provider = EquinixProvider.from_env(env, options)
    try:
        if _credentials(report, provider, endpoint):
            _reads(report, provider, _connections(desired))
        else:
            _skipped(report)
    finally:
        provider.close()
    yield from report.checks


def _skipped(report: DoctorReport) -> None:
    report.warn(
        "remaining checks",
        "not run: every other check needs an API token",
        "fix the credentials, then run doctor again",
    )


def _credentials(report: DoctorReport, provider: EquinixProvider, endpoint: str) -> bool:
    """One login. A refused one is not retried (Equinix locks the account after 5)."""
    try:
        provider._tokens.get()
    except ProviderError as error:
        if error.retryable and error.status is None:
            report.fail(
                "credentials",
                f"not checked: network error reaching {endpoint}: {error.message}",
                "check EQUINIX_API_ENDPOINT and the network (proxy, firewall), then run doctor again",
            )
        elif error.retryable:
            report.fail(
                "credentials",
                f"not checked: the token endpoint of {endpoint} is unavailable: {error.message}",
                "Equinix is unavailable or throttling: run doctor again later",
            )
        elif error.status is not None and 400 <= error.status < 500:
            codes = f" {', '.join(error.codes)}" if error.codes else ""
            report.fail(
                "credentials",
                f"refused credentials: {endpoint} did not grant a token (HTTP {error.status}{codes})",
                "check EQUINIX_CLIENT_ID and EQUINIX_CLIENT_SECRET; doctor tried once, because Equinix locks the "
                "account after 5 failed logins",
            )
        else:
            report.fail("credentials", f"no token: {error.message}", error.hint or "")
        return False
    report.ok("credentials", f"accepted: {endpoint} granted an OAuth2 token (client credentials)")
    return True


def _reads(report: DoctorReport, provider: EquinixProvider, connections: Sequence[_Connection]) -> None:
    get = provider._get_json
    # The BGP list, one page of one item: whether it may be read, and how many configs there are.
    listed = _read(get, BGP_PATH, LIST_OP, {"offset": 0, "limit": 1})
    page = parse_page(listed.value) if listed.error is None else None
    _api_line(report, LIST_OP, listed, f"answered ({page.total if page else 0} BGP configs in the account)")

    # One config: the first one listed, else a uuid that cannot exist (a 404 is an answer too).
    first = page.items[0] if page and page.items else {}
    some_uuid = str({str(k).lower(): v for k, v in first.items()}.get("uuid") or NIL_UUID)
    one = _read(get, f"{BGP_PATH}/{some_uuid}", ONE_OP)
    _api_line(
        report,
        ONE_OP,
        one,
        "answered (404 for a uuid that does not exist)" if one.missing else "answered (read one config)",
    )

    # The connection lookup, not in the NE spec (U-E3): a 404 means "no config on the connection",
    # and any other client error makes reconciler use the documented filtered list instead.
    target = connections[0].uuid if connections else NIL_UUID
    lookup = _read(get, f"{BGP_PATH}/connection/{target}", LOOKUP_OP)
    if lookup.error is not None and not lookup.error.retryable:
        report.warn(
            LOOKUP_OP,
            f"not usable here ({_what_failed(lookup.error)})",
            f"not fatal: reconciler then looks connections up with {LIST_OP}?connectionUuid=... "
            "(docs/cloud-apis.md, Equinix §3)",
        )
    else:
        _api_line(
            report,
            LOOKUP_OP,
            lookup,
            f"answered ({'no config on' if lookup.missing else 'read the config of'} connection {target})",
        )

    # The prerequisite reads: each connection the manifests name, and the device on its A side.
    fabric = {c.uuid: _read(get, f"/fabric/v4/connections/{c.uuid}", FABRIC_OP) for c in connections}
    devices: dict[str, _Read] = {}
    asns: dict[str, frozenset[int]] = {}
    for connection in connections:
        found = fabric[connection.uuid].value
        device = device_of(found) if isinstance(found, Mapping) else ""
        if device:
            if device not in devices:
                devices[device] = _read(get, f"/ne/v1/devices/{device}", DEVICE_OP)
            asns[device] = asns.get(device, frozenset()) | connection.local_asns
    _prerequisite_api_line(report, FABRIC_OP, list(fabric.values()), "connection")
    _prerequisite_api_line(report, DEVICE_OP, list(devices.values()), "device")
    _search_line(report, provider, sorted(devices))
    for op in (f"POST {BGP_PATH}", f"PUT {BGP_PATH}/{{uuid}}"):
        report.warn(
            op, "not checked (mutating): a read-only check cannot call it", f"the API user needs {NEEDS[op]}; {_ROLE}"
        )

    for connection in connections:
        _connection_line(report, provider, connection, fabric[connection.uuid], listed.error is None)
    for device_uuid, result in devices.items():
        _device_line(report, device_uuid, result, asns.get(device_uuid, frozenset()))


def _search_line(report: DoctorReport, provider: EquinixProvider, devices: Sequence[str]) -> None:
    """The connection search, one page of one device's connections. Creates use it as a shortcut
    only: refused or failing, each connection is read on its own (docs/cloud-apis.md, Equinix §9)."""
    if not devices:
        report.warn(SEARCH_OP, "not checked: no device to search", "see the checks above")
        return
    searched = _read(provider._post_json, SEARCH_PATH, SEARCH_OP, search_body(devices[0], 0, 1))
    try:
        total = search_page(searched.value)[1] if searched.error is None else 0
    except ProviderError as error:
        searched = _Read(error=error)
    if searched.error is None:
        report.ok(SEARCH_OP, f"answered ({total} connections on device {devices[0]})")
    else:
        report.warn(
            SEARCH_OP,
            _what_failed(searched.error),
            "not fatal: creates then read each Fabric connection on its own, one call per create; "
            f"granting {NEEDS[SEARCH_OP]} saves them; {_ROLE}",
        )


def _api_line(report: DoctorReport, op: str, result: _Read, answered: str) -> None:
    if result.error is None:
        report.ok(op, answered)
    else:
        report.fail(op, _what_failed(result.error), _hint_for(op, result.error))


def _prerequisite_api_line(report: DoctorReport, op: str, results: Sequence[_Read], noun: str) -> None:
    """One line for a read made once per object. A 403 is a warning: reconciler then creates without
    this check and the create's own answer decides (docs/cloud-apis.md, Equinix §9, U-E16)."""
    refused = [r.error for r in results if r.error is not None and r.error.status == 403]
    failed = [r.error for r in results if r.error is not None and r.error.status != 403]
    if not results:
        report.warn(op, f"not checked: no {noun} to read", "see the checks above")
    elif failed:
        report.fail(op, _what_failed(failed[0]), _hint_for(op, failed[0]))
    elif refused:
        report.warn(
            op,
            _what_failed(refused[0]),
            f"not fatal: reconciler then creates without checking first, and the create's answer decides; "
            f"granting {NEEDS[op]} lets it (and doctor) check first; {_ROLE}",
        )
    else:
        report.ok(op, f"answered ({len(results)} {noun}{'s' if len(results) != 1 else ''} read)")


def _connection_line(
    report: DoctorReport, provider: EquinixProvider, connection: _Connection, result: _Read, can_list: bool
) -> None:
    name = f"connection {connection.uuid}"
    named_by = ", ".join(connection.addresses)
    if result.error is not None:
        _unread(report, name, FABRIC_OP, result.error)
        return
    if result.missing:
        report.fail(
            name,
            "does not exist (the Fabric API answered 404)",
            f"check spec.connectionUuid of {named_by}: it must be the uuid of a Fabric connection of this account",
        )
        return
    found = result.value if isinstance(result.value, Mapping) else {}
    state = str(found.get("state") or "")
    operation = found.get("operation") or {}
    equinix_status = str(operation.get("equinixStatus") or "") if isinstance(operation, Mapping) else ""
    shown = f"state {state or 'unknown'}" + (f", equinixStatus {equinix_status}" if equinix_status else "")
    if state not in READY_STATES and equinix_status not in READY_EQUINIX_STATUSES:
        if state in COMING_STATES or equinix_status in COMING_EQUINIX_STATUSES:
            hint = "it is being provisioned: an apply waits for it (within --timeout); or run doctor again later"
        elif state in STALLED_STATES or equinix_status in STALLED_EQUINIX_STATUSES:
            hint = "it waits for an approval or for its other side: finish that, then run doctor again"
        else:
            hint = f"check spec.connectionUuid of {named_by}: this connection cannot take a BGP peering now"
        report.fail(
            name,
            f"not provisioned: {shown}; BGP needs state PROVISIONED or ACTIVE, or equinixStatus PROVISIONED or "
            "PENDING_BGP_PEERING (an inferred rule, U-E15)",
            hint,
        )
        return
    device = device_of(found)
    if not device:
        report.fail(
            name,
            f"{shown}, but its A side is not a Network Edge virtual device",
            f"BGP peering is configured on a Network Edge device: check spec.connectionUuid of {named_by}",
        )
        return
    config = _existing_config(provider, connection.uuid) if can_list else "its BGP config was not looked up"
    report.ok(name, f"{shown}; A side: virtual device {device}; {config}")


def _unread(report: DoctorReport, name: str, op: str, error: ProviderError) -> None:
    """An object that could not be read: a warning when the read was refused (reconciler goes on
    without it), a failure otherwise (an outage, throttling, another error)."""
    if error.status == 403:
        report.warn(name, f"not checked: {op} was refused", "see the check of that API above")
    else:
        report.fail(name, f"not checked: {op} {_what_failed(error)}", _hint_for(op, error))


def _existing_config(provider: EquinixProvider, connection_uuid: str) -> str:
    """What an apply would find on the connection: nothing (it creates) or a config (it adopts)."""
    try:
        live: LiveObject | None = provider.find(EQUINIX_PEERING, {"connectionUuid": connection_uuid})
    except ProviderError as error:
        return f"BGP config not looked up ({_what_failed(error)})"
    if live is None:
        return "no BGP config yet (an apply creates one)"
    session = f", session {live.session}" if live.session else ""
    return f"has BGP config {live.cloud_id} ({live.raw_status or live.status}{session}; an apply adopts it)"


def _device_line(report: DoctorReport, device_uuid: str, result: _Read, local_asns: frozenset[int]) -> None:
    if result.error is not None:
        _unread(report, f"device {device_uuid}", DEVICE_OP, result.error)
        return
    if result.missing:
        report.fail(
            f"device {device_uuid}",
            "does not exist (404), though a Fabric connection names it as its A side",
            "check the connection in the Equinix Customer Portal",
        )
        return
    device = result.value if isinstance(result.value, dict) else {}
    name = f"device {device.get('name') or device_uuid} ({device_uuid})"
    status = str(device.get("status") or "")
    license_status = str(device.get("licenseStatus") or "")
    management = str(device.get("deviceManagementType") or "")
    problems = []
    if status != "PROVISIONED":
        problems.append(f"status {status or 'unknown'}, must be PROVISIONED")
    if license_status not in READY_LICENSES:
        problems.append(f"license {license_status or 'unknown'}, must be {', '.join(sorted(READY_LICENSES))}")
    if management.upper() == "SELF-CONFIGURED":
        problems.append("SELF-CONFIGURED: BGP through the API needs an Equinix-configured device")
    if problems:
        report.fail(
            name,
            "not ready for BGP: " + "; ".join(problems),
            "wait until the device is provisioned and licensed (docs/cloud-apis.md, Equinix §9), then run doctor again",
        )
        return
    detail = f"{status}, license {license_status}" + (f", {management}" if management else "")
    asn = device.get("asn")
    differing = sorted(a for a in local_asns if asn is not None and str(a) != str(asn))
    if differing:
        report.warn(
            name,
            f"{detail}; its ASN is {asn} but the manifests give localAsn {', '.join(map(str, differing))}",
            "whether Equinix requires localAsn to equal the device's ASN is unconfirmed (U-E9): use the device's "
            "ASN unless you know otherwise",
        )
        return
    report.ok(name, detail + (f", ASN {asn}" if asn is not None else ""))
