"""Alibaba's AuthKey rule (`reconciler.clouds.alibaba.rules.key_problem`): the rule the project
uses, 1-64 printable ASCII characters without spaces (docs/cloud-apis.md, Alibaba §15, U-A5)."""

from __future__ import annotations

import pytest

from reconciler.clouds.alibaba import CLOUD
from reconciler.clouds.alibaba.kinds import ALIBABA_GROUP, KEY_FIELD
from reconciler.clouds.alibaba.rules import key_problem
from reconciler.model import SecretValue
from reconciler.sandbox.alibaba import _AUTH_KEY as SANDBOX_RULE

RULE = "Alibaba needs an AuthKey of 1-64 printable ASCII characters without spaces; "


@pytest.mark.parametrize("key", ["k", "SharedKey123", "a" * 64, "!#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "9starts-digit"])
def test_keys_of_1_to_64_printable_ascii_characters_are_accepted(key: str) -> None:
    assert key_problem(key) is None


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("a" * 65, "it is longer than 64 characters"),
        ("", "it is empty"),
        ("Zq7 Wv9", "it contains a space"),
        ("Zq7\tWv9", "it contains a character that is not printable ASCII"),
        ("Zq7\nWv9", "it contains a character that is not printable ASCII"),
        ("Zq7é-Wv9", "it contains a character that is not printable ASCII"),
        ("Zq7\0Wv9", "it contains a character that is not printable ASCII"),
    ],
)
def test_other_keys_are_refused_without_quoting_them(key: str, reason: str) -> None:
    problem = key_problem(key)
    assert problem is not None and problem.startswith(RULE + reason)
    assert "Zq7" not in problem and "Wv9" not in problem and "aaaa" not in problem


@pytest.mark.parametrize("key", ["k", "a" * 64, "a" * 65, "two words", "tab\there", "clé", "~!"])
def test_the_rule_is_the_sandboxes(key: str) -> None:
    """The sandbox plays Alibaba's answer with this same rule (docs/sandbox.md); the two agree."""
    assert (key_problem(key) is None) == bool(SANDBOX_RULE.fullmatch(key))


def test_the_cloud_checks_a_groups_key_when_planning() -> None:
    assert CLOUD.secret_problem(ALIBABA_GROUP, KEY_FIELD, SecretValue("two words")) is not None
