"""A run end to end: train a `RunConfig`, write its checkpoint, and end with its `RunRecord`.

The CLI calls `train_and_save` directly; the app submits `training_job(...)` to a `JobManager`,
whose backend runs its `Trainer` on a thread here or on a Ray worker and then writes the weights it
sends back, into the run's folder that held its snapshot after every epoch (`resuming`). A run may
go on from a saved one (`resume`). Every path ends with the same record, so a run started
anywhere ends the same way: a finished or stopped run leaves a checkpoint, a failed one leaves its
message and partial history.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from rnnviz.common.devices import resolve_device
from rnnviz.common.files import safe_name
from rnnviz.data.datasets import DataConfig, default_dataset, load_dataset
from rnnviz.jobs.resuming import RunFolder, newest_of
from rnnviz.jobs.snapshots import Crashed, Outcome
from rnnviz.storage.checkpoints import weights_of
from rnnviz.storage.states import SavedRun, open_saved, read_saved, state_files
from rnnviz.training.config import RunConfig
from rnnviz.training.control import Control
from rnnviz.training.events import EmitFn, EpochState, Event, ignore_event
from rnnviz.training.record import RunRecord
from rnnviz.training.trainer import TrainResult, train

DEFAULT_RUNS_DIR = Path("runs")
MAX_RUNS_ENV = "RNNVIZ_MAX_RUNS_PER_OWNER"
DEFAULT_MAX_RUNS = 20  # saved runs one owner may keep on a shared server


def max_runs() -> int:
    """Saved runs one owner may keep: $RNNVIZ_MAX_RUNS_PER_OWNER, else 20."""
    given = os.environ.get(MAX_RUNS_ENV, "")
    return int(given) if given.isdigit() else DEFAULT_MAX_RUNS


def check_room(folder: Path | str, limit: int | None = None, *, reserve: int = 1) -> None:
    """ValueError when `folder` has no room for `reserve` more saved runs under `limit`: delete
    some to make room."""
    limit = max_runs() if limit is None else limit
    root = Path(folder)
    held = (
        sum(1 for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if root.is_dir()
        else 0
    )
    if held + reserve > limit:
        raise ValueError(
            f"you keep {held} saved runs, the most one person may keep here ({MAX_RUNS_ENV}); "
            "delete some under Manage models on the Evaluate page to make room"
        )


def warm_up(data_dir: str | None = None, device: str = "auto") -> None:
    """Pay a process's one-off costs of a first run before anyone waits for them.

    The first optimizer a process builds imports `torch._dynamo` (about 2 s on a 2-core CPU), and
    the default dataset is read from disk once; a server calls this in a background thread.
    """
    import torch._dynamo  # noqa: F401  (torch.optim imports it on first use)

    config = DataConfig(dataset=default_dataset(data_dir), data_dir=data_dir)
    load_dataset(config, device=resolve_device(device))


def run_folder_name(run: RunConfig) -> str:
    """'lstm-2x128-mnist-20261123-081500': short, sortable, safe as a folder name; a reading order
    other than rows follows the dataset: 'lstm-1x128-mnist-pixels-20261123-081500'."""
    m = run.model
    shape = f"{m.num_layers}x{m.hidden_size}"
    bi = "bi" if m.bidirectional else ""
    order = "" if m.order == "rows" else f"-{m.order}"
    return f"{bi}{m.cell}-{shape}-{run.data.dataset}{order}-{time.strftime('%Y%m%d-%H%M%S')}"


@dataclass(frozen=True, eq=False)
class TrainedRun:
    """What a training job sends back from wherever it ran: its record and, unless it failed, its
    weights as safetensors bytes and its state to go on from (tensor bytes and numbers): plain
    data, since a Ray worker shares no disk with the server."""

    record: RunRecord
    weights: bytes | None
    state: tuple[bytes, dict[str, Any]] | None = None

    @property
    def status(self) -> str:
        return self.record.status

    @property
    def message(self) -> str:
        return self.record.message


@dataclass(frozen=True)
class Trainer:
    """The part of a training job that runs on a worker: train `run` (going on from `resume`, a
    saved run's files, checked here before use), send back a `TrainedRun`."""

    run: RunConfig
    resume: SavedRun | None = None
    keep_state: bool = False  # an EpochState at every epoch's end, for the run's folder

    def __call__(self, control: Control, emit: EmitFn) -> TrainedRun:
        model, start = None, None
        if self.resume is not None:
            model, _, start = open_saved(self.resume)
        result = train(self.run, control=control, emit=emit, model=model, resume=start,
                       keep_state=self.keep_state)  # fmt: skip
        return sent_back([result])[0]


def sent_back(results: list[TrainResult]) -> tuple[TrainedRun, ...]:
    """Each result as plain data to send back (weights and state unless it failed); the models
    themselves are let go here, and a GPU's cached memory with them, before the worker answers."""
    sent = tuple(
        TrainedRun(r.record, weights_of(r.model), state_files(r.state))
        if r.record.status != "failed"
        else TrainedRun(r.record, None)
        for r in results
    )
    results.clear()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return sent


def save_trained(
    trained: TrainedRun, *, out: Path | str, name: str | None = None, backend: str = "thread"
) -> RunRecord:
    """Write a `TrainedRun`'s checkpoint (a new folder in `out`) unless it failed; its record,
    saying which `backend` it ran on. The record's `checkpoint` is the folder (None: failed)."""
    record = trained.record.with_backend(backend)
    if trained.weights is None:
        return record.with_checkpoint(None)
    folder = RunFolder(Path(out), safe_name(name or run_folder_name(record.config)))
    return folder.save(record, trained.weights, trained.state)


def train_and_save(
    run: RunConfig,
    *,
    out: Path | str = DEFAULT_RUNS_DIR,
    name: str | None = None,
    control: Control | None = None,
    emit: EmitFn = ignore_event,
    resume: Path | None = None,
    in_place: bool = False,
) -> RunRecord:
    """Train here, going on from the saved run `resume` when given (in its own folder when
    `in_place`: an interrupted run), keeping a snapshot in the run's folder at every epoch's end;
    save a checkpoint there unless the run failed; its record."""
    job = TrainingJob(run, Path(out), name, resume=resume, in_place=in_place)

    def emit_or_keep(event: Event) -> None:
        job.keep(event) if isinstance(event, EpochState) else emit(event)

    outcome = job(control or Control(), emit_or_keep)
    assert isinstance(outcome, RunRecord)  # this process's own trainer sends a TrainedRun
    return outcome


@dataclass(frozen=True)
class TrainingJob:
    """A job for the `JobManager`: `remote` trains wherever the job backend puts it, `keep` writes
    each epoch's snapshot and `finish` the checkpoint here, in the run's folder. Called directly,
    it does all of them in this process.

    It goes on from the saved run `resume`, or else from the newest saved run in `out` with the
    settings `after` when it starts (a lesson's second step, queued before the first has ended),
    or else from scratch."""

    run: RunConfig
    out: Path
    name: str | None = None
    resume: Path | None = None
    after: RunConfig | None = None
    in_place: bool = False  # `resume` is an interrupted run, resumed in its own folder
    folder: RunFolder = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        name = self.resume.name if self.in_place and self.resume else self.name
        folder = RunFolder(self.out, safe_name(name or run_folder_name(self.run)),
                           self.resume if self.in_place else None)  # fmt: skip
        object.__setattr__(self, "folder", folder)

    @property
    def remote(self) -> Trainer:
        source = self.resume or (newest_of(self.after, self.out) if self.after else None)
        return Trainer(self.run, read_saved(source) if source else None, keep_state=True)

    def keep(self, event: EpochState) -> None:
        self.folder.keep(event)

    def finish(self, outcome: Outcome, backend: str) -> Outcome:
        if not isinstance(outcome, TrainedRun):  # the worker died, or the job was cut short
            kept = self.folder.release()
            failed = kept and outcome.status == "failed"
            return Crashed(f"{outcome.message}; {kept}") if failed else outcome
        record = outcome.record.with_backend(backend)
        if outcome.weights is None:  # failed: its snapshot, if any, can be trained on
            kept = self.folder.release()
            message = f"{record.message}; {kept}" if kept else record.message
            return replace(record, message=message).with_checkpoint(None)
        return self.folder.save(record, outcome.weights, outcome.state)

    def __call__(self, control: Control, emit: EmitFn) -> Outcome:
        return self.finish(self.remote(control, emit), "thread")


def training_job(
    run: RunConfig,
    *,
    out: Path | str,
    name: str | None = None,
    resume: Path | None = None,
    after: RunConfig | None = None,
    in_place: bool = False,
) -> TrainingJob:
    """A job for the `JobManager` that trains `run` (going on from `resume`, or from the newest
    run of `after`'s settings) and writes its checkpoint into `out`; refused (ValueError) before
    it is queued when `out` already holds the most runs allowed (an interrupted run resumed in
    its own folder takes no more room)."""
    check_room(out, reserve=0 if in_place else 1)
    return TrainingJob(run, Path(out), name, resume=resume, after=after, in_place=in_place)
