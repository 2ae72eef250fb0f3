"""A run end to end: train a `RunConfig`, write its checkpoint, describe the outcome as plain data.

The CLI calls `train_and_save` directly; the app submits `training_job(...)` to a `JobManager`.
Both give the same result dict, so a run started anywhere ends the same way: a finished or stopped
run leaves a checkpoint, a failed one leaves its message and partial history.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

import torch

from rnnviz.checkpoints import safe_name, save_checkpoint
from rnnviz.control import Control, EmitFn, ignore_event
from rnnviz.data import DATASETS, DataConfig, default_dataset, load_dataset
from rnnviz.jobs import JobFn
from rnnviz.models import CELLS, count_parameters
from rnnviz.training import RunConfig, TrainResult, resolve_device, train

DEFAULT_RUNS_DIR = Path("runs")


def warm_up(data_dir: str | None = None, device: str = "auto") -> None:
    """Pay a process's one-off costs of a first run before anyone waits for them.

    The first optimizer a process builds imports `torch._dynamo` (about 2 s on a 2-core CPU), and
    the default dataset is read from disk once; a server calls this in a background thread.
    """
    import torch._dynamo  # noqa: F401  (torch.optim imports it on first use)

    config = DataConfig(dataset=default_dataset(data_dir), data_dir=data_dir)
    load_dataset(config, device=resolve_device(device))


def run_title(run: RunConfig) -> str:
    """'LSTM 2x128 · MNIST'-style name for lists and checkpoint folders."""
    m = run.model
    cell = CELLS[m.cell][0].split(" (")[0] if m.cell != "cnn_lstm" else "CNN-LSTM"
    if m.cell.startswith("rnn_"):
        cell = f"RNN-{m.cell[4:]}"
    shape = f"{m.num_layers}x{m.hidden_size}" if m.cell != "cnn" else f"w{m.hidden_size}"
    prefix = "Bi" if m.bidirectional else ""
    return f"{prefix}{cell} {shape} · {DATASETS[run.data.dataset].title}"


def run_folder_name(run: RunConfig) -> str:
    """'lstm-2x128-mnist-20261123-081500': short, sortable, safe as a folder name."""
    m = run.model
    shape = f"{m.num_layers}x{m.hidden_size}"
    bi = "bi" if m.bidirectional else ""
    return f"{bi}{m.cell}-{shape}-{run.data.dataset}-{time.strftime('%Y%m%d-%H%M%S')}"


def build_meta(run: RunConfig, result: TrainResult, *, name: str) -> dict[str, Any]:
    metrics = result.test_metrics
    return {
        "name": name,
        "title": run_title(run),
        "model": run.model.to_dict(),
        "data": run.data.to_dict(),
        "train": run.train.to_dict(),
        "dataset": run.data.dataset,
        "class_names": list(DATASETS[run.data.dataset].class_names),
        "status": result.status,
        "message": result.message,
        "history": result.history,
        "test_metrics": None if metrics is None else metrics.to_dict(),
        "seconds_trained": result.seconds,
        "parameters": count_parameters(result.model),
        "device": result.device,
        "fast_path": result.fast_path,
        "host": platform.node(),
    }


def train_and_save(
    run: RunConfig,
    *,
    out: Path | str = DEFAULT_RUNS_DIR,
    name: str | None = None,
    control: Control | None = None,
    emit: EmitFn = ignore_event,
) -> dict[str, Any]:
    """Train, save a checkpoint (a new folder in `out`) unless the run failed, and summarise.

    The summary is JSON-ready: status, message, seconds, device, history, test_accuracy,
    test_metrics and checkpoint (the folder's path, or None for a failed run).
    """
    result = train(run, control=control, emit=emit)
    out = Path(out)
    folder = safe_name(name or run_folder_name(run))
    summary: dict[str, Any] = {
        "status": result.status,
        "message": result.message,
        "seconds": result.seconds,
        "device": result.device,
        "fast_path": result.fast_path,
        "history": result.history,
        "checkpoint": None,
        "test_accuracy": None,
    }
    if result.test_metrics is not None:
        summary["test_accuracy"] = result.test_metrics.accuracy
        summary["test_metrics"] = result.test_metrics.to_dict()
    if result.status != "failed":
        meta = build_meta(run, result, name=folder)
        path = save_checkpoint(result.model, meta, root=out, name=folder)
        summary["checkpoint"] = str(path)
    del result
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return summary


def training_job(run: RunConfig, *, out: Path | str, name: str | None = None) -> JobFn:
    """A `JobFn` for the `JobManager` that trains `run` and writes its checkpoint into `out`."""

    def job(control: Control, emit: EmitFn) -> dict[str, Any]:
        return train_and_save(run, out=out, name=name, control=control, emit=emit)

    return job
