"""The Ray backend: each job in a process of its own on a cluster node, in a warm worker.

A job is handed a free worker from a pool of warm ones (`rnnviz.jobs.workers`), sized from the
cluster's capacity unless `warm_workers` says otherwise; with none free, or `warm_workers=0`, it
gets an actor of its own (`JobWorker`, `max_restarts=0`), killed when the job ends. A stop is
cooperative first (the job's own `Control`); a worker whose job was cut short is killed, since an
actor holds its CPU and GPU share for its whole life. A worker that dies ends its job as failed,
and the pool starts another in its place.

The connection is made, and kept, by a daemon thread of its own, never by a page's script thread:
a Ray cluster started from a thread dies with that thread, and Streamlit's script threads are
short-lived. `local` starts a cluster inside this process that way; tests and the CLI may also
connect first themselves (`ray.is_initialized()`), and the backend then uses that connection.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from rnnviz.jobs.snapshots import BackendUnavailable, Crashed, JobFn, Outcome
from rnnviz.jobs.workers import CONTROL, JobWorker, WorkerPool, kill
from rnnviz.training.control import Control
from rnnviz.training.events import EmitFn, event_from_dict

log = logging.getLogger(__name__)
DIED = (
    "the Ray worker running this job died (its process was killed or ran out of memory, or its "
    "node left the cluster); the run stops here, every saved run is kept, and other jobs go on"
)


@dataclass(frozen=True)
class Ended:
    """A job the backend ended itself (cancelled before it was placed, or hard-stopped)."""

    status: str
    message: str


class RayBackend:
    """Runs each job in a Ray actor with `cpus_per_job` CPUs and `gpus_per_job` of a GPU."""

    name = "ray"

    def __init__(
        self,
        address: str,
        *,
        gpus_per_job: float | None = None,
        cpus_per_job: float = 1.0,
        max_jobs: int | None = None,
        connect_timeout_s: float = 20.0,
        poll_s: float = 0.2,
        stop_grace_s: float = 30.0,
        retry_s: float = 10.0,
        warm_workers: int | None = None,
        data_dir: str | None = None,
        runs_jobs: bool = True,  # False: connects and describes only (a job table runs the jobs)
    ) -> None:
        self.address = address
        self.gpus_per_job, self.cpus_per_job, self.max_jobs = gpus_per_job, cpus_per_job, max_jobs
        self.connect_timeout_s, self.poll_s = connect_timeout_s, poll_s
        self.stop_grace_s, self.retry_s = stop_grace_s, retry_s
        self.warm_workers, self.data_dir = warm_workers, data_dir  # None: the capacity; 0: no pool
        self.runs_jobs = runs_jobs
        self._pool: WorkerPool | None = None
        self._tried = threading.Event()  # the first connection attempt has ended, either way
        self._closed = threading.Event()
        self._borrowed = False  # the connection was made by this process's own ray.init
        self._error: str | None = "connecting"
        self._resources: dict[str, float] = {}
        self._nodes = 0  # alive nodes (several may share one address, and its `node:` resource)
        self._actor_cls: Any = None
        self.where: dict[str, dict[str, Any]] = {}  # a running job's worker pid and host, by id
        threading.Thread(target=self._stay_connected, name="rnnviz-ray", daemon=True).start()

    def capacity(self) -> int:
        if self.max_jobs:
            return self.max_jobs
        gpus, cpus = self._resources.get("GPU", 0.0), self._resources.get("CPU", 0.0)
        if self.gpus_per_job and gpus:
            return max(1, math.floor(gpus / self.gpus_per_job + 1e-9))
        return max(1, math.floor(cpus / self.cpus_per_job + 1e-9))

    def check(self) -> None:
        if not self._tried.wait(self.connect_timeout_s):
            raise BackendUnavailable(
                f"no answer yet from the Ray cluster at {self.address!r} after "
                f"{self.connect_timeout_s:.0f} s; jobs do not start until it answers"
            )
        if (problem := self.problem()) is not None:
            raise BackendUnavailable(problem)

    def problem(self, wait_s: float = 0.0) -> str | None:
        if not self._tried.wait(wait_s):
            return None  # still connecting: `check` waits for it
        if self._error is not None:
            return self._error
        if self.gpus_per_job and not self._resources.get("GPU"):
            return (
                f"each job asks for {self.gpus_per_job:g} of a GPU (RNNVIZ_RAY_GPUS_PER_JOB), "
                "but the Ray cluster has no GPUs; unset it to train on CPUs"
            )
        return None

    def describe(self) -> str:
        if not self._tried.is_set():
            return f"Connecting to the Ray cluster at {self.address!r}…"
        if (problem := self.problem()) is not None:
            return problem
        gpus, cpus = self._resources.get("GPU", 0.0), self._resources.get("CPU", 0.0)
        return (
            f"Jobs train on the Ray cluster at {self.address!r}: {max(self._nodes, 1)} node(s), "
            f"{cpus:g} CPUs, {gpus:g} GPUs, {self.capacity()} jobs at a time."
        )

    def run(self, fn: JobFn, control: Control, emit: EmitFn, job_id: str) -> Outcome:
        from ray.exceptions import RayActorError, RayError

        self.check()
        for _ in range(3):  # an idle worker may have died unseen (its node left): take another
            pooled = self._pool.take() if self._pool else None
            actor, done = pooled or self._new_actor(), False
            try:
                run_ref = actor.run.remote(fn)
                outcome = self._drive(actor, run_ref, control, emit, job_id)
                done = not isinstance(outcome, Ended)  # else its job may still be running
                return outcome
            except RayActorError:
                if pooled is None or job_id in self.where:
                    return Crashed(DIED)
            except (RayError, ConnectionError) as exc:
                return Crashed(f"the Ray cluster failed this job: {type(exc).__name__}: {exc}")
            finally:
                self.where.pop(job_id, None)
                self._let_go(actor, pooled is not None, done)
        return Crashed(DIED)

    def _new_actor(self) -> Any:
        options = {"num_cpus": self.cpus_per_job, "num_gpus": self.gpus_per_job or 0}
        return self._actor().options(max_restarts=0, **options).remote()

    def _let_go(self, actor: Any, pooled: bool, done: bool) -> None:
        """Back to the pool after a job that ended on its own; else killed (and replaced)."""
        if self._pool is None or not pooled:
            kill(actor)
        elif done:
            self._pool.give_back(actor)
        else:
            self._pool.replace(actor)

    def _fill_pool(self) -> None:
        """Once connected: start the warm workers (again, if some died)."""
        if self.warm_workers == 0 or not self.runs_jobs or self.problem() is not None:
            return
        if self._pool is None:
            size = self.capacity() if self.warm_workers is None else self.warm_workers
            self._pool = WorkerPool(self._new_actor, size, self.data_dir)
        self._pool.fill()

    def _drive(self, actor: Any, run_ref: Any, control: Control, emit: EmitFn,
               job_id: str) -> Outcome:  # fmt: skip
        import ray

        def ask(method: str, *args: Any) -> Any:  # control calls reach a busy actor
            return getattr(actor, method).options(concurrency_group=CONTROL).remote(*args)

        since, pending, stop_at = 0, None, None
        pushed: tuple[bool, bool, tuple[int, float] | None] = (False, False, None)

        def take(events: list[dict[str, Any]]) -> None:
            nonlocal since
            since += len(events)
            for data in events:
                emit(event_from_dict(data))

        while True:
            if not ray.is_initialized():
                return Crashed("the connection to the Ray cluster was closed while it ran")
            wanted = (control.paused, control.stopped, control.lr_request)
            if wanted != pushed:
                lr = wanted[2][1] if wanted[2] is not None and wanted[2] != pushed[2] else None
                ask("set_state", *wanted[:2], lr)
                pushed = wanted
            if control.stopped and stop_at is None:
                stop_at = time.monotonic()
                if job_id not in self.where:  # still waiting for room on the cluster
                    return Ended("stopped", "cancelled before it started")
            if stop_at is not None and time.monotonic() - stop_at > self.stop_grace_s:
                grace = f"{self.stop_grace_s:.0f} s"
                return Ended("stopped", f"stopped: the worker did not stop within {grace} and "
                             "was ended; nothing was saved")  # fmt: skip
            if ray.wait([run_ref], timeout=0)[0]:
                take(ray.get(ask("poll", since)))  # sent after the end: nothing is left behind
                outcome: Outcome = ray.get(run_ref)
                return outcome
            if pending is None:
                pending = ask("poll", since)
            if ray.wait([pending], timeout=self.poll_s)[0]:
                if job_id not in self.where:  # the first answer: the actor is placed
                    self.where[job_id] = ray.get(ask("where"))
                take(ray.get(pending))
                pending = None
                time.sleep(self.poll_s)

    def _actor(self) -> Any:
        if self._actor_cls is None:
            import ray

            groups = {CONTROL: 1}
            self._actor_cls = ray.remote(concurrency_groups=groups)(JobWorker)  # type: ignore[call-overload]
        return self._actor_cls

    def close(self) -> None:
        """Stop watching the cluster and let the warm workers go (the connection itself stays,
        as `ray.init` made it)."""
        self._closed.set()
        if self._pool is not None:
            self._pool.close()

    def _stay_connected(self) -> None:
        # Lives as long as the process: the connection, and a cluster started here, belong to it.
        while not self._closed.is_set():
            try:
                self._connect()
                self._resources, self._nodes = _cluster_resources(), _alive_nodes()
                self._error = None
                self._fill_pool()
            except Exception as exc:  # a message for the sidebar and for Start; retried below
                self._error = (
                    f"cannot reach the Ray cluster at {self.address!r} ({_short(exc)}); "
                    "jobs do not start until it can be reached (check RNNVIZ_RAY_ADDRESS and "
                    "`ray status` on the head node)"
                )
            self._tried.set()
            self._closed.wait(self.retry_s)

    def _connect(self) -> None:
        import ray

        if self.address not in ("auto", "local"):
            _probe(self.address)
        if ray.is_initialized():
            self._borrowed = self._borrowed or not self._tried.is_set()
            return
        if self._borrowed:  # whoever connected this process has shut Ray down: so are we
            self._closed.set()
            raise ConnectionError("the process's Ray connection was shut down")
        options: dict[str, Any] = {"namespace": "rnnviz", "log_to_driver": False}
        if self.address == "local":
            options["include_dashboard"] = False
        ray.init(address=self.address, logging_level=logging.WARNING, **options)


def _cluster_resources() -> dict[str, float]:
    import ray

    return {k: float(v) for k, v in ray.cluster_resources().items()}


def _alive_nodes() -> int:
    import ray

    return sum(1 for node in ray.nodes() if node.get("Alive"))


def _probe(address: str, timeout_s: float = 3.0) -> None:
    """ConnectionError at once when nothing listens at host:port (Ray would retry for a minute)."""
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ConnectionError(f"{address!r} is not host:port, ray://host:port, auto or local")
    with socket.create_connection((host, int(port)), timeout=timeout_s):
        pass


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"
