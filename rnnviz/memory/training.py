"""The memory lab's trainers and sweeps: train a recurrent net on a memory task and score it.

`train_recall` and `train_add` train a fresh `SequenceModel` with Adam (its learning rate on the
config's schedule, gradients clipped) on batches generated on the device, report progress as
`MemoryStepped` / `MemoryEvaluated` events through `emit`, stop within one step of
`control.stop()`, and end with a `MemoryRun` (scores, recall's accuracy per length, history, the
trained weights). The sweeps that repeat recall are `rnnviz.memory.sweeps`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from rnnviz.memory.scoring import bit_accuracy, prob_one, recall_accuracy
from rnnviz.memory.tasks import (
    AddConfig,
    RecallConfig,
    add_batch,
    add_model,
    recall_batch,
    recall_model,
)
from rnnviz.models.network import evaluating
from rnnviz.training.control import Control
from rnnviz.training.events import EmitFn, MemoryEvaluated, MemoryStepped, ignore_event
from rnnviz.training.stepper import lr_schedule

TEST_SEED = 20_240_601  # the held-out sets are the same for every run, whatever its seed
Batch = tuple[torch.Tensor, torch.Tensor]  # (inputs, targets)


@dataclass(frozen=True, eq=False)
class MemoryRun:
    """A finished or stopped memory-lab run: its held-out scores, history and trained weights.

    The weights are plain CPU tensors, not a module, so a server keeping finished jobs keeps
    no model objects; `build()` makes the trained network again when a page or the CLI needs it.
    """

    task: str  # "recall" or "add"
    config: RecallConfig | AddConfig
    scores: dict[str, float]  # "test_accuracy" for recall; bit and whole-sum accuracies for add
    steps: int  # steps trained
    seconds: float
    history: dict[str, list[float]]
    weights: dict[str, torch.Tensor]  # the trained state dict, on the CPU
    status: str = "done"  # or "stopped"
    message: str = ""
    per_length: dict[int, float] = field(default_factory=dict)  # recall: length -> test accuracy

    @property
    def stopped(self) -> bool:
        return self.status == "stopped"

    def build(self, device: torch.device | str = "cpu") -> nn.Module:
        """The trained network, in eval mode on `device`."""
        config = self.config
        model = recall_model(config) if isinstance(config, RecallConfig) else add_model(config)
        model.load_state_dict(self.weights)
        return model.to(device).eval()

    def summary(self) -> dict[str, Any]:
        """The `memory --json` line: task, scores, steps, stopped, seconds, config, status, and
        for recall "per_length" ({length as text: test accuracy}, JSON's keys being text)."""
        per_length = {"per_length": {str(n): a for n, a in self.per_length.items()}}
        return {"task": self.task, **self.scores, "steps": self.steps, "stopped": self.stopped,
                "seconds": self.seconds, "config": self.config.to_dict(),
                "status": self.status, "message": self.message,
                **(per_length if self.task == "recall" else {})}  # fmt: skip


def _generator(seed: int, device: torch.device) -> torch.Generator:
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator


def _fit(
    task: str,
    config: RecallConfig | AddConfig,
    model: nn.Module,
    *,
    sample: Callable[[int], Batch],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    accuracy_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    evaluate: Callable[[], dict[str, float]],
    control: Control | None,
    emit: EmitFn,
) -> MemoryRun:
    """Adam on the config's schedule and clipping for `config.steps` fresh batches
    (`sample(step)`, step 1-based); the run, scored on its test set."""
    steps = config.steps
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    schedule = lr_schedule(optimizer, config.schedule, config.lr, steps)
    log_every, eval_every = max(1, steps // 200), max(1, steps // 10)
    history: dict[str, list[float]] = {"step": [], "loss": [], "accuracy": [], "eval_step": []}
    start, done = time.perf_counter(), 0

    def record_eval(step: int) -> dict[str, float]:
        with evaluating(model), torch.no_grad():
            scores = evaluate()
        history["eval_step"].append(step)
        for key, value in scores.items():
            history.setdefault(key, []).append(value)
        emit(MemoryEvaluated(step=step, scores=dict(scores)))  # the event's own copy
        return scores

    for step in range(1, steps + 1):
        if control is not None and control.should_stop():
            break
        inputs, targets = sample(step)
        outputs = model(inputs)
        loss = loss_fn(outputs, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.clip > 0:  # keeps the vanilla RNN from blowing up on long sequences
            nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        optimizer.step()
        if schedule is not None:
            schedule.step()
        done = step
        if step % log_every == 0 or step == steps:
            event = MemoryStepped(step=step, loss=loss.item(),
                                  accuracy=accuracy_fn(outputs, targets).item(),
                                  progress=step / steps)  # fmt: skip
            history["step"].append(step)
            history["loss"].append(event.loss)
            history["accuracy"].append(event.accuracy)
            emit(event)
        if step % eval_every == 0 and step < steps:
            record_eval(step)
    final = record_eval(done)
    seconds = time.perf_counter() - start
    status, message = _outcome(control, done, steps)
    weights = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return MemoryRun(task, config, final, done, seconds, history, weights, status, message)


def _outcome(control: Control | None, done: int, steps: int) -> tuple[str, str]:
    if control is not None and control.stopped and done < steps:
        return "stopped", f"stopped by request after {done} of {steps} steps"
    return "done", f"trained {done} steps"


def _fresh(build: Callable[[], nn.Module], seed: int, device: torch.device) -> nn.Module:
    torch.manual_seed(seed)
    return build().to(device)  # built on the CPU first: the same weights on any device


def train_recall(
    config: RecallConfig,
    *,
    device: torch.device | str = "cpu",
    control: Control | None = None,
    emit: EmitFn = ignore_event,
) -> MemoryRun:
    """Train a fresh reader on recall; its scores are {"test_accuracy"} at length L, and its
    `per_length` the test accuracy at each of `config.test_lengths()`."""
    device = torch.device(device)
    model = _fresh(lambda: recall_model(config), config.seed, device)
    train_gen = _generator(config.seed, device)
    lengths = _generator(config.seed, torch.device("cpu"))  # on the CPU: no device sync a step
    test_x, test_y = _recall_test(config, config.length, device)

    def sample(step: int) -> Batch:
        longest = config.longest_at(step)
        length = int(torch.randint(config.shortest, longest + 1, (), generator=lengths))
        return recall_batch(
            config.batch_size, length, config.position, generator=train_gen, device=device
        )  # (B, length, 10), (B,)

    def evaluate() -> dict[str, float]:
        return {"test_accuracy": recall_accuracy(model(test_x), test_y).item()}

    run = _fit(
        "recall", config, model, sample=sample, loss_fn=F.cross_entropy,
        accuracy_fn=recall_accuracy, evaluate=evaluate, control=control, emit=emit,
    )  # fmt: skip
    with evaluating(model), torch.no_grad():
        per_length = {
            n: recall_accuracy(model(x), y).item()
            for n in config.test_lengths()
            for x, y in [_recall_test(config, n, device)]
        }
    return replace(run, per_length=per_length)


def _recall_test(
    config: RecallConfig, length: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """The held-out recall set at `length`: the same sequences for every run, whatever its seed."""
    return recall_batch(
        config.test_size, length, config.position,
        generator=_generator(TEST_SEED, device), device=device,
    )  # fmt: skip


def _add_loss(loss: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """outputs (B, T, 2 or 1), target bits (B, T) -> a scalar loss."""
    if loss == "ce":
        return lambda out, bits: F.cross_entropy(out.flatten(0, 1), bits.flatten())
    return lambda out, bits: F.mse_loss(torch.sigmoid(out.squeeze(-1)), bits.float())


def _add_scores(model: nn.Module, inputs: torch.Tensor, bits: torch.Tensor) -> tuple[float, float]:
    """(bit accuracy, whole-sum accuracy) on one held-out set."""
    correct = (prob_one(model(inputs)) > 0.5).long() == bits  # (B, N + 1)
    return correct.float().mean().item(), correct.all(-1).float().mean().item()


def train_add(
    config: AddConfig,
    *,
    device: torch.device | str = "cpu",
    control: Control | None = None,
    emit: EmitFn = ignore_event,
) -> MemoryRun:
    """Train a fresh adder; scores bits and whole sums at the trained length and at twice it."""
    device = torch.device(device)
    model = _fresh(lambda: add_model(config), config.seed, device)
    train_gen, test_gen = _generator(config.seed, device), _generator(TEST_SEED, device)
    tests = [
        add_batch(config.test_size, n, generator=test_gen, device=device)[:2]
        for n in (config.bits, 2 * config.bits)
    ]

    def sample(step: int) -> Batch:
        return add_batch(config.batch_size, config.bits, generator=train_gen, device=device)[:2]

    def evaluate() -> dict[str, float]:
        (bit, whole), (bit_2x, whole_2x) = (_add_scores(model, *test) for test in tests)
        return {
            "test_accuracy": bit, "bit_accuracy": bit, "sum_accuracy": whole,
            "bit_accuracy_2x": bit_2x, "sum_accuracy_2x": whole_2x,
        }  # fmt: skip

    run = _fit(
        "add", config, model, sample=sample, loss_fn=_add_loss(config.loss),
        accuracy_fn=bit_accuracy, evaluate=evaluate, control=control, emit=emit,
    )  # fmt: skip
    # "test_accuracy" is an alias of bit_accuracy, kept in the events for the live chart only.
    return replace(run, scores={k: v for k, v in run.scores.items() if k != "test_accuracy"})
