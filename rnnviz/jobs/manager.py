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
from collections.abc import Callable
from typing import Any, TypeVar

from rnnviz.common.settings import check_value
from rnnviz.jobs.backends import Backend, ThreadBackend, default_max_running, parts
from rnnviz.jobs.job import Deliver, Job
from rnnviz.jobs.presence import Presence
from rnnviz.jobs.snapshots import (
    FINAL_STATES,
    Crashed,
    JobFn,
    JobRefused,
    JobSnapshot,
    Outcome,
    OwnerLimits,
    wait_for_end,
)
from rnnviz.training.config import LR_SETTING
from rnnviz.training.events import EpochState, Event

log = logging.getLogger(__name__)
LR_KINDS = ("train", "race")  # the jobs whose trainer takes a new learning rate mid-run
T = TypeVar("T")
__all__ = ["JobManager", "default_max_running"]


class JobManager:
    """Runs jobs through a backend (threads here, or a Ray cluster), at most `max_running` at
    once, the rest in a FIFO queue. Each running job has a daemon thread here that drives it."""

    def __init__(self, max_running: int | None = None, *, backend: Backend | None = None,
                 max_events: int = 20000, limits: OwnerLimits | None = None,
                 prefix: str = "job") -> None:  # fmt: skip
        self.backend: Backend = backend or ThreadBackend()
        self._max_running = max_running
        self.max_events = max_events  # per kind, so a very long run cannot grow without bound
        self.limits = limits or OwnerLimits()
        self.presence = Presence(self.cancel_owner)
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._queue: deque[str] = deque()
        self._running: set[str] = set()
        self._ids, self._prefix = itertools.count(1), prefix  # job ids: "job-1", "job-2", ...

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
        key: str | None = None,
        deliver: Deliver | None = None,
    ) -> str:
        """Queue a job, or join the live one with the same `key` (the same work: it trains once
        for everyone who asked, and `deliver` makes its result this owner's own when it ends).

        JobRefused when the owner already has as many jobs as one person may (a joined job counts
        once), and BackendUnavailable (a JobRefused) when the backend cannot run jobs now."""
        self.backend.check()
        with self._lock:
            same = next(
                (j for j in self._jobs.values() if key is not None and j.key == key and j.joinable),
                None,
            )
            if same is not None and owner in same.watchers:
                return same.id  # a second click of the same person
            active = [j for j in self._jobs.values() if owner in j.watchers and j.active]
            most = self.limits.running + self.limits.queued
            if len(active) >= most:
                raise JobRefused(
                    f"you already have {len(active)} jobs running or waiting, the most one person "
                    "may have at once; wait for one to finish, or stop one"
                )
            if same is not None:
                same.watchers.append(owner)
                if deliver is not None:
                    same.deliveries[owner] = deliver
                return same.id
            job_id = f"{self._prefix}-{next(self._ids)}"
            job = Job(job_id, owner, title, kind, fn, dict(config or {}), key)
            self._jobs[job.id] = job
            self._queue.append(job.id)
            self._prune()
            self._pump()
        return job.id

    def snapshot(self, job_id: str, owner: str | None = None) -> JobSnapshot | None:
        """The job as `owner` sees it (their own copy of a shared job's result); None: unknown."""
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else self._snap(job, owner)

    def jobs(self, owner: str | None = None, *, events: bool = True) -> list[JobSnapshot]:
        """Every job, or the ones `owner` started or joined and still watches, oldest first
        (`events=False`: without their events, for a list of everyone's)."""
        with self._lock:
            return [
                self._snap(j, owner, events=events)
                for j in self._jobs.values()
                if owner is None or owner in j.watchers
            ]

    def pause(self, job_id: str, owner: str | None = None) -> None:
        """Pause a running job; an unknown or finished job is left alone (a stale tab's click),
        and so is one `owner` shares with others (it would pause it for everyone)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job.state == "running" and job.steered_by(owner):
                job.control.pause()
                job.state, job.message = "paused", "paused"

    def resume(self, job_id: str, owner: str | None = None) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job.state == "paused" and job.steered_by(owner):
                job.control.resume()
                job.state, job.message = "running", "running"

    def set_lr(self, job_id: str, lr: float, owner: str | None = None) -> None:
        """A running or paused training job uses learning rate `lr` from its next step on;
        ValueError for a rate outside the setting's bounds, a job that has no rate, or one that
        `owner` shares with others."""
        lr = check_value("lr", LR_SETTING, lr)
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or not job.active:
                return  # a stale tab's click on a job that has ended
            if job.kind not in LR_KINDS:
                raise ValueError(f"a {job.kind} job has no learning rate to change")
            if not job.steered_by(owner):
                raise ValueError(
                    f"{len(job.watchers)} people watch this run: a new rate would change it for "
                    "all of them"
                )
            job.control.set_lr(lr)

    def cancel(self, job_id: str, owner: str | None = None) -> None:
        """Stop a job for `owner`: a shared job goes on for the others, the last one to leave
        stops it (a queued job never starts; a running or paused one stops within one step).
        Without `owner` (the server, a teacher) the job stops for everyone."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or (owner is not None and owner not in job.watchers):
                return  # unknown, or not this owner's to stop
            if owner is not None and job.shared():
                job.leave(owner)
                return
            self._stop(job)

    def cancel_owner(self, owner: str) -> int:
        """An owner left (every browser session of theirs ended): they leave the jobs they share,
        and their own stop, the queued ones first and at once, so none of them starts when the
        running one stops. How many jobs they left or stopped."""
        with self._lock:
            mine = [j for j in self._jobs.values() if owner in j.watchers and j.active]
            for job in sorted(mine, key=lambda j: j.state != "queued"):
                if job.shared():
                    job.leave(owner)
                elif job.state == "queued":
                    self._stop(job, "its owner left")
                else:
                    self._stop(job)
        return len(mine)

    def _stop(self, job: Job, why: str = "cancelled before it started") -> None:
        # Called with the lock held.
        if job.state == "queued":
            self._queue.remove(job.id)
            job.state, job.message, job.finished = "stopped", why, time.time()
        elif job.state in ("running", "paused"):
            job.control.stop()
            job.message = "stopping"

    def forget(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job.state in FINAL_STATES:
                del self._jobs[job_id]

    def wait(self, job_id: str, timeout: float | None = None) -> JobSnapshot:
        """Block until the job ends (for the CLI and tests); KeyError for an unknown job id."""
        return wait_for_end(lambda: self.snapshot(job_id), job_id, timeout, poll_s=0.02,
                            where="here (finished jobs may have been forgotten)")  # fmt: skip

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
            threading.Thread(target=self._work, args=(job,), name=f"rnnviz-{job.id}",
                             daemon=True).start()  # fmt: skip

    def _work(self, job: Job) -> None:
        keep = getattr(job.fn, "keep", None)  # a training job's snapshot writer

        def emit(event: Event) -> None:
            if isinstance(event, EpochState):  # for the run's folder, not for the snapshot
                if callable(keep):
                    keep(event)
                return
            with self._lock:
                job.add(event, self.max_events)

        result: Outcome
        try:
            remote, finish = parts(job.fn)  # a job going on from a saved run reads it here
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
            job.ending = True
            job.deliveries = {who: d for who, d in job.deliveries.items() if who in job.watchers}
        job.deliver(result)  # each joiner's copy, before anyone sees the job end
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

    def each(self, look: Callable[[Job, int | None], T]) -> list[T]:
        """`look(job, queue position)` for every job, oldest first, with the lock held (a copy
        of the table for another process; `look` must not call back into the manager)."""
        with self._lock:
            return [look(job, self._position(job)) for job in self._jobs.values()]

    def _position(self, job: Job) -> int | None:
        return self._queue.index(job.id) + 1 if job.state == "queued" else None

    def _snap(self, job: Job, viewer: str | None = None, *, events: bool = True) -> JobSnapshot:
        return job.snap(self._position(job), viewer, events=events)
