"""The Ray actors that run jobs: one worker's body (`JobWorker`) and a pool of warm ones.

A `JobWorker` runs one job at a time in its default concurrency group and answers `poll`,
`set_state`, `where` and `reset` in a second one, so a training actor still takes control calls.
Events are kept in the actor as plain dicts and pulled in batches, one poll at a time.

A `WorkerPool` keeps long-lived workers that have imported torch and loaded the default dataset
once (`warm`), so a job handed one starts training within a second or two instead of waiting for
a new process. A worker goes back to the pool after its job, its control state and events reset
and a GPU's cached memory freed; one that died, or whose job was cut short, is killed and replaced.
Each worker holds its CPU and GPU share for as long as it lives, busy or not.
"""

from __future__ import annotations

import gc
import logging
import os
import platform
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from rnnviz.jobs.snapshots import Crashed, JobFn, Outcome
from rnnviz.training.control import Control
from rnnviz.training.events import Event

log = logging.getLogger(__name__)
CONTROL = "control"  # the actor's concurrency group for poll, set_state, where and reset


class JobWorker:
    """The actor's body: run jobs one after another, keep each one's events until pulled."""

    def __init__(self) -> None:
        self._control = Control()
        self._lock = threading.Lock()
        self._events: list[dict[str, Any]] = []
        self._dropped = 0  # events before this index were pulled and are let go

    def warm(self, data_dir: str | None = None) -> None:
        """Pay the process's one-off costs (torch's optimizer imports, the default dataset) before
        a job waits for them; a failure only costs the first job that time."""
        from rnnviz.jobs.runs import warm_up

        try:
            warm_up(data_dir)
        except Exception:
            log.warning("warming a Ray worker failed; its first job loads it", exc_info=True)

    def run(self, fn: JobFn) -> Outcome:
        try:
            return fn(self._control, self._emit)
        except Exception as exc:  # the job's failure is its outcome, as on the thread backend
            log.exception("job failed on a Ray worker")
            return Crashed(f"{type(exc).__name__}: {exc}")

    def poll(self, since: int) -> list[dict[str, Any]]:
        """Events from index `since` on; those before it were received and are dropped."""
        with self._lock:
            cut = max(0, min(since - self._dropped, len(self._events)))
            del self._events[:cut]
            self._dropped += cut
            return list(self._events)

    def set_state(self, paused: bool, stopped: bool, lr: float | None = None) -> None:
        if lr is not None:  # a new learning rate, taken by the job before its next step
            self._control.set_lr(lr)
        if stopped:
            self._control.stop()
        elif paused:
            self._control.pause()
        else:
            self._control.resume()

    def reset(self) -> None:
        """Ready for the next job: fresh control and events, a GPU's cached memory freed."""
        with self._lock:
            self._control, self._events, self._dropped = Control(), [], 0
        gc.collect()  # the last job's tensors, so their GPU blocks can be handed back
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def where(self) -> dict[str, Any]:
        import ray

        node = ray.get_runtime_context().get_node_id()
        return {"pid": os.getpid(), "host": platform.node(), "node": node}

    def _emit(self, event: Event) -> None:
        with self._lock:
            self._events.append(event.to_dict())


class WorkerPool:
    """`size` warm workers made by `make`, handed out one job at a time; thread-safe."""

    def __init__(self, make: Callable[[], Any], size: int, data_dir: str | None = None) -> None:
        self.size, self.data_dir, self._make = size, data_dir, make
        self._lock = threading.Lock()
        self._idle: deque[Any] = deque()
        self._alive = 0  # workers of the pool, idle or busy
        self._closed = False

    def fill(self) -> None:
        """Start workers until the pool holds `size` (after some died, or at first)."""
        import ray

        while ray.is_initialized():  # else `.remote()` would start a cluster of its own here
            with self._lock:
                if self._closed or self._alive >= self.size:
                    return
                self._alive += 1
            actor = self._make()
            actor.warm.remote(self.data_dir)  # runs before any job, in the default group
            with self._lock:
                self._idle.append(actor)

    def take(self) -> Any | None:
        """An idle worker, or None when all are busy (the job then gets a worker of its own)."""
        with self._lock:
            return self._idle.popleft() if self._idle else None

    def give_back(self, actor: Any) -> None:
        """A worker whose job has ended: reset it and keep it, or replace it if it fails."""
        import ray

        try:
            ray.get(actor.reset.options(concurrency_group=CONTROL).remote(), timeout=30)
        except Exception:  # died, or hangs: not to be trusted with the next job
            log.warning("a Ray worker did not reset after its job; replacing it", exc_info=True)
            self.replace(actor)
            return
        with self._lock:
            if not self._closed:
                self._idle.append(actor)
                return
        kill(actor)

    def replace(self, actor: Any) -> None:
        """Kill a worker (dead already, or cut short in a job) and start another in its place."""
        kill(actor)
        with self._lock:
            self._alive -= 1
        self.fill()

    def close(self) -> None:
        """Kill the idle workers; busy ones are killed when their jobs end."""
        with self._lock:
            self._closed = True
            idle, self._idle = list(self._idle), deque()
        for actor in idle:
            kill(actor)


def kill(actor: Any) -> None:
    """Kill an actor that may be gone already, without ever starting a cluster."""
    import ray

    try:
        if ray.is_initialized():  # else a Ray call would start a new cluster here
            ray.kill(actor)
    except Exception:  # already gone with its worker, or the cluster
        log.debug("ray.kill of a worker", exc_info=True)
