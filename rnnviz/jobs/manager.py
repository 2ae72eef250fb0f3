"""Background jobs: long computations with a queue, owners' limits and readable snapshots.

A job is any function `fn(control, emit) -> Outcome`: an object that says how it ended (`status`
"done", "stopped" or "failed", and a `message`), such as a `RunRecord`. The `JobManager` runs at
most `max_running` of them at once, queues the rest first in first out, and keeps for each a
snapshot (state, queue position, progress, events, message, outcome) that any thread can read at
any moment. Where a job runs is its backend's business (`rnnviz.jobs.backends`): on a thread here,
one per GPU by default (captured CUDA graphs replayed from several threads at once can deadlock), or
in a Ray worker. A job with `remote` and `finish` parts (a `TrainingJob`) has the first run there
and the second here. Workers never touch a UI; they only emit typed events.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from rnnviz.common.settings import check_value
from rnnviz.jobs.backends import Backend, ThreadBackend, default_max_running, parts
from rnnviz.jobs.presence import Presence
from rnnviz.jobs.snapshots import (
    FINAL_STATES,
    Crashed,
    JobFn,
    JobRefused,
    JobSnapshot,
    Outcome,
    OwnerLimits,
)
from rnnviz.training.config import LR_SETTING
from rnnviz.training.control import Control
from rnnviz.training.events import Event

log = logging.getLogger(__name__)
LR_KINDS = ("train", "race")  # the jobs whose trainer takes a new learning rate mid-run


@dataclass
class _Job:
    id: str
    owner: str
    title: str
    kind: str
    fn: JobFn
    config: dict[str, Any]
    control: Control = field(default_factory=Control)
    state: str = "queued"
    progress: float = 0.0
    message: str = "queued"
    events: dict[str, list[Event]] = field(default_factory=dict)
    result: Outcome | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None

    @property
    def active(self) -> bool:
        return self.state not in FINAL_STATES


__all__ = ["JobManager", "default_max_running"]


class JobManager:
    """Runs jobs through a backend (threads here, or a Ray cluster), at most `max_running` at
    once, the rest in a FIFO queue. Each running job has a daemon thread here that drives it."""

    def __init__(
        self,
        max_running: int | None = None,
        *,
        backend: Backend | None = None,
        max_events: int = 20000,
        limits: OwnerLimits | None = None,
    ) -> None:
        self.backend: Backend = backend or ThreadBackend()
        self._max_running = max_running
        self.max_events = max_events  # per kind, so a very long run cannot grow without bound
        self.limits = limits or OwnerLimits()
        self.presence = Presence(self.cancel_owner)
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}
        self._queue: deque[str] = deque()
        self._running: set[str] = set()
        self._ids = itertools.count(1)

    @property
    def max_running(self) -> int:
        """Jobs at once: as given, else what the backend holds (a cluster may grow)."""
        return self._max_running or self.backend.capacity()

    def attach(self, owner: str) -> None:
        """A browser session of `owner` is live."""
        self.presence.attach(owner)

    def detach(self, owner: str, *, grace_s: float = 30.0) -> None:
        """A session of `owner` ended; if none attaches within `grace_s`, cancel its jobs."""
        self.presence.detach(owner, grace_s=grace_s)

    def submit(
        self,
        fn: JobFn,
        *,
        owner: str,
        title: str,
        kind: str = "train",
        config: dict[str, Any] | None = None,
    ) -> str:
        """Queue a job; JobRefused when its owner already has as many as one person may, and
        BackendUnavailable (a JobRefused) when the backend cannot run jobs now."""
        self.backend.check()
        with self._lock:
            active = [j for j in self._jobs.values() if j.owner == owner and j.active]
            most = self.limits.running + self.limits.queued
            if len(active) >= most:
                raise JobRefused(
                    f"you already have {len(active)} jobs running or waiting, the most one person "
                    "may have at once; wait for one to finish, or stop one"
                )
            job = _Job(f"job-{next(self._ids)}", owner, title, kind, fn, dict(config or {}))
            self._jobs[job.id] = job
            self._queue.append(job.id)
            self._prune()
            self._pump()
        return job.id

    def snapshot(self, job_id: str) -> JobSnapshot | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else self._snap(job)

    def jobs(self, owner: str | None = None) -> list[JobSnapshot]:
        with self._lock:
            return [self._snap(j) for j in self._jobs.values() if owner in (None, j.owner)]

    def pause(self, job_id: str) -> None:
        """Pause a running job; an unknown or finished job is left alone (a stale tab's click)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job.state == "running":
                job.control.pause()
                job.state, job.message = "paused", "paused"

    def resume(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job.state == "paused":
                job.control.resume()
                job.state, job.message = "running", "running"

    def set_lr(self, job_id: str, lr: float) -> None:
        """A running or paused training job uses learning rate `lr` from its next step on;
        ValueError for a rate outside the setting's bounds, or a job that has no rate."""
        lr = check_value("lr", LR_SETTING, lr)
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or not job.active:
                return  # a stale tab's click on a job that has ended
            if job.kind not in LR_KINDS:
                raise ValueError(f"a {job.kind} job has no learning rate to change")
            job.control.set_lr(lr)

    def cancel(self, job_id: str) -> None:
        """A queued job never starts; a running or paused one stops within one step."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return
            if job.state == "queued":
                self._queue.remove(job_id)
                job.state, job.message, job.finished = (
                    "stopped",
                    "cancelled before it started",
                    time.time(),
                )
            elif job.state in ("running", "paused"):
                job.control.stop()
                job.message = "stopping"

    def cancel_owner(self, owner: str) -> int:
        """Cancel every unfinished job of one owner (a browser session that ended): the queued
        ones first and at once, so none of them starts when the running one stops."""
        with self._lock:
            queued = [j for j in self._jobs.values() if j.owner == owner and j.state == "queued"]
            for job in queued:
                self._queue.remove(job.id)
                job.state, job.message, job.finished = "stopped", "its owner left", time.time()
            running = [j.id for j in self._jobs.values() if j.owner == owner and j.active]
        for job_id in running:
            self.cancel(job_id)
        return len(queued) + len(running)

    def forget(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job.state in FINAL_STATES:
                del self._jobs[job_id]

    def wait(self, job_id: str, timeout: float | None = None) -> JobSnapshot:
        """Block until the job ends (for the CLI and tests); KeyError for an unknown job id."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            snap = self.snapshot(job_id)
            if snap is None:
                raise KeyError(f"no job {job_id!r} here (finished jobs may have been forgotten)")
            if not snap.active:
                return snap
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"{job_id} still {snap.state} after {timeout} s")
            time.sleep(0.02)

    def _pump(self) -> None:
        # Called with the lock held: start queued jobs, first come first served, while there is
        # room; an owner's next job waits until their running one is done.
        while len(self._running) < self.max_running:
            busy = {self._jobs[i].owner for i in self._running}
            ready = next((i for i in self._queue if self._jobs[i].owner not in busy), None)
            if ready is None:
                return
            self._queue.remove(ready)
            job = self._jobs[ready]
            job.state, job.message, job.started = "running", "running", time.time()
            self._running.add(job.id)
            name = f"rnnviz-{job.id}"
            threading.Thread(target=self._work, args=(job,), name=name, daemon=True).start()

    def _work(self, job: _Job) -> None:
        def emit(event: Event) -> None:
            self._record(job, event)

        result: Outcome
        remote, finish = parts(job.fn)
        try:
            result = self.backend.run(remote, job.control, emit, job.id)
            if finish is not None:
                result = finish(result, self.backend.name)
        except Exception as exc:  # a job must never take the process down
            log.exception("job %s failed", job.id)
            result = Crashed(f"{type(exc).__name__}: {exc}")
        if result.status not in FINAL_STATES:
            log.error("job %s ended with status %r", job.id, result.status)
            result = Crashed(f"the job ended with an unknown status {result.status!r}")
        with self._lock:
            job.result, job.message, job.finished = result, result.message, time.time()
            job.state = result.status
            if job.state == "done":
                job.progress = 1.0
            self._running.discard(job.id)
            self._prune()
            self._pump()

    def _prune(self) -> None:
        # Called with the lock held: forget finished jobs beyond each owner's newest few, and
        # those finished longer ago than the retention time, so a server's memory stays flat.
        now, kept = time.time(), self.limits
        done = sorted((j for j in self._jobs.values() if not j.active),
                      key=lambda j: j.finished or 0.0, reverse=True)  # fmt: skip
        seen: dict[str, int] = {}
        for job in done:
            seen[job.owner] = seen.get(job.owner, 0) + 1
            if seen[job.owner] > kept.finished or now - (job.finished or now) > kept.finished_s:
                del self._jobs[job.id]

    def _record(self, job: _Job, event: Event) -> None:
        progress = getattr(event, "progress", None)
        with self._lock:
            events = job.events.setdefault(event.kind, [])
            events.append(event)  # frozen: shared with every snapshot, never copied
            if len(events) > self.max_events:
                del events[: len(events) - self.max_events]
            if progress is not None:
                job.progress = float(progress)

    def _snap(self, job: _Job) -> JobSnapshot:
        position = None
        if job.state == "queued":
            position = self._queue.index(job.id) + 1
        return JobSnapshot(
            id=job.id,
            owner=job.owner,
            title=job.title,
            kind=job.kind,
            state=job.state,
            position=position,
            progress=job.progress,
            message=job.message if position is None else f"queued, position {position}",
            config=dict(job.config),
            events={k: list(v) for k, v in job.events.items()},
            result=job.result,
            created=job.created,
            started=job.started,
            finished=job.finished,
        )
