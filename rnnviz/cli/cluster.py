"""`train` here or on a Ray cluster: one run or several (`--preset A --preset B`), each saved.

Here, runs train one after another in this process. With `--ray ADDRESS` they are queued on a
`JobManager` with the Ray backend and run side by side, as many at once as the cluster holds; each
worker sends back its record and weights, and the checkpoints are written here, in `--out`. Every
epoch is reported on stderr as it ends.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from rnnviz.cli.progress import Progress
from rnnviz.jobs.manager import JobManager
from rnnviz.jobs.runs import train_and_save, training_job
from rnnviz.jobs.snapshots import JobSnapshot, OwnerLimits
from rnnviz.training.config import RunConfig
from rnnviz.training.events import EpochEnded
from rnnviz.training.record import RunRecord, run_title

OWNER = "c11c11c1"  # the command line's own jobs; it is the only owner of its manager


def train_here(runs: list[RunConfig], names: list[str | None], args: argparse.Namespace,
               ) -> list[RunRecord]:  # fmt: skip
    records = []
    for run, name in zip(runs, names, strict=True):
        progress = Progress(run_title(run))
        records.append(train_and_save(run, out=args.out, name=name, emit=progress))
        progress.bar.close()
    return records


def train_on_ray(runs: list[RunConfig], names: list[str | None], args: argparse.Namespace,
                 ) -> list[RunRecord]:  # fmt: skip
    from rnnviz.jobs.backends import (
        CPUS_PER_JOB_ENV,
        GPUS_PER_JOB_ENV,
        RAY_ADDRESS_ENV,
        backend_from_env,
    )

    env = {**os.environ, RAY_ADDRESS_ENV: args.ray}
    backend = backend_from_env(env)
    limits = OwnerLimits(running=len(runs), queued=0)
    jobs = JobManager(backend=backend, limits=limits)
    ids = []
    for run, name in zip(runs, names, strict=True):
        job = training_job(run, out=args.out, name=name)
        ids.append(jobs.submit(job, owner=OWNER, title=run_title(run), config=run.to_dict()))
    shares = {k: env[k] for k in (GPUS_PER_JOB_ENV, CPUS_PER_JOB_ENV) if env.get(k)}
    print(f"{len(ids)} run(s) queued: {backend.describe()} {shares or ''}".rstrip(),
          file=sys.stderr)  # fmt: skip
    try:
        snaps = _watch(jobs, ids)
    except KeyboardInterrupt:
        for job_id in ids:
            jobs.cancel(job_id)
        for job_id in ids:
            jobs.wait(job_id, timeout=60)
        raise
    return [_record_of(snap) for snap in snaps]


def _watch(jobs: JobManager, ids: list[str]) -> list[JobSnapshot]:
    """Wait for every job, printing each epoch on stderr as it ends."""
    told: dict[str, int] = {}
    while True:
        snaps = [jobs.snapshot(job_id) for job_id in ids]
        for snap in snaps:
            assert snap is not None  # the CLI's jobs are never forgotten while it waits
            for event in snap.of(EpochEnded)[told.get(snap.id, 0) :]:
                print(f"{snap.title}: epoch {event.epoch}/{event.epochs}  train "
                      f"{event.train_acc:.2%}  val {event.val_acc:.2%}  {event.elapsed_s:.1f} s",
                      file=sys.stderr)  # fmt: skip
            told[snap.id] = len(snap.of(EpochEnded))
        if all(snap is not None and not snap.active for snap in snaps):
            return [snap for snap in snaps if snap is not None]
        time.sleep(0.5)


def _record_of(snap: JobSnapshot) -> RunRecord:
    if isinstance(snap.result, RunRecord):
        return snap.result
    run = RunConfig.from_dict(snap.config)
    return RunRecord(config=run, status="failed", message=snap.message, backend="ray")
