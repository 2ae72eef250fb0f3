"""The trainer: fit a model on a dataset that already lives on the device, reporting plain numbers.

`train` knows nothing of any UI. It slices batches out of device tensors, checks a `Control` once a
step (stop within one step, pause, resume), and reports progress as `Event` dicts through `emit`:
"start", "step" (loss, learning rate, samples/s, ETA), "epoch" (train and validation accuracy) and
"test". A NaN loss or running out of GPU memory ends the run as *failed* with a message that says
what to change; neither escapes as an exception.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from rnnviz.control import Control, EmitFn, ignore_event
from rnnviz.data import DataConfig, Dataset, load_dataset
from rnnviz.metrics import Metrics, evaluate, predict
from rnnviz.models import ModelConfig, build_model, count_parameters
from rnnviz.stepper import make_stepper

OPTIMIZERS: dict[str, str] = {
    "adam": "Adam",
    "adamw": "AdamW (decoupled weight decay)",
    "sgd": "SGD with momentum",
    "rmsprop": "RMSprop",
}
SCHEDULES: dict[str, str] = {
    "constant": "constant learning rate",
    "one_cycle": "one-cycle: warm up, then anneal (fast convergence)",
    "cosine": "cosine decay to zero",
}
DEVICES = ("auto", "cpu", "cuda")

# Model init reads torch's global RNG; jobs on other threads must not interleave with it.
_INIT_LOCK = threading.Lock()


@dataclass(frozen=True)
class TrainConfig:
    """How to fit: optimiser, schedule, batches, regularisation, seed and device."""

    optimizer: str = "adam"  # a key of OPTIMIZERS
    lr: float = 1e-3  # peak learning rate
    batch_size: int = 128  # images per step
    epochs: int = 5  # passes over the training split
    weight_decay: float = 0.0  # L2 penalty (decoupled for AdamW)
    momentum: float = 0.9  # SGD momentum / RMSprop momentum
    grad_clip: float = 0.0  # max global gradient norm; 0 turns clipping off
    schedule: str = "constant"  # a key of SCHEDULES
    seed: int = 0  # same seed, same run (bit for bit on CPU)
    device: str = "auto"  # "auto" picks CUDA when there is a GPU
    cuda_graphs: bool = True  # capture the train step on CUDA (falls back to eager if it cannot)

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer={self.optimizer!r} is not one of {sorted(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule={self.schedule!r} is not one of {sorted(SCHEDULES)}")
        if self.device not in DEVICES:
            raise ValueError(f"device={self.device!r} is not one of {list(DEVICES)}")
        if not (0.0 < self.lr <= 10.0) or not math.isfinite(self.lr):
            raise ValueError(f"lr={self.lr} must be a number in (0, 10]")
        if not 1 <= self.batch_size <= 65536:
            raise ValueError(f"batch_size={self.batch_size} must be between 1 and 65536")
        if not 1 <= self.epochs <= 1000:
            raise ValueError(f"epochs={self.epochs} must be between 1 and 1000")
        if not 0.0 <= self.weight_decay <= 1.0:
            raise ValueError(f"weight_decay={self.weight_decay} must be in [0, 1]")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum={self.momentum} must be in [0, 1)")
        if self.grad_clip < 0.0 or not math.isfinite(self.grad_clip):
            raise ValueError(f"grad_clip={self.grad_clip} must be >= 0 (0 turns it off)")
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed={self.seed} must be in [0, 2**32)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown TrainConfig fields {sorted(unknown)}")
        return cls(**data)


@dataclass(frozen=True)
class RunConfig:
    """One experiment: the model, the data it learns from and how it is trained."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.to_dict(),
            "data": self.data.to_dict(),
            "train": asdict(self.train),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        return cls(
            model=ModelConfig.from_dict(data["model"]),
            data=DataConfig.from_dict(data["data"]),
            train=TrainConfig.from_dict(data["train"]),
        )


@dataclass
class TrainResult:
    """What a run ended with. `status` is "done", "stopped" or "failed"."""

    status: str
    message: str
    model: nn.Module
    history: dict[str, list[float]]
    seconds: float
    test_metrics: Metrics | None = None
    device: str = "cpu"
    fast_path: str = "eager"


def resolve_device(device: str) -> torch.device:
    """'auto' -> CUDA when available; 'cuda' without a GPU is an error that says so."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but no CUDA GPU is available here; use 'auto' or 'cpu'")
    if device not in DEVICES:
        raise ValueError(f"device={device!r} is not one of {list(DEVICES)}")
    return torch.device(device)


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"


def empty_history() -> dict[str, list[float]]:
    return {
        key: []
        for key in (
            "step", "loss", "step_epoch", "step_seconds",
            "epoch", "train_acc", "train_loss", "val_acc", "val_loss", "epoch_seconds",
        )
    }  # fmt: skip


def build_optimizer(
    model: nn.Module, config: TrainConfig, device: torch.device
) -> torch.optim.Optimizer:
    params = list(model.parameters())
    if config.optimizer in ("adam", "adamw"):
        adam = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
        if device.type != "cuda":
            return adam(params, lr=config.lr, weight_decay=config.weight_decay)
        # Fused kernels; a device-side lr and step count so a CUDA graph can replay the update.
        graphs = config.cuda_graphs
        lr: float | torch.Tensor = torch.tensor(config.lr, device=device) if graphs else config.lr
        return adam(params, lr=lr, weight_decay=config.weight_decay, fused=True, capturable=graphs)
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    return torch.optim.RMSprop(
        params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )


def build_schedule(
    optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    if config.schedule == "one_cycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config.lr, total_steps=total_steps, cycle_momentum=False
        )
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return None


def init_model(config: ModelConfig, seed: int, device: torch.device) -> nn.Module:
    with _INIT_LOCK:
        torch.manual_seed(seed)
        model = build_model(config)
    return model.to(device)


def train(
    run: RunConfig,
    *,
    control: Control | None = None,
    emit: EmitFn = ignore_event,
    dataset: Dataset | None = None,
) -> TrainResult:
    """Fit `run.model` on `run.data` as `run.train` says; never raises for NaN or GPU OOM."""
    device = resolve_device(run.train.device)
    data = dataset if dataset is not None else load_dataset(run.data, device=device)
    if data.info.class_names and len(data.info.class_names) != run.model.num_classes:
        raise ValueError(
            f"num_classes={run.model.num_classes} but {data.info.key} has "
            f"{len(data.info.class_names)} classes"
        )
    model = init_model(run.model, run.train.seed, device)
    loop = _Loop(run, model, data, device, control or Control(), emit)
    try:
        return loop.run()
    except torch.OutOfMemoryError:
        return loop.fail(
            "out of GPU memory: lower the batch size or the hidden size, or wait for other "
            "jobs on this GPU to finish"
        )
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
        self.cfg, self.model, self.data, self.device = run.train, model, data, device
        self.control, self.emit = control, emit
        self.history = empty_history()
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

    def elapsed(self) -> float:
        return time.perf_counter() - self.started - self.paused_seconds

    def run(self) -> TrainResult:
        self.emit(
            {
                "kind": "start",
                "device": device_name(self.device),
                "steps_per_epoch": self.steps_per_epoch,
                "total_steps": self.total_steps,
                "parameters": count_parameters(self.model),
                "fast_path": self.stepper.name,
            }
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
        # On a GPU each report syncs the device; batch them so the step loop stays asynchronous.
        every = 1 if self.device.type == "cpu" else 25
        return i + 1 - flushed >= every

    def flush(
        self, losses: torch.Tensor, start: int, stop: int, epoch: int, first_step: int
    ) -> TrainResult | None:
        if stop <= start:
            return None
        values = losses[start:stop].tolist()
        elapsed = self.elapsed()
        done = first_step + stop
        rate = done * self.batch / max(elapsed, 1e-9)
        for j, value in enumerate(values):
            step = first_step + start + j + 1
            if not math.isfinite(value):
                return self.fail(
                    f"the loss became {value} at step {step}: the learning rate "
                    f"({self.cfg.lr:g}) is too high for this model; lower it (e.g. "
                    f"{self.cfg.lr / 10:g}) or turn on gradient clipping"
                )
            self.record_step(step, value, epoch, elapsed)
        lr = self.optimizer.param_groups[0]["lr"]
        self.emit(
            {
                "kind": "step",
                "step": done,
                "total_steps": self.total_steps,
                "epoch": epoch,
                "loss": values[-1],
                "lr": float(lr),
                "samples_per_s": rate,
                "eta_s": (self.total_steps - done) * self.batch / max(rate, 1e-9),
                "elapsed_s": elapsed,
                "progress": done / self.total_steps,
            }
        )
        return None

    def record_step(self, step: int, loss: float, epoch: int, elapsed: float) -> None:
        h = self.history
        h["step"].append(step)
        h["loss"].append(loss)
        h["step_epoch"].append(
            epoch - 1 + (step - (epoch - 1) * self.steps_per_epoch) / self.steps_per_epoch
        )
        h["step_seconds"].append(elapsed)

    def end_epoch(self, epoch: int, train_acc: float, losses: torch.Tensor) -> None:
        val = self.data.val
        val_acc = val_loss = float("nan")
        if len(val):
            metrics, _ = evaluate(self.model, val.images, val.labels, self.data.info.class_names)
            val_acc, val_loss = metrics.accuracy, metrics.loss or float("nan")
        h = self.history
        h["epoch"].append(epoch)
        h["train_acc"].append(train_acc)
        h["train_loss"].append(losses.mean().item())
        h["val_acc"].append(val_acc)
        h["val_loss"].append(val_loss)
        h["epoch_seconds"].append(self.elapsed())
        self.emit(
            {
                "kind": "epoch",
                "epoch": epoch,
                "epochs": self.cfg.epochs,
                "train_acc": train_acc,
                "train_loss": h["train_loss"][-1],
                "val_acc": val_acc,
                "val_loss": val_loss,
                "elapsed_s": h["epoch_seconds"][-1],
            }
        )

    def finish(self, status: str, message: str) -> TrainResult:
        seconds = self.elapsed()
        test = self.data.test
        metrics, _ = evaluate(self.model, test.images, test.labels, self.data.info.class_names)
        self.emit({"kind": "test", "accuracy": metrics.accuracy, "loss": metrics.loss})
        return self.result(status, message, seconds, metrics)

    def fail(self, message: str) -> TrainResult:
        self.emit({"kind": "failed", "message": message})
        return self.result("failed", message, self.elapsed(), None)

    def result(
        self, status: str, message: str, seconds: float, metrics: Metrics | None
    ) -> TrainResult:
        self.model.eval()
        return TrainResult(
            status=status,
            message=message,
            model=self.model,
            history=self.history,
            seconds=seconds,
            test_metrics=metrics,
            device=device_name(self.device),
            fast_path=self.stepper.name,
        )


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    preds, _ = predict(model, images)
    return (preds == labels).float().mean().item()
