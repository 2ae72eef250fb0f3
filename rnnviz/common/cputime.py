"""CPU time of a piece of work on its own thread: what one page rerun costs the server.

`CPU_LOG.measure(name)` times a block by `time.thread_time()` (the thread's own CPU, so the
training threads beside it do not count) and keeps the newest figures per name in memory; with
`RNNVIZ_RERUN_LOG` set to a file, each figure is also appended to it as `name ms` (a benchmark
reads the server's figures from there).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

LOG_ENV = "RNNVIZ_RERUN_LOG"


class CpuLog:
    """The newest `keep` CPU times, in milliseconds, of each named piece of work."""

    def __init__(self, keep: int = 1000) -> None:
        self.keep = keep
        self._lock = threading.Lock()
        self._ms: dict[str, deque[float]] = {}

    @contextmanager
    def measure(self, name: str) -> Iterator[None]:
        start = time.thread_time()
        try:
            yield
        finally:
            self.add(name, 1000 * (time.thread_time() - start))

    def add(self, name: str, ms: float) -> None:
        with self._lock:
            self._ms.setdefault(name, deque(maxlen=self.keep)).append(ms)
        if path := os.environ.get(LOG_ENV):
            with open(path, "a") as log:  # one short line: appends from threads do not interleave
                log.write(f"{name} {ms:.3f}\n")

    def figures(self, name: str) -> list[float]:
        with self._lock:
            return list(self._ms.get(name, ()))

    def clear(self) -> None:
        with self._lock:
            self._ms.clear()


CPU_LOG = CpuLog()
