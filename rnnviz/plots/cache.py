"""Figures built once for each version of their data.

A watched run's page refreshes once a second in every tab that watches it, and most of its
figures have not changed since the last refresh (the probes change 20 times a run; a paused run
not at all), or are the same for every student watching the same job. `FIGURES.get(key, build)`
returns the figure built for `key` (which names the data's version: a job, a count of its events)
and builds it only the first time; the newest few hundred are kept. A running job's curves have a
new version at every step, so `FIGURES.recent(slot, version, build, max_age=...)` hands every tab
the figure last built for the job while it is younger than `max_age` seconds: thirty tabs that
watch one run share one build each half second, and a tab that watches alone still sees every
refresh's steps.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import plotly.graph_objects as go

F = TypeVar("F", go.Figure, tuple[go.Figure, ...])


class FigureCache:
    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._figures: OrderedDict[Hashable, Any] = OrderedDict()
        self._recent: OrderedDict[Hashable, tuple[Hashable, float, Any]] = OrderedDict()
        self.built = 0  # figures built, not found: what the cache saved is asked - built

    def get(self, key: Hashable, build: Callable[[], F]) -> F:
        """The figure (or figures) for `key`, built by `build` unless it was built before.
        Streamlit copies a figure it draws, so the one kept here is never changed by drawing it."""
        with self._lock:
            if key in self._figures:
                self._figures.move_to_end(key)
                return self._figures[key]
        figure = build()  # outside the lock: two threads may build the same one, once each
        with self._lock:
            self.built += 1
            self._figures[key] = figure
            while len(self._figures) > self.size:
                self._figures.popitem(last=False)
        return figure

    def recent(self, slot: Hashable, version: Hashable, build: Callable[[], F], *,
               max_age: float) -> F:  # fmt: skip
        """The figure last built for `slot` if it is of `version` or younger than `max_age`
        seconds, else `build()`: a live figure, at most `max_age` seconds behind its data."""
        now = time.monotonic()
        with self._lock:
            kept = self._recent.get(slot)
            if kept is not None and (kept[0] == version or now - kept[1] < max_age):
                self._recent.move_to_end(slot)
                return kept[2]
        figure = build()
        with self._lock:
            self.built += 1
            self._recent[slot] = (version, now, figure)
            self._recent.move_to_end(slot)
            while len(self._recent) > self.size:
                self._recent.popitem(last=False)
        return figure


FIGURES = FigureCache()
