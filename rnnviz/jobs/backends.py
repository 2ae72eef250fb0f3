"""Where a job's work runs: on a thread of this process (the default) or on a Ray cluster.

The `JobManager` keeps the queue, the snapshots and the owners' limits; a backend only runs one
job's function to its end and says how many may run at once. `ThreadBackend` calls it on the
manager's worker thread; `rnnviz.jobs.ray_backend.RayBackend` runs it in a process of its own on a
cluster node. `backend_from_env` picks one from the environment:

- `RNNVIZ_RAY_ADDRESS`: unset, the thread backend; `auto` (a cluster this node belongs to),
  `host:6379`, `ray://host:10001` (Ray Client), or `local` (a cluster started inside the server).
- `RNNVIZ_RAY_GPUS_PER_JOB`: the GPU share each job reserves (e.g. 0.25); unset, none.
- `RNNVIZ_RAY_CPUS_PER_JOB`: CPUs each job reserves (default 1; Ray sets its threads from it).
- `RNNVIZ_RAY_WARM_WORKERS`: Ray workers kept warm between jobs (default: as many as run at once;
  0: a new worker for every job, started when the job starts).
- `RNNVIZ_MAX_JOBS`: how many run at once, instead of what the cluster or machine holds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Protocol

import torch

from rnnviz.jobs.snapshots import BackendUnavailable, JobFn, Outcome
from rnnviz.training.control import Control
from rnnviz.training.events import EmitFn

RAY_ADDRESS_ENV = "RNNVIZ_RAY_ADDRESS"
GPUS_PER_JOB_ENV = "RNNVIZ_RAY_GPUS_PER_JOB"
CPUS_PER_JOB_ENV = "RNNVIZ_RAY_CPUS_PER_JOB"
WARM_WORKERS_ENV = "RNNVIZ_RAY_WARM_WORKERS"
MAX_JOBS_ENV = "RNNVIZ_MAX_JOBS"

Finish = Callable[[Outcome, str], Outcome]


class Backend(Protocol):
    """Runs one job's function to its end, wherever it puts it."""

    name: str  # "thread" or "ray": what a run record's `backend` says

    def capacity(self) -> int:
        """How many jobs may run at once; cheap (a page reads it on every rerun)."""
        ...

    def check(self) -> None:
        """Raise BackendUnavailable, with a message for people, when no job could start now
        (waiting a bounded time for a connection being made)."""
        ...

    def problem(self, wait_s: float = 0.0) -> str | None:
        """Why no job could start now (waiting at most `wait_s` for a connection being made);
        None when jobs can start, or while still connecting."""
        ...

    def describe(self) -> str:
        """One line for the sidebar: where jobs run, or why they cannot."""
        ...

    def run(self, fn: JobFn, control: Control, emit: EmitFn, job_id: str) -> Outcome:
        """Run `fn(control, emit)` to its end; never raises for the job's own failures."""
        ...

    def close(self) -> None:
        """Let go of what the backend holds while idle (a Ray backend's warm workers)."""
        ...


def default_max_running() -> int:
    """One job per GPU; on CPU a few, each with its share of the cores."""
    if torch.cuda.is_available():
        return torch.cuda.device_count()
    return max(1, min(4, (os.cpu_count() or 1) // 2))


class ThreadBackend:
    """Jobs run on the manager's worker threads, inside this process: nothing to install."""

    name = "thread"

    def __init__(self, max_jobs: int | None = None) -> None:
        self.max_jobs = max_jobs

    def capacity(self) -> int:
        return self.max_jobs or default_max_running()

    def check(self) -> None:
        return None

    def problem(self, wait_s: float = 0.0) -> str | None:
        return None

    def describe(self) -> str:
        return f"Jobs train on this server, {self.capacity()} at a time."

    def run(self, fn: JobFn, control: Control, emit: EmitFn, job_id: str) -> Outcome:
        return fn(control, emit)

    def close(self) -> None:
        return None


class Unreachable:
    """A backend whose settings are wrong: every job is refused with the reason, none runs here."""

    name = "none"

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def capacity(self) -> int:
        return 1

    def check(self) -> None:
        raise BackendUnavailable(self.reason)

    def problem(self, wait_s: float = 0.0) -> str | None:
        return self.reason

    def describe(self) -> str:
        return self.reason

    def run(self, fn: JobFn, control: Control, emit: EmitFn, job_id: str) -> Outcome:
        raise BackendUnavailable(self.reason)

    def close(self) -> None:
        return None


def parts(fn: JobFn) -> tuple[JobFn, Finish | None]:
    """A job's remote part and the finish that runs here afterwards (a `TrainingJob` has both:
    train anywhere, write the checkpoint on the server); a plain function is all remote."""
    remote, finish = getattr(fn, "remote", None), getattr(fn, "finish", None)
    if callable(remote) and callable(finish):
        return remote, finish
    return fn, None


def backend_from_env(
    environ: Mapping[str, str] | None = None, *, runs_jobs: bool = True
) -> Backend:
    """The backend the environment asks for (see the module's docstring); `runs_jobs=False`: a
    Ray backend that only connects and describes the cluster, for a server whose jobs the
    cluster's job table runs (it starts no warm workers of its own)."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    try:
        jobs = _number(env, MAX_JOBS_ENV, int, low=1)
        max_jobs = None if jobs is None else int(jobs)
        address = env.get(RAY_ADDRESS_ENV, "").strip()
        if not address:
            return ThreadBackend(max_jobs)
        gpus = _number(env, GPUS_PER_JOB_ENV, float, low=0.0001, high=64)
        cpus = _number(env, CPUS_PER_JOB_ENV, float, low=0.01, high=256) or 1.0
        warm = _number(env, WARM_WORKERS_ENV, int, low=0, high=1024)
    except ValueError as exc:
        return Unreachable(f"jobs cannot start: {exc}")
    from rnnviz.jobs.ray_backend import RayBackend

    return RayBackend(address, gpus_per_job=gpus, cpus_per_job=cpus, max_jobs=max_jobs,
                      warm_workers=None if warm is None else int(warm),
                      data_dir=env.get("RNNVIZ_DATA_DIR") or None, runs_jobs=runs_jobs)  # fmt: skip


def _number(
    env: Mapping[str, str], key: str, kind: type[float], *, low: float, high: float = 1e6
) -> float | None:
    raw = env.get(key, "").strip()
    if not raw:
        return None
    try:
        value = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ValueError(f"{key}={raw!r} is not {what}") from None
    if not low <= value <= high:
        raise ValueError(f"{key}={raw!r} is outside {low:g}..{high:g}")
    return value
