"""Who is still here: the live browser sessions of each owner, and departures with a grace period.

A tab that reloads leaves and comes back within moments; a tab that closes does not come back.
`Presence` counts each owner's live sessions and, when one leaves, calls `gone(owner)` after a
grace period unless a session of that owner came back meanwhile. Every departure has its own
grace period: an old departure whose owner came back and left again later never fires early.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Presence:
    """Live sessions per owner; `gone(owner)` runs once the owner's last session has left."""

    def __init__(self, gone: Callable[[str], object]) -> None:
        self._gone = gone
        self._lock = threading.Lock()
        self._live: dict[str, int] = {}  # owner -> live sessions
        self._departures: dict[str, int] = {}  # owner -> number of the latest departure

    def attach(self, owner: str) -> None:
        """A session of `owner` is live (a reload attaches again before its grace ends)."""
        with self._lock:
            self._live[owner] = self._live.get(owner, 0) + 1

    def live(self, owner: str) -> bool:
        with self._lock:
            return self._live.get(owner, 0) > 0

    def detach(self, owner: str, *, grace_s: float = 30.0) -> None:
        """A session of `owner` ended; if none is live `grace_s` later, the owner is gone."""
        with self._lock:
            self._live[owner] = max(0, self._live.get(owner, 0) - 1)
            departure = self._departures[owner] = self._departures.get(owner, 0) + 1
        if grace_s <= 0:
            self._expire(owner, departure)
            return
        timer = threading.Timer(grace_s, self._expire, args=(owner, departure))
        timer.daemon = True
        timer.start()

    def _expire(self, owner: str, departure: int) -> None:
        with self._lock:
            # Only the latest departure counts, and only if nobody came back since.
            gone = self._live.get(owner, 0) == 0 and self._departures.get(owner) == departure
            if gone:
                del self._departures[owner]
                self._live.pop(owner, None)
        if gone:
            self._gone(owner)
