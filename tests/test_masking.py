"""Secret masking in messages built from server replies and library errors."""

from __future__ import annotations

from reconciler.masking import mask_secrets


def test_long_secrets_are_masked_anywhere() -> None:
    assert mask_secrets("key=Abcdef123&x", ["Abcdef123"]) == "key=(sensitive)&x"


def test_short_secrets_are_masked_only_as_whole_tokens() -> None:
    text = "Caused by NewConnectionError: secret b was refused"
    assert mask_secrets(text, ["b"]) == "Caused by NewConnectionError: secret (sensitive) was refused"


def test_longest_first_and_empty_ignored() -> None:
    assert mask_secrets("TopSecretValue", ["Secret", "TopSecretValue", ""]) == "(sensitive)"
