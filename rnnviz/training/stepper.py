"""The optimiser, its schedule, and one optimisation step, eager or replayed from a CUDA graph.

On a GPU a small recurrent model spends most of its step time launching kernels; capturing the
whole step (forward, backward, clipping, Adam) once and replaying it removes that cost. Capture
needs a fixed batch shape and an optimiser whose state lives on the device (Adam/AdamW with
`capturable=True` and a tensor learning rate); anything else, or any failure while capturing, falls
back to the eager step. The warm-up steps that capture needs are undone afterwards, so a captured
run computes what the eager run computes.
"""

from __future__ import annotations

import logging
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from rnnviz.data.sources import IMAGE_SIZE
from rnnviz.training.config import WARMUP_SHARE, TrainConfig

log = logging.getLogger(__name__)
LrSchedule = torch.optim.lr_scheduler.LRScheduler


def build_optimizer(
    model: nn.Module, config: TrainConfig, device: torch.device
) -> torch.optim.Optimizer:
    params = list(model.parameters())
    if config.optimizer in ("adam", "adamw"):
        adam = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
        betas = (config.beta1, config.beta2)
        if device.type != "cuda":
            return adam(params, lr=config.lr, betas=betas, weight_decay=config.weight_decay)
        # Fused kernels; a device-side lr and step count so a CUDA graph can replay the update.
        graphs = config.cuda_graphs
        lr: float | torch.Tensor = torch.tensor(config.lr, device=device) if graphs else config.lr
        return adam(
            params,
            lr=lr,
            betas=betas,
            weight_decay=config.weight_decay,
            fused=True,
            capturable=graphs,
        )
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
    return lr_schedule(optimizer, config.schedule, config.lr, total_steps)


def lr_schedule(
    optimizer: torch.optim.Optimizer, name: str, lr: float, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The `SCHEDULES` entry `name` over `total_steps` steps peaking at `lr`; None: constant."""
    if name == "one_cycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=lr, total_steps=total_steps, cycle_momentum=False
        )
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    if name == "warmup":
        ramp = max(1, round(WARMUP_SHARE * total_steps))
        return torch.optim.lr_scheduler.LambdaLR(optimizer, _Warmup(ramp))
    return None


class _Warmup:
    """The `warmup` schedule's factor at a step: rising linearly to 1 over `ramp` steps."""

    def __init__(self, ramp: int) -> None:
        self.ramp = ramp

    def __call__(self, step: int) -> float:
        return min(1.0, (step + 1) / self.ramp)


def current_lr(optimizer: torch.optim.Optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


def set_lr(
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler | None,
    lr: float,
) -> float:
    """Use learning rate `lr` from the next step on; the rate it replaces.

    A schedule goes on from the new rate: its curve is scaled by new / current (one-cycle's peak
    and floor, cosine's base), so it keeps its shape. A tensor rate (the CUDA-graph path reads it
    on the device) is filled in place, so the captured graph sees the new value.
    """
    previous = current_lr(optimizer)
    base = schedule.base_lrs[0] if schedule is not None else previous
    factor = lr / (previous if previous > 0 else base)  # a cosine at its end has reached 0
    for group in optimizer.param_groups:
        for key in ("initial_lr", "max_lr", "min_lr"):  # the schedules' own anchors
            if key in group:
                group[key] = group[key] * factor
        write_lr(group, lr)
    if schedule is not None:
        schedule.base_lrs = [b * factor for b in schedule.base_lrs]
        schedule._last_lr = [lr for _ in optimizer.param_groups]
    return previous


def write_lr(group: dict, value: float) -> None:
    """Set a param group's rate; a tensor rate (read by a captured graph) is filled in place."""
    if torch.is_tensor(group["lr"]):
        group["lr"].fill_(value)
    else:
        group["lr"] = value


class Stepper(Protocol):
    name: str

    def step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One update on batch (x, y); returns the detached (loss, logits)."""
        ...


class EagerStep:
    name = "eager"

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        schedule: torch.optim.lr_scheduler.LRScheduler | None,
        grad_clip: float,
        label_smoothing: float = 0.0,
    ) -> None:
        self.model, self.optimizer, self.schedule, self.grad_clip = (
            model,
            optimizer,
            schedule,
            grad_clip,
        )
        self.label_smoothing = label_smoothing

    def step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.model(x)  # (B, C)
        loss = F.cross_entropy(logits, y, label_smoothing=self.label_smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optimizer.step()
        if self.schedule is not None:
            self.schedule.step()
        return loss.detach(), logits.detach()


class GraphStep:
    """The eager step captured into a CUDA graph and replayed on static input buffers."""

    name = "cuda-graph"

    def __init__(self, eager: EagerStep, batch_size: int, warmup: int = 3) -> None:
        self.eager = eager
        model, optimizer = eager.model, eager.optimizer
        device = next(model.parameters()).device
        size = (batch_size, IMAGE_SIZE, IMAGE_SIZE)
        self.x = torch.zeros(size, dtype=torch.uint8, device=device)
        self.y = torch.zeros(batch_size, dtype=torch.long, device=device)
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            for _ in range(warmup):  # lets cuDNN and the allocator settle before capture
                self._body()
        torch.cuda.current_stream(device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        optimizer.zero_grad(set_to_none=True)
        with torch.cuda.graph(self.graph):
            self.loss, self.logits = self._body()

    def _body(self) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.eager
        logits = e.model(self.x)
        loss = F.cross_entropy(logits, self.y, label_smoothing=e.label_smoothing)
        loss.backward()
        if e.grad_clip > 0:
            nn.utils.clip_grad_norm_(e.model.parameters(), e.grad_clip, foreach=True)
        e.optimizer.step()
        e.optimizer.zero_grad(set_to_none=False)
        return loss.detach(), logits.detach()

    def step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.shape != self.x.shape:
            return self.eager.step(x, y)
        self.x.copy_(x)
        self.y.copy_(y)
        self.graph.replay()
        if self.eager.schedule is not None:
            self.eager.schedule.step()  # fills the tensor lr the graph reads
        return self.loss.clone(), self.logits.clone()


def graphable_optimizer(optimizer: torch.optim.Optimizer) -> bool:
    return isinstance(optimizer, torch.optim.Adam | torch.optim.AdamW)


def make_stepper(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler | None,
    *,
    batch_size: int,
    grad_clip: float,
    use_graphs: bool,
    label_smoothing: float = 0.0,
) -> Stepper:
    """The fastest step that is exact for this model and optimiser."""
    eager = EagerStep(model, optimizer, schedule, grad_clip, label_smoothing)
    if not (use_graphs and graphable_optimizer(optimizer)):
        return eager
    group = optimizer.param_groups[0]
    if not (group.get("capturable") and torch.is_tensor(group["lr"])):
        return eager
    saved = [p.detach().clone() for p in model.parameters()]
    before = {p: {k: v.clone() if torch.is_tensor(v) else v for k, v in state.items()}
              for p, state in optimizer.state.items()}  # fmt: skip
    try:
        stepper: Stepper = GraphStep(eager, batch_size)
    except Exception as exc:  # any capture failure: eager is always correct
        log.warning("CUDA graph capture failed (%s); training eagerly", exc)
        stepper = eager
    # Undo the warm-up steps: the weights as they were, the optimiser state as it was (a resumed
    # run's) or as if fresh (all zeros for Adam). Writing in place keeps the addresses the
    # captured graph reads.
    with torch.no_grad():
        for p, value in zip(model.parameters(), saved, strict=True):
            p.copy_(value)
        for param, state in optimizer.state.items():
            for key, tensor in state.items():
                if torch.is_tensor(tensor):
                    kept = before.get(param, {}).get(key)
                    tensor.copy_(kept) if kept is not None else tensor.zero_()
    if stepper is eager:
        optimizer.state.clear()
        optimizer.state.update(before)
    return stepper
