"""A job's event log: the newest `most` events of a kind, and snapshots that share them."""

from __future__ import annotations

import gc
import random

import pytest

from rnnviz.jobs.eventlog import BLOCK, EventLog, Events
from rnnviz.jobs.job import Job
from rnnviz.jobs.snapshots import JobSnapshot
from rnnviz.training.events import Stepped


def stepped(step: int) -> Stepped:
    return Stepped(first_step=step, losses=(1.0 / step,), epoch=1, steps_per_epoch=10**6,
                   total_steps=10**6, lr=0.01, samples_per_s=1.0, eta_s=0.0,
                   elapsed_s=0.0)  # fmt: skip


@pytest.mark.parametrize("most", [1, 3, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 7, None])
def test_it_keeps_the_newest_most_events_in_order_whatever_the_count(most: int | None) -> None:
    log, kept = EventLog(), list[Stepped]()
    views: list[tuple[Events, list[Stepped]]] = []
    for n in range(1, 5 * BLOCK + 30):
        event = stepped(n)
        log.append(event, most)
        kept = [*kept, event][-most:] if most is not None else [*kept, event]
        if n % 97 == 0:
            views.append((log.frozen(), list(kept)))
    view = log.frozen()
    assert len(log) == len(view) == len(kept) and list(view) == kept
    assert log.newest(5) == kept[-5:] and log.newest(0) == []
    rng = random.Random(0)
    for i in [0, len(kept) - 1, -1, -len(kept)] + [rng.randrange(len(kept)) for _ in range(50)]:
        assert view[i] is kept[i]
    for start, stop in [(None, None), (-3, None), (2, 9), (len(kept) - 1, None), (5, 3)]:
        assert view[start:stop] == kept[start:stop]
    assert view[::-2] == kept[::-2]
    for earlier, then in views:  # an earlier snapshot still holds what it held
        assert list(earlier) == then and len(earlier) == len(then)
    with pytest.raises(IndexError):
        view[len(kept)]


def test_a_log_rebuilt_from_a_list_holds_the_same_events() -> None:
    events = [stepped(n) for n in range(1, 3 * BLOCK)]
    assert list(EventLog(events).frozen()) == events
    assert list(EventLog(events, most=BLOCK + 2).frozen()) == events[-(BLOCK + 2) :]


def test_a_snapshot_of_a_long_job_hands_the_collector_no_long_young_container() -> None:
    """What a page holds while it draws: no list of every step for each young collection to walk."""
    job = Job("j", "ann", "t", "train", lambda control, emit: None, {})  # type: ignore[arg-type,return-value]
    for n in range(1, 10_001):
        job.add(stepped(n), most=20_000)
    gc.collect()
    gc.freeze()
    try:
        snap = job.snap(None)
        young = [o for o in gc.get_objects(generation=0) if isinstance(o, list | tuple | dict)]
        assert max(len(o) for o in young) <= BLOCK
    finally:
        gc.unfreeze()
    assert isinstance(snap, JobSnapshot) and len(snap.of(Stepped)) == 10_000
    assert snap.last(Stepped) is not None and snap.last(Stepped).step == 10_000  # type: ignore[union-attr]
    assert list(snap.histories[0]["step"]) == [float(n) for n in range(1, 10_001)]
    assert list(snap.histories[0]["loss"])[:2] == [1.0, 0.5]
    job.add(stepped(10_001), most=20_000)  # the job goes on; the snapshot is what it was
    assert len(snap.of(Stepped)) == len(snap.histories[0]["step"]) == 10_000
