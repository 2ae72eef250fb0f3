"""One model's loop over its epochs: batches, steps, reports, probes, and how its run ends.

A `Loop` is one lane of `rnnviz.training.trainer.race` (one model, or one of 2 to 4 raced on the
same batches). `steps` is a generator that yields after every optimisation step, so the trainer
can interleave lanes and check its `Control` between steps; each lane keeps its own `Clock`.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Generator
from dataclasses import dataclass

import torch
from torch import nn

from rnnviz.analysis.inference import evaluate
from rnnviz.analysis.metrics import Metrics
from rnnviz.analysis.rows import mean_lock_in_row
from rnnviz.common.devices import device_name
from rnnviz.data.datasets import Dataset
from rnnviz.models.network import count_parameters
from rnnviz.training.clock import Clock
from rnnviz.training.config import RunConfig
from rnnviz.training.control import Control
from rnnviz.training.events import (
    EmitFn,
    EpochEnded,
    Event,
    Failed,
    History,
    LrChanged,
    Probed,
    ProbeSet,
    Started,
    Stepped,
    Tested,
)
from rnnviz.training.probes import Probes, probe_steps, read_probes
from rnnviz.training.record import RunRecord
from rnnviz.training.stepper import (
    build_optimizer,
    build_schedule,
    current_lr,
    make_stepper,
    set_lr,
)

# Steps per `Stepped` report, by device type. On a GPU each report syncs the device, so a window of
# steps is reported at once (every loss in it) and the step loop stays asynchronous.
REPORT_EVERY = {"cpu": 1, "cuda": 25}
LOCK_IN_IMAGES = 2000  # test images the mean lock-in row is measured on
OOM_ADVICE = (
    "out of GPU memory: lower the batch size or the hidden size, or wait for other jobs on this "
    "GPU to finish"
)


@dataclass(frozen=True, eq=False)
class TrainResult:
    """What `train` ends with: the trained model (in eval mode) and the run's record."""

    model: nn.Module
    record: RunRecord


Steps = Generator[None, None, TrainResult]


class Loop:
    """The state of one run (one lane of a race); `steps` is its epoch loop, yielding after each
    step, and the step itself lives in `stepper`."""

    def __init__(
        self,
        run: RunConfig,
        model: nn.Module,
        data: Dataset,
        device: torch.device,
        control: Control,
        emit: EmitFn,
        *,
        lane: int = 0,
        probes: ProbeSet | None = None,
    ) -> None:
        self.run_config, self.cfg, self.lane = run, run.train, lane
        self.model, self.data, self.device = model, data, device
        self.control, self._emit = control, emit
        self.history = History()
        self.probes = probes
        self.readings: list[Probed] = []
        n = len(data.train)
        self.batch = min(self.cfg.batch_size, n)
        self.steps_per_epoch = n // self.batch  # the last partial batch is dropped
        self.total_steps = self.steps_per_epoch * self.cfg.epochs
        self.probe_at = set(probe_steps(self.total_steps)) if probes is not None else set()
        self.optimizer = build_optimizer(model, self.cfg, device)
        self.schedule = build_schedule(self.optimizer, self.cfg, self.total_steps)
        self.generator = torch.Generator().manual_seed(self.cfg.seed)
        self.clock = Clock()
        self.pending_lr: float | None = None
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
        return self.clock.read()

    def steps(self) -> Steps:
        self.emit(
            Started(
                device=device_name(self.device),
                steps_per_epoch=self.steps_per_epoch,
                total_steps=self.total_steps,
                parameters=count_parameters(self.model),
                fast_path=self.stepper.name,
                lane=self.lane,
            )
        )
        if self.lane == 0 and self.probes is not None:
            self.emit(self.probes)  # once a job: every lane reads the same images
        self.probe(0)
        step = 0
        for epoch in range(1, self.cfg.epochs + 1):
            outcome = yield from self.run_epoch(epoch, step)
            if outcome is not None:
                return outcome
            step += self.steps_per_epoch
        return self.finish("done", f"finished {self.cfg.epochs} epochs")

    def run_epoch(self, epoch: int, first_step: int) -> Generator[None, None, TrainResult | None]:
        self.model.train()
        images, labels = self.data.train.images, self.data.train.labels
        order = torch.randperm(len(images), generator=self.generator).to(self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        losses = torch.zeros(self.steps_per_epoch, device=self.device)
        flushed = 0
        for i in range(self.steps_per_epoch):
            if self.should_stop():
                return self.finish("stopped", f"stopped by request in epoch {epoch}")
            self.clock.start()
            self.take_lr(first_step + i + 1)
            idx = order[i * self.batch : (i + 1) * self.batch]
            x, y = images[idx], labels[idx]  # (B, 28, 28) uint8, (B,)
            loss, logits = self.stepper.step(x, y)
            losses[i] = loss
            correct += (logits.argmax(1) == y).sum()
            due = first_step + i + 1 in self.probe_at
            if self.due_report(i, flushed):
                failed = self.flush(losses, flushed, i + 1, epoch, first_step)
                if failed is not None:
                    return failed
                flushed = i + 1
            if due:
                self.probe(first_step + i + 1)
            self.clock.stop()
            yield
        self.clock.start()
        failed = self.flush(losses, flushed, self.steps_per_epoch, epoch, first_step)
        if failed is not None:
            return failed
        self.end_epoch(epoch, correct.item() / (self.steps_per_epoch * self.batch), losses)
        self.clock.stop()
        return None

    def should_stop(self) -> bool:
        if not self.control.paused:
            return self.control.stopped
        return self.control.should_stop()  # blocks while paused; the clock is stopped

    def take_lr(self, step: int) -> None:
        """Apply a learning rate asked for since the last step, from this step on."""
        if self.pending_lr is None:
            return
        lr, self.pending_lr = self.pending_lr, None
        previous = set_lr(self.optimizer, self.schedule, lr)
        self.emit(LrChanged(step=step, lr=lr, previous=previous, lane=self.lane))

    def probe(self, step: int) -> None:
        """Read the probe images with the weights as they are (its time is not training's)."""
        if self.probes is None:
            return
        running = self.clock.running
        self.clock.stop()
        reading = read_probes(self.model, self.probes, step=step, total_steps=self.total_steps,
                              lane=self.lane)  # fmt: skip
        if reading is not None:
            self.readings.append(reading)
            self.emit(reading)
        if running:
            self.clock.start()

    def due_report(self, i: int, flushed: int) -> bool:
        return i + 1 - flushed >= REPORT_EVERY.get(self.device.type, 1)

    def flush(
        self, losses: torch.Tensor, start: int, stop: int, epoch: int, first_step: int
    ) -> TrainResult | None:
        """Report steps start..stop of this epoch as one `Stepped`, or fail on a bad loss."""
        if stop <= start:
            return None
        values = losses[start:stop].tolist()
        lr = current_lr(self.optimizer)
        for j, value in enumerate(values):
            if not math.isfinite(value):
                return self.fail(
                    f"the loss became {value} at step {first_step + start + j + 1}: the learning "
                    f"rate ({lr:g}) is too high for this model; lower it (e.g. "
                    f"{lr / 10:g}) or turn on gradient clipping"
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
                lr=lr,
                samples_per_s=rate,
                eta_s=(self.total_steps - done) * self.batch / max(rate, 1e-9),
                elapsed_s=elapsed,
                lane=self.lane,
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
                lane=self.lane,
            )
        )

    def finish(self, status: str, message: str) -> TrainResult:
        self.clock.stop()
        seconds = self.elapsed()
        test = self.data.test
        metrics, _ = evaluate(self.model, test.images, test.labels, self.data.info.class_names)
        self.emit(Tested(accuracy=metrics.accuracy, loss=metrics.loss, lane=self.lane))
        lock_in = mean_lock_in_row(self.model, test.images[:LOCK_IN_IMAGES])
        return self.result(status, message, seconds, metrics, lock_in)

    def fail(self, message: str) -> TrainResult:
        self.clock.stop()
        self.emit(Failed(message=message, lane=self.lane))
        return self.result("failed", message, self.elapsed(), None, None)

    def result(
        self,
        status: str,
        message: str,
        seconds: float,
        metrics: Metrics | None,
        lock_in: float | None,
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
            lock_in_row=lock_in,
            probes=Probes(self.probes, tuple(self.readings)).to_dict() if self.readings else None,
        )
        return TrainResult(model=self.model, record=record)
