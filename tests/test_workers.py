"""Warm Ray workers on a real local cluster: one process runs jobs one after another, a dead one is
replaced, and control reaches a pooled worker as it reaches a new one.

A cluster of its own (2 CPUs, no GPU); every job trains on CPU.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from rnnviz.data.datasets import DataConfig
from rnnviz.jobs.manager import JobManager
from rnnviz.jobs.runs import training_job
from rnnviz.jobs.snapshots import OwnerLimits
from rnnviz.models.network import ModelConfig
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.events import LrChanged, Stepped
from rnnviz.training.record import RunRecord
from tests import ray_jobs
from tests.ray_jobs import Hold, paused_resumed_stopped, steps, wait_for

ray = pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-ray.txt")
from rnnviz.jobs.ray_backend import DIED, RayBackend  # noqa: E402

TINY = RunConfig(
    model=ModelConfig(cell="lstm", hidden_size=16),
    data=DataConfig(dataset="digits"),
    train=TrainConfig(epochs=1, batch_size=64, lr=0.01, device="cpu"),
)
OWNERS = [f"{i:08x}" for i in range(1, 5)]


class Placed(dict[str, dict[str, Any]]):
    """A backend's `where`, remembering every job's worker after the job has ended."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[str, dict[str, Any]] = {}

    def __setitem__(self, job: str, where: dict[str, Any]) -> None:
        self.seen[job] = where
        super().__setitem__(job, where)


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    import cloudpickle

    cloudpickle.register_pickle_by_value(ray_jobs)
    ray.init(address="local", num_cpus=2, num_gpus=0, include_dashboard=False,
             object_store_memory=100 * 2**20, log_to_driver=False)  # fmt: skip
    yield
    ray.shutdown()


@pytest.fixture
def backends() -> Iterator[list[RayBackend]]:
    made: list[RayBackend] = []
    yield made
    for backend in made:  # its warm workers hold their share of the cluster until closed
        backend.close()


def manager(made: list[RayBackend], **options: Any) -> tuple[JobManager, Placed]:
    backend = RayBackend("auto", poll_s=0.05, **options)
    made.append(backend)
    backend.check()
    placed = Placed()
    backend.where = placed
    return JobManager(backend=backend, limits=OwnerLimits(running=1, queued=2)), placed


def warmed(backend: RayBackend, size: int) -> None:
    """Wait until the pool's workers have started and warmed up."""
    wait_for(lambda: backend._pool is not None and len(backend._pool._idle) == size)
    assert backend._pool is not None
    ray.get([a.where.remote() for a in backend._pool._idle], timeout=120)  # after `warm`


def test_a_warm_worker_runs_jobs_one_after_another_and_the_next_starts_at_once(
    cluster: None, backends: list[RayBackend], tmp_path: Path
) -> None:
    jobs, placed = manager(backends, warm_workers=1)
    warmed(jobs.backend, 1)  # type: ignore[arg-type]
    first = jobs.submit(Hold(), owner=OWNERS[0], title="first")
    wait_for(lambda: steps(jobs, first) > 2)
    jobs.cancel(first)  # a stopped worker must not stop the next job
    assert jobs.wait(first, timeout=30).state == "stopped"
    started = time.monotonic()
    second = jobs.submit(training_job(TINY, out=tmp_path), owner=OWNERS[0], title="second")
    wait_for(lambda: steps(jobs, second) > 0, timeout=30)
    first_progress = time.monotonic() - started
    snap = jobs.wait(second, timeout=120)
    assert snap.state == "done" and isinstance(snap.result, RunRecord), snap.message
    assert placed.seen[first]["pid"] == placed.seen[second]["pid"]
    assert first_progress < 3.0, f"first progress after {first_progress:.1f} s on a warm worker"


def test_a_killed_warm_worker_fails_only_its_job_and_is_replaced(
    cluster: None, backends: list[RayBackend]
) -> None:
    jobs, placed = manager(backends, warm_workers=2)
    victim = jobs.submit(Hold(), owner=OWNERS[0], title="victim")
    other = jobs.submit(Hold(), owner=OWNERS[1], title="other")
    wait_for(lambda: steps(jobs, victim) > 2 and steps(jobs, other) > 2)
    pid = placed.seen[victim]["pid"]
    os.kill(pid, signal.SIGKILL)
    dead = jobs.wait(victim, timeout=60)
    assert dead.state == "failed" and dead.message == DIED
    going = steps(jobs, other)
    wait_for(lambda: steps(jobs, other) > going + 5)  # the other job went on
    after = jobs.submit(Hold(steps=20), owner=OWNERS[2], title="after")
    assert jobs.wait(after, timeout=60).state == "done"
    assert placed.seen[after]["pid"] != pid
    jobs.cancel(other)
    assert jobs.wait(other, timeout=30).state == "stopped"
    pool = jobs.backend._pool  # type: ignore[attr-defined]
    assert pool._alive == 2 and len(pool._idle) == 2  # the dead worker was replaced


def test_pause_stop_and_a_new_rate_reach_a_pooled_worker(
    cluster: None, backends: list[RayBackend], tmp_path: Path
) -> None:
    jobs, placed = manager(backends, warm_workers=1)
    hold = jobs.submit(Hold(), owner=OWNERS[0], title="hold")
    assert paused_resumed_stopped(jobs, hold).state == "stopped"

    run = replace(TINY, train=replace(TINY.train, epochs=3))
    first = jobs.submit(training_job(run, out=tmp_path), owner=OWNERS[0], title="first")
    wait_for(lambda: any(e.step >= 2 for e in jobs.snapshot(first).of(Stepped)))  # type: ignore[union-attr]
    jobs.pause(first)  # so the run cannot end before the new rate reaches the worker
    jobs.set_lr(first, 4e-4)
    jobs.resume(first)
    snap = jobs.wait(first, timeout=120)
    assert snap.state == "done", snap.message
    [change] = snap.of(LrChanged)
    after = [s.lr for s in snap.of(Stepped) if s.step >= change.step]
    assert after and all(lr == pytest.approx(4e-4) for lr in after)

    second = jobs.submit(training_job(TINY, out=tmp_path), owner=OWNERS[0], title="second")
    again = jobs.wait(second, timeout=120)  # its worker's control was reset: its own rate
    assert again.state == "done" and not again.of(LrChanged)
    assert again.of(Stepped) and all(s.lr == pytest.approx(0.01) for s in again.of(Stepped))
    assert len({placed.seen[job]["pid"] for job in (hold, first, second)}) == 1


def test_no_warm_workers_gives_each_job_a_process_of_its_own(
    cluster: None, backends: list[RayBackend]
) -> None:
    jobs, placed = manager(backends, warm_workers=0)
    ids = []
    for owner in OWNERS[:2]:
        ids.append(jobs.submit(Hold(steps=10), owner=owner, title=owner))
        assert jobs.wait(ids[-1], timeout=60).state == "done"
    assert jobs.backend._pool is None  # type: ignore[attr-defined]
    assert placed.seen[ids[0]]["pid"] != placed.seen[ids[1]]["pid"]
