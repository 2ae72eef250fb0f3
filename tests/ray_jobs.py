"""Job functions for the Ray tests (shipped to workers by value, so a worker needs only rnnviz),
and what the tests do with them: wait, count a job's steps, pause, resume and stop one."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rnnviz.training.control import Control
from rnnviz.training.events import EmitFn, MemoryStepped, Stepped

if TYPE_CHECKING:
    from rnnviz.jobs.manager import JobManager
    from rnnviz.jobs.snapshots import JobSnapshot


@dataclass(frozen=True)
class Ended:
    status: str = "done"
    message: str = ""


@dataclass(frozen=True)
class Hold:
    """Emits a step every `every_s` seconds until stopped, or until `steps` have been emitted."""

    steps: int = 100_000
    every_s: float = 0.02

    def __call__(self, control: Control, emit: EmitFn) -> Ended:
        for step in range(1, self.steps + 1):
            if control.should_stop():
                return Ended("stopped", f"stopped at step {step}")
            emit(MemoryStepped(step=step, loss=1.0, accuracy=0.5, progress=step / self.steps))
            time.sleep(self.every_s)
        return Ended("done", f"all {self.steps} steps")


@dataclass(frozen=True)
class Boom:
    def __call__(self, control: Control, emit: EmitFn) -> Ended:
        raise RuntimeError("the job's own bug")


def wait_for(predicate: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def steps(jobs: JobManager, job: str) -> int:
    """The steps a job has reported so far (a `Hold` job's, or a training run's)."""
    snap = jobs.snapshot(job)
    return len(snap.of(MemoryStepped)) + len(snap.of(Stepped)) if snap else 0


def paused_resumed_stopped(jobs: JobManager, job: str) -> JobSnapshot:
    """Pause a running `Hold` job and check that it holds, resume it and check that it goes on,
    then stop it: its snapshot once it has ended."""
    wait_for(lambda: steps(jobs, job) > 5)
    jobs.pause(job)
    time.sleep(0.5)  # the pause reaches the worker within a poll
    held = steps(jobs, job)
    time.sleep(0.6)
    assert steps(jobs, job) == held, "a paused job went on stepping"
    jobs.resume(job)
    wait_for(lambda: steps(jobs, job) > held + 5)
    jobs.cancel(job)
    return jobs.wait(job, timeout=30)
