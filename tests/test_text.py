"""rnnviz.common.text: user text is cut to a readable length and shown as typed, never rendered."""

from __future__ import annotations

import re

from rnnviz.common.text import MAX_MESSAGE, clip, plain, shown

HOSTILE = "[log in here](http://evil.example) ![t](http://evil.example/t.png) **now** <b>x</b>"


def test_markdown_in_user_text_is_escaped_character_by_character() -> None:
    escaped = plain(HOSTILE)
    assert "](" not in escaped and "![" not in escaped and "**" not in escaped
    assert "://" not in escaped.replace("\\", "") and "http\\:\u2060" in escaped  # no autolink
    unescaped = re.sub(r"\\(.)", r"\1", escaped).replace("\u2060", "")  # the word joiners
    assert unescaped == HOSTILE  # what a person reads is exactly what was typed
    assert plain("rnn_tanh 1x128") == "rnn\\_tanh 1x128"


def test_long_text_is_cut_and_says_how_long_it_was() -> None:
    assert clip("short") == "short"
    cut = clip("x" * 14_000_000)
    assert len(cut) < MAX_MESSAGE + 40 and cut.endswith("(14,000,000 characters in all)")
    assert len(shown("y" * 14_000_000)) <= 130 and "..." in shown("y" * 14_000_000)
    assert shown([1] * 10_000_000) == "[1, 1, 1, 1, 1, 1, 1, 1, ...]"  # built element by element
    assert shown("rnn_tanh") == "'rnn_tanh'"  # short values are quoted whole
