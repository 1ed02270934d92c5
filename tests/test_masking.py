"""Secret masking in messages built from server replies and library errors."""

from __future__ import annotations

import pytest

from reconciler.masking import mask_secrets, mask_url_passwords


def test_long_secrets_are_masked_anywhere() -> None:
    assert mask_secrets("key=Abcdef123&x", ["Abcdef123"]) == "key=(sensitive)&x"


def test_short_secrets_are_masked_only_as_whole_tokens() -> None:
    text = "Caused by NewConnectionError: secret b was refused"
    assert mask_secrets(text, ["b"]) == "Caused by NewConnectionError: secret (sensitive) was refused"


def test_longest_first_and_empty_ignored() -> None:
    assert mask_secrets("TopSecretValue", ["Secret", "TopSecretValue", ""]) == "(sensitive)"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            'connecting (postgresql://ci:p@127.0.0.1:1/state) failed: server at "127.0.0.1", port 1 failed',
            'connecting (postgresql://ci:***@127.0.0.1:1/state) failed: server at "127.0.0.1", port 1 failed',
        ),
        (
            "postgres://ci:p@db:5432/s?name=prod&password=p&sslmode=require",
            "postgres://ci:***@db:5432/s?name=prod&password=***&sslmode=require",
        ),
        ("https://user:p@ss@host/x?y=1", "https://user:***@host/x?y=1"),  # an unencoded @ in the password
        ("host=db password='a b' port=5432", "host=db password=*** port=5432"),
        ("postgresql://ci@db/state and postgresql://db/state", "postgresql://ci@db/state and postgresql://db/state"),
        ("accepting TCP/IP connections? port p", "accepting TCP/IP connections? port p"),
    ],
)
def test_url_passwords_are_masked_in_the_userinfo_and_password_parameters_only(text: str, masked: str) -> None:
    assert mask_url_passwords(text) == masked
