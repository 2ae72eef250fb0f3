"""How a loop's run ends and what it keeps: its record, its state, its result.

`Ending` is the part of `rnnviz.training.loop.Loop` that turns where a run stands into plain data:
the `RunRecord` it ends with (done, stopped, failed, or interrupted for a snapshot), the
`TrainState` to go on from, and the `EpochState` a job writes into the run's folder at the end of
every epoch, so that a process that dies loses at most one epoch.
"""

from __future__ import annotations

import base64
import platform
from dataclasses import dataclass

import safetensors.torch
import torch
from torch import nn

from rnnviz.analysis.inference import evaluate
from rnnviz.analysis.metrics import Metrics
from rnnviz.analysis.rows import mean_lock_in_row
from rnnviz.common.devices import device_name
from rnnviz.data.datasets import Dataset
from rnnviz.models.network import count_parameters
from rnnviz.training.clock import Clock
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.events import EmitFn, EpochState, Failed, Probed, ProbeSet, Tested
from rnnviz.training.history import History
from rnnviz.training.probes import Probes
from rnnviz.training.record import RunRecord
from rnnviz.training.resume import Resume, TrainState, capture
from rnnviz.training.stepper import LrSchedule, Stepper

LOCK_IN_IMAGES = 2000  # test images the mean lock-in row is measured on


@dataclass(frozen=True, eq=False)
class TrainResult:
    """What `train` ends with: the trained model (in eval mode), the run's record and where it
    stood at its end (None for a failed run)."""

    model: nn.Module
    record: RunRecord
    state: TrainState | None = None


class Ending:
    """A loop's ending; the attributes are the `Loop`'s."""

    run_config: RunConfig
    cfg: TrainConfig
    lane: int
    model: nn.Module
    data: Dataset
    device: torch.device
    history: History
    probes: ProbeSet | None
    readings: list[Probed]
    resume: Resume | None
    optimizer: torch.optim.Optimizer
    schedule: LrSchedule | None
    span: tuple[int, int]
    peak: float
    order_rng: torch.Tensor
    correct: torch.Tensor
    clock: Clock
    step: int
    stepper: Stepper
    emit: EmitFn

    def elapsed(self) -> float:
        return self.clock.read()

    def finish(self, status: str, message: str) -> TrainResult:
        self.clock.stop()
        seconds, state = self.elapsed(), self.state()  # the state before the test set is read
        test = self.data.test
        metrics, _ = evaluate(self.model, test.images, test.labels, self.data.info.class_names)
        self.emit(Tested(accuracy=metrics.accuracy, loss=metrics.loss, lane=self.lane))
        lock_in = mean_lock_in_row(self.model, test.images[:LOCK_IN_IMAGES])
        record = self.record(status, message, seconds, metrics, lock_in)
        return TrainResult(self.model, record, state)

    def fail(self, message: str) -> TrainResult:
        self.clock.stop()
        self.emit(Failed(message=message, lane=self.lane))
        return TrainResult(self.model, self.record("failed", message, self.elapsed()))

    def state(self) -> TrainState:
        """Where the run stands now: enough to go on from here exactly (see `resume`)."""
        return capture(self.optimizer, self.schedule, self.cfg, step=self.step, span=self.span,
                       peak=self.peak, order_rng=self.order_rng,
                       epoch_correct=int(self.correct.item()))  # fmt: skip

    def epoch_state(self, epoch: int) -> EpochState:
        """What the run's folder keeps at the end of `epoch`, should the process die."""
        message = f"interrupted at epoch {epoch}/{self.cfg.epochs}"
        record = self.record("interrupted", message, self.elapsed())
        state = self.state()
        weights = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        files = [base64.b64encode(b).decode() for b in (safetensors.torch.save(weights),
                                                         state.tensor_bytes())]  # fmt: skip
        return EpochState(epoch=epoch, epochs=self.cfg.epochs, step=self.step,
                          record=record.to_dict(), weights=files[0], tensors=files[1],
                          state=state.plain(), lane=self.lane)  # fmt: skip

    def record(
        self,
        status: str,
        message: str,
        seconds: float,
        metrics: Metrics | None = None,
        lock_in: float | None = None,
    ) -> RunRecord:
        if status != "interrupted":
            self.model.eval()
        return RunRecord(
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
            resumed_from=self.resume.source if self.resume is not None else None,
        )
