"""Plan signatures (`reconciler.plan.signing`): the key, the canonical content, signing, verifying,
and what `apply` and `show` make of each case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import PlanError, UsageError
from reconciler.plan.planfile import load_saved_plan, save_plan
from reconciler.plan.signing import (
    MIN_KEY_BYTES,
    PLAN_KEY_ENV,
    PlanKey,
    SignatureCheck,
    canonical_content,
    check_signature,
    plan_key_from_env,
    sign,
)
from tests.render.samples import sample_plan

KEY_TEXT = "7d1f0c9a4be2e85b3f6a1d0c9e8b7a6f"  # 32 bytes
KEY = PlanKey(KEY_TEXT.encode())
OTHER_KEY = PlanKey(b"another-key-of-exactly-32-bytes!")


def _signed_file(tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    save_plan(sample_plan(), path, manifest_paths=("bgp",), env={PLAN_KEY_ENV: KEY_TEXT})
    return path


def test_the_key_comes_from_the_environment_and_must_be_long_enough() -> None:
    assert plan_key_from_env({}) is None
    assert plan_key_from_env({PLAN_KEY_ENV: KEY_TEXT}) == KEY
    assert plan_key_from_env({PLAN_KEY_ENV: "é" * 16}) == PlanKey(("é" * 16).encode())  # bytes, not characters
    short = "s3cr3t-but-short"
    with pytest.raises(UsageError) as caught:
        plan_key_from_env({PLAN_KEY_ENV: short})
    assert str(caught.value).startswith(f"{PLAN_KEY_ENV} is too short: a plan key needs at least {MIN_KEY_BYTES} bytes")
    assert short not in str(caught.value)
    with pytest.raises(UsageError, match=f"^{PLAN_KEY_ENV} is set but empty"):
        plan_key_from_env({PLAN_KEY_ENV: ""})  # a CI secret that did not reach the job is no "no key"


def test_the_key_is_never_shown() -> None:
    assert KEY_TEXT not in repr(KEY) and KEY_TEXT not in str(KEY)
    assert KEY_TEXT not in repr(check_signature({"signature": sign({}, KEY)}, KEY))


def test_the_canonical_content_is_one_spelling_without_the_signature() -> None:
    document = {"b": [1, 2.5, None, True], "a": {"y": "é", "x": ""}, "signature": {"value": "anything"}}
    assert canonical_content(document) == b'{"a":{"x":"","y":"\\u00e9"},"b":[1,2.5,null,true]}'
    reordered = json.loads(json.dumps({"signature": None, "a": {"x": "", "y": "é"}, "b": [1, 2.5, None, True]}))
    assert canonical_content(reordered) == canonical_content(document)


def test_a_signature_depends_on_the_key_and_on_every_value() -> None:
    document: dict[str, Any] = json.loads(json.dumps({"serial": 7, "resource_changes": [{"action": "no-op"}]}))
    signature = sign(document, KEY)
    assert signature["algorithm"] == "hmac-sha256"
    assert len(signature["value"]) == 64 and signature == sign(document, KEY)
    assert sign(document, OTHER_KEY) != signature
    assert sign({**document, "serial": 8}, KEY) != signature
    assert sign({**document, "resource_changes": [{"action": "delete"}]}, KEY) != signature
    assert sign({**document, "signature": {"value": "ignored"}}, KEY) == signature


def test_checking_a_signature() -> None:
    document: dict[str, Any] = {"serial": 7}
    signed = {**document, "signature": sign(document, KEY)}
    assert check_signature(signed, KEY) == SignatureCheck(signed=True, key_set=True, verified=True)
    assert check_signature(signed, OTHER_KEY) == SignatureCheck(signed=True, key_set=True, verified=False)
    assert check_signature(signed, None) == SignatureCheck(signed=True, key_set=False)
    assert check_signature(document, KEY) == SignatureCheck(signed=False, key_set=True)
    assert check_signature(document, None) == SignatureCheck(signed=False, key_set=False)
    for forged in (
        {"algorithm": "hmac-md5", "value": signed["signature"]["value"]},
        {"algorithm": "hmac-sha256", "value": "é" * 64},
        {"algorithm": "hmac-sha256"},
        "not an object",
    ):
        assert not check_signature({**document, "signature": forged}, KEY).verified


def test_a_signed_file_verifies_and_no_byte_of_its_content_can_change(tmp_path: Path) -> None:
    path = _signed_file(tmp_path)
    raw = path.read_text(encoding="utf-8")
    original = json.loads(raw)
    assert list(original)[-1] == "signature"
    assert check_signature(original, KEY).verified
    assert not check_signature(original, OTHER_KEY).verified
    tried = 0
    for i, char in enumerate(raw):
        for other in _replacements(char):
            try:
                document = json.loads(raw[:i] + other + raw[i + 1 :])
            except json.JSONDecodeError:
                continue  # not a plan any more: loading refuses it as corrupt
            tried += 1
            if document != original:
                assert not check_signature(document, KEY).verified, (i, char, other)
    assert tried > len(raw) // 2  # most edits still parse: the signature is what catches them


def _replacements(char: str) -> list[str]:
    """Another character of the same sort (so the file likely still parses), and whitespace."""
    if char.isdigit():
        return [str((int(char) + 1) % 10)]
    if char.isalpha() and char.isascii():
        base = ord("a") if char.islower() else ord("A")
        return [chr(base + (ord(char) - base + 1) % 26)]
    if char == " ":
        return ["\t"]  # the same content: verifies, and does no harm
    return ["x", "-"]


def test_what_apply_makes_of_each_case() -> None:
    source = "plan.json"
    assert SignatureCheck(signed=True, key_set=True, verified=True).check_for_apply(source) is None
    with pytest.raises(PlanError, match=rf"^plan file {source} is refused: its signature does not verify with "):
        SignatureCheck(signed=True, key_set=True, verified=False).check_for_apply(source)
    with pytest.raises(
        PlanError, match=rf"^plan file {source} is refused: it is not signed, and {PLAN_KEY_ENV} is set"
    ):
        SignatureCheck(signed=False, key_set=True).check_for_apply(source)
    with pytest.raises(PlanError, match=rf"^plan file {source} is signed, but {PLAN_KEY_ENV} is not set"):
        SignatureCheck(signed=True, key_set=False).check_for_apply(source)
    notice = SignatureCheck(signed=False, key_set=False).check_for_apply(source)
    assert notice == f"Note: plan file {source} is not signed ({PLAN_KEY_ENV} is not set); applying it as a local plan."


def test_what_show_says_of_each_case() -> None:
    cases = [(False, False, False), (False, True, False), (True, False, False), (True, True, True), (True, True, False)]
    lines = {case: SignatureCheck(*case).describe() for case in cases}
    assert lines == {
        (False, False, False): "Signature: none (the plan is not signed).",
        (False, True, False): f"Signature: none. apply refuses an unsigned plan while {PLAN_KEY_ENV} is set.",
        (True, False, False): f"Signature: present, not checked ({PLAN_KEY_ENV} is not set).",
        (True, True, True): f"Signature: verified with {PLAN_KEY_ENV}.",
        (True, True, False): f"Signature: DOES NOT VERIFY with {PLAN_KEY_ENV}: the plan was changed after it "
        "was signed, or signed with another key. apply refuses it.",
    }


def test_loading_a_tampered_signed_plan_reports_it(tmp_path: Path) -> None:
    path = _signed_file(tmp_path)
    assert load_saved_plan(path, KEY).signature.verified
    document = json.loads(path.read_text())
    noop = next(c for c in document["resource_changes"] if c["action"] == "no-op")
    noop["action"] = "delete"
    path.write_text(json.dumps(document, indent=2))
    saved = load_saved_plan(path, KEY)  # still a well-formed plan...
    assert saved.plan.summary()["delete"] == sample_plan().summary()["delete"] + 1
    assert saved.signature == SignatureCheck(signed=True, key_set=True, verified=False)  # ...that is refused
    with pytest.raises(PlanError):
        saved.signature.check_for_apply(str(path))
