"""The trainer: fit a model on a dataset that already lives on the device, reporting typed events.

`train` knows nothing of any UI. It slices batches out of device tensors, checks a `Control` once a
step (stop within one step, pause, resume, a new learning rate from the next step on), and reports
progress through `emit` as the events of `rnnviz.events`: `Started`, `Stepped` (every loss of the
window, learning rate, samples/s, ETA), `EpochEnded` (train and validation accuracy), `LrChanged`,
`Probed` (the probe images read by the current weights, about 20 times a run) and `Tested`. The
run's history is folded from those same events. A NaN loss or running out of GPU memory ends the
run as *failed* with a message that says what to change; neither escapes as an exception.

`race` trains 2 to 4 models in one job on the same batches in the same order: each model is a
lane, the lanes take turns step by step, and every event names its lane. Each lane's clock counts
only its own work, so its seconds per epoch compare with the others'.
"""

from __future__ import annotations

import math
import platform
import threading
import time
from collections.abc import Generator, Sequence
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
    LrChanged,
    Probed,
    ProbeSet,
    Started,
    Stepped,
    Tested,
    ignore_event,
)
from rnnviz.inference import evaluate
from rnnviz.metrics import Metrics
from rnnviz.models import build_model, count_parameters
from rnnviz.probes import Probes, probe_set, probe_steps, read_probes
from rnnviz.record import RunRecord
from rnnviz.rows import mean_lock_in_row
from rnnviz.stepper import build_optimizer, build_schedule, current_lr, make_stepper, set_lr

# Model init reads torch's global RNG; jobs on other threads must not interleave with it.
_INIT_LOCK = threading.Lock()
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
    models = None if model is None else [model]
    return race([run], control=control, emit=emit, dataset=dataset, models=models)[0]


def race(
    runs: Sequence[RunConfig],
    *,
    control: Control | None = None,
    emit: EmitFn = ignore_event,
    dataset: Dataset | None = None,
    models: Sequence[nn.Module] | None = None,
) -> list[TrainResult]:
    """Fit every run in turn step by step on the same data, device and batch order (the first
    run's); one result per run, in order. Events carry the run's index as their `lane`.
    `models`, when given, are fitted in place of fresh ones (one per run)."""
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
    loops = [_Loop(run, model, data, device, control, emit, lane=i, probes=probes)
             for i, (run, model) in enumerate(zip(runs, fresh, strict=True))]  # fmt: skip
    try:
        return _take_turns(loops, control)
    finally:
        if device.type == "cuda":
            torch.cuda.empty_cache()


def _take_turns(loops: list[_Loop], control: Control) -> list[TrainResult]:
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


class _Clock:
    """Seconds of one lane's own work: stopped while it waits (paused, or other lanes' turns)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.since: float | None = None

    def start(self) -> None:
        if self.since is None:
            self.since = time.perf_counter()

    def stop(self) -> None:
        if self.since is not None:
            self.total += time.perf_counter() - self.since
            self.since = None

    @property
    def running(self) -> bool:
        return self.since is not None

    def read(self) -> float:
        return self.total + (time.perf_counter() - self.since if self.since is not None else 0.0)


Steps = Generator[None, None, TrainResult]


class _Loop:
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
        self.clock = _Clock()
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
