"""The Ray backend on a real local cluster: events, control, placement, a dead worker, the pages.

One cluster for the session (2 CPUs and one logical GPU: enough to test fractional placement on a
machine without one); every job here trains on CPU. `ray.init(address="local")` never attaches to
a cluster someone else left running. These tests give each job a new actor (`warm_workers=0`);
tests/test_workers.py runs jobs on warm ones.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from rnnviz.data.datasets import DataConfig
from rnnviz.jobs.backends import BackendUnavailable, ThreadBackend
from rnnviz.jobs.manager import JobManager
from rnnviz.jobs.runs import training_job
from rnnviz.jobs.snapshots import OwnerLimits
from rnnviz.models.network import ModelConfig
from rnnviz.training import events
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.events import EpochEnded, Started, Stepped
from rnnviz.training.record import RunRecord
from tests import ray_jobs
from tests.conftest import app_test, shown
from tests.ray_jobs import Boom, Hold, paused_resumed_stopped, steps, wait_for

ray = pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-ray.txt")
from rnnviz.jobs.ray_backend import DIED, RayBackend  # noqa: E402

TINY = RunConfig(
    model=ModelConfig(cell="lstm", hidden_size=16),
    data=DataConfig(dataset="digits"),
    train=TrainConfig(epochs=1, batch_size=64, lr=0.01, device="cpu"),
)
OWNERS = [f"{i:08x}" for i in range(1, 9)]


BACKENDS: list[RayBackend] = []


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    import cloudpickle

    cloudpickle.register_pickle_by_value(ray_jobs)
    ray.init(address="local", num_cpus=2, num_gpus=1, include_dashboard=False,
             object_store_memory=100 * 2**20, log_to_driver=False)  # fmt: skip
    yield
    ray.shutdown()


@pytest.fixture(autouse=True)
def closed() -> Iterator[None]:
    yield
    while BACKENDS:  # a backend's warm workers hold their share of the cluster until closed
        BACKENDS.pop().close()


def manager(**options: Any) -> JobManager:
    backend = RayBackend("auto", poll_s=0.05, **{"warm_workers": 0, **options})
    BACKENDS.append(backend)
    backend.check()  # connected: its capacity is the cluster's
    return JobManager(backend=backend, limits=OwnerLimits(running=1, queued=2))


def test_a_training_run_on_a_worker_streams_events_and_is_saved_here(
    cluster: None, tmp_path: Path
) -> None:
    jobs = manager()
    job = jobs.submit(training_job(TINY, out=tmp_path), owner=OWNERS[0], title="tiny")
    snap = jobs.wait(job, timeout=120)
    record = snap.result
    assert isinstance(record, RunRecord) and snap.state == "done", snap.message
    assert record.backend == "ray" and record.host
    assert record.summary()["backend"] == "ray"
    assert len(snap.of(Started)) == 1 and len(snap.of(events.Tested)) == 1
    assert [e.epoch for e in snap.of(EpochEnded)] == [1]
    assert [e.step for e in snap.of(Stepped)] == record.history["step"]
    assert record.checkpoint and (Path(record.checkpoint) / "model.safetensors").is_file()
    assert Path(record.checkpoint).parent == tmp_path  # written by the server, not the worker


def test_the_same_cpu_run_gives_the_same_loss_curve_on_both_backends(
    cluster: None, tmp_path: Path, one_thread: None
) -> None:
    here, there = JobManager(backend=ThreadBackend()), manager()
    on_ray = there.submit(training_job(TINY, out=tmp_path / "ray"), owner=OWNERS[0], title="a")
    on_thread = here.submit(training_job(TINY, out=tmp_path / "thread"), owner=OWNERS[0],
                            title="b")  # fmt: skip
    a, b = here.wait(on_thread, timeout=120).result, there.wait(on_ray, timeout=120).result
    assert isinstance(a, RunRecord) and isinstance(b, RunRecord)
    assert (a.backend, b.backend) == ("thread", "ray")
    assert len(a.history["loss"]) == 1293 // 64  # full batches only
    assert a.history["loss"] == b.history["loss"]  # one thread each: the same numbers, bit for bit
    assert a.test_accuracy == b.test_accuracy


def test_pause_resume_and_stop_reach_a_busy_worker(cluster: None) -> None:
    jobs = manager()
    job = jobs.submit(Hold(), owner=OWNERS[0], title="hold")
    snap = paused_resumed_stopped(jobs, job)
    assert snap.state == "stopped" and snap.message.startswith("stopped at step")


def test_stop_while_paused_ends_the_job_and_frees_its_share(cluster: None) -> None:
    jobs = manager(gpus_per_job=1.0, cpus_per_job=0.5)  # the whole logical GPU
    first = jobs.submit(Hold(), owner=OWNERS[0], title="first")
    wait_for(lambda: steps(jobs, first) > 2)
    jobs.pause(first)
    jobs.cancel(first)
    assert jobs.wait(first, timeout=30).state == "stopped"
    second = jobs.submit(Hold(steps=5), owner=OWNERS[0], title="second")  # gets the GPU share
    assert jobs.wait(second, timeout=60).state == "done"


def test_five_jobs_at_a_quarter_gpu_four_run_and_one_waits_its_turn(cluster: None) -> None:
    jobs = manager(gpus_per_job=0.25, cpus_per_job=0.25)
    assert jobs.max_running == 4  # one logical GPU / 0.25
    ids = [jobs.submit(Hold(), owner=owner, title=owner) for owner in OWNERS[:5]]
    wait_for(lambda: all(steps(jobs, i) > 0 for i in ids[:4]))
    fifth = jobs.snapshot(ids[4])
    assert fifth is not None and fifth.state == "queued" and fifth.position == 1
    jobs.cancel(ids[0])
    wait_for(lambda: steps(jobs, ids[4]) > 0)
    for job in ids:
        jobs.cancel(job)
    assert all(jobs.wait(job, timeout=30).state == "stopped" for job in ids)


def test_ray_itself_places_four_quarter_gpu_actors_and_holds_the_fifth(cluster: None) -> None:
    jobs = manager(gpus_per_job=0.25, cpus_per_job=0.25, max_jobs=5)  # past what the GPU holds
    ids = [jobs.submit(Hold(), owner=owner, title=owner) for owner in OWNERS[:5]]
    wait_for(lambda: sum(steps(jobs, i) > 0 for i in ids) == 4)
    time.sleep(1.0)
    waiting = [i for i in ids if steps(jobs, i) == 0]
    assert len(waiting) == 1 and jobs.snapshot(waiting[0]).state == "running"  # type: ignore[union-attr]
    jobs.cancel(waiting[0])  # never placed: cancelled at once, nothing to stop
    assert jobs.wait(waiting[0], timeout=10).message == "cancelled before it started"
    for job in ids:
        jobs.cancel(job)
    assert sorted(jobs.wait(job, timeout=30).state for job in ids) == ["stopped"] * 5


def test_a_killed_worker_fails_its_job_and_no_other(cluster: None, tmp_path: Path) -> None:
    jobs = manager(cpus_per_job=0.5)
    victim = jobs.submit(Hold(), owner=OWNERS[0], title="victim")
    other = jobs.submit(training_job(TINY, out=tmp_path), owner=OWNERS[1], title="other")
    wait_for(lambda: steps(jobs, victim) > 2 and victim in jobs.backend.where)  # type: ignore[attr-defined]
    jobs.pause(victim)  # killed while paused, as a crash could come at any moment
    os.kill(jobs.backend.where[victim]["pid"], signal.SIGKILL)  # type: ignore[attr-defined]
    dead = jobs.wait(victim, timeout=60)
    assert dead.state == "failed" and dead.message == DIED
    done = jobs.wait(other, timeout=120)
    assert done.state == "done" and isinstance(done.result, RunRecord) and done.result.checkpoint


def test_a_job_that_raises_fails_with_its_message(cluster: None) -> None:
    jobs = manager()
    snap = jobs.wait(jobs.submit(Boom(), owner=OWNERS[0], title="boom"), timeout=60)
    assert snap.state == "failed" and snap.message == "RuntimeError: the job's own bug"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_address_refuses_jobs_at_once_and_runs_nothing_here() -> None:
    address = f"127.0.0.1:{free_port()}"
    backend = RayBackend(address, connect_timeout_s=10)
    BACKENDS.append(backend)
    jobs = JobManager(backend=backend)
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="cannot reach the Ray cluster at"):
        jobs.submit(Hold(), owner=OWNERS[0], title="never")
    assert time.monotonic() - started < 10
    assert jobs.jobs() == []
    assert address in (jobs.backend.problem() or "")


def test_the_train_page_reruns_with_the_ray_backend(
    cluster: None, app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RNNVIZ_RAY_ADDRESS", "auto")
    monkeypatch.setenv("RNNVIZ_RAY_WARM_WORKERS", "0")  # the cached manager outlives the test
    query = {"dataset": "digits", "hidden": "16", "epochs": "1", "batch": "64", "device": "cpu"}
    at = app_test("pages/train.py", query=query)
    assert "Jobs train on the Ray cluster" in at.sidebar.caption[0].value
    next(b for b in at.button if b.label == "Start training").click().run()
    at.run()  # each run is a new script thread; the connection lives on its own thread
    at.run()
    deadline = time.monotonic() + 120
    while not (at.success or at.error):
        assert time.monotonic() < deadline, "the run did not finish in time"
        time.sleep(0.5)
        at.run()
    assert not at.exception and not at.error, shown(at.error[0]) if at.error else at.exception
    assert "on Ray worker" in shown(at.success[0])
    [meta] = list(app_env.rglob("meta.json"))
    assert at.sidebar.selectbox(key="sidebar_model").value == str(meta.parent)


def test_an_unreachable_cluster_is_said_in_the_sidebar_and_on_start(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RNNVIZ_RAY_ADDRESS", f"127.0.0.1:{free_port()}")
    at = app_test("pages/train.py", query={"dataset": "digits", "device": "cpu"})
    assert "cannot reach the Ray cluster" in shown(at.sidebar.error[0])
    next(b for b in at.button if b.label == "Start training").click().run()
    assert "cannot reach the Ray cluster" in shown(at.warning[0])
    assert not list(app_env.rglob("meta.json"))


def test_the_cli_trains_two_presets_side_by_side_on_the_cluster(
    cluster: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rnnviz.cli import main

    args = ["train", "--preset", "digits-offline", "--preset", "cells-gru", "--dataset", "digits",
            "--hidden", "16", "--epochs", "1", "--device", "cpu", "--ray", "auto",
            "--out", str(tmp_path), "--json"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr()
    lines = [json.loads(line) for line in out.out.splitlines() if line.startswith("{")]
    assert [(r["backend"], r["status"]) for r in lines] == [("ray", "done"), ("ray", "done")]
    assert [r["config"]["model"]["cell"] for r in lines] == ["lstm", "gru"]
    assert all(r["host"] and Path(r["checkpoint"]).parent == tmp_path for r in lines)
    assert "epoch 1/1" in out.err and "Jobs train on the Ray cluster" in out.err


def test_the_cli_with_an_unreachable_cluster_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rnnviz.cli import main

    address = f"127.0.0.1:{free_port()}"
    args = ["train", "--dataset", "digits", "--ray", address, "--out", str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"rnnviz train: error: cannot reach the Ray cluster at '{address}'")
    assert len(err.splitlines()) == 1 and not list(tmp_path.iterdir())


def test_a_memory_lab_run_trains_on_a_worker(cluster: None) -> None:
    from rnnviz import memory as lab

    config = lab.RecallConfig(length=4, position=2, hidden_size=8, steps=40)
    jobs = manager()
    snap = jobs.wait(jobs.submit(lab.MemoryJob(lab.train_recall, (config,)), owner=OWNERS[0],
                                 title="recall", kind="memory"), timeout=120)  # fmt: skip
    assert snap.state == "done", snap.message
    assert isinstance(snap.result, lab.MemoryRun) and 0 <= snap.result.scores["test_accuracy"] <= 1
    assert snap.of(events.MemoryStepped)[-1].step == 40


def test_a_race_runs_on_a_worker_and_takes_a_new_learning_rate(
    cluster: None, tmp_path: Path
) -> None:
    from rnnviz.jobs.races import RaceConfig, RaceRecord, race_job
    from rnnviz.training.events import LrChanged

    jobs = manager()
    config = RaceConfig(replace(TINY, train=replace(TINY.train, epochs=3)), ("rnn_tanh", "gru"))
    job = jobs.submit(race_job(config, out=tmp_path), owner=OWNERS[0], title="race", kind="race")
    wait_for(lambda: any(e.step >= 2 for e in jobs.snapshot(job).of(Stepped)))  # type: ignore[union-attr]
    jobs.pause(job)  # so the run cannot end before the new rate reaches the worker
    jobs.set_lr(job, 4e-4)
    jobs.resume(job)
    snap = jobs.wait(job, timeout=180)
    record = snap.result
    assert isinstance(record, RaceRecord) and snap.state == "done", snap.message
    changes = snap.of(LrChanged)
    assert sorted(e.lane for e in changes) == [0, 1] and len({e.step for e in changes}) == 1
    for lane, run in enumerate(record.records):
        assert run.backend == "ray" and run.history["lr_value"] == [4e-4]
        after = [s.lr for s in snap.of(Stepped) if s.lane == lane and s.step >= changes[0].step]
        assert after and all(lr == pytest.approx(4e-4) for lr in after)
        assert run.checkpoint and Path(run.checkpoint).parent == tmp_path
