"""User text shown safely: cut to a readable length, and escaped so Markdown shows it as typed.

Anything a user typed or uploaded (a link's values, file names, a meta.json's title, class names,
run names) can end up in a message or on a page. `shown` is the `repr` an error message quotes,
cut to `MAX_SHOWN` characters; `clip` cuts any message; `plain` escapes every ASCII punctuation
mark (CommonMark lets each be escaped) and puts an invisible word joiner inside `://`, `www.`
and `@`, which stops autolinks, so a `[link](...)`, an image, `**bold**` or a bare URL in user
text is shown as those characters and never rendered, followed or fetched.
"""

from __future__ import annotations

import re
import reprlib
import string
from typing import Any

MAX_SHOWN = 120  # characters of a quoted value in an error message
MAX_MESSAGE = 600  # characters of a whole message shown on a page
_ESCAPES = {ord(c): f"\\{c}" for c in string.punctuation}
# Neither a backslash nor a character reference stops GitHub-style autolinks (`http://...`,
# `www.x`, `a@b.c`); an invisible word joiner inside the pattern does.
_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(:(?=//)|www(?=\.)|@)")
_REPR = reprlib.Repr()  # keyword arguments arrived in Python 3.12; set the limits one by one
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxdict = 3, 100, 100, 8, 8


def clip(text: str, limit: int = MAX_MESSAGE) -> str:
    """`text`, or its first `limit` characters and how many there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters in all)"


def shown(value: Any, limit: int = MAX_SHOWN) -> str:
    """`repr(value)` for an error message, cut to `limit` characters; a huge value's repr is
    never built whole (`reprlib` abbreviates long strings and containers as it goes)."""
    return clip(_REPR.repr(value), limit)


def plain(text: Any, limit: int = MAX_MESSAGE) -> str:
    """`text` cut to `limit` and escaped for Markdown: it shows as typed, links and all."""
    text = _AUTOLINK.sub(lambda m: m.group(0) + _JOINER, clip(str(text), limit))
    return text.translate(_ESCAPES)
