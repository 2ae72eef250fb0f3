"""`train` here or on a Ray cluster: one run or several (`--preset A --preset B`), each saved.

Here, runs train one after another in this process, each keeping a snapshot in its folder at
every epoch's end; `--resume CKPT` goes on from a saved run (an interrupted one in its own
folder). With `--ray ADDRESS` they are queued on a `JobManager` with the Ray backend and run side
by side, as many at once as the cluster holds; each worker sends back its record and weights, and
the checkpoints are written here, in `--out`. Every epoch is reported on stderr as it ends.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from rnnviz.cli.flags import given
from rnnviz.cli.progress import Progress
from rnnviz.data.datasets import DataConfig
from rnnviz.jobs.manager import JobManager
from rnnviz.jobs.resuming import train_on
from rnnviz.jobs.runs import TrainingJob, check_room, training_job
from rnnviz.jobs.snapshots import JobSnapshot, OwnerLimits
from rnnviz.models.network import ModelConfig
from rnnviz.storage.checkpoints import read_record
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.control import Control
from rnnviz.training.events import EpochEnded, EpochState, Event
from rnnviz.training.record import RunRecord, run_title

OWNER = "c11c11c1"  # the command line's own jobs; it is the only owner of its manager


class Interrupted(Exception):
    """Ctrl-C stopped a run here; `record` is the snapshot its folder keeps (status
    "interrupted"), which `train --resume` goes on from."""

    def __init__(self, record: RunRecord) -> None:
        super().__init__(record.message)
        self.record = record


def train_here(runs: list[RunConfig], names: list[str | None], args: argparse.Namespace,
               ) -> list[RunRecord]:  # fmt: skip
    return [run_job(TrainingJob(run, Path(args.out), name))
            for run, name in zip(runs, names, strict=True)]  # fmt: skip


def run_job(job: TrainingJob) -> RunRecord:
    """Train `job` in this process, progress on stderr, a snapshot in its folder every epoch;
    Interrupted (with the snapshot's record) when Ctrl-C stops it after its first epoch."""
    progress = Progress(run_title(job.run))

    def emit(event: Event) -> None:
        job.keep(event) if isinstance(event, EpochState) else progress(event)

    try:
        outcome = job(Control(), emit)
    except KeyboardInterrupt:
        if job.folder.path is None:
            raise
        raise Interrupted(read_record(job.folder.path)) from None
    finally:
        progress.bar.close()
    if not isinstance(outcome, RunRecord):  # this process's own trainer sends a TrainedRun
        raise TypeError(f"a training job ended with {outcome!r}")
    return outcome


RESUME_FLAGS = ("epochs", "lr", "weight_decay", "momentum", "grad_clip", "device")


def resume_here(args: argparse.Namespace) -> RunRecord:
    """`train --resume CKPT`: go on from a saved run, in its own folder when it is an interrupted
    one (unless --name gives a new one), else as a new run in --out."""
    path = Path(args.resume)
    saved = read_record(path)
    fixed = [*given(args, ModelConfig), *given(args, DataConfig)]
    fixed += [n for n in given(args, TrainConfig) if n not in RESUME_FLAGS]
    if fixed or args.preset or args.ray:
        named = ", ".join(f"--{n.replace('_', '-')}" for n in fixed) or "--preset/--ray"
        raise ValueError(f"{named}: a resumed run keeps the saved run's model, data and batches; "
                         f"with --resume give only --{', --'.join(RESUME_FLAGS)}")  # fmt: skip
    train = given(args, TrainConfig) | ({"cuda_graphs": False} if args.no_cuda_graphs else {})
    run = train_on(saved, **train)
    run = replace(run, data=replace(run.data, data_dir=args.data_dir))
    in_place = saved.status == "interrupted" and not args.name
    out, name = (path.parent, path.name) if in_place else (Path(args.out), args.name)
    if not in_place:
        check_room(out)
    return run_job(TrainingJob(run, out, name, resume=path, in_place=in_place))


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
    try:
        for run, name in zip(runs, names, strict=True):
            job = training_job(run, out=args.out, name=name)
            ids.append(jobs.submit(job, owner=OWNER, title=run_title(run), config=run.to_dict()))
        shares = {k: env[k] for k in (GPUS_PER_JOB_ENV, CPUS_PER_JOB_ENV) if env.get(k)}
        print(f"{len(ids)} run(s) queued: {backend.describe()} {shares or ''}".rstrip(),
              file=sys.stderr)  # fmt: skip
        snaps = _watch(jobs, ids)
    except KeyboardInterrupt:
        for job_id in ids:
            jobs.cancel(job_id)
        for job_id in ids:
            jobs.wait(job_id, timeout=60)
        raise
    finally:
        backend.close()  # its warm workers go with it
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
