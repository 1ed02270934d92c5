"""SandboxConfig / FaultConfig validation (apply_changes) and runtime configure()."""

from __future__ import annotations

import math
import re
import typing

import pytest

from reconciler.sandbox import FaultConfig, Sandbox, SandboxConfig, SandboxError, Seed
from reconciler.sandbox.config import apply_changes, validated


def test_defaults_match_the_contract() -> None:
    """docs/sandbox.md (Knobs; Running it): every knob's default and the default credentials."""
    config = SandboxConfig()
    assert (config.provision_delay, config.random_seed) == (0.0, None)
    assert config.equinix == FaultConfig() and config.alibaba == FaultConfig()
    assert (config.equinix_error_shape, config.equinix_duplicate_post, config.equinix_put_response) == (
        "array",
        "reject",
        "uuid",
    )
    assert (config.equinix_put_while_busy, config.equinix_empty_key_on_put) == ("reject", "clear")
    assert (config.equinix_list_limit_cap, config.equinix_token_timeout, config.equinix_lockout_after) == (100, 3600, 5)
    assert (config.equinix_session_target, config.alibaba_session_target) == ("Established", "Established")
    assert (config.equinix_client_id, config.equinix_client_secret) == ("sandbox", "sandbox-secret")
    assert (config.alibaba_access_key_id, config.alibaba_access_key_secret) == ("sandbox-ak", "sandbox-secret")


def test_apply_changes_returns_a_new_config() -> None:
    """docs/sandbox.md (Knobs, changed at runtime): changes make a new config, nested dicts or FaultConfig."""
    config = SandboxConfig()
    changed = apply_changes(
        config, {"provision_delay": 1, "equinix": {"latency_ms": 5}, "alibaba": FaultConfig(error_rate=0.5)}
    )
    assert changed.provision_delay == 1.0 and isinstance(changed.provision_delay, float)
    assert changed.equinix.latency_ms == 5.0 and changed.alibaba.error_rate == 0.5
    assert config.provision_delay == 0.0 and config.equinix.latency_ms == 0.0  # untouched


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"provision_delay": -1}, "provision_delay: -1.0 is negative"),
        ({"provision_delay": "1"}, "provision_delay: '1' is not valid; expected a number"),
        ({"equinix_error_shape": "list"}, "expected one of 'object', 'array'"),
        ({"equinix_duplicate_post": True}, "one of 'reject', 'duplicate', 'return-existing'"),
        ({"equinix_list_limit_cap": 0}, "equinix_list_limit_cap: 0 is below the minimum 1"),
        ({"equinix_lockout_after": 2.5}, "expected a number"),
        ({"equinix_session_target": "established"}, "not a BGP state; valid: Idle, Connect"),
        ({"alibaba_session_target": "Open"}, "not a BgpStatus"),
        ({"random_seed": "x"}, "random_seed: 'x' is not valid; expected a number or null"),
        ({"equinix": {"throttle_rps": 0}}, "equinix.throttle_rps: 0.0 must be above 0"),
        ({"alibaba": {"drop_rate": 2}}, "alibaba.drop_rate: 2.0 is outside 0..1"),
        ({"alibaba": 3}, "alibaba: expected an object of fault fields"),
        ({"colour": "red"}, "colour: unknown setting; valid settings: provision_delay, equinix"),
        ({"equinix_client_secret": ""}, "must not be empty"),
        ({"equinix_retry_after": 1}, "expected bool"),
        ({"alibaba_read_lag": -1}, "alibaba_read_lag: -1.0 is negative"),
        ({"alibaba_deleted_peer_linger": -0.5}, "is negative"),
        ({"alibaba_token_ttl": 0}, "alibaba_token_ttl: 0.0 must be above 0 seconds"),
        ({"alibaba_busy_vbr": "queue"}, "one of 'accept', 'conflict'"),
        ({"alibaba_ip_version_case": "Ipv4"}, "one of 'IPv4', 'IPV4', 'ipv4', 'mixed'"),
        ({"equinix_prerequisite_reads": "denied"}, "one of 'allowed', 'forbidden'"),
        ({"profile": "strict"}, "profile: 'strict' is not a sandbox profile"),
    ],
)
def test_bad_changes_name_the_field(changes: dict[str, object], message: str) -> None:
    """docs/sandbox.md (knobs): bad values are refused naming the field and what is valid."""
    with pytest.raises(SandboxError) as info:
        apply_changes(SandboxConfig(), changes)
    assert message in str(info.value)


def test_constructor_config_is_validated() -> None:
    """docs/sandbox.md (knobs): a caller-built config gets the same checks."""
    with pytest.raises(SandboxError, match=r"equinix\.error_rate"):
        validated(SandboxConfig(equinix=FaultConfig(error_rate=3)))
    with pytest.raises(SandboxError, match=r"equinix\.error_rate"):
        Sandbox(Seed(), config=SandboxConfig(equinix=FaultConfig(error_rate=3)))


def test_configure_before_start_and_while_running() -> None:
    """docs/sandbox.md (Running it): configure() works before start, while running, and sticks after stop."""
    sandbox = Sandbox(Seed())
    sandbox.configure(provision_delay=2)
    with sandbox:
        assert sandbox.config.provision_delay == 2.0
        sandbox.configure(equinix={"latency_ms": 1})
        assert sandbox.config.equinix.latency_ms == 1.0
        assert sandbox.config_json()["equinix"]["latency_ms"] == 1.0
    assert sandbox.config.equinix.latency_ms == 1.0  # kept after stop


def test_new_knobs_default_to_the_old_behaviour() -> None:
    """docs/sandbox.md (Knobs, Profiles): every realism knob's default is the lenient answer."""
    config = SandboxConfig()
    assert (config.alibaba_busy_vbr, config.alibaba_read_lag, config.alibaba_deleted_peer_linger) == ("accept", 0, 0)
    assert (config.equinix_prerequisite_reads, config.equinix_get_uuid_spelling) == ("allowed", "Uuid")
    assert (config.equinix_oauth_error_case, config.equinix_state_before_provisioned) == ("camel", "Idle")
    assert (config.alibaba_modify_peer_without_bfd, config.alibaba_bfd_default) == ("keep", True)
    assert (config.alibaba_token_remembers_refusals, config.alibaba_token_ttl) == (False, None)
    assert config.alibaba_description_error_code == "InvalidBgpDescription.Malformed"
    assert (config.alibaba_ip_version_case, config.alibaba_empty_param_code) == ("IPv4", "MissingParameter")
    assert not (
        config.alibaba_specific_ip_codes or config.alibaba_check_vbr_addressing or config.alibaba_unique_group_names
    )


def _float_knobs() -> list[str]:
    """Every float field of SandboxConfig and FaultConfig, as `apply_changes` names it."""
    knobs = []
    for prefix, cls in (("", SandboxConfig), ("equinix.", FaultConfig), ("alibaba.", FaultConfig)):
        for name, hint in typing.get_type_hints(cls).items():
            if float in (typing.get_args(hint) or (hint,)):
                knobs.append(prefix + name)
    return knobs


def _change(knob: str, value: object) -> dict[str, object]:
    api, dot, name = knob.partition(".")
    return {api: {name: value}} if dot else {knob: value}


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 10**400], ids=["nan", "inf", "-inf", "10**400"])
@pytest.mark.parametrize("knob", _float_knobs())
def test_float_knobs_must_be_finite(knob: str, value: float) -> None:
    """docs/sandbox.md (Knobs): NaN passes every range check and infinity most, so neither is a value."""
    with pytest.raises(SandboxError, match=rf"^{re.escape(knob)}: .*expected a finite number"):
        apply_changes(SandboxConfig(), _change(knob, value))


def test_float_knobs_are_many() -> None:
    """The list above really covers the timing, fault and read-lag knobs."""
    assert {"provision_delay", "equinix.latency_ms", "alibaba.throttle_rps", "alibaba_token_ttl"} <= set(_float_knobs())


def test_configure_refuses_nan_and_keeps_the_config(seed: Seed) -> None:
    """docs/sandbox.md (Running it): Sandbox.configure, before start and while running, refuses NaN."""
    sandbox = Sandbox(seed)
    with pytest.raises(SandboxError, match="provision_delay: nan is not valid"):
        sandbox.configure(provision_delay=math.nan)
    with sandbox:
        with pytest.raises(SandboxError, match=r"equinix\.latency_ms: inf is not valid"):
            sandbox.configure(equinix={"latency_ms": math.inf})
        assert sandbox.config == SandboxConfig()


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"equinix_lockout_after": 10**30}, "equinix_lockout_after: the number is too large"),
        ({"equinix_client_secret": 1234567}, "equinix_client_secret: the value given is not valid"),
        ({"equinix_session_target": "x" * 5_000}, "(5,002 characters) is not a BGP state"),
    ],
)
def test_odd_values_give_short_messages(changes: dict[str, object], words: str) -> None:
    """docs/sandbox.md (Knobs): huge or secret values are not quoted back in full."""
    with pytest.raises(SandboxError) as info:
        apply_changes(SandboxConfig(), changes)
    assert words in str(info.value)
    assert len(str(info.value)) < 300 and "1234567" not in str(info.value)
