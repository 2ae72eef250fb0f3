"""rnnviz.jobs.presence: an owner is gone only when a grace period passes after their last
departure."""

from __future__ import annotations

import threading
import time

from rnnviz.jobs.presence import Presence


def watch() -> tuple[Presence, list[str], threading.Event]:
    gone: list[str] = []
    seen = threading.Event()

    def note(owner: str) -> None:
        gone.append(owner)
        seen.set()

    return Presence(note), gone, seen


def test_a_reload_then_a_close_counts_the_grace_from_the_close() -> None:
    presence, gone, seen = watch()
    presence.attach("tab")
    presence.detach("tab", grace_s=0.4)  # a reload: the old session ends ...
    presence.attach("tab")  # ... and the new one starts at once
    time.sleep(0.25)
    presence.detach("tab", grace_s=0.4)  # the tab closes 0.25 s after the reload
    time.sleep(0.25)  # 0.5 s after the reload, 0.25 s after the close
    assert gone == [] and presence.live("tab") is False
    assert seen.wait(2) and gone == ["tab"]  # 0.4 s after the close, once


def test_coming_back_within_the_grace_keeps_the_owner() -> None:
    presence, gone, _ = watch()
    presence.attach("tab")
    presence.detach("tab", grace_s=0.1)
    presence.attach("tab")
    time.sleep(0.3)
    assert gone == [] and presence.live("tab")
    presence.detach("tab", grace_s=0)
    assert gone == ["tab"]
