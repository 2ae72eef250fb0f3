"""The job manager: bounded concurrency, FIFO queue positions, cancel, failure, owner cleanup."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest
import torch

from rnnviz.jobs.manager import JobManager
from rnnviz.jobs.snapshots import JobRefused, OwnerLimits
from rnnviz.training.control import Control
from rnnviz.training.events import EmitFn, MemoryStepped


@dataclass(frozen=True)
class Ended:
    """A job's outcome, as any job function may return one."""

    status: str = "done"
    message: str = ""


def blocking_job(release: threading.Event, steps: int = 1000) -> Any:
    """A job that emits steps until released or stopped."""

    def fn(control: Control, emit: EmitFn) -> Ended:
        for step in range(1, steps + 1):
            if control.should_stop():
                return Ended("stopped", f"stopped at {step}")
            emit(MemoryStepped(step=step, loss=1.0, accuracy=0.5, progress=step / steps))
            if release.wait(0.005):
                return Ended("done", "released")
        return Ended("done", "all steps")

    return fn


def stepped(manager: JobManager, job: str) -> list[MemoryStepped]:
    snap = manager.snapshot(job)
    return snap.of(MemoryStepped) if snap else []


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_queue_runs_one_at_a_time_with_visible_positions() -> None:
    manager = JobManager(max_running=1)
    release = threading.Event()
    ids = [manager.submit(blocking_job(release), owner=o, title=f"j{o}") for o in "abc"]
    wait_for(lambda: manager.snapshot(ids[0]).state == "running")  # type: ignore[union-attr]
    snaps = [manager.snapshot(i) for i in ids]
    assert [s.state for s in snaps if s] == ["running", "queued", "queued"]
    assert [s.position for s in snaps if s] == [None, 1, 2]
    assert snaps[2] is not None and snaps[2].message == "queued, position 2"
    release.set()
    for job_id in ids:
        assert manager.wait(job_id, timeout=20).state == "done"


def test_cancel_queued_never_starts_and_cancel_running_stops() -> None:
    manager = JobManager(max_running=1)
    release = threading.Event()
    first = manager.submit(blocking_job(release), owner="a", title="first")
    second = manager.submit(blocking_job(release), owner="a", title="second")
    manager.cancel(second)
    snap = manager.snapshot(second)
    assert snap is not None and snap.state == "stopped" and snap.started is None
    wait_for(lambda: bool(stepped(manager, first)))
    manager.cancel(first)
    done = manager.wait(first, timeout=10)
    assert done.state == "stopped" and done.message.startswith("stopped at")


def test_pause_and_resume_report_state() -> None:
    manager = JobManager(max_running=1)
    release = threading.Event()
    job = manager.submit(blocking_job(release), owner="a", title="p")
    wait_for(lambda: bool(stepped(manager, job)))
    manager.pause(job)
    paused = manager.snapshot(job)
    assert paused is not None and paused.state == "paused"
    time.sleep(0.1)
    before = len(stepped(manager, job))
    time.sleep(0.2)
    assert len(stepped(manager, job)) == before
    snap = manager.snapshot(job)
    assert snap is not None and snap.progress == pytest.approx(before / 1000)
    manager.resume(job)
    release.set()
    assert manager.wait(job, timeout=10).state == "done"


def test_a_failing_job_is_failed_not_fatal_and_the_queue_moves_on() -> None:
    manager = JobManager(max_running=1)

    def boom(control: Control, emit: EmitFn) -> Ended:
        raise RuntimeError("kaput")

    bad = manager.submit(boom, owner="a", title="bad")
    good = manager.submit(lambda c, e: Ended("done", "fine"), owner="a", title="good")
    failed = manager.wait(bad, timeout=10)
    assert failed.state == "failed" and "RuntimeError: kaput" in failed.message
    assert failed.result is not None and failed.result.status == "failed"
    done = manager.wait(good, timeout=10)
    assert done.state == "done" and done.result == Ended("done", "fine") and done.progress == 1.0


def test_a_job_ending_with_an_unknown_status_is_failed_and_says_so() -> None:
    manager = JobManager(max_running=1)
    job = manager.submit(lambda c, e: Ended("finished", "?"), owner="a", title="odd")
    snap = manager.wait(job, timeout=10)
    assert snap.state == "failed" and "unknown status 'finished'" in snap.message


def test_waiting_for_an_unknown_job_is_an_error_that_names_it() -> None:
    with pytest.raises(KeyError, match="job-404"):
        JobManager(max_running=1).wait("job-404", timeout=1)


def test_job_reporting_failed_status_is_failed() -> None:
    manager = JobManager(max_running=2)
    job = manager.submit(lambda c, e: Ended("failed", "loss became nan"), owner="a", title="nan")
    snap = manager.wait(job, timeout=10)
    assert snap.state == "failed" and snap.message == "loss became nan"


def test_owners_see_their_own_jobs_and_detach_cancels_after_grace() -> None:
    manager = JobManager(max_running=1)
    release = threading.Event()
    a = manager.submit(blocking_job(release), owner="alice", title="a")
    b = manager.submit(blocking_job(release), owner="bob", title="b")
    assert [s.id for s in manager.jobs("alice")] == [a]
    manager.attach("bob")
    manager.detach("bob", grace_s=0)  # bob's tab closed and did not come back
    assert manager.snapshot(b).state == "stopped"  # type: ignore[union-attr]
    manager.attach("alice")
    manager.detach("alice", grace_s=0.2)
    manager.attach("alice")  # a reload attaches again within the grace period
    time.sleep(0.4)
    assert manager.snapshot(a).state == "running"  # type: ignore[union-attr]
    release.set()
    manager.wait(a, timeout=10)


def test_snapshots_are_consistent_while_events_arrive() -> None:
    manager = JobManager(max_running=1)
    release = threading.Event()
    job = manager.submit(blocking_job(release, steps=300), owner="a", title="s")
    errors: list[str] = []

    def reader() -> None:
        for _ in range(200):
            steps = [e.step for e in stepped(manager, job)]
            if steps != list(range(1, len(steps) + 1)):
                errors.append(f"non-contiguous steps {steps[-3:]}")

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    release.set()
    manager.wait(job, timeout=10)
    assert errors == []


@pytest.mark.parametrize("limit", [1, 3])
def test_never_more_than_max_running(limit: int) -> None:
    manager = JobManager(max_running=limit)
    running = 0
    peak = 0
    lock = threading.Lock()

    def fn(control: Control, emit: EmitFn) -> Ended:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return Ended()

    ids = [manager.submit(fn, owner=f"owner{i}", title=str(i)) for i in range(8)]
    for job_id in ids:
        manager.wait(job_id, timeout=20)
    assert peak == limit


def test_controls_on_unknown_or_finished_jobs_do_nothing() -> None:
    manager = JobManager(max_running=1)
    for action in (manager.pause, manager.resume, manager.cancel):
        action("job-404")  # a stale tab's click: no error
    done = manager.submit(lambda c, e: Ended("done", "ok"), owner="a", title="t")
    manager.wait(done, timeout=10)
    manager.cancel(done)
    manager.pause(done)
    assert manager.snapshot(done).state == "done"  # type: ignore[union-attr]


def test_one_person_has_one_job_running_and_two_waiting_at_most() -> None:
    manager = JobManager(max_running=4)  # room on the machine: the limit is the person's
    release = threading.Event()
    ids = [manager.submit(blocking_job(release), owner="a", title=f"a{i}") for i in range(3)]
    wait_for(lambda: manager.snapshot(ids[0]).state == "running")  # type: ignore[union-attr]
    states = [s.state for s in manager.jobs("a")]
    assert states == ["running", "queued", "queued"]  # the owner's second job waits its turn
    with pytest.raises(JobRefused, match="you already have 3 jobs running or waiting"):
        manager.submit(blocking_job(release), owner="a", title="a fourth")
    other = manager.submit(blocking_job(release), owner="b", title="b")  # others are not held up
    wait_for(lambda: manager.snapshot(other).state == "running")  # type: ignore[union-attr]
    release.set()
    for job_id in [*ids, other]:
        assert manager.wait(job_id, timeout=20).state == "done"


def test_finished_jobs_are_forgotten_past_the_newest_few_and_the_retention_time() -> None:
    manager = JobManager(max_running=1, limits=OwnerLimits(finished=3, finished_s=3600))
    ids = []
    for i in range(6):
        ids.append(manager.submit(lambda c, e: Ended("done", "ok"), owner="a", title=str(i)))
        manager.wait(ids[-1], timeout=10)
    assert [s.title for s in manager.jobs("a")] == ["3", "4", "5"]
    quick = JobManager(max_running=1, limits=OwnerLimits(finished_s=0.3))
    first = quick.submit(lambda c, e: Ended("done", "ok"), owner="b", title="old")
    assert quick.wait(first, timeout=10).state == "done"
    time.sleep(0.4)
    quick.submit(lambda c, e: Ended("done", "ok"), owner="b", title="new")  # prunes on submit
    assert quick.snapshot(first) is None


def test_a_departed_owners_queued_jobs_never_start() -> None:
    manager = JobManager(max_running=1)
    release = threading.Event()
    started: list[str] = []

    def recorded(title: str) -> Any:
        def fn(control: Control, emit: EmitFn) -> Ended:
            started.append(title)
            control.should_stop()
            return Ended("stopped" if control.stopped else "done", title)

        return fn

    first = manager.submit(blocking_job(release), owner="gone", title="running")
    wait_for(lambda: manager.snapshot(first).state == "running")  # type: ignore[union-attr]
    queued = [manager.submit(recorded(t), owner="gone", title=t) for t in ("q1", "q2")]
    manager.attach("gone")
    manager.detach("gone", grace_s=0)
    assert manager.wait(first, timeout=10).state == "stopped"
    for job_id in queued:
        snap = manager.wait(job_id, timeout=10)
        assert snap.state == "stopped" and snap.started is None and snap.message == "its owner left"
    time.sleep(0.2)
    assert started == []  # not one step, no test-set scoring, no checkpoint


def resident_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_finished_jobs_hold_no_model_and_memory_stays_flat_over_200_jobs() -> None:
    import gc
    import tracemalloc

    from rnnviz.memory import RecallConfig, train_recall

    manager = JobManager(max_running=1)

    def tiny(control: Control, emit: EmitFn) -> Any:
        return train_recall(RecallConfig(steps=2, test_size=16, hidden_size=8), emit=emit)

    def run_jobs(count: int, start: int) -> None:
        for i in range(start, start + count):
            manager.wait(manager.submit(tiny, owner=f"o{i % 3}", title=str(i)), timeout=30)

    run_jobs(20, 0)  # warm: allocator pools, torch's caches
    gc.collect()
    rss_before = resident_mib()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    run_jobs(200, 20)
    gc.collect()
    growth = sum(d.size_diff for d in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    kept = manager.jobs()
    assert len(kept) == 3 * OwnerLimits().finished  # eight per owner, the rest forgotten
    assert not any(isinstance(v, torch.nn.Module) for s in kept for v in vars(s.result).values())
    print(f"\nover 200 finished jobs: Python heap +{growth / 1024:.0f} KiB, "
          f"resident memory {rss_before:.0f} -> {resident_mib():.0f} MiB")  # fmt: skip
    assert growth < 2 * 2**20, growth  # flat: the 200 runs' events and results were let go


def test_a_reload_then_a_close_stops_the_job_a_grace_period_after_the_close() -> None:
    manager = JobManager(max_running=1)
    release = threading.Event()
    job = manager.submit(blocking_job(release), owner="tab", title="run")
    manager.attach("tab")
    manager.detach("tab", grace_s=0.4)  # a reload ...
    manager.attach("tab")
    time.sleep(0.25)
    manager.detach("tab", grace_s=0.4)  # ... and the tab closes 0.25 s later
    time.sleep(0.25)  # 0.5 s after the reload: its departure must not count any more
    assert manager.snapshot(job).state == "running"  # type: ignore[union-attr]
    assert manager.wait(job, timeout=5).state == "stopped"  # 0.4 s after the close


def test_a_new_learning_rate_is_checked_and_reaches_the_job() -> None:
    manager = JobManager(max_running=1)
    release, seen = threading.Event(), []

    def fn(control: Control, emit: EmitFn) -> Ended:
        while not release.wait(0.005):
            if (lr := control.take_lr()) is not None:
                seen.append(lr)
        return Ended("done", "released")

    job = manager.submit(fn, owner="a", title="t")
    with pytest.raises(ValueError, match=r"lr=50 must be between 1e-06 and 10"):
        manager.set_lr(job, 50)
    manager.set_lr(job, 3e-4)
    wait_for(lambda: seen == [3e-4])
    other = manager.submit(blocking_job(release), owner="b", title="m", kind="memory")
    with pytest.raises(ValueError, match="a memory job has no learning rate"):
        manager.set_lr(other, 1e-3)
    release.set()
    manager.wait(job, timeout=10)
    manager.set_lr(job, 1e-3)  # a stale tab's request for a finished job changes nothing
