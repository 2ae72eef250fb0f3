"""Cooperative control of a long computation from another thread: stop, pause, resume, new rate.

A worker calls `control.should_stop()` once per step. The call blocks while the run is paused and
returns True once a stop was asked for, so a trainer stops within one step of the request and a
paused trainer holds its tensors without spinning. `set_lr` asks for a new learning rate; the
worker takes it (`take_lr`) before its next step, so it applies exactly once.
"""

from __future__ import annotations

import threading


class Control:
    """Thread-safe stop/pause flags shared by a worker and whoever drives it."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._lock = threading.Lock()
        self._lr: tuple[int, float] | None = None  # (request number, rate) of the newest request
        self._taken = 0  # the request number the worker took last

    def set_lr(self, lr: float) -> None:
        """Ask for learning rate `lr` from the next step on (the newest request wins)."""
        with self._lock:
            number = self._lr[0] + 1 if self._lr else 1
            self._lr = (number, float(lr))

    @property
    def lr_request(self) -> tuple[int, float] | None:
        """(request number, rate) of the newest request, taken or not; None before any."""
        with self._lock:
            return self._lr

    def take_lr(self) -> float | None:
        """The rate asked for since the last call, once; None when nothing new was asked."""
        with self._lock:
            if self._lr is None or self._lr[0] == self._taken:
                return None
            self._taken = self._lr[0]
            return self._lr[1]

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
