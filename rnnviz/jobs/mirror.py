"""One app server's view of the cluster's job table: the `JobManager` calls, answered from a copy.

`ClusterJobs` is what the pages use instead of a `JobManager` when jobs run on a Ray cluster. Every
call that changes something (submit, pause, stop, ...) goes to the table (`rnnviz.jobs.table`) and
waits for its answer; every read (a job's snapshot, an owner's jobs) comes from a copy of the table
in this process, which a daemon thread keeps fresh a few times a second by pulling only what
changed. A page that refreshes once a second per student thus costs the cluster nothing, and a
server started again finds every job where the table kept it: running, queued, or finished and
saved.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

from rnnviz.jobs.backends import RAY_ADDRESS_ENV, backend_from_env
from rnnviz.jobs.job import Job
from rnnviz.jobs.manager import JobManager
from rnnviz.jobs.ray_backend import RayBackend
from rnnviz.jobs.snapshots import (
    FINAL_STATES,
    BackendUnavailable,
    JobFn,
    JobSnapshot,
    OwnerLimits,
    wait_for_end,
)
from rnnviz.jobs.table import (
    TABLE_NAME,
    Known,
    Refusal,
    TableSettings,
    code_version,
    copy_change,
    end_table,
    open_table,
)

log = logging.getLogger(__name__)
TABLE_ENV = "RNNVIZ_RAY_TABLE"
LOST = (
    "the connection to the cluster's job table failed ({}); jobs go on there, and this page "
    "catches up once it answers"
)


class ClusterJobs:
    """The job table of the cluster `backend` connects to, as this server sees it."""

    def __init__(
        self,
        backend: RayBackend,
        settings: TableSettings,
        *,
        name: str = TABLE_NAME,
        sync_s: float = 0.25,
        call_timeout_s: float = 30.0,
        max_events: int = 20000,
    ) -> None:
        self.backend, self.settings, self.name = backend, settings, name
        self.limits: OwnerLimits = settings.limits
        self.sync_s, self.call_timeout_s, self.max_events = sync_s, call_timeout_s, max_events
        self._lock = threading.Lock()  # the copy
        self._syncing = threading.Lock()  # one pull at a time, so no event is taken twice
        self._opening = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._positions: dict[str, int | None] = {}
        self._stamps: dict[str, tuple[Any, ...]] = {}
        self._table: Any = None
        self._stale = False  # the table runs other rnnviz code (it was opened before an update)
        self._replaced = False  # this server has replaced a table of other code once
        self._kept: set[str] = set()  # finished jobs of a replaced table, kept in the copy
        self._code = code_version()  # the code this server loaded, before any later update
        self._about: dict[str, Any] = {}
        self._closed = threading.Event()
        self._tried = threading.Event()  # the first pull has ended, either way
        threading.Thread(target=self._keep_in_sync, name="rnnviz-table", daemon=True).start()

    @property
    def max_running(self) -> int:
        return int(self._about.get("max_running") or self.backend.capacity())

    # What changes something: asked of the table, then the copy is brought up to date.

    def submit(self, fn: JobFn, *, owner: str, title: str, kind: str = "train",
               config: dict[str, Any] | None = None, key: str | None = None,
               deliver: Any = None) -> str:  # fmt: skip
        """Queue a job on the cluster, or join the live one with the same `key` (see
        `JobManager.submit`); JobRefused and BackendUnavailable as it raises them."""
        job_id: str = self._call("submit", fn, owner=owner, title=title, kind=kind, config=config,
                                 key=key, deliver=deliver)  # fmt: skip
        return job_id

    def pause(self, job_id: str, owner: str | None = None) -> None:
        self._call("pause", job_id, owner)

    def resume(self, job_id: str, owner: str | None = None) -> None:
        self._call("resume", job_id, owner)

    def set_lr(self, job_id: str, lr: float, owner: str | None = None) -> None:
        self._call("set_lr", job_id, lr, owner)

    def cancel(self, job_id: str, owner: str | None = None) -> None:
        self._call("cancel", job_id, owner)

    def cancel_owner(self, owner: str) -> int:
        stopped: int = self._call("cancel_owner", owner)
        return stopped

    def forget(self, job_id: str) -> None:
        self._call("forget", job_id)

    def attach(self, owner: str) -> None:
        """A browser session of `owner` is live (told to the table without waiting)."""
        self._tell("attach", owner)

    def detach(self, owner: str, *, grace_s: float = 30.0) -> None:
        self._tell("detach", owner, grace_s=grace_s)

    # What only reads: from the copy.

    def snapshot(self, job_id: str, owner: str | None = None) -> JobSnapshot | None:
        self._tried.wait(self.call_timeout_s)  # a server just started has read the table once
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else job.snap(self._positions.get(job_id), owner)

    def jobs(self, owner: str | None = None, *, events: bool = True) -> list[JobSnapshot]:
        self._tried.wait(self.call_timeout_s)
        with self._lock:
            return [
                job.snap(self._positions.get(job.id), owner, events=events)
                for job in self._jobs.values()
                if owner is None or owner in job.watchers
            ]

    def wait(self, job_id: str, timeout: float | None = None) -> JobSnapshot:
        """Block until the job ends (for the CLI and tests); KeyError for an unknown job id."""

        def read() -> JobSnapshot | None:
            self.sync()
            return self.snapshot(job_id)

        return wait_for_end(read, job_id, timeout, poll_s=0.1, where="in the cluster's job table")

    def sync(self) -> None:
        """Bring the copy up to date with the table now."""
        import ray

        table = self._open()
        with self._syncing:
            with self._lock:
                known: dict[str, Known] = {
                    i: (self._stamps[i], dict(job.counts)) for i, job in self._jobs.items()
                }
            changes, ids = ray.get(table.changes.remote(known), timeout=self.call_timeout_s)
            with self._lock:
                for gone in set(self._jobs) - set(ids) - self._kept:
                    del self._jobs[gone], self._positions[gone], self._stamps[gone]
                for c in changes:
                    self._jobs[c.id] = copy_change(self._jobs.get(c.id), c, self.max_events)
                    self._positions[c.id], self._stamps[c.id] = c.position, c.stamp

    def close(self) -> None:
        """Stop keeping the copy; the table and its jobs go on."""
        self._closed.set()
        self.backend.close()

    def _open(self) -> Any:
        """The table's handle, opened (made, on a new cluster) once connected."""
        import ray

        self.backend.check()  # BackendUnavailable, with the reason, while there is no cluster
        if not ray.is_initialized():  # shut down meanwhile: a Ray call would start a cluster here
            raise BackendUnavailable("this server is not connected to the Ray cluster now")
        with self._opening:  # one server thread opens (or replaces) the table at a time
            if self._table is None or (self._stale and not any(j.active for j in self._copies())):
                self._table = self._fresh_table()
            return self._table

    def _fresh_table(self) -> Any:
        """The cluster's table; one that runs other rnnviz code is ended first if it is idle,
        else used until its jobs have ended (a server updated while the class trains)."""
        import ray

        table = open_table(self.settings, name=self.name)
        about = ray.get(table.about.remote(), timeout=self.call_timeout_s)
        if about["code"] != self._code and not self._replaced:
            changes, _ = ray.get(table.changes.remote({}), timeout=self.call_timeout_s)
            if not any(c.state not in FINAL_STATES for c in changes):
                with self._lock:  # its finished jobs stay in the copy: their pages still show them
                    self._kept = {i for i, job in self._jobs.items() if not job.active}
                end_table(self.name)
                table = open_table(self.settings, name=self.name)
                about = ray.get(table.about.remote(), timeout=self.call_timeout_s)
                self._replaced = True  # once: a table made now runs what is on disk now
        self._about = about
        self._stale = about["code"] != self._code and not self._replaced
        if self._stale:
            log.warning("the cluster's job table runs other rnnviz code; replaced when idle")
        return table

    def _copies(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        import ray
        from ray.exceptions import RayActorError, RayError

        try:
            ref = self._open().call.remote(method, *args, **kwargs)
            answer = ray.get(ref, timeout=self.call_timeout_s)
        except RayActorError as exc:  # the table is gone (ended, or its node left): a new one
            self._table = None
            raise BackendUnavailable(LOST.format(type(exc).__name__)) from exc
        except (RayError, ConnectionError) as exc:
            raise BackendUnavailable(LOST.format(f"{type(exc).__name__}: {exc}")) from exc
        if isinstance(answer, Refusal):
            raise answer.error()
        self.sync()
        return answer

    def _tell(self, method: str, *args: Any, **kwargs: Any) -> None:
        try:
            self._open().call.remote(method, *args, **kwargs)
        except Exception:  # no cluster now: presence only matters to jobs running there
            log.debug("telling the job table %s", method, exc_info=True)

    def _keep_in_sync(self) -> None:
        from ray.exceptions import RayActorError

        complained = 0.0
        while True:
            try:
                self.sync()
            except Exception as exc:  # kept going: the cluster may come back
                if isinstance(exc, RayActorError):
                    self._table = None
                if time.monotonic() - complained > 60:
                    complained = time.monotonic()
                    known = isinstance(exc, BackendUnavailable)  # its reason says it all
                    log.warning(LOST.format(exc if known else repr(exc)), exc_info=not known)
            self._tried.set()
            if self._closed.wait(self.sync_s):
                return


Jobs = JobManager | ClusterJobs  # what a page asks for jobs


def jobs_from_env(environ: Mapping[str, str] | None = None) -> Jobs:
    """A server's jobs: a `JobManager` on this server's threads, or, when the environment names a
    Ray cluster (`rnnviz.jobs.backends`), that cluster's job table (`RNNVIZ_RAY_TABLE` names it,
    for several classes on one cluster). Through Ray Client (`ray://`) the jobs stay in this
    server's `JobManager`: the table saves runs on its own node, which is not this machine."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    address = env.get(RAY_ADDRESS_ENV, "").strip()
    if not address or address.startswith("ray://"):  # Ray Client: the table could not save here
        return JobManager(backend=backend_from_env(env))
    import ray.exceptions  # here, before the threads that use it start: never half imported

    del ray
    backend = backend_from_env(env, runs_jobs=False)
    if not isinstance(backend, RayBackend):  # settings that are wrong: every job is refused
        return JobManager(backend=backend)
    settings = TableSettings(
        cpus_per_job=backend.cpus_per_job,
        gpus_per_job=backend.gpus_per_job,
        max_jobs=backend.max_jobs,
        warm_workers=backend.warm_workers,
        data_dir=backend.data_dir,
    )
    return ClusterJobs(backend, settings, name=env.get(TABLE_ENV, "").strip() or TABLE_NAME)
