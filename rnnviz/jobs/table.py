"""The cluster's job table: every job and the queue, kept by a Ray actor that outlives app servers.

With the Ray backend a class's jobs live on the cluster, not in a Streamlit process. A named,
detached actor (`rnnviz-jobs` in the `rnnviz` namespace) holds a `JobManager` whose backend runs
each job on a Ray worker that the actor owns, so a server that is restarted, crashes or is updated
loses nothing running or waiting: a job's worker, its driving thread, its events and its place in
the queue are all here. Every app server on the cluster opens the same table (`open_table`) and
keeps a copy of it, pulled as changes (`JobTable.changes`: a job whole on first sight, then only
what is new); `rnnviz.jobs.mirror` is that copy. Saving (checkpoints, epoch snapshots, joiners'
copies) is the table's work too, done on the node of the server that opened it first: servers
sharing a table must share its runs folder.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from rnnviz.jobs.eventlog import EventLog
from rnnviz.jobs.job import Job
from rnnviz.jobs.manager import JobManager
from rnnviz.jobs.snapshots import BackendUnavailable, JobRefused, Outcome, OwnerLimits
from rnnviz.training.control import Control
from rnnviz.training.events import EmitFn, Event
from rnnviz.training.history import History

NAMESPACE = "rnnviz"
TABLE_NAME = "rnnviz-jobs"
CALLS = ("submit", "pause", "resume", "set_lr", "cancel", "cancel_owner", "forget", "attach",
         "detach")  # fmt: skip
Stamp = tuple[Any, ...]  # what a job looked like when a copy last took it
Known = tuple[Stamp, dict[str, int]]  # a copy's stamp of a job and its counts of events by kind


@dataclass(frozen=True)
class TableSettings:
    """How the table runs jobs; the first server to open it decides them."""

    cpus_per_job: float = 1.0  # CPUs each job's worker reserves
    gpus_per_job: float | None = None  # the GPU share each job's worker reserves; None: none
    max_jobs: int | None = None  # jobs at once; None: what the cluster holds
    warm_workers: int | None = None  # workers kept warm; None: as many as run at once
    data_dir: str | None = None  # where the workers read datasets
    limits: OwnerLimits = field(default_factory=OwnerLimits)


@dataclass(frozen=True)
class Refusal:
    """A manager call the table refused (a `ValueError`), to be raised again by the caller."""

    kind: str  # "BackendUnavailable", "JobRefused" or "ValueError"
    message: str

    def error(self) -> ValueError:
        kinds = {"BackendUnavailable": BackendUnavailable, "JobRefused": JobRefused}
        return kinds.get(self.kind, ValueError)(self.message)


@dataclass(frozen=True)
class JobChange:
    """One job as the table holds it, for a copy: whole when `fresh`, else only its new events."""

    id: str
    owner: str
    title: str
    kind: str
    config: dict[str, Any]
    key: str | None
    state: str
    position: int | None
    progress: float
    message: str
    result: Outcome | None
    results: dict[str, Outcome]
    created: float
    started: float | None
    finished: float | None
    watchers: tuple[str, ...]
    stamp: Stamp
    counts: dict[str, int]
    events: dict[str, list[Event]]  # by kind: all kept when fresh, else those the copy lacks
    fresh: bool
    histories: dict[int, History] | None  # when fresh: each lane's history so far


def change(job: Job, position: int | None, known: Mapping[str, Known]) -> JobChange | None:
    """What a copy that `known` this job lacks of it; None when it has it all."""
    stamp = (job.state, job.message, job.progress, position, tuple(job.watchers),
             job.result is not None, len(job.results), job.finished)  # fmt: skip
    seen = known.get(job.id)
    if seen is not None and seen[0] == stamp and seen[1] == job.counts:
        return None
    if seen is None:
        events = {kind: list(kept.frozen()) for kind, kept in job.events.items()}
        histories: dict[int, History] | None = {
            lane: History(h.data, typed=True) for lane, h in job.histories.items()
        }
    else:
        new = {kind: n - seen[1].get(kind, 0) for kind, n in job.counts.items()}
        events = {kind: job.events[kind].newest(n) for kind, n in new.items() if n > 0}
        histories = None
    return JobChange(
        job.id, job.owner, job.title, job.kind, dict(job.config), job.key, job.state, position,
        job.progress, job.message, job.result, dict(job.results), job.created, job.started,
        job.finished, tuple(job.watchers), stamp, dict(job.counts), events, seen is None, histories,
    )  # fmt: skip


def copy_change(job: Job | None, c: JobChange, most: int) -> Job:
    """A copy's `job` brought up to date with `c` (made anew when `c` is fresh); its events
    folded into its histories as the table's own were, at most `most` of each kind kept."""
    if job is None or c.fresh:
        job = Job(c.id, c.owner, c.title, c.kind, _elsewhere, c.config, c.key,
                  watchers=list(c.watchers))  # fmt: skip
        job.events = {kind: EventLog(kept, most) for kind, kept in c.events.items()}
        job.histories = c.histories or {}
    else:
        for events in c.events.values():
            for event in events:
                job.add(event, most)
    job.state, job.progress, job.message = c.state, c.progress, c.message
    job.result, job.results, job.watchers = c.result, c.results, list(c.watchers)
    job.created, job.started, job.finished = c.created, c.started, c.finished
    job.counts = dict(c.counts)
    return job


def _elsewhere(control: Control, emit: EmitFn) -> Outcome:
    raise RuntimeError("a job of the cluster's job table runs there, not in this process")


class JobTable:
    """The detached actor's body: a `JobManager` on the cluster, its calls and its changes."""

    def __init__(self, settings: TableSettings) -> None:
        from rnnviz.jobs.ray_backend import RayBackend

        backend = RayBackend(
            "auto",  # the cluster this actor runs on
            cpus_per_job=settings.cpus_per_job,
            gpus_per_job=settings.gpus_per_job,
            max_jobs=settings.max_jobs,
            warm_workers=settings.warm_workers,
            data_dir=settings.data_dir,
        )
        self.settings = settings
        prefix = f"job-{uuid.uuid4().hex[:6]}"  # never an id a table before this one gave
        self.manager = JobManager(backend=backend, limits=settings.limits, prefix=prefix)
        self.opened, self.code = time.time(), code_version()

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """A `JobManager` call; a refusal comes back as a `Refusal` instead of an exception."""
        if method not in CALLS:
            raise ValueError(f"the job table has no call {method!r}; it has {', '.join(CALLS)}")
        try:
            return getattr(self.manager, method)(*args, **kwargs)
        except ValueError as exc:  # JobRefused and BackendUnavailable are ValueErrors too
            return Refusal(type(exc).__name__, str(exc))

    def changes(self, known: dict[str, Known]) -> tuple[list[JobChange], list[str]]:
        """The jobs a copy that `known` these lacks, and the ids of every job the table holds."""
        seen = self.manager.each(lambda job, position: (job.id, change(job, position, known)))
        return [c for _, c in seen if c is not None], [job_id for job_id, _ in seen]

    def about(self) -> dict[str, Any]:
        """What the table is: its process, when it opened, how many jobs run at once."""
        return {"pid": os.getpid(), "opened": self.opened, "code": self.code,
                "max_running": self.manager.max_running}  # fmt: skip

    def close(self) -> None:
        """Let the warm workers go (before the table itself is ended)."""
        self.manager.backend.close()


@cache
def code_version() -> str:
    """A digest of this process's rnnviz source: a table whose code differs from a server's was
    opened by an older (or newer) rnnviz, and is replaced once its jobs have ended."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parents[1].rglob("*.py")):
        digest.update(path.as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def open_table(settings: TableSettings, *, name: str = TABLE_NAME) -> Any:
    """The cluster's job table, made now on this node if there is none yet (with `settings`, and
    this server's `RNNVIZ_*` environment for its workers); needs a Ray connection."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    node = ray.get_runtime_context().get_node_id()
    env = {k: v for k, v in os.environ.items() if k.startswith("RNNVIZ_")}
    actor = ray.remote(JobTable).options(
        name=name,
        namespace=NAMESPACE,
        lifetime="detached",
        get_if_exists=True,
        num_cpus=0,
        max_concurrency=64,  # every server's calls, while jobs run on threads of their own
        scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False),
        runtime_env={"env_vars": env},
    )
    return actor.remote(settings)


def end_table(name: str = TABLE_NAME) -> bool:
    """End the cluster's job table and its warm workers (every job it runs stops with it);
    False when there was none."""
    import ray

    try:
        actor = ray.get_actor(name, namespace=NAMESPACE)
    except ValueError:
        return False
    try:
        ray.get(actor.close.remote(), timeout=30)
    finally:
        ray.kill(actor, no_restart=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # its name is free once it is gone
        try:
            ray.get_actor(name, namespace=NAMESPACE)
        except ValueError:
            break
        time.sleep(0.1)
    return True
