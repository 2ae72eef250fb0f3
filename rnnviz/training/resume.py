"""Going on from a saved run: where a run stands (`TrainState`) and how a new loop picks it up.

A `TrainState` is what a run needs to go on exactly where it stood: the steps done, the
optimiser's moments (one set of tensors per parameter) and its learning-rate anchors, the
schedule's span and position, and the random states that pick the next batches and dropout masks.
As plain data it is a dict of tensors (written as safetensors, never pickled) and a dict of numbers
(written into meta.json). A `Resume` is the saved run a new run goes on from: its history, its
seconds and, when it kept one, its state; a run saved before states were kept goes on with a fresh
optimiser, and says so.

Going on to the planned length continues the saved schedule, so a CPU run resumed after epoch k
ends bit for bit where the uninterrupted run ends. Going on past the schedule's end starts a new
schedule of the same kind over the steps added, peaking at the run's learning rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import safetensors.torch
import torch
from torch import nn

from rnnviz.training.config import SCHEDULES, TrainConfig
from rnnviz.training.stepper import LrSchedule, lr_schedule, write_lr

# The tensors each optimiser keeps per parameter: "step" is a scalar, the others the parameter's
# shape. A saved state holding anything else is refused.
MOMENTS: dict[str, tuple[str, ...]] = {
    "adam": ("step", "exp_avg", "exp_avg_sq"),
    "adamw": ("step", "exp_avg", "exp_avg_sq"),
    "sgd": ("momentum_buffer",),
    "rmsprop": ("step", "square_avg", "momentum_buffer"),
}
ANCHORS = ("lr", "initial_lr", "max_lr", "min_lr")  # a group's rate and its schedule's anchors
RNG_SIZE = torch.Generator().get_state().numel()  # bytes of a CPU generator's state
ORDER_RNG, TORCH_RNG = "rng.order", "rng.torch"  # batch order; torch's global RNG (dropout)


def moment_name(index: int, key: str) -> str:
    """The tensor name of parameter `index`'s moment `key`: "optimizer.3.exp_avg"."""
    return f"optimizer.{index}.{key}"


@dataclass(frozen=True, eq=False)
class TrainState:
    """Where a run stands after `step` optimisation steps, enough to go on exactly."""

    step: int
    optimizer: str  # the OPTIMIZERS key the moments belong to
    schedule: str  # the SCHEDULES key of the schedule under way
    span: tuple[int, int]  # (first step, steps): the steps the schedule under way covers
    peak: float  # the rate that schedule was built for
    tensors: Mapping[str, torch.Tensor]  # moments by `moment_name`, ORDER_RNG, TORCH_RNG (CPU)
    lrs: tuple[Mapping[str, float], ...] = ()  # per param group: its ANCHORS
    position: Mapping[str, Any] = field(default_factory=dict)  # the schedule's counters
    epoch_correct: int = 0  # right answers so far in the epoch under way (a stop mid-epoch)

    def plain(self) -> dict[str, Any]:
        """The numbers, for meta.json; the tensors go to a safetensors file beside it."""
        return {
            "step": self.step,
            "optimizer": self.optimizer,
            "schedule": self.schedule,
            "span": list(self.span),
            "peak": self.peak,
            "lrs": [dict(g) for g in self.lrs],
            "position": dict(self.position),
            "epoch_correct": self.epoch_correct,
        }

    def tensor_bytes(self) -> bytes:
        return safetensors.torch.save(dict(self.tensors))

    @classmethod
    def from_plain(
        cls, plain: Mapping[str, Any], tensors: Mapping[str, torch.Tensor]
    ) -> TrainState:
        """`plain()` and its tensors read back; ValueError naming a value that does not fit (the
        tensors' names, shapes and dtypes are the caller's to check, against the model)."""
        step, correct = _count(plain, "step"), _count(plain, "epoch_correct")
        span = plain.get("span")
        if not (isinstance(span, list) and len(span) == 2 and all(_is_count(v) for v in span)):
            raise ValueError(f"span={span!r} must be two whole numbers")
        names: dict[str, Mapping[str, Any]] = {"optimizer": MOMENTS, "schedule": SCHEDULES}
        for key, allowed in names.items():
            if plain.get(key) not in allowed:
                raise ValueError(f"{key}={plain.get(key)!r} is not one of {list(allowed)}")
        lrs = plain.get("lrs")
        if not isinstance(lrs, list) or not all(_rates(g) for g in lrs):
            raise ValueError(f"lrs={lrs!r} must be a list of {{{', '.join(ANCHORS)}: rate}}")
        return cls(step=step, optimizer=plain["optimizer"], schedule=plain["schedule"],
                   span=(span[0], span[1]), peak=_rate(plain.get("peak"), "peak"),
                   tensors=dict(tensors),
                   lrs=tuple(lrs), position=_position(plain.get("position")),
                   epoch_correct=correct)  # fmt: skip


@dataclass(frozen=True, eq=False)
class Resume:
    """The saved run a run goes on from."""

    source: str  # its folder's name
    step: int  # the steps it had done
    history: Mapping[str, list[float]]  # its history, which the new run continues
    seconds: float = 0.0  # its seconds of training, which the new run's clock starts from
    state: TrainState | None = None  # None: saved before states were kept


def expected_moments(model: nn.Module, optimizer: str) -> dict[str, tuple[tuple[int, ...], str]]:
    """name -> (shape, safetensors dtype) of every tensor a state of `optimizer` for `model` may
    hold (the model may live on the meta device: nothing is allocated)."""
    rng: tuple[tuple[int, ...], str] = ((RNG_SIZE,), "U8")
    expected = {ORDER_RNG: rng, TORCH_RNG: rng}
    for i, p in enumerate(model.parameters()):
        for key in MOMENTS[optimizer]:
            expected[moment_name(i, key)] = (
                ((), "F32") if key == "step" else (tuple(p.shape), "F32")
            )
    return expected


def capture(
    optimizer: torch.optim.Optimizer,
    schedule: LrSchedule | None,
    cfg: TrainConfig,
    *,
    step: int,
    span: tuple[int, int],
    peak: float,
    order_rng: torch.Tensor,
    epoch_correct: int = 0,
) -> TrainState:
    """The state after `step` steps; every tensor copied to the CPU."""
    tensors = {ORDER_RNG: order_rng.clone(), TORCH_RNG: torch.get_rng_state()}
    for index, moments in optimizer.state_dict()["state"].items():
        for key, value in moments.items():
            if torch.is_tensor(value):
                tensors[moment_name(int(index), key)] = value.detach().float().cpu().contiguous()
    lrs = tuple({k: float(g[k]) for k in ANCHORS if k in g} for g in optimizer.param_groups)
    position = {} if schedule is None else {
        "last_epoch": int(schedule.last_epoch),
        "step_count": int(getattr(schedule, "_step_count", 1)),
        "base_lrs": [float(b) for b in schedule.base_lrs],
    }  # fmt: skip
    return TrainState(step=step, optimizer=cfg.optimizer, schedule=cfg.schedule, span=span,
                      peak=peak, tensors=tensors, lrs=lrs, position=position,
                      epoch_correct=epoch_correct)  # fmt: skip


def go_on(
    optimizer: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int, resume: Resume | None
) -> tuple[LrSchedule | None, tuple[int, int], float, str]:
    """Restore `resume`'s optimiser state into `optimizer` (before any CUDA graph is captured)
    and make the schedule: (schedule, its span, its peak rate, a note for people)."""
    start = resume.step if resume is not None else 0
    fresh_span = (start, total_steps - start)
    state = resume.state if resume is not None else None
    if resume is None or state is None or state.optimizer != cfg.optimizer:
        note = ""
        if resume is not None:
            why = ("it was saved without its optimiser state" if state is None
                   else f"it was trained with {state.optimizer}")  # fmt: skip
            note = f"a fresh {cfg.optimizer} optimiser: {why}"
        return lr_schedule(optimizer, cfg.schedule, cfg.lr, fresh_span[1]), fresh_span, cfg.lr, note
    _load_moments(optimizer, state)
    first, steps = state.span
    if cfg.schedule == state.schedule and total_steps <= first + steps:
        schedule = lr_schedule(optimizer, state.schedule, state.peak, steps)
        _place(optimizer, schedule, state)
        return schedule, state.span, state.peak, "optimiser state restored; the schedule goes on"
    added = (f"a new {cfg.schedule} schedule over the steps added" if cfg.schedule != "constant"
             else f"the rate set to {cfg.lr:g}")  # fmt: skip
    schedule = lr_schedule(optimizer, cfg.schedule, cfg.lr, fresh_span[1])
    return schedule, fresh_span, cfg.lr, f"optimiser state restored; {added}"


def _load_moments(optimizer: torch.optim.Optimizer, state: TrainState) -> None:
    """The saved moments into `optimizer`, which keeps its own groups (device, fused, capturable);
    a tensor learning rate stays the same tensor, so a CUDA graph captured later reads it."""
    moments: dict[int, dict[str, torch.Tensor]] = {}
    for name, tensor in state.tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".")
            moments.setdefault(int(index), {})[key] = tensor
    rates = [g["lr"] for g in optimizer.param_groups]
    saved = optimizer.state_dict()
    optimizer.load_state_dict({"state": moments, "param_groups": saved["param_groups"]})
    for group, rate in zip(optimizer.param_groups, rates, strict=True):
        if torch.is_tensor(rate):
            group["lr"] = rate


def _place(optimizer: torch.optim.Optimizer, schedule: LrSchedule | None,
           state: TrainState) -> None:  # fmt: skip
    """Put a schedule just built back where the saved one stood: its anchors, rate, counters."""
    for group, anchors in zip(optimizer.param_groups, state.lrs, strict=False):
        for key in ANCHORS[1:]:
            if key in anchors:
                group[key] = anchors[key]
        if "lr" in anchors:
            write_lr(group, anchors["lr"])
    if schedule is not None and state.position:
        schedule.last_epoch = int(state.position["last_epoch"])
        schedule._step_count = int(state.position["step_count"])
        schedule.base_lrs = [float(b) for b in state.position["base_lrs"]]
        schedule._last_lr = [float(g["lr"]) for g in optimizer.param_groups]


def restore_rng(generator: torch.Generator, resume: Resume | None, *, n: int,
                steps_per_epoch: int) -> None:  # fmt: skip
    """Put the batch order (and torch's RNG, for dropout) where the saved run left them. Without
    a saved state, the order is replayed: one shuffle per epoch the saved run finished."""
    if resume is None:
        return
    if resume.state is not None:
        generator.set_state(resume.state.tensors[ORDER_RNG])
        torch.set_rng_state(resume.state.tensors[TORCH_RNG])
        return
    for _ in range(resume.step // steps_per_epoch):
        torch.randperm(n, generator=generator)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53


def _count(plain: Mapping[str, Any], key: str) -> int:
    value = plain.get(key, 0)
    if not _is_count(value):
        raise ValueError(f"{key}={value!r} must be a whole number of 0 or more")
    return int(value)


def _rate(value: Any, name: str = "rate") -> float:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and math.isfinite(value) and 0.0 <= value <= 1e3:
        return float(value)
    raise ValueError(f"{name}={value!r} must be a finite number from 0 to 1000")


def _rates(group: Any) -> bool:
    if not isinstance(group, dict) or not set(group) <= set(ANCHORS):
        return False
    try:
        [_rate(v) for v in group.values()]
    except ValueError:
        return False
    return True


def _position(value: Any) -> dict[str, Any]:
    if value in (None, {}):
        return {}
    if not isinstance(value, dict) or set(value) != {"last_epoch", "step_count", "base_lrs"}:
        raise ValueError(f"position={value!r} must hold last_epoch, step_count and base_lrs")
    if not (_is_count(value["last_epoch"]) and _is_count(value["step_count"])):
        raise ValueError(f"position={value!r}: its counts must be whole numbers")
    bases = value["base_lrs"]
    if not isinstance(bases, list) or len(bases) > 64:
        raise ValueError(f"position.base_lrs={bases!r} must be a short list of rates")
    return {**value, "base_lrs": [_rate(b) for b in bases]}
