"""Alibaba Cloud request signatures, checked the way the server does (docs/cloud-apis.md, Alibaba §2).

ACS3-HMAC-SHA256 (the SDK's default):

    CanonicalRequest = METHOD \\n PATH \\n CanonicalQuery \\n CanonicalHeaders \\n SignedHeaders \\n sha256(body)
    StringToSign     = "ACS3-HMAC-SHA256" \\n hex(sha256(CanonicalRequest))
    Signature        = hex(HMAC-SHA256(AccessKeySecret, StringToSign))

CanonicalQuery sorts the query parameters by name and percent-encodes per RFC 3986 (space ->
%20); CanonicalHeaders lists the headers named in SignedHeaders, lower-cased and trimmed.
The legacy RPC signature (HMAC-SHA1 over the sorted parameters) is also checked.

`sign_acs3` is the client side, for tests that hand-build (and then tamper with) requests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

ACS3 = "ACS3-HMAC-SHA256"
# Headers that must be covered by the signature when present (else they could be changed freely).
MUST_SIGN = ("host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256")
V2_PROTOCOL_PARAMS = frozenset(
    {
        "Signature",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "SignatureType",
        "Timestamp",
        "AccessKeyId",
        "Format",
        "Version",
        "Action",
        "SecurityToken",
    }
)


class SignatureError(Exception):
    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Signed:
    """A request whose signature checked out."""

    access_key_id: str
    timestamp: str  # x-acs-date / Timestamp, still to be checked against the clock
    nonce: str  # x-acs-signature-nonce / SignatureNonce, still to be checked for reuse


def encode(value: str) -> str:
    return quote(value, safe="~", encoding="utf-8")


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    return "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(pairs))


def acs3_string_to_sign(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: list[str],
    payload_hash: str,
) -> str:
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed_headers)
    canonical_request = "\n".join(
        [method.upper(), path or "/", canonical_query(query), canonical_headers, ";".join(signed_headers), payload_hash]
    )
    return ACS3 + "\n" + hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()


def verify_acs3(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    secret_for: Callable[[str], str | None],
) -> Signed:
    """`headers` must be case-insensitive (or lower-cased). Raises SignatureError with the Alibaba code."""
    algorithm, _, rest = headers.get("authorization", "").partition(" ")
    if algorithm != ACS3:
        raise SignatureError("IncompleteSignature", f"unsupported signature algorithm {algorithm!r}")
    try:
        parts = dict(item.strip().split("=", 1) for item in rest.split(","))
        access_key_id = parts["Credential"]
        signed_headers = parts["SignedHeaders"].split(";")
        signature = parts["Signature"]
    except (KeyError, ValueError):
        raise SignatureError(
            "IncompleteSignature", "Authorization lacks Credential, SignedHeaders or Signature"
        ) from None
    secret = secret_for(access_key_id)
    if secret is None:
        raise SignatureError("InvalidAccessKeyId.NotFound")
    payload_hash = hashlib.sha256(body).hexdigest()
    if headers.get("x-acs-content-sha256", "") != payload_hash:
        raise SignatureError("SignatureDoesNotMatch", "x-acs-content-sha256 does not match the body")
    for name in MUST_SIGN:
        if name in headers and name not in signed_headers:
            raise SignatureError("SignatureDoesNotMatch", f"header {name} must be signed")
    string_to_sign = acs3_string_to_sign(method, path, query, headers, signed_headers, payload_hash)
    expected = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise SignatureError("SignatureDoesNotMatch", f"server string to sign is:{string_to_sign}")
    return Signed(access_key_id, headers.get("x-acs-date", ""), headers.get("x-acs-signature-nonce", ""))


def verify_rpc_v2(method: str, params: Mapping[str, str], secret_for: Callable[[str], str | None]) -> Signed:
    """The legacy HMAC-SHA1 signature carried in the `Signature` parameter."""
    access_key_id = params.get("AccessKeyId", "")
    secret = secret_for(access_key_id)
    if secret is None:
        raise SignatureError("InvalidAccessKeyId.NotFound")
    if params.get("SignatureMethod", "HMAC-SHA1") != "HMAC-SHA1":
        raise SignatureError("IncompleteSignature", "SignatureMethod must be HMAC-SHA1")
    canonical = canonical_query((k, v) for k, v in params.items() if k != "Signature")
    string_to_sign = f"{method.upper()}&{encode('/')}&{encode(canonical)}"
    digest = hmac.new((secret + "&").encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    if not hmac.compare_digest(base64.b64encode(digest).decode(), params.get("Signature", "")):
        raise SignatureError("SignatureDoesNotMatch", f"server string to sign is:{string_to_sign}")
    return Signed(access_key_id, params.get("Timestamp", ""), params.get("SignatureNonce", ""))


def sign_acs3(
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    access_key_id: str,
    secret: str,
) -> dict[str, str]:
    """Headers with `x-acs-content-sha256` and `Authorization` added, signing every header given."""
    out = {k.lower(): v for k, v in headers.items()}
    out["x-acs-content-sha256"] = hashlib.sha256(body).hexdigest()
    signed = sorted(out)
    string_to_sign = acs3_string_to_sign(method, path, query.items(), out, signed, out["x-acs-content-sha256"])
    signature = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    out["authorization"] = f"{ACS3} Credential={access_key_id},SignedHeaders={';'.join(signed)},Signature={signature}"
    return out
