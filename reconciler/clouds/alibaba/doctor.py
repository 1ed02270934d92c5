"""`reconciler doctor` for Alibaba Cloud Express Connect: read-only checks of a real account.

What is checked (docs/cloud-apis.md, Alibaba §1, §2, §3, §11, §13 and §14):

- the credentials: where they come from (the environment, or Alibaba's default credential chain),
  and that a signed call is accepted. "No credentials", "refused credentials" (a signature or
  access-key error) and "network error" are told apart;
- one read of every API the client calls, `DescribeBgpGroups` and `DescribeBgpPeers`, naming the
  RAM action a refusal asks for. The mutating actions cannot be tried without changing something,
  and a RAM policy simulation is out of reach of the VPC API, so they are listed as not checked,
  with the RAM action each needs;
- every region the manifests name answers (`InvalidRegionId.NotFound` otherwise; without an
  endpoint override a region that does not exist has no endpoint, which looks like a network
  error);
- every VBR the groups name exists in its region and is `active` (the status creation needs is
  inferred, U-A17), with IPv6 enabled where a group asks for IPv6. This reads
  `DescribeVirtualBorderRouters` (through the provider's `describe_vbrs`, which `plan` also uses
  to check the sessions' addresses; a refusal is a warning there too);
- every group that peers name by id (`bgpGroupId`) exists;
- BFD where a peer sets `enableBfd`: no API says whether BFD is enabled for an account (U-A10).
  When a peer on the same VBR already runs BFD, BFD works there; otherwise the answer is unknown.

Every call goes through the provider's own plumbing (`_call`, `_page`, `_list`, `describe_vbrs`), so
doctor sees what `plan` and `apply` would see, with the same retries and the same secret masking.
No mutating action is ever called.

A `DoctorCheck` that passed with a hint is a warning: nothing failed, but something could not be
confirmed (a mutating action, BFD, a check that an earlier failure kept from running).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reconciler.clouds.alibaba.hints import HINTS
from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, ALIBABA_PEER, CLOUD_NAME
from reconciler.clouds.base import DoctorCheck, DoctorReport, ProviderOptions
from reconciler.errors import ProviderError
from reconciler.model import Resource

if TYPE_CHECKING:  # the provider (and the SDK) is imported only when doctor runs
    from reconciler.clouds.alibaba.provider import AlibabaProvider

ENV_KEYS = ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET")
# A signature or access-key problem: the credentials themselves were refused (docs/cloud-apis.md,
# Alibaba §2 and §13; `InvalidAccessKeyId` is handled without a source, U-A16).
CREDENTIAL_CODES = frozenset(
    {
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "InvalidAccessKeyId.NotFound",
        "InvalidAccessKeyId",
        "InvalidTimeStamp.Expired",
        "SignatureNonceUsed",
    }
)
# Authenticated, but the RAM user may not call the action (no source for either code, U-A16).
PERMISSION_CODES = frozenset({"Forbidden.RAM", "NoPermission"})
REGION_MISSING = "InvalidRegionId.NotFound"
READS = ("DescribeBgpGroups", "DescribeBgpPeers")
VBR_READ = "DescribeVirtualBorderRouters"
MUTATIONS = (
    "CreateBgpGroup",
    "ModifyBgpGroupAttribute",
    "DeleteBgpGroup",
    "CreateBgpPeer",
    "ModifyBgpPeerAttribute",
    "DeleteBgpPeer",
)


def ram_action(action: str) -> str:
    return f"vpc:{action}"


@dataclass(frozen=True, slots=True)
class _Read:
    """The outcome of one call: a value or an error."""

    value: Any = None
    error: ProviderError | None = None

    @property
    def code(self) -> str:
        return (self.error.code or "") if self.error is not None else ""

    @property
    def network(self) -> bool:
        return self.error is not None and self.error.retryable and self.error.status is None

    @property
    def refused(self) -> bool:
        return self.code in PERMISSION_CODES


def _read(call: Callable[..., Any], *args: Any) -> _Read:
    try:
        return _Read(value=call(*args))
    except ProviderError as error:
        return _Read(error=error)


def _what_failed(result: _Read) -> str:
    error = result.error
    if error is None:
        return "answered"
    if result.network:  # the provider's message already says "network error"
        return error.message if "network error" in error.message else f"network error: {error.message}"
    if result.refused:
        return f"refused: {error.message}"
    return f"failed: {error.message}"


# -- what the manifests presuppose -----------------------------------------------------------------


@dataclass
class _Vbr:
    region: str
    vbr_id: str
    groups: list[str] = field(default_factory=list)  # addresses of the groups on it
    ipv6_groups: list[str] = field(default_factory=list)
    bfd_peers: list[str] = field(default_factory=list)  # addresses of the peers with enableBfd


@dataclass
class _Layout:
    regions: dict[str, list[str]] = field(default_factory=dict)  # region -> addresses naming it
    vbrs: dict[tuple[str, str], _Vbr] = field(default_factory=dict)  # (region, VBR id)
    outside_groups: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (region, group id) -> peers
    outside_bfd_peers: dict[tuple[str, str], list[str]] = field(default_factory=dict)


def _layout(desired: Sequence[Resource]) -> _Layout:
    layout = _Layout()
    by_address = {r.address: r for r in desired}
    for resource in desired:
        if resource.kind == ALIBABA_GROUP:
            region, vbr_id = str(resource.attrs["regionId"]), str(resource.attrs["virtualBorderRouterId"])
            layout.regions.setdefault(region, []).append(resource.address)
            vbr = layout.vbrs.setdefault((region, vbr_id), _Vbr(region, vbr_id))
            vbr.groups.append(resource.address)
            if str(resource.attrs.get("ipVersion", "IPv4")).lower() == "ipv6":
                vbr.ipv6_groups.append(resource.address)
    for resource in desired:
        if resource.kind != ALIBABA_PEER:
            continue
        bfd = bool(resource.attrs.get("enableBfd"))
        group = by_address.get(resource.refs.get("bgpGroup", ""))
        if group is not None:
            key = (str(group.attrs["regionId"]), str(group.attrs["virtualBorderRouterId"]))
            if bfd and key in layout.vbrs:
                layout.vbrs[key].bfd_peers.append(resource.address)
        elif resource.attrs.get("bgpGroupId") and resource.attrs.get("regionId"):
            region, group_id = str(resource.attrs["regionId"]), str(resource.attrs["bgpGroupId"])
            layout.regions.setdefault(region, []).append(resource.address)
            layout.outside_groups.setdefault((region, group_id), []).append(resource.address)
            if bfd:
                layout.outside_bfd_peers.setdefault((region, group_id), []).append(resource.address)
    return layout


# -- the checks ----------------------------------------------------------------------------------------


def doctor(desired: Sequence[Resource], env: Mapping[str, str], options: ProviderOptions) -> Iterator[DoctorCheck]:
    """The checks, in order: credentials, API reads, mutating actions (not checked), regions, VBRs,
    groups named by id, BFD."""
    layout = _layout(desired)
    key_id, secret = (env.get(name) or "" for name in ENV_KEYS)
    report = DoctorReport(CLOUD_NAME, hide=[key_id, secret])
    if key_id and secret:
        source = f"{ENV_KEYS[0]} / {ENV_KEYS[1]}"
    else:
        source = "Alibaba's default credential chain"
        found, problem = _default_chain()
        report.hide.extend(found)
        if problem is not None:
            unset = " and ".join(name for name in ENV_KEYS if not env.get(name))
            report.fail(
                "credentials",
                f"no credentials: {unset} {'is' if ' and ' not in unset else 'are'} not set, and Alibaba's default "
                f"credential chain found none ({problem})",
                f"set {ENV_KEYS[0]} and {ENV_KEYS[1]} to a RAM user's AccessKey (or configure an Alibaba CLI "
                "profile or a RAM role, or run with --sandbox)",
            )
            _skipped(report)
            yield from report.checks
            return
    from reconciler.clouds.alibaba.provider import AlibabaProvider

    provider = AlibabaProvider.from_env(env, options)
    try:
        _run(report, provider, layout, source, bool(env.get("ALIBABA_CLOUD_VPC_ENDPOINT")))
    finally:
        provider.close()
    yield from report.checks


def _default_chain() -> tuple[list[str], str | None]:
    """(the credential values the default chain finds, to mask; why it found none, or None).
    The credentials library logs each provider it tries, with tracebacks: silenced meanwhile."""
    from alibabacloud_credentials.client import Client

    logger = logging.getLogger("credentials")
    was_disabled = logger.disabled
    logger.disabled = True
    try:
        credential = Client().get_credential()
    except Exception as error:  # the library raises its own exception types, and others
        return [], type(error).__name__
    finally:
        logger.disabled = was_disabled
    values = [credential.access_key_id, credential.access_key_secret, credential.security_token]
    if not credential.access_key_id or not credential.access_key_secret:
        return [], "it returned an empty AccessKey"
    return [str(v) for v in values if v], None


def _skipped(report: DoctorReport) -> None:
    report.warn(
        "remaining checks",
        "not run: every other check needs credentials that Alibaba accepts",
        "fix the credentials, then run doctor again",
    )


def _run(
    report: DoctorReport, provider: AlibabaProvider, layout: _Layout, source: str, endpoint_override: bool
) -> None:
    regions = sorted(layout.regions)
    # One DescribeBgpGroups page of one item per region: the signed call, the permission, the region.
    groups_read: dict[str, _Read] = {}
    for region in regions:
        groups_read[region] = _read(provider._page, region, ALIBABA_GROUP, {}, 1, 1)
        if groups_read[region].code in CREDENTIAL_CODES:
            break
    if not _credentials(report, groups_read, source):
        _skipped(report)
        return
    answering = [r for r in regions if groups_read[r].error is None]
    peers_read = _read(provider._page, answering[0], ALIBABA_PEER, {}, 1, 1) if answering else None
    reachable = [r for r in regions if groups_read[r].error is None or groups_read[r].refused]
    vbrs_read = {
        region: _read(provider.describe_vbrs, region, [v for (g, v) in layout.vbrs if g == region])
        for region in reachable
        if any(g == region for g, _ in layout.vbrs)
    }

    _api_line(report, "DescribeBgpGroups", list(groups_read.values()))
    _api_line(report, "DescribeBgpPeers", [peers_read] if peers_read is not None else [])
    _vbr_api_line(report, list(vbrs_read.values()))
    for action in MUTATIONS:
        report.warn(
            action,
            "not checked (mutating): a read-only check cannot call it, and a RAM policy simulation is out of reach",
            f"the RAM user needs {ram_action(action)}",
        )
    for region in regions:
        _region_line(report, region, groups_read[region], layout.regions[region], endpoint_override)
    for (region, _), vbr in sorted(layout.vbrs.items()):
        _vbr_line(report, vbr, vbrs_read.get(region))
    outside_vbrs = _outside_groups(report, provider, layout, groups_read)
    _bfd_lines(report, provider, layout, vbrs_read, outside_vbrs)


def _credentials(report: DoctorReport, groups_read: Mapping[str, _Read], source: str) -> bool:
    """Refused (a signature or access-key code), accepted (any other answer: the gateway checks the
    signature first), or not checked (only network errors)."""
    results = list(groups_read.items())
    refused = next((res for _, res in results if res.code in CREDENTIAL_CODES), None)
    if refused is not None and refused.error is not None:
        # SignatureDoesNotMatch appends the server's string to sign (docs/cloud-apis.md, Alibaba §2): noise here.
        messages = "; ".join(m.split(" server string to sign")[0] for m in refused.error.messages if m) or "no message"
        report.fail(
            "credentials",
            f"refused credentials (from {source}): {refused.code}: {messages}",
            HINTS.get(refused.code, "check the AccessKey"),
        )
        return False
    answered = next(((region, res) for region, res in results if not res.network), None)
    if answered is not None:
        region, result = answered
        if result.refused:
            also = " (the action itself was refused: see below)"
        elif result.error is not None:
            also = f" (it answered {result.code or 'an error'}: see below)"
        else:
            also = ""
        report.ok(
            "credentials",
            f"accepted: a signed DescribeBgpGroups call in {region} was authenticated{also}; from {source}",
        )
        return True
    report.fail(
        "credentials",
        f"not checked: {_what_failed(results[0][1])}" if results else "not checked: the manifests name no region",
        "check the network (proxy, firewall) and ALIBABA_CLOUD_VPC_ENDPOINT if set, then run doctor again",
    )
    return False


def _api_line(report: DoctorReport, action: str, results: Sequence[_Read]) -> None:
    refused = next((r for r in results if r.refused), None)
    if refused is not None:
        report.fail(action, _what_failed(refused), f"grant the RAM user {ram_action(action)}: reconciler calls it")
    elif any(r.error is None for r in results):
        report.ok(action, "answered")
    else:
        report.warn(action, "not checked: no region answered", "see the region checks below")


def _vbr_api_line(report: DoctorReport, results: Sequence[_Read]) -> None:
    if not results:
        return
    refused = next((r for r in results if r.refused), None)
    if refused is not None:
        report.warn(
            VBR_READ,
            _what_failed(refused),
            f"grant the RAM user {ram_action(VBR_READ)}: doctor reads it to check the VBRs, and plan to check the "
            "sessions' addresses (without it, both only warn)",
        )
    elif any(r.error is None for r in results):
        report.ok(VBR_READ, "answered (doctor reads it to check the VBRs, and plan to check the sessions' addresses)")
    else:
        failed = next(r for r in results if r.error is not None)
        report.fail(VBR_READ, _what_failed(failed), (failed.error.hint if failed.error else None) or "")


def _region_line(
    report: DoctorReport, region: str, result: _Read, named_by: Sequence[str], endpoint_override: bool
) -> None:
    name = f"region {region}"
    where = ", ".join(named_by)
    if result.error is None:
        _, total, _ = result.value
        report.ok(name, f"answers ({total} BGP groups in the region)")
    elif result.code == REGION_MISSING:
        report.fail(name, f"does not exist ({REGION_MISSING})", f"check spec.regionId of {where}")
    elif result.network:
        hint = (
            "check ALIBABA_CLOUD_VPC_ENDPOINT and the network"
            if endpoint_override
            else f"each region has its own endpoint (vpc.{region}.aliyuncs.com), so a region that does not exist "
            f"also looks like this: check spec.regionId of {where}, then the network (proxy, firewall)"
        )
        report.fail(name, _what_failed(result), hint)
    elif result.refused:
        report.warn(name, "not checked: DescribeBgpGroups was refused", "see the DescribeBgpGroups check above")
    else:
        report.fail(name, _what_failed(result), (result.error.hint if result.error else None) or "")


def _flag(value: Any) -> bool:
    return str(value).lower() == "true"


def _vbr_line(report: DoctorReport, vbr: _Vbr, vbrs_read: _Read | None) -> None:
    name = f"VBR {vbr.vbr_id} ({vbr.region})"
    where = ", ".join(vbr.groups)
    if vbrs_read is None:
        report.warn(name, f"not checked: region {vbr.region} did not answer", "see the region check above")
        return
    if vbrs_read.error is not None:
        report.warn(name, f"not checked: {VBR_READ} {_what_failed(vbrs_read)}", f"see the {VBR_READ} check above")
        return
    item = vbrs_read.value.get(vbr.vbr_id)
    if item is None:
        report.fail(
            name,
            f"does not exist in region {vbr.region}",
            f"check spec.virtualBorderRouterId and spec.regionId of {where}",
        )
        return
    status = str(item.get("Status") or "")
    if status != "active":
        report.fail(
            name,
            f"is {status or 'in no status'}; BGP groups and peers can be created only on an active VBR "
            "(inferred, U-A17)",
            "wait until the VBR is active (or check it in the Express Connect console), then run doctor again",
        )
        return
    ipv6 = _flag(item.get("EnableIpv6"))
    if vbr.ipv6_groups and not ipv6:
        report.fail(
            name,
            f"active, but IPv6 is not enabled on it, and {', '.join(vbr.ipv6_groups)} use ipVersion IPv6",
            "enable IPv6 on the VBR, or use ipVersion IPv4",
        )
        return
    report.ok(name, "active" + (", IPv6 enabled" if ipv6 else ""))


def _outside_groups(
    report: DoctorReport, provider: AlibabaProvider, layout: _Layout, groups_read: Mapping[str, _Read]
) -> dict[tuple[str, str], str]:
    """Check the groups peers name by id; returns (region, group id) -> its VBR, for those found."""
    vbrs: dict[tuple[str, str], str] = {}
    for (region, group_id), peers in sorted(layout.outside_groups.items()):
        name = f"BGP group {group_id} ({region})"
        region_read = groups_read.get(region)
        if region_read is None or (region_read.error is not None and not region_read.refused):
            report.warn(name, f"not checked: region {region} did not answer", "see the region check above")
            continue
        result = _read(provider._page, region, ALIBABA_GROUP, {"bgp_group_id": group_id}, 1, 10)
        if result.error is not None:
            report.warn(name, f"not checked: DescribeBgpGroups {_what_failed(result)}", "see the checks above")
            continue
        items = [i for i in result.value[0] if str(i.get("BgpGroupId")) == group_id]
        if not items:
            report.fail(
                name,
                f"does not exist in region {region}",
                f"check spec.bgpGroupId and spec.regionId of {', '.join(peers)}",
            )
            continue
        vbr_id, status = str(items[0].get("RouterId") or ""), str(items[0].get("Status") or "")
        vbrs[(region, group_id)] = vbr_id
        report.ok(name, f"exists on VBR {vbr_id or '(unknown)'}, {status or 'no status'}")
    return vbrs


def _bfd_lines(
    report: DoctorReport,
    provider: AlibabaProvider,
    layout: _Layout,
    vbrs_read: Mapping[str, _Read],
    outside_vbrs: Mapping[tuple[str, str], str],
) -> None:
    """Where peers set enableBfd: available when a peer on the same VBR already runs BFD, else unknown."""
    wanted: dict[tuple[str, str], list[str]] = {}
    for key, vbr in layout.vbrs.items():
        read = vbrs_read.get(vbr.region)
        exists = read is not None and read.error is None and vbr.vbr_id in read.value
        if vbr.bfd_peers and (exists or (read is not None and read.refused)):
            wanted.setdefault(key, []).extend(vbr.bfd_peers)
    for (region, group_id), peers in layout.outside_bfd_peers.items():
        vbr_id = outside_vbrs.get((region, group_id))
        if vbr_id:
            wanted.setdefault((region, vbr_id), []).extend(peers)
    for (region, vbr_id), peers in sorted(wanted.items()):
        name = f"BFD on VBR {vbr_id} ({region})"
        listed = _read(provider._list, region, ALIBABA_PEER, {"router_id": vbr_id})
        running = (
            sorted(p.cloud_id for p in listed.value if p.attrs.get("enableBfd") and p.status == "ready")
            if listed.error is None
            else []
        )
        if running:
            report.ok(name, f"available: peer {running[0]} on this VBR already runs BFD")
            continue
        report.warn(
            name,
            "unknown: the API does not say whether BFD is enabled here; a create would fail with "
            "QuotaExceeded.BfdSession if it is off (it is reported to be off by default, U-A10)",
            f"{', '.join(sorted(peers))} set enableBfd: true; if BFD is off, ask Alibaba Cloud to enable it (for the "
            "account or this VBR) or set enableBfd: false",
        )
