"""One job inside the manager: what it runs, how far it is, and who watches it.

A job is started by one owner and may be joined by others who asked for exactly the same work
(the same `key`: a run's complete settings and the kind of device). Everyone watching sees the
same live job; each joiner gets the result delivered as their own (a copy of the checkpoint in
their runs folder), and leaving a shared job leaves it to the others. The job itself stops only
when nobody watches it any more.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rnnviz.jobs.eventlog import EventLog
from rnnviz.jobs.snapshots import FINAL_STATES, JobFn, JobSnapshot, Outcome
from rnnviz.training.control import Control
from rnnviz.training.events import EpochEnded, Event, LrChanged, Stepped
from rnnviz.training.history import History

Deliver = Callable[[Outcome], Outcome]  # a joiner's copy of a finished job's result


@dataclass
class Job:
    id: str
    owner: str  # who started it
    title: str
    kind: str
    fn: JobFn
    config: dict[str, Any]
    key: str | None = None  # equal keys are the same work: a second Start joins the first
    control: Control = field(default_factory=Control)
    state: str = "queued"
    progress: float = 0.0
    message: str = "queued"
    events: dict[str, EventLog] = field(default_factory=dict)  # by kind
    result: Outcome | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    watchers: list[str] = field(default_factory=list)  # the starter first, then who joined
    deliveries: dict[str, Deliver] = field(default_factory=dict)  # by joiner
    results: dict[str, Outcome] = field(default_factory=dict)  # each joiner's delivered result
    ending: bool = False  # its work has ended and its result is being delivered: no more joins
    # Each lane's history, folded as its events arrive, so a page that draws the curves of a
    # long run copies lists instead of folding every event again on each refresh.
    histories: dict[int, History] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # events of each kind ever added

    def __post_init__(self) -> None:
        if not self.watchers:
            self.watchers.append(self.owner)

    @property
    def active(self) -> bool:
        return self.state not in FINAL_STATES

    @property
    def joinable(self) -> bool:
        """Still queued or running, and not on its way out."""
        return self.active and not self.control.stopped and not self.ending

    def shared(self) -> bool:
        return len(self.watchers) > 1

    def leave(self, owner: str) -> None:
        """`owner` stops watching a shared job; it goes on for the others."""
        self.watchers.remove(owner)
        self.deliveries.pop(owner, None)

    def steered_by(self, owner: str | None) -> bool:
        """May `owner` pause it or change its rate? Anyone but a watcher of a shared job: no
        (None is the server itself, or a teacher)."""
        return owner is None or self.watchers == [owner]

    def add(self, event: Event, most: int) -> None:
        """Keep an event (at most `most` of each kind, the newest) and fold it into its lane's
        history; called with the manager's lock held."""
        self.events.setdefault(event.kind, EventLog()).append(event, most)
        self.counts[event.kind] = self.counts.get(event.kind, 0) + 1
        if isinstance(event, Stepped | EpochEnded | LrChanged):
            self.histories.setdefault(event.lane, History(typed=True)).record(event)
        if (progress := getattr(event, "progress", None)) is not None:
            self.progress = float(progress)

    def _histories(self) -> dict[int, dict[str, Sequence[float]]]:
        return {lane: h.copy() for lane, h in self.histories.items()}  # typed: memory copies

    def deliver(self, result: Outcome) -> None:
        """Each joiner's own copy of the result; a delivery that fails says why, for them alone."""
        for who, deliver in self.deliveries.items():
            try:
                self.results[who] = deliver(result)
            except Exception as exc:  # one joiner's full disk must not take the others' results
                self.results[who] = _Undelivered(f"{result.message}; not saved for you: {exc}")

    def snap(
        self, position: int | None, viewer: str | None = None, *, events: bool = True
    ) -> JobSnapshot:
        """A snapshot as `viewer` sees it: their own copy of the result, whether they joined;
        without its events when `events` is False (a list of many jobs needs none)."""
        result = self.results.get(viewer, self.result) if viewer is not None else self.result
        return JobSnapshot(
            id=self.id,
            owner=self.owner,
            title=self.title,
            kind=self.kind,
            state=self.state,
            position=position,
            progress=self.progress,
            message=self.message if position is None else f"queued, position {position}",
            config=dict(self.config),
            events={k: v.frozen() for k, v in self.events.items()} if events else {},
            histories=self._histories() if events else {},
            result=result,
            created=self.created,
            started=self.started,
            finished=self.finished,
            watchers=len(self.watchers),
            joined=viewer is not None and viewer != self.owner,
            place=self.watchers.index(viewer) if viewer in self.watchers else 0,
        )


@dataclass(frozen=True)
class _Undelivered:
    message: str
    status: str = "failed"
