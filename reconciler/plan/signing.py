"""Signatures of saved plans: an HMAC-SHA256 under `RECONCILER_PLAN_KEY`, a key the apply job
holds and a pull request cannot write (docs/architecture.md, "Plan").

`plan --out` signs when the key is set; `apply PLANFILE` then applies only a plan whose signature
verifies. The signature covers the plan's canonical content: the whole JSON document except its
`signature` member, serialised with sorted keys, no whitespace and ASCII escapes, after a fixed
prefix that names the format. So an edited action, value or reference anywhere in the file fails
verification, while re-indenting the file does not.

The key is held in a `PlanKey`, whose repr hides it; it never reaches output, logs, a plan file or
an exception text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.errors import PlanError, UsageError

PLAN_KEY_ENV = "RECONCILER_PLAN_KEY"
MIN_KEY_BYTES = 32  # as long as the HMAC-SHA256 output: anything shorter is guessable sooner
ALGORITHM = "hmac-sha256"
SIGNATURE = "signature"  # the member of the plan document that holds the signature
# Names what is signed, so a signature made for anything else under the same key never verifies here.
_PREFIX = b"reconciler saved plan, format 1\n"
_KEY_HINT = "generate one with `openssl rand -hex 32`, and keep it where only trusted jobs can read it"


@dataclass(frozen=True, slots=True)
class PlanKey:
    """The signing key. Its bytes are never shown: not by repr, str or a comparison message."""

    material: bytes = field(repr=False)


def plan_key_from_env(env: Mapping[str, str]) -> PlanKey | None:
    """The key in `RECONCILER_PLAN_KEY`, or None when the variable is not set.

    A set but empty or short key is an error rather than "no key": a CI secret that failed to
    reach the job must not quietly turn verification off.
    """
    raw = env.get(PLAN_KEY_ENV)
    if raw is None:
        return None
    material = raw.encode("utf-8", "surrogateescape")  # the variable's bytes, whatever they are
    if not material:
        raise UsageError(
            f"{PLAN_KEY_ENV} is set but empty: set it to a key of at least {MIN_KEY_BYTES} bytes, or unset it",
            hint=_KEY_HINT,
        )
    if len(material) < MIN_KEY_BYTES:
        raise UsageError(
            f"{PLAN_KEY_ENV} is too short: a plan key needs at least {MIN_KEY_BYTES} bytes", hint=_KEY_HINT
        )
    return PlanKey(material)


def canonical_content(document: Mapping[str, Any]) -> bytes:
    """What the signature covers: every member but `signature`, in one spelling only."""
    content = {name: value for name, value in document.items() if name != SIGNATURE}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def sign(document: Mapping[str, Any], key: PlanKey) -> dict[str, str]:
    """The `signature` member for `document` (a JSON document: plain dicts, lists and scalars)."""
    mac = hmac.new(key.material, _PREFIX + canonical_content(document), hashlib.sha256)
    return {"algorithm": ALGORITHM, "value": mac.hexdigest()}


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """What is known of a plan file's signature: whether it has one, whether a key was there to
    check it with, and whether that key verifies it."""

    signed: bool
    key_set: bool
    verified: bool = False

    def describe(self) -> str:
        """One line for `reconciler show`."""
        if not self.signed:
            if self.key_set:
                return f"Signature: none. apply refuses an unsigned plan while {PLAN_KEY_ENV} is set."
            return "Signature: none (the plan is not signed)."
        if not self.key_set:
            return f"Signature: present, not checked ({PLAN_KEY_ENV} is not set)."
        if self.verified:
            return f"Signature: verified with {PLAN_KEY_ENV}."
        return (
            f"Signature: DOES NOT VERIFY with {PLAN_KEY_ENV}: the plan was changed after it was signed, "
            "or signed with another key. apply refuses it."
        )

    def check_for_apply(self, source: str) -> str | None:
        """Raise `PlanError` when `apply` must refuse the plan; else a notice to print, or None."""
        again = f"make a new plan with `reconciler plan PATH... --out {source}` where {PLAN_KEY_ENV} is set"
        if self.signed and self.key_set and not self.verified:
            raise PlanError(
                f"plan file {source} is refused: its signature does not verify with {PLAN_KEY_ENV} "
                "(the plan was changed after it was signed, or signed with another key)",
                hint=again,
            )
        if self.signed and not self.key_set:
            raise PlanError(
                f"plan file {source} is signed, but {PLAN_KEY_ENV} is not set, so its signature cannot be verified",
                hint=f"set {PLAN_KEY_ENV} to the key the plan was signed with",
            )
        if not self.signed and self.key_set:
            raise PlanError(
                f"plan file {source} is refused: it is not signed, and {PLAN_KEY_ENV} is set, so only "
                "plans signed with that key are applied",
                hint=again,
            )
        if not self.signed:
            return f"Note: plan file {source} is not signed ({PLAN_KEY_ENV} is not set); applying it as a local plan."
        return None


def check_signature(document: Mapping[str, Any], key: PlanKey | None) -> SignatureCheck:
    """Check `document`'s signature with `key` (in constant time)."""
    recorded = document.get(SIGNATURE)
    if recorded is None:
        return SignatureCheck(signed=False, key_set=key is not None)
    if key is None:
        return SignatureCheck(signed=True, key_set=False)
    value = recorded.get("value") if isinstance(recorded, Mapping) else None
    if not isinstance(value, str) or recorded.get("algorithm") != ALGORITHM:
        return SignatureCheck(signed=True, key_set=True, verified=False)
    expected = sign(document, key)["value"].encode("ascii")
    verified = hmac.compare_digest(expected, value.encode("utf-8", "surrogatepass"))
    return SignatureCheck(signed=True, key_set=True, verified=verified)
