"""A run end to end: train a `RunConfig`, write its checkpoint, and end with its `RunRecord`.

The CLI calls `train_and_save` directly; the app submits `training_job(...)` to a `JobManager`,
whose backend runs its `Trainer` on a thread here or on a Ray worker and then writes the weights it
sends back. Every path ends with the same record, so a run started anywhere ends the same way: a
finished or stopped run leaves a checkpoint, a failed one leaves its message and partial history.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from rnnviz.common.devices import resolve_device
from rnnviz.common.files import safe_name
from rnnviz.data.datasets import DataConfig, default_dataset, load_dataset
from rnnviz.jobs.snapshots import Outcome
from rnnviz.storage.checkpoints import save_weights, weights_of
from rnnviz.training.config import RunConfig
from rnnviz.training.control import Control
from rnnviz.training.events import EmitFn, ignore_event
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
    weights as safetensors bytes (plain data: a Ray worker shares no disk with the server)."""

    record: RunRecord
    weights: bytes | None

    @property
    def status(self) -> str:
        return self.record.status

    @property
    def message(self) -> str:
        return self.record.message


@dataclass(frozen=True)
class Trainer:
    """The part of a training job that runs on a worker: train `run`, send back a `TrainedRun`."""

    run: RunConfig

    def __call__(self, control: Control, emit: EmitFn) -> TrainedRun:
        return sent_back([train(self.run, control=control, emit=emit)])[0]


def sent_back(results: list[TrainResult]) -> tuple[TrainedRun, ...]:
    """Each result as plain data to send back (weights unless it failed); the models themselves
    are let go here, and a GPU's cached memory with them, before the worker answers."""
    sent = tuple(
        TrainedRun(r.record, None if r.record.status == "failed" else weights_of(r.model))
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
    folder = safe_name(name or run_folder_name(record.config))
    path = save_weights(trained.weights, record.with_checkpoint(None, folder), root=out,
                        name=folder)  # fmt: skip
    return record.with_checkpoint(str(path), path.name)


def train_and_save(
    run: RunConfig,
    *,
    out: Path | str = DEFAULT_RUNS_DIR,
    name: str | None = None,
    control: Control | None = None,
    emit: EmitFn = ignore_event,
) -> RunRecord:
    """Train here, save a checkpoint (a new folder in `out`) unless the run failed; its record."""
    return save_trained(Trainer(run)(control or Control(), emit), out=out, name=name)


@dataclass(frozen=True)
class TrainingJob:
    """A job for the `JobManager`: `remote` trains wherever the job backend puts it, `finish`
    writes the checkpoint here. Called directly, it does both in this process."""

    run: RunConfig
    out: Path
    name: str | None = None

    @property
    def remote(self) -> Trainer:
        return Trainer(self.run)

    def finish(self, outcome: Outcome, backend: str) -> Outcome:
        if not isinstance(outcome, TrainedRun):
            return outcome  # the worker died or the job was cut short: nothing to save
        return save_trained(outcome, out=self.out, name=self.name, backend=backend)

    def __call__(self, control: Control, emit: EmitFn) -> Outcome:
        return self.finish(self.remote(control, emit), "thread")


def training_job(run: RunConfig, *, out: Path | str, name: str | None = None) -> TrainingJob:
    """A job for the `JobManager` that trains `run` and writes its checkpoint into `out`;
    refused (ValueError) before it is queued when `out` already holds the most runs allowed."""
    check_room(out)
    return TrainingJob(run, Path(out), name)
