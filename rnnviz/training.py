"""The trainer: fit a model on a dataset that already lives on the device, reporting typed events.

`train` knows nothing of any UI. It slices batches out of device tensors, checks a `Control` once a
step (stop within one step, pause, resume), and reports progress through `emit` as the events of
`rnnviz.events`: `Started`, `Stepped` (every loss of the window, learning rate, samples/s, ETA),
`EpochEnded` (train and validation accuracy) and `Tested`. The run's history is folded from those
same events. A NaN loss or running out of GPU memory ends the run as *failed* with a message that
says what to change; neither escapes as an exception.
"""

from __future__ import annotations

import math
import platform
import threading
import time
from dataclasses import dataclass

import torch
from torch import nn

from rnnviz.admission import admit
from rnnviz.config import RunConfig
from rnnviz.control import Control
from rnnviz.data import Dataset, load_dataset
from rnnviz.devices import device_name, resolve_device
from rnnviz.events import (
    EmitFn,
    EpochEnded,
    Event,
    Failed,
    History,
    Started,
    Stepped,
    Tested,
    ignore_event,
)
from rnnviz.inference import evaluate
from rnnviz.metrics import Metrics
from rnnviz.models import build_model, count_parameters
from rnnviz.record import RunRecord
from rnnviz.stepper import build_optimizer, build_schedule, make_stepper

# Model init reads torch's global RNG; jobs on other threads must not interleave with it.
_INIT_LOCK = threading.Lock()
# Steps per `Stepped` report, by device type. On a GPU each report syncs the device, so a window of
# steps is reported at once (every loss in it) and the step loop stays asynchronous.
REPORT_EVERY = {"cpu": 1, "cuda": 25}
OOM_ADVICE = (
    "out of GPU memory: lower the batch size or the hidden size, or wait for other jobs on this "
    "GPU to finish"
)


@dataclass(frozen=True, eq=False)
class TrainResult:
    """What `train` ends with: the trained model (in eval mode) and the run's record."""

    model: nn.Module
    record: RunRecord


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
) -> TrainResult:
    """Fit `run.model` on `run.data` as `run.train` says; never raises for NaN or GPU OOM.

    `model`, when given, is fitted in place of a fresh `init_model(run, device)`, so the caller
    holds it during the run (the benchmark scores it from `emit`, which runs between steps).
    """
    device = resolve_device(run.train.device)
    admit(run, device)  # before anything is allocated: a refusal names the estimate and the budget
    data = dataset if dataset is not None else load_dataset(run.data, device=device)
    if data.info.class_names and len(data.info.class_names) != run.model.num_classes:
        raise ValueError(
            f"num_classes={run.model.num_classes} but {data.info.key} has "
            f"{len(data.info.class_names)} classes"
        )
    model = model if model is not None else init_model(run, device)
    loop = _Loop(run, model, data, device, control or Control(), emit)
    try:
        return loop.run()
    except torch.OutOfMemoryError:
        return loop.fail(OOM_ADVICE)
    finally:
        if device.type == "cuda":
            torch.cuda.empty_cache()


class _Loop:
    """The state of one run; `run` is the epoch loop, the step itself lives in `stepper`."""

    def __init__(
        self,
        run: RunConfig,
        model: nn.Module,
        data: Dataset,
        device: torch.device,
        control: Control,
        emit: EmitFn,
    ) -> None:
        self.run_config, self.cfg = run, run.train
        self.model, self.data, self.device = model, data, device
        self.control, self._emit = control, emit
        self.history = History()
        n = len(data.train)
        self.batch = min(self.cfg.batch_size, n)
        self.steps_per_epoch = n // self.batch  # the last partial batch is dropped
        self.total_steps = self.steps_per_epoch * self.cfg.epochs
        self.optimizer = build_optimizer(model, self.cfg, device)
        self.schedule = build_schedule(self.optimizer, self.cfg, self.total_steps)
        self.generator = torch.Generator().manual_seed(self.cfg.seed)
        self.started = time.perf_counter()
        self.paused_seconds = 0.0
        self.stepper = make_stepper(
            model, self.optimizer, self.schedule,
            batch_size=self.batch, grad_clip=self.cfg.grad_clip,
            use_graphs=self.cfg.cuda_graphs and device.type == "cuda",
        )  # fmt: skip

    def emit(self, event: Event) -> None:
        """Tell the world, and keep the same event in the run's history."""
        self.history.record(event)
        self._emit(event)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started - self.paused_seconds

    def run(self) -> TrainResult:
        self.emit(
            Started(
                device=device_name(self.device),
                steps_per_epoch=self.steps_per_epoch,
                total_steps=self.total_steps,
                parameters=count_parameters(self.model),
                fast_path=self.stepper.name,
            )
        )
        step = 0
        for epoch in range(1, self.cfg.epochs + 1):
            outcome = self.run_epoch(epoch, step)
            if outcome is not None:
                return outcome
            step += self.steps_per_epoch
        return self.finish("done", f"finished {self.cfg.epochs} epochs")

    def run_epoch(self, epoch: int, first_step: int) -> TrainResult | None:
        self.model.train()
        images, labels = self.data.train.images, self.data.train.labels
        order = torch.randperm(len(images), generator=self.generator).to(self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        losses = torch.zeros(self.steps_per_epoch, device=self.device)
        flushed = 0
        for i in range(self.steps_per_epoch):
            if self.should_stop():
                return self.finish("stopped", f"stopped by request in epoch {epoch}")
            idx = order[i * self.batch : (i + 1) * self.batch]
            x, y = images[idx], labels[idx]  # (B, 28, 28) uint8, (B,)
            loss, logits = self.stepper.step(x, y)
            losses[i] = loss
            correct += (logits.argmax(1) == y).sum()
            if self.due_report(i, flushed):
                failed = self.flush(losses, flushed, i + 1, epoch, first_step)
                if failed is not None:
                    return failed
                flushed = i + 1
        failed = self.flush(losses, flushed, self.steps_per_epoch, epoch, first_step)
        if failed is not None:
            return failed
        self.end_epoch(epoch, correct.item() / (self.steps_per_epoch * self.batch), losses)
        return None

    def should_stop(self) -> bool:
        if not self.control.paused:
            return self.control.stopped
        t = time.perf_counter()
        stop = self.control.should_stop()
        self.paused_seconds += time.perf_counter() - t
        return stop

    def due_report(self, i: int, flushed: int) -> bool:
        return i + 1 - flushed >= REPORT_EVERY.get(self.device.type, 1)

    def flush(
        self, losses: torch.Tensor, start: int, stop: int, epoch: int, first_step: int
    ) -> TrainResult | None:
        """Report steps start..stop of this epoch as one `Stepped`, or fail on a bad loss."""
        if stop <= start:
            return None
        values = losses[start:stop].tolist()
        for j, value in enumerate(values):
            if not math.isfinite(value):
                return self.fail(
                    f"the loss became {value} at step {first_step + start + j + 1}: the learning "
                    f"rate ({self.cfg.lr:g}) is too high for this model; lower it (e.g. "
                    f"{self.cfg.lr / 10:g}) or turn on gradient clipping"
                )
        elapsed, done = self.elapsed(), first_step + stop
        rate = done * self.batch / max(elapsed, 1e-9)
        self.emit(
            Stepped(
                first_step=first_step + start + 1,
                losses=tuple(values),
                epoch=epoch,
                steps_per_epoch=self.steps_per_epoch,
                total_steps=self.total_steps,
                lr=float(self.optimizer.param_groups[0]["lr"]),
                samples_per_s=rate,
                eta_s=(self.total_steps - done) * self.batch / max(rate, 1e-9),
                elapsed_s=elapsed,
            )
        )
        return None

    def end_epoch(self, epoch: int, train_acc: float, losses: torch.Tensor) -> None:
        val = self.data.val
        val_acc = val_loss = float("nan")
        if len(val):
            metrics, _ = evaluate(self.model, val.images, val.labels, self.data.info.class_names)
            val_acc, val_loss = metrics.accuracy, metrics.loss or float("nan")
        self.emit(
            EpochEnded(
                epoch=epoch,
                epochs=self.cfg.epochs,
                train_acc=train_acc,
                train_loss=losses.mean().item(),
                val_acc=val_acc,
                val_loss=val_loss,
                elapsed_s=self.elapsed(),
            )
        )

    def finish(self, status: str, message: str) -> TrainResult:
        seconds = self.elapsed()
        test = self.data.test
        metrics, _ = evaluate(self.model, test.images, test.labels, self.data.info.class_names)
        self.emit(Tested(accuracy=metrics.accuracy, loss=metrics.loss))
        return self.result(status, message, seconds, metrics)

    def fail(self, message: str) -> TrainResult:
        self.emit(Failed(message=message))
        return self.result("failed", message, self.elapsed(), None)

    def result(
        self, status: str, message: str, seconds: float, metrics: Metrics | None
    ) -> TrainResult:
        self.model.eval()
        record = RunRecord(
            config=self.run_config,
            status=status,
            message=message,
            class_names=tuple(self.data.info.class_names),
            history=self.history.to_dict(),
            test_metrics=metrics,
            seconds=seconds,
            parameters=count_parameters(self.model),
            device=device_name(self.device),
            fast_path=self.stepper.name,
            host=platform.node(),
        )
        return TrainResult(model=self.model, record=record)
