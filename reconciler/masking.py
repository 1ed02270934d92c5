"""Mask secret values in text built from server replies or library errors, before it becomes a
message or a log line."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "(sensitive)"
# A value this short also occurs inside ordinary words ("b" in "by"): mask it only as a whole
# token, so messages stay readable. Real BGP keys and API secrets are longer than this.
_SHORT = 6


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        if len(secret) >= _SHORT:
            text = text.replace(secret, MASK)
        else:
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", MASK, text)
    return text
