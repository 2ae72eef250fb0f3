"""A lesson's recall spread kept on disk: a small JSON record beside the models it belongs with.

Lesson 4's Memory lab spread (recall over several seeds and hidden sizes) is a sweep, not a model,
so nothing of it was saved: it lived in the session that ran it. `SpreadJob` runs the sweep like
any Memory lab job and, when it has finished, writes `spread-<key>.json` into the runs folder (the
sweep's settings, its rows, when); `saved_spread` finds the newest record of the same settings
among folders (a person's runs, the shipped `checkpoints/`), so the lesson's rows fill in after a
restart and on a fresh install. A record is read with a size cap and checked field by field.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnviz.common.files import read_capped, write_replacing
from rnnviz.jobs.snapshots import Outcome
from rnnviz.memory import MemoryJob, Sweep

PREFIX = "spread-"
MAX_RECORD_BYTES = 256 * 1024  # a spread of a few dozen runs is a few kB
ROW_KEYS = ("hidden_size", "seed", "test_accuracy", "seconds")


def spread_file(config: dict[str, Any]) -> str:
    """The record's file name for a spread of these settings."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]
    return f"{PREFIX}{digest}.json"


@dataclass(frozen=True)
class SpreadJob:
    """A lesson's spread as a job: `remote` sweeps wherever the backend puts it, `finish` keeps
    a finished sweep's record in `out`."""

    job: MemoryJob
    out: Path
    config: dict[str, Any]  # the sweep's settings, as the lesson's job carries them

    @property
    def remote(self) -> MemoryJob:
        return self.job

    def finish(self, outcome: Outcome, backend: str) -> Outcome:
        if isinstance(outcome, Sweep) and outcome.status == "done" and outcome.rows:
            record = {"config": self.config, "rows": outcome.rows, "created": time.time()}
            self.out.mkdir(parents=True, exist_ok=True)
            write_replacing(self.out / spread_file(self.config), json.dumps(record).encode())
        return outcome

    def __call__(self, control: Any, emit: Any) -> Outcome:
        return self.finish(self.job(control, emit), "thread")


def saved_spread(config: dict[str, Any], folders: Iterable[Path]) -> Sweep | None:
    """The newest saved spread of these settings among `folders`, as a finished sweep."""
    found: list[tuple[float, Sweep]] = []
    for folder in folders:
        file = Path(folder) / spread_file(config)
        if file.is_file():
            record = _read(file)
            if record is not None and record["config"] == config:
                found.append((record["created"], Sweep(rows=record["rows"])))
    return max(found, key=lambda pair: pair[0])[1] if found else None


def _read(file: Path) -> dict[str, Any] | None:
    """A record, or None for one that is too big, not JSON, or not shaped as written."""
    try:
        record = json.loads(read_capped(file, MAX_RECORD_BYTES))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
        return None
    rows = record.get("rows")
    if not isinstance(rows, list) or not all(_row(r) for r in rows):
        return None
    if not isinstance(record.get("created"), int | float):
        return None
    return record


def _row(row: Any) -> bool:
    return isinstance(row, dict) and all(
        isinstance(row.get(k), int | float) and not isinstance(row.get(k), bool) for k in ROW_KEYS
    )
