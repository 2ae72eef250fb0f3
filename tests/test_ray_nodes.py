"""The Ray backend on a real cluster of two nodes on this machine: jobs land on both, and a node
that leaves fails only the job it ran, whose last epoch's snapshot is offered to train on.

`ray.cluster_utils.Cluster` starts a head and a worker node as processes of their own (one CPU
each, so each warm worker has a node to itself); `remove_node` ends the worker node's processes as
a machine that leaves the cluster would.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rnnviz.data.datasets import DataConfig
from rnnviz.jobs.manager import JobManager
from rnnviz.jobs.resuming import KEPT
from rnnviz.jobs.runs import training_job
from rnnviz.jobs.snapshots import OwnerLimits
from rnnviz.models.network import ModelConfig
from rnnviz.storage.folders import interrupted_runs
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.events import EpochEnded
from rnnviz.training.record import RunRecord

ray = pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-ray.txt")
from ray.cluster_utils import Cluster  # noqa: E402

from rnnviz.jobs.ray_backend import DIED, RayBackend  # noqa: E402

LONG = RunConfig(
    model=ModelConfig(cell="gru", hidden_size=16),
    data=DataConfig(dataset="digits"),
    train=TrainConfig(epochs=12, batch_size=64, lr=0.01, device="cpu"),
)
STORE = 80 * 2**20  # each node's object store: the runs send back a few kB


@pytest.fixture
def two_nodes() -> Iterator[tuple[Cluster, Any]]:
    # The nodes take this machine's address, as `ray.init(address="local")` does in test_ray.py
    node: dict[str, Any] = {"num_cpus": 1, "num_gpus": 0, "object_store_memory": STORE}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    worker = cluster.add_node(**node)
    ray.init(address=cluster.address, log_to_driver=False)
    cluster.wait_for_nodes()
    try:
        yield cluster, worker
    finally:
        ray.shutdown()
        cluster.shutdown()


def epochs(jobs: JobManager, job: str) -> int:
    snap = jobs.snapshot(job)
    return len(snap.of(EpochEnded)) if snap else 0


def test_jobs_land_on_both_nodes_and_a_lost_node_fails_only_its_job(
    two_nodes: tuple[Cluster, Any], tmp_path: Path
) -> None:
    cluster, worker = two_nodes
    backend = RayBackend("auto", poll_s=0.05)  # warm workers: one per CPU, so one per node
    jobs = JobManager(backend=backend, limits=OwnerLimits(running=1, queued=0))
    try:
        backend.check()
        assert backend.capacity() == 2 and "2 node(s)" in backend.describe()
        ids = {jobs.submit(training_job(LONG, out=tmp_path / owner), owner=owner, title=owner):
               tmp_path / owner for owner in ("0000000a", "0000000b")}  # fmt: skip
        deadline = time.monotonic() + 120
        while not all(epochs(jobs, j) >= 1 and j in backend.where for j in ids):
            assert time.monotonic() < deadline, "the jobs did not both start in time"
            time.sleep(0.05)
        nodes = {backend.where[j]["node"]: j for j in ids}
        head = cluster.head_node
        assert head is not None and set(nodes) == {head.node_id, worker.node_id}  # one on each
        victim = nodes[worker.node_id]
        [other] = set(ids) - {victim}
        assert epochs(jobs, other) < LONG.train.epochs  # still training when the node goes
        cluster.remove_node(worker, allow_graceful=False)

        dead = jobs.wait(victim, timeout=120)
        assert dead.state == "failed" and dead.message == f"{DIED}; {KEPT}"
        [kept] = interrupted_runs(ids[victim])  # offered for Resume
        assert kept.record.status == "interrupted" and kept.record.history["epoch"]
        done = jobs.wait(other, timeout=180)
        assert done.state == "done" and isinstance(done.result, RunRecord), done.message
        assert len(done.result.history["epoch"]) == LONG.train.epochs
        assert interrupted_runs(ids[other]) == []
    finally:
        backend.close()
