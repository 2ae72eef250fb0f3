"""One model's loop over its epochs: batches, steps, reports, probes, and how its run ends.

A `Loop` is one lane of `rnnviz.training.trainer.race` (one model, or one of 2 to 4 raced on the
same batches). `steps` is a generator that yields after every optimisation step, so the trainer
can interleave lanes and check its `Control` between steps; each lane keeps its own `Clock`.
"""

from __future__ import annotations

import math
from collections.abc import Generator

import torch
from torch import nn

from rnnviz.analysis.inference import evaluate
from rnnviz.common.devices import device_name
from rnnviz.data.augment import AUGMENTS, augment, batch_generator
from rnnviz.data.datasets import Dataset
from rnnviz.models.network import count_parameters
from rnnviz.training.averaging import WeightAverage
from rnnviz.training.clock import Clock
from rnnviz.training.config import RunConfig
from rnnviz.training.control import Control
from rnnviz.training.ending import Ending, TrainResult
from rnnviz.training.events import (
    EmitFn,
    EpochEnded,
    Event,
    LrChanged,
    Probed,
    ProbeSet,
    Resumed,
    Started,
    Stepped,
)
from rnnviz.training.history import History
from rnnviz.training.probes import probe_steps, read_probes
from rnnviz.training.resume import Resume, go_on, restore_rng
from rnnviz.training.stepper import build_optimizer, current_lr, make_stepper, set_lr

# Steps per `Stepped` report, by device type. On a GPU each report syncs the device, so a window of
# steps is reported at once (every loss in it) and the step loop stays asynchronous.
REPORT_EVERY = {"cpu": 1, "cuda": 25}
OOM_ADVICE = (
    "out of GPU memory: lower the batch size or the hidden size, or wait for other jobs on this "
    "GPU to finish"
)


Steps = Generator[None, None, TrainResult]


class Loop(Ending):
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
        resume: Resume | None = None,
        keep_state: bool = False,
    ) -> None:
        self.run_config, self.cfg, self.lane = run, run.train, lane
        self.model, self.data, self.device = model, data, device
        self.control, self._emit = control, emit
        self.history = History()
        self.probes = probes
        self.readings: list[Probed] = []
        self.resume, self.keep_state = resume, keep_state  # keep: an EpochState every epoch
        n = len(data.train)
        self.batch = min(self.cfg.batch_size, n)
        self.steps_per_epoch = n // self.batch  # the last partial batch is dropped
        self.total_steps = self.steps_per_epoch * self.cfg.epochs
        self.start = resume.step if resume is not None else 0
        if self.start >= self.total_steps:
            raise ValueError(f"the saved run has done {self.start} steps, this one plans "
                             f"{self.total_steps}: give more epochs to train on")  # fmt: skip
        self.probe_at = set(probe_steps(self.total_steps)) if probes is not None else set()
        self.average = WeightAverage(model, self.cfg.average)  # trains average.live
        self.optimizer = build_optimizer(self.average.live, self.cfg, device)
        self.schedule, self.span, self.peak, self.note = go_on(
            self.optimizer, self.cfg, self.total_steps, resume
        )  # before the step is made: a CUDA graph captures the restored state
        self.generator = torch.Generator().manual_seed(self.cfg.seed)
        restore_rng(self.generator, resume, n=n, steps_per_epoch=self.steps_per_epoch)
        self.order_rng = self.generator.get_state()  # before the shuffle of the epoch under way
        self.correct = torch.zeros((), device=device, dtype=torch.long)
        self.clock = Clock()
        self.clock.total = resume.seconds if resume is not None else 0.0
        self.pending_lr: float | None = None
        self.step = self.start  # steps done
        self.stepper = make_stepper(
            self.average.live, self.optimizer, self.schedule,
            batch_size=self.batch, grad_clip=self.cfg.grad_clip,
            label_smoothing=self.cfg.label_smoothing,
            use_graphs=self.cfg.cuda_graphs and device.type == "cuda",
        )  # fmt: skip

    def emit(self, event: Event) -> None:
        """Tell the world, and keep the same event in the run's history."""
        self.history.record(event)
        self._emit(event)

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
        if self.resume is not None:
            r = self.resume
            self.emit(Resumed(step=r.step, epoch=r.step // self.steps_per_epoch, source=r.source,
                              note=self.note, history=dict(r.history), lane=self.lane))  # fmt: skip
        if self.lane == 0 and self.probes is not None:
            self.emit(self.probes)  # once a job: every lane reads the same images
        self.probe(self.start)
        for epoch in range(self.start // self.steps_per_epoch + 1, self.cfg.epochs + 1):
            outcome = yield from self.run_epoch(epoch, (epoch - 1) * self.steps_per_epoch)
            if outcome is not None:
                return outcome
        return self.finish("done", f"finished {self.cfg.epochs} epochs")

    def run_epoch(self, epoch: int, first_step: int) -> Generator[None, None, TrainResult | None]:
        self.average.train()
        images, labels = self.data.train.images, self.data.train.labels
        self.order_rng = self.generator.get_state()
        order = torch.randperm(len(images), generator=self.generator).to(self.device)
        losses = torch.zeros(self.steps_per_epoch, device=self.device)
        flushed = done = max(0, self.start - first_step)  # steps of this epoch a saved run did
        if done:  # a run stopped mid-epoch goes on: the epoch's losses and right answers so far
            losses[:done] = torch.tensor(self.history.data["loss"][-done:])
            state = self.resume.state if self.resume is not None else None
            self.correct.fill_(state.epoch_correct if state is not None else 0)
        for i in range(done, self.steps_per_epoch):
            if self.should_stop():
                return self.finish("stopped", f"stopped by request in epoch {epoch}")
            self.clock.start()
            self.take_lr(first_step + i + 1)
            idx = order[i * self.batch : (i + 1) * self.batch]
            x, y = images[idx], labels[idx]  # (B, 28, 28) uint8, (B,)
            x = self.augmented(x, first_step + i + 1)
            loss, logits = self.stepper.step(x, y)
            self.average.update()
            losses[i] = loss
            self.correct += (logits.argmax(1) == y).sum()
            self.step = first_step + i + 1
            if self.due_report(i, flushed):
                failed = self.flush(losses, flushed, i + 1, epoch, first_step)
                if failed is not None:
                    return failed
                flushed = i + 1
            if self.step in self.probe_at:
                self.probe(self.step)
            self.clock.stop()
            yield
        self.clock.start()
        failed = self.flush(losses, flushed, self.steps_per_epoch, epoch, first_step)
        if failed is not None:
            return failed
        seen = self.steps_per_epoch * self.batch
        self.end_epoch(epoch, self.correct.item() / seen, losses)
        self.correct.zero_()
        self.order_rng = self.generator.get_state()  # the next epoch's shuffle is next
        self.clock.stop()
        if self.keep_state and epoch < self.cfg.epochs:
            self.emit(self.epoch_state(epoch))
        return None

    def augmented(self, x: torch.Tensor, step: int) -> torch.Tensor:
        """The training batch for `step`, redrawn by the run's augmentation (drawn from its seed
        and step alone, so a resumed run sees the batches the whole run would have seen)."""
        chosen = AUGMENTS[self.cfg.augment]
        if chosen.identity:
            return x
        return augment(x, chosen, batch_generator(self.cfg.seed, step, self.device))

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
