"""An architecture race as one job: 2 to 4 cells trained side by side on the same batches.

`RaceConfig` is the race: one `RunConfig` (data, shape, optimiser, seed) and the cells that take
part. `Racer` is the part that runs on a worker (`training.race`) and sends back each model's
record and weights; `RaceJob.finish` saves every model as its own checkpoint here, so each shows
up on Compare and Inside, and ends with a `RaceRecord`: the table and the CLI's `results`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rnnviz.jobs.runs import TrainedRun, check_room, run_folder_name, save_trained, sent_back
from rnnviz.jobs.snapshots import Outcome
from rnnviz.models.cells import ALIASES, CELLS
from rnnviz.storage.comparison import seconds_per_epoch
from rnnviz.training.config import RunConfig
from rnnviz.training.control import Control
from rnnviz.training.events import EmitFn, Stepped
from rnnviz.training.record import RunRecord
from rnnviz.training.trainer import race

MIN_LANES, MAX_LANES = 2, 4
RACE_CELLS = tuple(key for key, cell in CELLS.items() if cell.recurrent)


@dataclass(frozen=True)
class RaceConfig:
    """`cells` (2 to 4 recurrent ones, each once) trained as `run` says, on its data."""

    run: RunConfig
    cells: tuple[str, ...] = ("rnn_tanh", "lstm", "gru")

    def __post_init__(self) -> None:
        cells = tuple(ALIASES.get(c, c) for c in self.cells)
        object.__setattr__(self, "cells", cells)
        bad = [c for c in cells if c not in RACE_CELLS]
        if bad:
            raise ValueError(f"cells {bad} cannot race; choose from {list(RACE_CELLS)}")
        if len(set(cells)) != len(cells):
            raise ValueError(f"cells={list(cells)} names a cell twice; each races once")
        if not MIN_LANES <= len(cells) <= MAX_LANES:
            raise ValueError(f"a race has {MIN_LANES} to {MAX_LANES} cells, not {len(cells)}")
        self.runs()  # every cell must take the shared settings (a CNN-LSTM reads no pixels)

    def runs(self) -> list[RunConfig]:
        """One run per cell, alike in everything but the cell."""
        return [replace(self.run, model=replace(self.run.model, cell=c)) for c in self.cells]

    def title(self) -> str:
        names = " vs ".join(CELLS[c].tag for c in self.cells)
        m = self.run.model
        order = "" if m.order == "rows" else f" · {m.order}"
        return f"Race: {names} · {m.num_layers}x{m.hidden_size}{order}"

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run.to_dict(), "cells": list(self.cells)}


@dataclass(frozen=True, eq=False)
class RaceRun:
    """What a race sends back from its worker: one `TrainedRun` per cell, in order."""

    runs: tuple[TrainedRun, ...]

    @property
    def status(self) -> str:
        return race_status([r.record for r in self.runs])

    @property
    def message(self) -> str:
        return race_message([r.record for r in self.runs])


@dataclass(frozen=True)
class RaceRecord:
    """A race once it ended and its models were saved: one `RunRecord` per cell, in order."""

    records: tuple[RunRecord, ...]

    @property
    def status(self) -> str:
        return race_status(self.records)

    @property
    def message(self) -> str:
        return race_message(self.records)

    def best(self) -> RunRecord | None:
        """The saved model with the highest test accuracy (None if none was saved)."""
        saved = [r for r in self.records if r.checkpoint and r.test_accuracy is not None]
        return max(saved, key=lambda r: r.test_accuracy or 0.0, default=None)

    def results(self) -> list[dict[str, Any]]:
        """The table, one row per cell: the CLI's `results` and the Train page's table."""
        return [
            {
                "cell": r.config.model.cell,
                "title": r.title,
                "status": r.status,
                "parameters": r.parameters,
                "seconds": r.seconds,
                "seconds_per_epoch": seconds_per_epoch(r),
                "test_accuracy": r.test_accuracy,
                "lock_in_row": r.lock_in_row,
                "checkpoint": r.checkpoint,
            }
            for r in self.records
        ]


def race_pace(steps: Sequence[Stepped], lanes: int | None = None) -> Stepped | None:
    """The newest report of the lane furthest behind, with the pace of the whole race: each lane
    times only its own turns, so the race's ETA is the sum of theirs, and its samples/s the
    images that pass through every model per second. Read from the newest report back, until
    each of `lanes` lanes has been seen (the lanes take turns, so a live race's few last)."""
    last: dict[int, Stepped] = {}
    for step in reversed(steps):
        last.setdefault(step.lane, step)
        if len(last) == lanes:
            break
    if not last:
        return None
    behind = min(last.values(), key=lambda s: s.step)
    rate = 1.0 / sum(1.0 / max(s.samples_per_s, 1e-9) for s in last.values())
    return replace(behind, samples_per_s=rate, eta_s=sum(s.eta_s for s in last.values()))


def race_status(records: Sequence[RunRecord]) -> str:
    """failed when every model failed, stopped when it was stopped, else done."""
    statuses = {r.status for r in records}
    if statuses == {"failed"}:
        return "failed"
    return "stopped" if "stopped" in statuses else "done"


def race_message(records: Sequence[RunRecord]) -> str:
    return "; ".join(f"{CELLS[r.config.model.cell].tag}: {r.message}" for r in records)


@dataclass(frozen=True)
class Racer:
    """The part of a race that runs on a worker."""

    config: RaceConfig

    def __call__(self, control: Control, emit: EmitFn) -> RaceRun:
        return RaceRun(sent_back(race(self.config.runs(), control=control, emit=emit)))


@dataclass(frozen=True)
class RaceJob:
    """A job for the `JobManager`: `remote` races wherever the backend puts it, `finish` saves
    every model here (folders `race-<cell>-...-<time>`)."""

    config: RaceConfig
    out: Path

    @property
    def remote(self) -> Racer:
        return Racer(self.config)

    def finish(self, outcome: Outcome, backend: str) -> Outcome:
        if not isinstance(outcome, RaceRun):
            return outcome
        return RaceRecord(tuple(
            save_trained(t, out=self.out, name=_race_name(t), backend=backend)
            for t in outcome.runs
        ))  # fmt: skip

    def __call__(self, control: Control, emit: EmitFn) -> Outcome:
        return self.finish(self.remote(control, emit), "thread")


def _race_name(trained: TrainedRun) -> str:
    """'race-lstm-1x64-mnist-20261202-081500': a race's models sort together."""
    return "race-" + run_folder_name(trained.record.config)


def race_job(config: RaceConfig, *, out: Path | str) -> RaceJob:
    """A race for the `JobManager`; refused (ValueError) when `out` has no room for its models."""
    check_room(out, reserve=len(config.cells))
    return RaceJob(config, Path(out))
