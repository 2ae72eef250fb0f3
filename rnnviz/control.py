"""Cooperative control of a long computation from another thread: stop, pause and resume.

A worker calls `control.should_stop()` once per step. The call blocks while the run is paused and
returns True once a stop was asked for, so a trainer stops within one step of the request and a
paused trainer holds its tensors without spinning.
"""

from __future__ import annotations

import threading


class Control:
    """Thread-safe stop/pause flags shared by a worker and whoever drives it."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # wake a paused worker so it can see the stop

    def pause(self) -> None:
        if not self._stop.is_set():
            self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def should_stop(self) -> bool:
        """Block while paused; True once stop() was called."""
        self._running.wait()
        return self._stop.is_set()
