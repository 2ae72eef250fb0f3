"""The trainer: fit a model on a dataset that already lives on the device, reporting typed events.

`train` knows nothing of any UI. It slices batches out of device tensors, checks a `Control` once a
step (stop within one step, pause, resume, a new learning rate from the next step on), and reports
progress through `emit` as the events of `rnnviz.training.events`: `Started`, `Stepped` (every loss
of the
window, learning rate, samples/s, ETA), `EpochEnded` (train and validation accuracy), `LrChanged`,
`Probed` (the probe images read by the current weights, about 20 times a run) and `Tested`. The
run's history is folded from those same events. A NaN loss or running out of GPU memory ends the
run as *failed* with a message that says what to change; neither escapes as an exception.

`race` trains 2 to 4 models in one job on the same batches in the same order: each model is a
lane, the lanes take turns step by step, and every event names its lane. Each lane's clock counts
only its own work, so its seconds per epoch compare with the others'.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import torch
from torch import nn

from rnnviz.common.devices import resolve_device
from rnnviz.data.datasets import Dataset, load_dataset
from rnnviz.models.network import build_model
from rnnviz.training.admission import admit
from rnnviz.training.config import RunConfig
from rnnviz.training.control import Control
from rnnviz.training.ending import LOCK_IN_IMAGES, TrainResult
from rnnviz.training.events import EmitFn, ignore_event
from rnnviz.training.loop import OOM_ADVICE, REPORT_EVERY, Loop
from rnnviz.training.probes import probe_set
from rnnviz.training.resume import Resume

__all__ = [
    "LOCK_IN_IMAGES",
    "OOM_ADVICE",
    "REPORT_EVERY",
    "TrainResult",
    "init_model",
    "race",
    "train",
]

# Model init reads torch's global RNG; jobs on other threads must not interleave with it.
_INIT_LOCK = threading.Lock()


def init_model(run: RunConfig, device: torch.device) -> nn.Module:
    """A fresh model for `run`, the same weights for the same seed whichever thread asks."""
    with _INIT_LOCK:
        torch.manual_seed(run.train.seed)
        model = build_model(run.model)
    return model.to(device)


def train(
    run: RunConfig,
    *,
    control: Control | None = None,
    emit: EmitFn = ignore_event,
    dataset: Dataset | None = None,
    model: nn.Module | None = None,
    resume: Resume | None = None,
    keep_state: bool = False,
) -> TrainResult:
    """Fit `run.model` on `run.data` as `run.train` says; never raises for NaN or GPU OOM.

    `model`, when given, is fitted in place of a fresh `init_model(run, device)`, so the caller
    holds it during the run (the benchmark scores it from `emit`, which runs between steps).
    With `resume`, `model` holds the saved run's weights and the run goes on from its step (see
    `rnnviz.training.resume`); `keep_state` emits an `EpochState` at the end of every epoch but
    the last.
    """
    models = None if model is None else [model]
    return race([run], control=control, emit=emit, dataset=dataset, models=models,
                resumes=[resume], keep_state=keep_state)[0]  # fmt: skip


def race(
    runs: Sequence[RunConfig],
    *,
    control: Control | None = None,
    emit: EmitFn = ignore_event,
    dataset: Dataset | None = None,
    models: Sequence[nn.Module] | None = None,
    resumes: Sequence[Resume | None] | None = None,
    keep_state: bool = False,
) -> list[TrainResult]:
    """Fit every run in turn step by step on the same data, device and batch order (the first
    run's); one result per run, in order. Events carry the run's index as their `lane`.
    `models`, when given, are fitted in place of fresh ones (one per run), going on from
    `resumes` (one per run, None for a fresh start) when given."""
    if not runs:
        raise ValueError("a race needs at least one run")
    device = resolve_device(runs[0].train.device)
    for run in runs:
        admit(run, device)  # before anything is allocated: a refusal names the estimate and budget
    data = dataset if dataset is not None else load_dataset(runs[0].data, device=device)
    names = data.info.class_names
    for run in runs:
        if names and len(names) != run.model.num_classes:
            raise ValueError(
                f"num_classes={run.model.num_classes} but {data.info.key} has {len(names)} classes"
            )
    control = control or Control()
    probes = probe_set(data)
    fresh = models if models is not None else [init_model(run, device) for run in runs]
    starts = resumes if resumes is not None else [None] * len(runs)
    lanes = enumerate(zip(runs, fresh, starts, strict=True))
    loops = [Loop(run, model.to(device), data, device, control, emit, lane=i, probes=probes,
                  resume=start, keep_state=keep_state)
             for i, (run, model, start) in lanes]  # fmt: skip
    try:
        return _take_turns(loops, control)
    finally:
        if device.type == "cuda":
            torch.cuda.empty_cache()


def _take_turns(loops: list[Loop], control: Control) -> list[TrainResult]:
    """Step every lane once per round until each has ended; a lane that fails (NaN, out of
    memory) ends alone and the others go on."""
    lanes = [loop.steps() for loop in loops]
    results: dict[int, TrainResult] = {}
    while len(results) < len(loops):
        lr = control.take_lr()  # one request reaches every lane at the same step
        for i, (loop, lane) in enumerate(zip(loops, lanes, strict=True)):
            if i in results:
                continue
            if lr is not None:
                loop.pending_lr = lr
            try:
                next(lane)
            except StopIteration as end:
                results[i] = end.value
            except torch.OutOfMemoryError:  # the lane's generator ended with it
                results[i] = loop.fail(OOM_ADVICE)
    return [results[i] for i in range(len(loops))]
