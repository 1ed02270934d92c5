"""The sandbox's knobs: fault injection per API, timing, and a choice for every unconfirmed cloud
behaviour (docs/cloud-apis.md, Unconfirmed facts).

`SandboxConfig` and `FaultConfig` are plain dataclasses. At runtime they are changed only through
`apply_changes` (used by `Sandbox.configure` and `POST /_sandbox/config`), which validates every
field (types, ranges; NaN and infinity are never a valid number) and returns a new object, so a
request always sees one consistent configuration.

Realism profiles (docs/sandbox.md, Profiles) set every behaviour knob at once: `lenient` is the
dataclass defaults, `realistic` the best reading of the evidence, `pessimistic` the least
favourable plausible value of everything the evidence leaves open.

    SandboxConfig.for_profile("pessimistic", provision_delay=0.2)
    sandbox.configure(profile="realistic", alibaba_read_lag=0.5)   # the profile first, then the rest
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler.errors import ReconcilerError
from reconciler.sandbox.bounded import shown

EQUINIX_SESSION_STATES = ("Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established")
ALIBABA_SESSION_STATES = ("Idle", "Connect", "Active", "Established", "Down", "")


class SandboxError(ReconcilerError):
    """Bad sandbox input: a seed file, a configuration change, a data file, a port."""


@dataclass
class FaultConfig:
    """Faults injected into one API ("equinix" or "alibaba")."""

    latency_ms: float = 0.0  # fixed latency added to every request
    jitter_ms: float = 0.0  # plus uniform random 0..jitter
    error_rate: float = 0.0  # fraction of requests answered with a 5xx before anything happens
    throttle_rps: float | None = None  # above N requests/s: Equinix 429, Alibaba Throttling.User
    drop_rate: float = 0.0  # a mutating request is carried out, then the connection is closed
    provision_failure_rate: float = 0.0  # Equinix: ends FAILED; Alibaba: the change is rolled back


@dataclass
class SandboxConfig:
    # Seconds for PROVISIONING/PENDING_UPDATE -> PROVISIONED, Pending/Modifying -> Available,
    # Deleting -> gone.
    provision_delay: float = 0.0
    equinix: FaultConfig = field(default_factory=FaultConfig)
    alibaba: FaultConfig = field(default_factory=FaultConfig)
    random_seed: int | None = None  # deterministic faults and ids when set

    # Credentials (the defaults docs/sandbox.md documents).
    equinix_client_id: str = "sandbox"
    equinix_client_secret: str = "sandbox-secret"
    alibaba_access_key_id: str = "sandbox-ak"
    alibaba_access_key_secret: str = "sandbox-secret"

    # Equinix choices where the real API is unconfirmed (docs/cloud-apis.md, Unconfirmed facts;
    # docs/sandbox.md explains each).
    equinix_error_shape: Literal["object", "array"] = "array"
    equinix_duplicate_post: Literal["reject", "duplicate", "return-existing"] = "reject"
    equinix_put_response: Literal["uuid", "empty"] = "uuid"
    equinix_put_while_busy: Literal["accept", "reject"] = "reject"
    equinix_empty_key_on_put: Literal["clear", "keep"] = "clear"
    equinix_list_limit_cap: int = 100
    equinix_token_timeout: int = 3600
    equinix_lockout_after: int = 5
    equinix_session_target: str = "Established"
    equinix_retry_after: bool = True  # send `Retry-After` with a 429
    # Seconds reads lag behind a change: a new config is invisible, an updated one shows its old
    # values and status.
    equinix_read_lag: float = 0.0
    equinix_require_device_asn: bool = False  # localAsn must equal the device's asn
    # "forbidden": the credentials may manage BGP but not read devices / Fabric connections (403).
    equinix_prerequisite_reads: Literal["allowed", "forbidden"] = "allowed"
    # How single-object GETs spell connectionUuid / virtualDeviceUuid ("UUID": ne-go's fixture).
    equinix_get_uuid_spelling: Literal["Uuid", "UUID"] = "Uuid"
    equinix_oauth_error_case: Literal["camel", "snake"] = "camel"  # token error body keys
    # A config that was never provisioned shows `state: Idle`, or no `state` at all.
    equinix_state_before_provisioned: Literal["Idle", "absent"] = "Idle"

    # Seconds from the later end of a matching pair being provisioned (or last changed) to
    # `Established` (docs/sandbox.md, Sessions); `Connect` until then.
    session_establish_delay: float = 0.0

    # Alibaba choices.
    alibaba_session_target: str = "Established"
    alibaba_max_peers_per_vbr: int = 8
    alibaba_max_groups_per_vbr: int = 16
    alibaba_page_size_over_max: Literal["clamp", "reject"] = "clamp"
    alibaba_custom_local_asn: bool = True  # False: LocalAsn other than 45104 -> OperationUnsupport
    alibaba_route_quota_max: int = 110
    alibaba_throttle_retry_after: bool = False  # add `x-acs-retry-after` to Throttling.User
    alibaba_timestamp_window: int = 900  # seconds `x-acs-date` may be off
    alibaba_accept_v2_signature: bool = True  # legacy HMAC-SHA1 query signatures
    # A mutation on a VBR while one of its groups or peers is Pending / Modifying / Deleting.
    alibaba_busy_vbr: Literal["accept", "conflict"] = "accept"
    # Seconds Describe lags behind a change: a new object is missing, a changed or deleted one
    # shows its old values and status.
    alibaba_read_lag: float = 0.0
    alibaba_deleted_peer_linger: float = 0.0  # seconds a deleted peer stays listed as `Deleted`
    # ModifyBgpPeerAttribute without EnableBfd: BFD as it was, or off (the documented default false).
    alibaba_modify_peer_without_bfd: Literal["keep", "disable"] = "keep"
    alibaba_bfd_default: bool = True  # BFD available on a seeded VBR without `bfdEnabled`
    alibaba_token_remembers_refusals: bool = False  # a ClientToken refused with a 4xx replays the refusal
    alibaba_token_ttl: float | None = None  # seconds a ClientToken is remembered (null: forever)
    alibaba_description_error_code: Literal["InvalidBgpDescription.Malformed", "InvalidBgpDiscription.Malformed"] = (
        "InvalidBgpDescription.Malformed"
    )
    alibaba_ip_version_case: Literal["IPv4", "IPV4", "ipv4", "mixed"] = "IPv4"  # IpVersion in Describe replies
    # A required business parameter present but empty.
    alibaba_empty_param_code: Literal["MissingParameter", "InvalidParams.NotNull"] = "MissingParameter"
    alibaba_specific_ip_codes: bool = False  # DuplicatedParam.LocalIpAddress / LocalIpv6Address / PeerIpv6Address
    alibaba_check_vbr_addressing: bool = False  # IllegalParam.LocalGatewayIpAndMask / PeeringIpv6SubnetMask
    alibaba_unique_group_names: bool = False  # InvalidParams.AlreadyExists for a Name taken on the VBR

    @classmethod
    def for_profile(cls, profile: str, **overrides: Any) -> SandboxConfig:
        """The configuration of a realism profile, then `overrides` (validated like `configure`)."""
        return apply_changes(cls(), {"profile": profile, **overrides})


PROFILES = ("lenient", "realistic", "pessimistic")
DEFAULT_PROFILE = "realistic"  # of `reconciler sandbox serve` and `reconciler --sandbox`; Python's is lenient

# field -> (lenient, realistic, pessimistic). "equinix.x" / "alibaba.x" are FaultConfig fields.
# docs/sandbox.md (Profiles) gives the evidence for every row; a test keeps the two in step.
PROFILE_TABLE: dict[str, tuple[Any, Any, Any]] = {
    "alibaba_busy_vbr": ("accept", "conflict", "conflict"),
    "equinix_read_lag": (0.0, 0.0, 3.0),
    "alibaba_read_lag": (0.0, 1.0, 3.0),
    "session_establish_delay": (0.0, 1.0, 5.0),
    "alibaba_deleted_peer_linger": (0.0, 2.0, 5.0),
    "equinix_prerequisite_reads": ("allowed", "allowed", "forbidden"),
    "equinix_empty_key_on_put": ("clear", "clear", "keep"),
    "alibaba_modify_peer_without_bfd": ("keep", "keep", "disable"),
    "alibaba_bfd_default": (True, True, False),
    "alibaba_token_remembers_refusals": (False, False, True),
    "alibaba_token_ttl": (None, 600.0, 60.0),
    "equinix.throttle_rps": (None, 20.0, 5.0),
    "alibaba.throttle_rps": (None, 20.0, 5.0),
    "equinix_retry_after": (True, False, False),
    "alibaba_throttle_retry_after": (False, True, False),
    "alibaba_description_error_code": (
        "InvalidBgpDescription.Malformed",
        "InvalidBgpDiscription.Malformed",
        "InvalidBgpDiscription.Malformed",
    ),
    "alibaba_ip_version_case": ("IPv4", "IPV4", "mixed"),
    "equinix_get_uuid_spelling": ("Uuid", "UUID", "UUID"),
    "equinix_oauth_error_case": ("camel", "snake", "snake"),
    "equinix_state_before_provisioned": ("Idle", "absent", "absent"),
    "alibaba_empty_param_code": ("MissingParameter", "InvalidParams.NotNull", "InvalidParams.NotNull"),
    "alibaba_specific_ip_codes": (False, True, True),
    "alibaba_check_vbr_addressing": (False, True, True),
    "alibaba_unique_group_names": (False, False, True),
    "equinix_error_shape": ("array", "array", "object"),
    "equinix_duplicate_post": ("reject", "reject", "duplicate"),
    "equinix_put_response": ("uuid", "uuid", "empty"),
    "equinix_put_while_busy": ("reject", "reject", "reject"),
    "equinix_list_limit_cap": (100, 100, 20),
    "equinix_require_device_asn": (False, False, True),
    "alibaba_max_groups_per_vbr": (16, 16, 8),
    "alibaba_page_size_over_max": ("clamp", "clamp", "reject"),
    "alibaba_custom_local_asn": (True, True, False),
}


def profile_changes(profile: str) -> dict[str, Any]:
    """The `apply_changes` mapping that sets every knob of `profile`."""
    if profile not in PROFILES:
        raise SandboxError(f"profile: {shown(profile)} is not a sandbox profile; valid: {', '.join(PROFILES)}")
    column = PROFILES.index(profile)
    changes: dict[str, Any] = {}
    for name, values in PROFILE_TABLE.items():
        api, dot, fault = name.partition(".")
        if dot:
            changes.setdefault(api, {})[fault] = values[column]
        else:
            changes[name] = values[column]
    return changes


def profile_config(profile: str, **overrides: Any) -> SandboxConfig:
    """`SandboxConfig.for_profile(profile, **overrides)`."""
    return SandboxConfig.for_profile(profile, **overrides)


def profile_of(config: SandboxConfig) -> str | None:
    """The profile whose every knob `config` has, or None (a mix)."""
    for column, profile in enumerate(PROFILES):
        if all(_knob(config, name) == values[column] for name, values in PROFILE_TABLE.items()):
            return profile
    return None


def _knob(config: SandboxConfig, name: str) -> Any:
    api, dot, fault = name.partition(".")
    return getattr(getattr(config, api), fault) if dot else getattr(config, name)


_RATES = ("error_rate", "drop_rate", "provision_failure_rate")
_NON_NEGATIVE = (
    "latency_ms",
    "jitter_ms",
    "provision_delay",
    "equinix_read_lag",
    "alibaba_read_lag",
    "session_establish_delay",
    "alibaba_deleted_peer_linger",
    "alibaba_route_quota_max",
    "alibaba_max_groups_per_vbr",
    "alibaba_max_peers_per_vbr",
)
_SECRETS = ("client_secret", "access_key_secret")
_INT_BOUND = 2**63
_AT_LEAST_ONE = ("equinix_list_limit_cap", "equinix_token_timeout", "equinix_lockout_after", "alibaba_timestamp_window")


def apply_changes(config: SandboxConfig, changes: Mapping[str, Any]) -> SandboxConfig:
    """A new config with `changes` applied; `equinix`/`alibaba` take a FaultConfig or a dict of fields.

    `profile` (a name, or null for none) sets every knob of that profile first, whatever its place
    in `changes`. Raises SandboxError naming the field and what would be valid; `config` is never
    modified.
    """
    if changes.get("profile") is not None:
        profile = changes["profile"]
        if not isinstance(profile, str):
            raise SandboxError(f"profile: {shown(profile)} is not a sandbox profile; valid: {', '.join(PROFILES)}")
        config = apply_changes(config, profile_changes(profile))
    updates: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "profile":
            continue
        if name in ("equinix", "alibaba"):
            current: FaultConfig = getattr(config, name)
            fields = dataclasses.asdict(value) if isinstance(value, FaultConfig) else value
            if not isinstance(fields, Mapping):
                raise SandboxError(f"{name}: expected an object of fault fields, got {type(value).__name__}")
            updates[name] = _replace_checked(current, fields, prefix=f"{name}.")
        else:
            updates[name] = value
    return _replace_checked(config, updates, prefix="", nested=("equinix", "alibaba"))


def config_to_json(config: SandboxConfig) -> dict[str, Any]:
    """Every field, plus `profile`: the profile all behaviour knobs match, or null."""
    return {**dataclasses.asdict(config), "profile": profile_of(config)}


_T = typing.TypeVar("_T", SandboxConfig, FaultConfig)


def _replace_checked(obj: _T, changes: Mapping[str, Any], *, prefix: str, nested: tuple[str, ...] = ()) -> _T:
    hints = typing.get_type_hints(type(obj))
    names = [f.name for f in dataclasses.fields(obj)]
    checked: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in hints:
            where = f"{prefix}{name}" if len(name) <= 60 else f"{prefix}{shown(name)}"
            raise SandboxError(f"{where}: unknown setting; valid settings: {', '.join(names)}")
        checked[name] = value if name in nested else _coerce(f"{prefix}{name}", value, hints[name])
    for name, value in checked.items():
        if name in nested:
            continue
        _check_range(f"{prefix}{name}", name, value)
    return dataclasses.replace(obj, **checked)


def _coerce(path: str, value: Any, hint: Any) -> Any:
    """Check `value` against a field's type; ints are accepted where floats are expected."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for option in options:
        if option is type(None) and value is None:
            return None
        if typing.get_origin(option) is Literal:
            if value in typing.get_args(option):
                return value
            continue
        if option is bool and isinstance(value, bool):
            return value
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            if not -_INT_BOUND <= value < _INT_BOUND:  # nothing needs more; huge ints cannot even be printed
                raise SandboxError(f"{path}: the number is too large; expected an integer from -2**63 to 2**63 - 1")
            return value
        if option is float and isinstance(value, int | float) and not isinstance(value, bool):
            return _finite(path, value)
        if option is str and isinstance(value, str):
            return value
    given = "the value given" if path.endswith(_SECRETS) else shown(value)  # never echo a credential
    raise SandboxError(f"{path}: {given} is not valid; expected {_describe(options)}")


def _finite(path: str, value: int | float) -> float:
    """NaN passes every `<` check and infinity every `>=` one, so both are refused here, once."""
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range
        raise SandboxError(f"{path}: the number is too large; expected a finite number") from None
    if not math.isfinite(number):
        raise SandboxError(f"{path}: {number} is not valid; expected a finite number")
    return number


def _describe(options: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for option in options:
        if typing.get_origin(option) is Literal:
            parts.append("one of " + ", ".join(repr(v) for v in typing.get_args(option)))
        elif option is type(None):
            parts.append("null")
        else:
            parts.append("a number" if option in (int, float) else option.__name__)
    return " or ".join(parts)


def _check_range(path: str, name: str, value: Any) -> None:
    if value is None:
        return
    if name in _RATES and not 0.0 <= value <= 1.0:
        raise SandboxError(f"{path}: {value} is outside 0..1 (a fraction of requests)")
    if name in _NON_NEGATIVE and value < 0:
        raise SandboxError(f"{path}: {value} is negative; expected 0 or more")
    if name in _AT_LEAST_ONE and value < 1:
        raise SandboxError(f"{path}: {value} is below the minimum 1")
    if name == "alibaba_token_ttl" and value <= 0:
        raise SandboxError(f"{path}: {value} must be above 0 seconds (or null: tokens never expire)")
    if name == "throttle_rps" and value <= 0:
        raise SandboxError(f"{path}: {value} must be above 0 requests per second (or null for no throttling)")
    if name == "equinix_session_target" and value not in EQUINIX_SESSION_STATES:
        raise SandboxError(f"{path}: {shown(value)} is not a BGP state; valid: {', '.join(EQUINIX_SESSION_STATES)}")
    if name == "alibaba_session_target" and value not in ALIBABA_SESSION_STATES:
        valid = ", ".join(repr(s) for s in ALIBABA_SESSION_STATES)
        raise SandboxError(f"{path}: {shown(value)} is not a BgpStatus; valid: {valid}")
    if name.endswith(("client_id", "client_secret", "access_key_id", "access_key_secret")) and not value:
        raise SandboxError(f"{path}: must not be empty")


def validated(config: SandboxConfig) -> SandboxConfig:
    """Check every field of a caller-built config (same rules as `apply_changes`)."""
    return apply_changes(SandboxConfig(), dataclasses.asdict(config))
