"""A job seen from outside: its snapshot, its outcome, and the limits one owner works within.

`JobSnapshot` is a consistent copy of one job at one moment, which any thread (a page, a test)
may read; `Outcome` is what a job's function returns (a `RunRecord`, a memory-lab run), and
`Crashed` the outcome of one that raised. `OwnerLimits` says how many jobs one person may have
running, waiting and kept, and `JobRefused` is the answer past those limits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from rnnviz.training.control import Control
from rnnviz.training.events import Event

FINAL_STATES = ("stopped", "done", "failed")
E = TypeVar("E", bound=Event)


class Outcome(Protocol):
    """What a job ends with: how (one of FINAL_STATES) and why, for people."""

    @property
    def status(self) -> str: ...

    @property
    def message(self) -> str: ...


@dataclass(frozen=True)
class Crashed:
    """The outcome of a job whose function raised: the exception, as a message."""

    message: str
    status: str = "failed"


JobFn = Callable[[Control, Callable[[Event], None]], Outcome]


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of one job's state at one moment."""

    id: str
    owner: str
    title: str
    kind: str
    state: str
    position: int | None  # 1-based place in the queue while queued
    progress: float  # 0..1
    message: str
    config: dict[str, Any]
    events: dict[str, Sequence[Event]]  # by event kind, each in the order they came
    result: Outcome | None
    created: float
    started: float | None
    finished: float | None
    histories: dict[int, dict[str, Sequence[float]]] = field(default_factory=dict)  # by lane
    watchers: int = 1  # people watching it: the one who started it and those who joined
    joined: bool = False  # the viewer joined a job someone else started
    place: int = 0  # the viewer's place among its watchers: 0 the starter, then as they joined

    @property
    def active(self) -> bool:
        return self.state not in FINAL_STATES

    def of(self, kind: type[E]) -> list[E]:
        """The events of one class, oldest first: `snap.of(Stepped)`."""
        return list(self.events.get(kind.kind, []))  # type: ignore[arg-type]

    def kept(self, kind: type[E]) -> Sequence[E]:
        """The events of one class as the snapshot holds them, oldest first, not copied."""
        return self.events.get(kind.kind, ())  # type: ignore[return-value]

    def last(self, kind: type[E]) -> E | None:
        """The newest event of one class, or None before there is one."""
        events = self.events.get(kind.kind)
        return events[-1] if events else None  # type: ignore[return-value]


class JobRefused(ValueError):
    """A job was not queued: its owner already has as many as one person may have at once."""


class BackendUnavailable(JobRefused):
    """The backend cannot take jobs now (a Ray cluster that cannot be reached); nothing runs."""


@dataclass(frozen=True)
class OwnerLimits:
    """What one owner (a browser tab, a person) may have of a shared server's jobs."""

    running: int = 1  # jobs running at once; the owner's next one waits its turn
    queued: int = 2  # jobs waiting beyond the running ones
    finished: int = 8  # finished jobs kept to look at; older ones are forgotten
    finished_s: float = 3600.0  # and none is kept longer than this


def wait_for_end(read: Callable[[], JobSnapshot | None], job_id: str, timeout: float | None, *,
                 poll_s: float, where: str) -> JobSnapshot:  # fmt: skip
    """Poll `read` until the job has ended (for the CLI and tests); KeyError naming `where` for an
    unknown job, TimeoutError after `timeout` seconds."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        snap = read()
        if snap is None:
            raise KeyError(f"no job {job_id!r} {where}")
        if not snap.active:
            return snap
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"{job_id} still {snap.state} after {timeout} s")
        time.sleep(poll_s)
