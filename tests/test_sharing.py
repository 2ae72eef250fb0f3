"""The same work trains once: joining a live job, leaving it, its result delivered to each joiner,
and what makes two runs the same work."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from rnnviz.data.datasets import DataConfig
from rnnviz.jobs.manager import JobManager
from rnnviz.jobs.runs import train_and_save
from rnnviz.jobs.sharing import copy_run, delivery, finished_match, work_key
from rnnviz.jobs.snapshots import JobRefused, Outcome, OwnerLimits
from rnnviz.models.network import ModelConfig
from rnnviz.storage.checkpoints import list_checkpoints, load_checkpoint
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.control import Control
from rnnviz.training.events import EmitFn

from .test_jobs import Ended, blocking_job, wait_for


def counted(release: threading.Event, calls: list[str]) -> Any:
    """A blocking job that notes each time it actually starts."""
    inner = blocking_job(release)

    def fn(control: Control, emit: EmitFn) -> Outcome:
        calls.append("ran")
        return inner(control, emit)

    return fn


def test_the_same_key_joins_the_live_job_and_it_runs_once() -> None:
    manager, release, calls = JobManager(max_running=2), threading.Event(), list[str]()
    first = manager.submit(counted(release, calls), owner="ann", title="LSTM", key="k")
    again = manager.submit(counted(release, calls), owner="bob", title="LSTM", key="k")
    other = manager.submit(counted(release, calls), owner="cy", title="GRU", key="other")
    assert again == first and other != first
    assert manager.submit(counted(release, calls), owner="bob", title="LSTM", key="k") == first
    ann, bob = manager.snapshot(first, "ann"), manager.snapshot(first, "bob")
    assert ann is not None and bob is not None
    assert (ann.watchers, ann.joined, bob.watchers, bob.joined) == (2, False, 2, True)
    assert (ann.place, bob.place) == (0, 1)  # the starter, then in the order they joined
    cy = manager.snapshot(first, "cy")
    assert cy is not None and cy.place == 0  # not among its watchers
    assert [s.id for s in manager.jobs("bob")] == [first]
    release.set()
    assert manager.wait(first, timeout=20).state == "done"
    manager.wait(other, timeout=20)
    assert calls == ["ran", "ran"]  # one for the shared job, one for the other settings


def test_each_joiner_gets_the_result_delivered_as_their_own() -> None:
    manager, release = JobManager(max_running=1), threading.Event()
    got: list[Outcome] = []

    def deliver(result: Outcome) -> Outcome:
        got.append(result)
        return Ended(result.status, f"{result.message}, copied for bob")

    job = manager.submit(blocking_job(release), owner="ann", title="t", key="k")
    manager.submit(blocking_job(release), owner="bob", title="t", key="k", deliver=deliver)
    release.set()
    manager.wait(job, timeout=20)
    ann, bob = manager.snapshot(job, "ann"), manager.snapshot(job, "bob")
    assert ann is not None and bob is not None and len(got) == 1
    assert ann.result == Ended("done", "released")
    assert bob.result == Ended("done", "released, copied for bob")


def test_stop_leaves_a_shared_job_to_the_others_and_the_last_one_stops_it() -> None:
    manager, release = JobManager(max_running=1), threading.Event()
    job = manager.submit(blocking_job(release), owner="ann", title="t", key="k")
    manager.submit(blocking_job(release), owner="bob", title="t", key="k")
    wait_for(lambda: manager.snapshot(job).state == "running")  # type: ignore[union-attr]
    manager.cancel(job, "ann")  # the starter leaves; bob still watches
    snap = manager.snapshot(job)
    assert snap is not None and snap.state == "running" and snap.watchers == 1
    assert [s.id for s in manager.jobs("ann")] == [] and [s.id for s in manager.jobs("bob")] == [
        job
    ]
    manager.cancel(job, "cy")  # not cy's to stop
    assert manager.snapshot(job).state == "running"  # type: ignore[union-attr]
    manager.cancel(job, "bob")
    assert manager.wait(job, timeout=20).state == "stopped"


def test_nobody_steers_a_shared_job_alone() -> None:
    manager, release = JobManager(max_running=1), threading.Event()
    job = manager.submit(blocking_job(release), owner="ann", title="t", key="k")
    manager.submit(blocking_job(release), owner="bob", title="t", key="k")
    wait_for(lambda: manager.snapshot(job).state == "running")  # type: ignore[union-attr]
    manager.pause(job, "bob")
    assert manager.snapshot(job).state == "running"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="2 people watch this run"):
        manager.set_lr(job, 1e-3, "ann")
    manager.cancel(job, "bob")
    manager.pause(job, "ann")  # alone again: the starter steers it
    assert manager.snapshot(job).state == "paused"  # type: ignore[union-attr]
    manager.cancel(job)
    manager.wait(job, timeout=20)


def test_a_joined_job_counts_once_and_a_leaving_owner_leaves_the_others_theirs() -> None:
    limits = OwnerLimits(running=1, queued=1)
    manager, release = JobManager(max_running=1, limits=limits), threading.Event()
    shared = manager.submit(blocking_job(release), owner="ann", title="t", key="k")
    manager.submit(blocking_job(release), owner="bob", title="t", key="k")
    own = manager.submit(blocking_job(release), owner="bob", title="u", key="bob's")
    with pytest.raises(JobRefused):  # the shared job and bob's own: two, bob's most
        manager.submit(blocking_job(release), owner="bob", title="v", key="v")
    assert manager.cancel_owner("bob") == 2
    assert manager.snapshot(own).state == "stopped"  # type: ignore[union-attr]
    snap = manager.snapshot(shared)
    assert snap is not None and snap.active and snap.watchers == 1
    release.set()
    assert manager.wait(shared, timeout=20).state == "done"


def test_a_stopping_job_is_not_joined() -> None:
    manager, release = JobManager(max_running=1), threading.Event()
    job = manager.submit(blocking_job(release), owner="ann", title="t", key="k")
    wait_for(lambda: manager.snapshot(job).state == "running")  # type: ignore[union-attr]
    manager.cancel(job, "ann")
    fresh = manager.submit(blocking_job(release), owner="bob", title="t", key="k")
    assert fresh != job
    release.set()
    manager.wait(fresh, timeout=20)


def tiny(**train: Any) -> RunConfig:
    return RunConfig(
        model=ModelConfig(cell="gru", hidden_size=8),
        data=DataConfig(dataset="digits"),
        train=TrainConfig(epochs=1, batch_size=128, device="cpu", **train),
    )


def test_the_same_work_is_the_settings_less_the_machine_folders() -> None:
    run = tiny()
    moved = replace(run, data=replace(run.data, data_dir="/elsewhere"))
    assert work_key(moved) == work_key(run)
    assert work_key(tiny(seed=1)) != work_key(run)
    assert work_key(run, cells=["lstm", "gru"]) != work_key(run)
    assert work_key(replace(run, train=replace(run.train, device="auto"))) == work_key(run)


def test_a_finished_run_is_found_and_copied_into_a_joiners_folder(tmp_path: Path) -> None:
    record = train_and_save(tiny(), out=tmp_path / "ann")
    assert record.status == "done" and record.checkpoint
    infos = list_checkpoints(tmp_path / "ann")
    found = finished_match(tiny(), infos)
    assert found is not None and str(found.path) == record.checkpoint
    assert finished_match(tiny(seed=3), infos) is None
    mine = delivery(tmp_path / "bob")(record)
    assert isinstance(mine, type(record)) and mine.checkpoint
    assert Path(mine.checkpoint).parent == tmp_path / "bob"
    original, copied = load_checkpoint(record.checkpoint), load_checkpoint(mine.checkpoint)
    assert copied.record.test_accuracy == original.record.test_accuracy
    second = copy_run(record, tmp_path / "bob")  # the name is taken: a free one
    assert second.checkpoint and Path(second.checkpoint).name.endswith("-2")
    assert len(list_checkpoints(tmp_path / "bob")) == 2


def test_a_jobs_history_is_folded_as_its_events_come_lane_by_lane() -> None:
    from rnnviz.training.events import EpochEnded, Stepped
    from rnnviz.training.history import History

    events = [
        Stepped(first_step=s, losses=(1.0 / s,), epoch=1, steps_per_epoch=4, total_steps=4,
                lr=0.1, samples_per_s=10.0, eta_s=1.0, elapsed_s=0.1 * s, lane=s % 2)
        for s in range(1, 5)
    ] + [EpochEnded(epoch=1, epochs=2, train_acc=0.5, train_loss=1.0, val_acc=0.4, val_loss=1.1,
                    elapsed_s=1.0, lane=1)]  # fmt: skip

    def fn(control: Control, emit: EmitFn) -> Outcome:
        for event in events:
            emit(event)
        return Ended("done", "")

    manager = JobManager(max_running=1)
    job = manager.submit(fn, owner="ann", title="t")
    snap = manager.wait(job, timeout=20)
    for lane in (0, 1):
        mine = [e for e in events if e.lane == lane]
        assert {k: list(v) for k, v in snap.histories[lane].items()} == History.of(mine).data
    assert list(snap.histories[1]["loss"]) == [1.0, 1 / 3]
    assert list(snap.histories[1]["val_acc"]) == [0.4]
