"""The cluster's job table: a copy kept by changes alone, and jobs that outlive the server.

The first tests need no cluster: a copy built from `change` and `copy_change` shows what the
manager shows. The last runs a real cluster of its own (`ray.cluster_utils.Cluster`, processes of
its own) and app servers as processes of their own, as `jobs_from_env` makes them: a server queues
two runs and is killed (`kill -9`); the run goes on, a second server started afterwards sees it
with its whole history, the queued run starts after it, and both are saved.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rnnviz.data.datasets import DataConfig
from rnnviz.jobs.backends import ThreadBackend
from rnnviz.jobs.job import Job
from rnnviz.jobs.manager import JobManager
from rnnviz.jobs.mirror import ClusterJobs, jobs_from_env
from rnnviz.jobs.runs import training_job
from rnnviz.jobs.snapshots import BackendUnavailable, JobRefused
from rnnviz.jobs.table import Known, Refusal, change, copy_change
from rnnviz.models.network import ModelConfig
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.events import EpochEnded, Stepped
from rnnviz.training.record import RunRecord

ROOT = Path(__file__).resolve().parents[1]
TINY = RunConfig(
    model=ModelConfig(cell="gru", hidden_size=16),
    data=DataConfig(dataset="digits"),
    train=TrainConfig(epochs=1, batch_size=64, lr=0.01, device="cpu"),
)


def sync(copies: dict[str, Job], known: dict[str, Known], manager: JobManager) -> dict[str, Any]:
    """One pull, as `ClusterJobs.sync` makes it; the queue positions of the jobs that changed."""
    changes = [c for c in manager.each(lambda j, p: change(j, p, known)) if c is not None]
    for c in changes:
        copies[c.id] = copy_change(copies.get(c.id), c, 20000)
        known[c.id] = (c.stamp, dict(c.counts))
    return {c.id: c.position for c in changes}


def test_a_copy_made_of_changes_shows_what_the_manager_shows(tmp_path: Path) -> None:
    jobs = JobManager(backend=ThreadBackend(max_jobs=1))
    first = jobs.submit(training_job(TINY, out=tmp_path), owner="0000000a", title="a")
    second = jobs.submit(training_job(TINY, out=tmp_path), owner="0000000b", title="b")
    copies: dict[str, Job] = {}
    known: dict[str, Known] = {}
    assert sync(copies, known, jobs) == {first: None, second: 1}  # both new, the second queued
    pulls = 0
    while (snap := jobs.snapshot(second)) is not None and snap.active:
        pulls += bool(sync(copies, known, jobs))
        time.sleep(0.01)
    sync(copies, known, jobs)
    assert pulls >= 2  # the copy took the runs in several pulls, new events only
    assert sync(copies, known, jobs) == {}  # nothing changed: nothing sent
    for job_id in (first, second):
        mine, theirs = copies[job_id].snap(None, "0000000a"), jobs.snapshot(job_id, "0000000a")
        assert theirs is not None and theirs.state == mine.state == "done"
        assert mine.histories == theirs.histories and mine.histories[0]["step"][0] == 1
        assert [e.step for e in mine.of(Stepped)] == [e.step for e in theirs.of(Stepped)]
        assert len(mine.of(EpochEnded)) == 1 and isinstance(mine.result, RunRecord)
        assert mine.result == theirs.result


def test_a_copy_that_comes_late_gets_each_job_whole(tmp_path: Path) -> None:
    jobs = JobManager(backend=ThreadBackend(max_jobs=1))
    job_id = jobs.submit(training_job(TINY, out=tmp_path), owner="0000000a", title="a")
    jobs.wait(job_id, timeout=120)
    copies: dict[str, Job] = {}
    sync(copies, {}, jobs)  # a server started after the run: its history from the first step
    theirs = jobs.snapshot(job_id)
    assert theirs is not None and copies[job_id].snap(None).histories == theirs.histories
    assert copies[job_id].counts == {k: len(v) for k, v in theirs.events.items()}


def test_a_refusal_comes_back_as_the_error_it_was() -> None:
    assert type(Refusal("JobRefused", "too many").error()) is JobRefused
    assert type(Refusal("BackendUnavailable", "no cluster").error()) is BackendUnavailable
    error = Refusal("ValueError", "lr 5 is outside 1e-05..1").error()
    assert type(error) is ValueError and str(error) == "lr 5 is outside 1e-05..1"


def test_the_thread_backend_keeps_its_jobs_in_the_server() -> None:
    assert isinstance(jobs_from_env({}), JobManager)


# A real cluster and servers of their own.

ray = pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-ray.txt")
from ray.cluster_utils import Cluster  # noqa: E402

from rnnviz.jobs.table import end_table  # noqa: E402

SERVER = """
import json, sys, time
from pathlib import Path
from rnnviz.jobs.mirror import jobs_from_env
from rnnviz.jobs.runs import training_job
from rnnviz.training.config import RunConfig

out, run = Path(sys.argv[2]), RunConfig.from_dict(json.loads(sys.argv[3]))
jobs = jobs_from_env()
if sys.argv[1] == "start":
    ids = [jobs.submit(training_job(run, out=out / o), owner=o, title=o)
           for o in ("0000000a", "0000000b")]
    print(json.dumps(ids), flush=True)
    time.sleep(600)  # a server that serves until it is killed
else:  # a server just started: its first read waits for its first pull of the table
    snaps = {s.id: s for s in jobs.jobs()}
    print(json.dumps({i: {"state": s.state, "position": s.position,
                          "steps": list(s.histories.get(0, {}).get("step", []))[:1]}
                      for i, s in snaps.items()}), flush=True)
"""
LONG = RunConfig(
    model=ModelConfig(cell="gru", hidden_size=16),
    data=DataConfig(dataset="digits"),
    train=TrainConfig(epochs=40, batch_size=64, lr=0.01, device="cpu"),
)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, str]]:
    node: dict[str, Any] = {"num_cpus": 2, "num_gpus": 0, "object_store_memory": 80 * 2**20}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    ray.init(address=cluster.address, log_to_driver=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RNNVIZ_RAY_ADDRESS": cluster.address,
           "RNNVIZ_MAX_JOBS": "1", "RNNVIZ_RAY_WARM_WORKERS": "1",
           "RNNVIZ_RAY_TABLE": f"rnnviz-jobs-{tmp_path.name}"}  # fmt: skip
    try:
        yield env
    finally:
        end_table(env["RNNVIZ_RAY_TABLE"])
        ray.shutdown()
        cluster.shutdown()


def steps_of(jobs: ClusterJobs, job_id: str) -> int:
    snap = jobs.snapshot(job_id)
    return len(snap.histories.get(0, {}).get("step", [])) if snap else 0


def wait_until(what: Any, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_jobs_outlive_a_killed_server_and_a_new_one_sees_them(
    cluster: dict[str, str], tmp_path: Path
) -> None:
    script, run = tmp_path / "server.py", json.dumps(LONG.to_dict())
    script.write_text(SERVER)
    server = subprocess.Popen([sys.executable, str(script), "start", str(tmp_path), run],
                              env=cluster, stdout=subprocess.PIPE, text=True)  # fmt: skip
    jobs = jobs_from_env(cluster)  # this process: a second server on the same table
    assert isinstance(jobs, ClusterJobs)
    try:
        first, second = json.loads(server.stdout.readline())  # type: ignore[union-attr]
        wait_until(lambda: steps_of(jobs, first) >= 20)
        queued = jobs.snapshot(second)
        assert queued is not None and queued.state == "queued" and queued.position == 1
        os.kill(server.pid, signal.SIGKILL)  # the server that queued both dies
        assert server.wait(timeout=30) == -signal.SIGKILL
        at_kill = steps_of(jobs, first)
        wait_until(lambda: steps_of(jobs, first) > at_kill + 10)  # the run goes on without it

        look = [sys.executable, str(script), "look", str(tmp_path), run]
        again = subprocess.run(look, env=cluster, capture_output=True, text=True, timeout=120)
        seen = json.loads(again.stdout.splitlines()[-1])
        assert seen[first]["state"] == "running" and seen[first]["steps"] == [1]  # from step 1
        assert seen[second] == {"state": "queued", "position": 1, "steps": []}

        done = [jobs.wait(job_id, timeout=300) for job_id in (first, second)]
        for snap, owner in zip(done, ("0000000a", "0000000b"), strict=True):
            assert snap.state == "done", snap.message
            record = snap.result
            assert isinstance(record, RunRecord) and record.checkpoint
            assert Path(record.checkpoint).parent == tmp_path / owner
            assert (Path(record.checkpoint) / "model.safetensors").is_file()
            assert len(record.history["epoch"]) == LONG.train.epochs
        assert (done[1].started or 0) >= (done[0].finished or 0) - 1  # it kept its place
    finally:
        jobs.close()
        if server.poll() is None:
            os.kill(server.pid, signal.SIGKILL)
            server.wait(timeout=30)


def test_limits_and_refusals_come_from_the_table(cluster: dict[str, str], tmp_path: Path) -> None:
    jobs = jobs_from_env({**cluster, "RNNVIZ_RAY_WARM_WORKERS": "0"})
    assert isinstance(jobs, ClusterJobs)
    try:
        ids = [jobs.submit(training_job(LONG, out=tmp_path / str(i)), owner="0000000c",
                           title=str(i)) for i in range(3)]  # fmt: skip
        with pytest.raises(JobRefused, match="the most one person"):
            jobs.submit(training_job(LONG, out=tmp_path), owner="0000000c", title="4")
        with pytest.raises(ValueError, match="must be between"):
            jobs.set_lr(ids[0], 50.0)
        for job_id in ids:
            jobs.cancel(job_id, "0000000c")
        ended = [jobs.wait(job_id, timeout=120) for job_id in ids]
        assert [s.state for s in ended[1:]] == ["stopped", "stopped"]
        assert ended[0].state == "stopped"
        assert all(s.owner == "0000000c" for s in jobs.jobs("0000000c"))
    finally:
        jobs.close()


def test_a_table_of_other_code_is_replaced_once_its_jobs_have_ended(
    cluster: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = jobs_from_env({**cluster, "RNNVIZ_RAY_WARM_WORKERS": "0"})
    assert isinstance(first, ClusterJobs)
    job_id = first.submit(training_job(LONG, out=tmp_path), owner="0000000d", title="d")
    pid = first._about["pid"]
    monkeypatch.setattr("rnnviz.jobs.mirror.code_version", lambda: "an-updated-rnnviz")
    updated = jobs_from_env({**cluster, "RNNVIZ_RAY_WARM_WORKERS": "0"})
    assert isinstance(updated, ClusterJobs)
    try:
        updated.sync()  # a job runs: the old table serves until it ends
        assert updated._about["pid"] == pid and updated._stale
        assert updated.snapshot(job_id) is not None
        updated.cancel(job_id)
        assert updated.wait(job_id, timeout=120).state == "stopped"
        updated.sync()  # idle now: replaced by a table of this server's code
        replaced = updated._about["pid"]
        assert replaced != pid and not updated._stale
        assert [s.id for s in updated.jobs()] == [job_id]  # the ended job still shows
        again = updated.submit(training_job(LONG, out=tmp_path), owner="0000000d", title="e")
        assert again != job_id and updated.snapshot(again) is not None  # a new table's id
        updated.cancel(again)
        updated.sync()  # and only once, whatever the new table's code
        assert updated._about["pid"] == replaced and not updated._stale
    finally:
        first.close()
        updated.close()
