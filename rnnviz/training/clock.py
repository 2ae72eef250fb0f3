"""A lane's clock: seconds of its own work, stopped while it waits, so raced models compare
fairly."""

from __future__ import annotations

import time


class Clock:
    """Seconds of one lane's own work: stopped while it waits (paused, or other lanes' turns)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.since: float | None = None

    def start(self) -> None:
        if self.since is None:
            self.since = time.perf_counter()

    def stop(self) -> None:
        if self.since is not None:
            self.total += time.perf_counter() - self.since
            self.since = None

    @property
    def running(self) -> bool:
        return self.since is not None

    def read(self) -> float:
        return self.total + (time.perf_counter() - self.since if self.since is not None else 0.0)
