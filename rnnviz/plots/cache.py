"""Which version of a live figure a refresh draws: the same one for every tab for a moment.

A watched run's page refreshes once a second in every tab that watches it, and a running job's
curves have a new version at every step. `LIVE.settle(slot, version, max_age=...)` answers the
version last settled for `slot` (a job's chart) while it is younger than `max_age` seconds, and
settles on `version` once it is older: thirty tabs that watch one run then draw one figure each
half second, built and sent to the browser once (the page draws a version's chart once and
replays it for every tab), and a tab that watches alone still sees every refresh's steps.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable


class LiveVersions:
    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._settled: OrderedDict[Hashable, tuple[Hashable, float]] = OrderedDict()

    def settle(self, slot: Hashable, version: Hashable, *, max_age: float) -> Hashable:
        """The version to draw for `slot`: the settled one while it is younger than `max_age`
        seconds (or is `version`), else `version`, settled from now on."""
        now = time.monotonic()
        with self._lock:
            kept = self._settled.get(slot)
            if kept is not None and (kept[0] == version or now - kept[1] < max_age):
                self._settled.move_to_end(slot)
                return kept[0]
            self._settled[slot] = (version, now)
            self._settled.move_to_end(slot)
            while len(self._settled) > self.size:
                self._settled.popitem(last=False)
        return version


LIVE = LiveVersions()
