"""The class as one experiment: every run trained on this server since the class started, as rows.

`class_rows` reads the runs saved under each owner's folder (their `meta.json`, cached by file
time, so a page that refreshes every few seconds reads each run once) and adds the jobs still
queued or running. A row names its student by the register's anonymous label. `best_per_cell`,
`sweep_points` and `to_csv` turn the rows into what the Class page draws and hands out.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rnnviz.classroom.sweeps import ClassSweep
from rnnviz.jobs.snapshots import JobSnapshot
from rnnviz.models.cells import CELLS
from rnnviz.storage.checkpoints import CheckpointError, read_record
from rnnviz.training.config import RunConfig, run_key
from rnnviz.training.record import RunRecord

COLUMNS = ("student", "cell", "layers", "hidden", "lr", "epochs", "parameters", "test_accuracy",
           "seconds", "status")  # fmt: skip
# The columns the page's table starts with: five fit a phone held upright (390 px) and a tablet's
# main column beside the sidebar without scrolling sideways; the rest are in the CSV.
TABLE = ("student", "cell", "hidden", "test_accuracy", "status")
_CACHE: dict[Path, tuple[float, RunRecord | None]] = {}  # meta.json -> (its mtime, its record)
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True)
class ClassRow:
    student: str
    cell: str
    layers: int
    hidden: int
    lr: float
    epochs: int
    parameters: int | None
    test_accuracy: float | None
    seconds: float | None
    status: str  # "done", "stopped", "failed", "queued", "running", ...
    dataset: str
    created: float
    key: str  # the run's settings less the machine's: the same for the same experiment

    def shown(self) -> dict[str, Any]:
        """The table's columns, in order; a cell by its short name ("LSTM", not "lstm")."""
        shown = {c: getattr(self, c) for c in COLUMNS}
        return shown | {"cell": CELLS[self.cell].short if self.cell in CELLS else self.cell}


def _row(student: str, run: RunConfig, status: str, created: float, **measured: Any) -> ClassRow:
    return ClassRow(
        student=student, cell=run.model.cell, layers=run.model.num_layers,
        hidden=run.model.hidden_size, lr=run.train.lr, epochs=run.train.epochs,
        status=status, dataset=run.data.dataset, created=created, key=run_key(run),
        parameters=measured.get("parameters"), test_accuracy=measured.get("test_accuracy"),
        seconds=measured.get("seconds"),
    )  # fmt: skip


def _record(meta: Path, mtime: float) -> RunRecord | None:
    """A saved run's record, read again only when its meta.json (last changed at `mtime`) has
    changed (None: unreadable)."""
    with _CACHE_LOCK:
        cached = _CACHE.get(meta)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    try:
        record: RunRecord | None = read_record(meta.parent)
    except (CheckpointError, OSError):
        record = None
    with _CACHE_LOCK:
        _CACHE[meta] = (mtime, record)
    return record


def saved_rows(runs_root: Path | str, since: float, label: Callable[[str], str]) -> list[ClassRow]:
    """One row per run saved in an owner's folder under `runs_root` since `since`."""
    rows: list[ClassRow] = []
    root = Path(runs_root)
    owners = [p for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
    for folder in owners:
        for run_dir in folder.iterdir():
            meta = run_dir / "meta.json"
            if run_dir.name.startswith(".") or not meta.is_file():
                continue
            try:
                created = meta.stat().st_mtime
            except OSError:  # deleted since the folder was listed
                continue
            record = _record(meta, created) if created >= since else None
            if record is None:
                continue
            rows.append(_row(label(folder.name), record.config, record.status, created,
                             parameters=record.parameters, test_accuracy=record.test_accuracy,
                             seconds=record.seconds))  # fmt: skip
    return rows


def live_rows(jobs: Iterable[JobSnapshot], label: Callable[[str], str]) -> list[ClassRow]:
    """One row per training job still queued or running (a race: one per cell)."""
    rows = []
    for snap in jobs:
        if not snap.active or snap.kind not in ("train", "race"):
            continue
        run = RunConfig.from_dict(snap.config)
        status = snap.state + (f" · {snap.watchers} watching" if snap.watchers > 1 else "")
        cells = snap.config.get("race_cells") or [run.model.cell]
        for cell in cells:
            lane = run if cell == run.model.cell else RunConfig.from_dict(
                {**snap.config, "model": {**snap.config["model"], "cell": cell}})  # fmt: skip
            rows.append(_row(label(snap.owner), lane, status, snap.created))
    return rows


def class_rows(
    runs_root: Path | str, jobs: Iterable[JobSnapshot], since: float, label: Callable[[str], str]
) -> list[ClassRow]:
    """The class's runs, newest first: the jobs still going, then every saved run since `since`."""
    rows = live_rows(jobs, label) + saved_rows(runs_root, since, label)
    return sorted(rows, key=lambda r: r.created, reverse=True)


def scored(rows: Iterable[ClassRow]) -> list[ClassRow]:
    """The rows with a test accuracy, one per experiment and score (a joined run's copies are
    the same model: one point)."""
    seen: dict[tuple[str, float], ClassRow] = {}
    for row in rows:
        if row.test_accuracy is not None and row.status in ("done", "stopped"):
            seen.setdefault((row.key, row.test_accuracy), row)
    return list(seen.values())


def best_per_cell(rows: Iterable[ClassRow]) -> dict[str, ClassRow]:
    """The row with the highest test accuracy for each cell."""
    best: dict[str, ClassRow] = {}
    for row in scored(rows):
        if row.cell not in best or (row.test_accuracy or 0) > (best[row.cell].test_accuracy or 0):
            best[row.cell] = row
    return best


def sweep_points(sweep: ClassSweep, rows: Sequence[ClassRow]) -> list[tuple[str, str, float]]:
    """(value, student, test accuracy) for each finished run of one of the sweep's values."""
    keys = {key: value for key, value in zip(sweep.keys(), sweep.values, strict=True)}
    return [(keys[r.key], r.student, r.test_accuracy) for r in rows
            if r.key in keys and r.test_accuracy is not None and r.status == "done"]  # fmt: skip


def to_csv(rows: Iterable[ClassRow]) -> str:
    """The table as CSV, its columns in the table's order."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*COLUMNS, "dataset"])
    writer.writeheader()
    for row in rows:
        data = asdict(row)
        writer.writerow({c: data[c] for c in (*COLUMNS, "dataset")})
    return out.getvalue()
