"""Mask secret values in text built from server replies or library errors, before it becomes a
message or a log line.

Two ways, for two kinds of secret: `mask_secrets` masks known values (BGP keys, API secrets)
wherever they occur; `mask_url_passwords` masks the password slot of a URL's userinfo
(`postgresql://ci:***@db/state`) and of a `password=` parameter, and nothing else, so that a
short password never eats into ordinary words ("p" in "port").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "(sensitive)"
URL_MASK = "***"  # as libpq tools show a masked URL password
# A value this short also occurs inside ordinary words ("b" in "by"): mask it only as a whole
# token, so messages stay readable. Real BGP keys and API secrets are longer than this.
_SHORT = 6
# scheme://netloc, the netloc running to the first / ? # or whitespace, as urllib splits it.
_URL_NETLOC = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<netloc>[^/?#\s]*)")
# password=value in a URL query (?password=, &password=) or a libpq keyword string
# (host=db password=value), quoted or not.
_PASSWORD_PARAMETER = re.compile(r"(?P<key>(?<![A-Za-z0-9_])password\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'|[^\s&#'\"]+)")


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        if len(secret) >= _SHORT:
            text = text.replace(secret, MASK)
        else:
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", MASK, text)
    return text


def mask_url_passwords(text: str) -> str:
    """`text` with the password of every URL's userinfo, and every `password=` value, masked."""
    return _PASSWORD_PARAMETER.sub(rf"\g<key>{URL_MASK}", _URL_NETLOC.sub(_masked_netloc, text))


def _masked_netloc(match: re.Match[str]) -> str:
    # The userinfo ends at the netloc's last "@" (a password may hold an unencoded "@"); the
    # password starts after the userinfo's first ":".
    userinfo, at, hostinfo = match["netloc"].rpartition("@")
    user, colon, _ = userinfo.partition(":")
    if not (at and colon):
        return match[0]
    return f"{match['scheme']}{user}:{URL_MASK}@{hostinfo}"
