"""What the user should do about each documented Alibaba error code, shown as the error's hint
(docs/cloud-apis.md, Alibaba §13: the BGP actions' codes and the gateway codes)."""

from __future__ import annotations

from collections.abc import Mapping

HINTS: Mapping[str, str] = {
    "QuotaExceeded.Bgp": "a VBR holds at most 8 BGP peers (and a limited number of groups): remove one or "
    "use another VBR",
    "QuotaExceeded.Nqa": "the VBR reached its health-check (NQA) quota: remove one",
    "QuotaExceeded.BgpNetwork": "the VBR reached its quota of advertised BGP networks: remove one",
    "QuotaExceeded.BfdSession": "BFD is off on VBRs by default: ask Alibaba Cloud to enable BFD on this VBR, "
    "or set enableBfd: false on this peer (the account's BFD session quota may also be reached)",
    "InvalidAccessDeviceId.NotFound": "the access device behind the VBR's physical connection was not found: "
    "check the VBR in the Express Connect console",
    "InvalidPeerIpAddress": "the VBR uses several physical connections: set spec.peerIpAddress",
    "InvalidVbrNetwork": "the VBR does not exist in this region: check spec.virtualBorderRouterId and spec.regionId",
    "InvalidBgpGroup": "the BGP group does not exist in this region: check spec.bgpGroup / spec.bgpGroupId "
    "and spec.regionId",
    "InvalidBgpName.Malformed": "the group's name (its metadata.name) must be 2-128 characters, start with a "
    "letter and contain only letters, digits, '.', '_' and '-'",
    "InvalidBgpDescription.Malformed": "spec.description must be 2-256 characters, start with a letter and "
    "not start with http:// or https://",
    "InvalidBgpDiscription.Malformed": "spec.description must be 2-256 characters, start with a letter and "
    "not start with http:// or https://",
    "InvalidBgpAuthkey.Malformed": "Alibaba refused the BGP auth key: use another key of letters and digits",
    "InvalidIP.Malformed": "spec.peerIpAddress is not a valid IP address",
    "InvalidPeerAsn.Malformed": "peer ASN cannot be 45104, Alibaba's own ASN: set spec.peerAsn to your side's ASN",
    "InvalidParams.NotNull": "a required parameter was empty: check the spec of this resource",
    "InvalidBgpGroup.LocalAsnInvalid": "spec.localAsn must be 45104, 64512-65534 or 4200000000-4294967294, "
    "and not 65025",
    "InvalidParams.NotFound": "the object was not found; it may have been deleted outside reconciler",
    "InvalidParams.AlreadyExists": "the object already exists: import it (reconciler import) instead of creating it",
    "InvalidStatus.CannotOperate": "the object is busy (Pending, Modifying or Deleting): wait until it is "
    "Available and apply again",
    "InvalidParams.PeerIpAddressMustPointOut": "the VBR has zero or several sub-interfaces: set spec.peerIpAddress",
    "InvalidParams.PeerIpAddressInUse": "another BGP peer on this VBR already uses spec.peerIpAddress: pick "
    "another address or import that peer",
    "BgpPeer.Already.Exists": "a BGP peer with this address already exists in the group: import it "
    "(reconciler import) instead of creating it",
    "MissingParam.EnableBfd": "set spec.enableBfd (true or false)",
    "IllegalParam.BfdMultiHop": "spec.bfdMultiHop must be 1..255 and is required when enableBfd is true",
    "IllegalParam.IpVersion": "ipVersion must be IPv4 or IPv6, and IPv6 needs IPv6 enabled on the VBR",
    "IllegalParam.PeerIpAddress": "spec.peerIpAddress is not valid for this VBR: it must be in the VBR's "
    "peering subnet and match ipVersion",
    "DuplicatedParam.PeerIpAddress": "spec.peerIpAddress is given twice for this group",
    "DuplicatedParam.LocalIpAddress": "this address is already used on the VBR: check spec.peerIpAddress and the "
    "VBR's addresses in the Express Connect console",
    "DuplicatedParam.PeerIpv6Address": "this IPv6 address is already used on the VBR: check spec.peerIpAddress",
    "DuplicatedParam.LocalIpv6Address": "this IPv6 address is already used on the VBR: check the VBR's IPv6 "
    "addresses in the Express Connect console",
    "IllegalParam.LocalGatewayIpAndMask": "the VBR's gateway address and subnet mask do not fit together: fix the "
    "VBR's addressing in the Express Connect console",
    "IllegalParam.PeeringIpv6SubnetMask": "the VBR's IPv6 peering subnet is not valid: fix the VBR's IPv6 "
    "addressing in the Express Connect console",
    "OperationUnsupported.IPV6ForThisRegion": "this region does not support IPv6 BGP: use ipVersion IPv4",
    "IllegalParam.PeerAsn": "spec.peerAsn must be 1..4294967295 and not 45104",
    "IllegalParam.LocalAsn": "spec.localAsn must be 45104, 64512-65534 or 4200000000-4294967294, and not 65025",
    "IllegalParam.RouteLimit": "spec.routeQuota is above what the account allows (110 by default): lower it",
    "OperationUnsupport": "this account may not set a custom local ASN: remove spec.localAsn (45104 is used)",
    "OperationFailed.PconnTrafficNotEnable": "traffic is not enabled on the physical connection behind the "
    "VBR: enable it in the Express Connect console and apply again",
    "UnsupportedFeature.Vpconn": "BGP peers are not supported on this hosted (virtual) physical connection",
    "InvalidRegionId.NotFound": "spec.regionId is not a region the Alibaba VPC API knows",
    "InternalError": "Alibaba had an internal error: apply again later",
    "ServiceUnavailable": "the Alibaba VPC API is temporarily unavailable: apply again later",
    "Throttling": "Alibaba throttled the requests: lower --parallelism or try again later",
    "Throttling.User": "Alibaba throttled the requests: lower --parallelism or try again later",
    "Throttling.Api": "Alibaba throttled the requests: lower --parallelism or try again later",
    "SignatureDoesNotMatch": "check ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "InvalidAccessKeyId.NotFound": "check ALIBABA_CLOUD_ACCESS_KEY_ID",
    "InvalidAccessKeyId": "check ALIBABA_CLOUD_ACCESS_KEY_ID",
    "InvalidTimeStamp.Expired": "this machine's clock is off by more than 15 minutes: fix it (NTP)",
    "SignatureNonceUsed": "a request was replayed: run the command again",
    "IdempotentParameterMismatch": "this change's ClientToken was already used with other parameters: the "
    "manifests changed after the plan was made; run plan again",
    "DependencyViolation.BgpPeer": "the BGP group still has peers: delete them first",
    "DependencyViolation.BgpGroup": "the VBR still has BGP groups: delete them first",
    "OperationConflict": "another operation on this VBR is in progress: apply again in a moment",
    "Forbidden.RAM": "the RAM user lacks permission for this VPC action: grant it (e.g. AliyunVPCFullAccess)",
    "NoPermission": "the RAM user lacks permission for this VPC action: grant it (e.g. AliyunVPCFullAccess)",
    "MissingParameter": "a required parameter is missing: check the spec of this resource",
    "InvalidParameter": "a parameter is not valid: check the spec of this resource",
}
