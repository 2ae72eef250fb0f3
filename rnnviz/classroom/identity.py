"""Who owns a tab's jobs and runs: the browser, never the link.

A link a student copies (from the address bar, or a share button) must carry settings but never
control. Streamlit's XSRF cookie is a random token per browser that its server sets once and
sends masked anew with each page (`2|mask|masked token|time`); unmasked, it is the same on every
reload of that browser and different in every other one. `owner_from_xsrf` turns it into a short
owner id (a hash: the token itself is never shown), so a reload re-attaches a tab to its jobs and
a copied link opened anywhere else gets an owner of its own. Where a server signs users in (see
the README), their account is the owner instead.
"""

from __future__ import annotations

import hashlib
import re

XSRF_COOKIE = "_streamlit_xsrf"
_XSRF = re.compile(r"2\|([0-9a-f]{8})\|([0-9a-f]{32,128})\|\d+")
_OWNER = re.compile(r"[0-9a-f]{8,32}")


def owner_from_xsrf(cookie: object) -> str | None:
    """The owner id of the browser that sent this XSRF cookie, or None for a missing or odd one."""
    match = _XSRF.fullmatch(cookie) if isinstance(cookie, str) else None
    if match is None:
        return None
    mask, masked = (bytes.fromhex(part) for part in match.groups())
    token = bytes(byte ^ mask[i % len(mask)] for i, byte in enumerate(masked))
    return hashlib.sha256(b"rnnviz-owner:" + token).hexdigest()[:16]


def owner_from_account(subject: str) -> str:
    """The owner id of a signed-in account (an OpenID Connect subject or e-mail)."""
    return hashlib.sha256(b"rnnviz-account:" + subject.encode()).hexdigest()[:16]


def valid_owner(owner: object) -> bool:
    """An owner id this module could have made: 8-32 lowercase hex digits (ASCII only)."""
    return isinstance(owner, str) and _OWNER.fullmatch(owner) is not None
