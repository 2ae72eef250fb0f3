"""The Memory lab's trainers, sweeps and CLI: train a recurrent net on a memory task and score it.

`train_recall` and `train_add` train a fresh `SequenceModel` with Adam on batches generated on
the device, report progress as plain events through `emit`, stop within one step of
`control.stop()`, and return plain metrics plus the trained model. The sweeps repeat recall over
hidden sizes or recall distances, and `add_memory_parser`/`run_memory` are the
`python -m rnnviz memory` command. Tasks, configs, the model and scoring live in
`rnnviz.memory_tasks`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from rnnviz.control import Control, EmitFn, Event, ignore_event
from rnnviz.memory_tasks import (
    ADD_LOSSES,
    MEMORY_CELLS,
    AddConfig,
    RecallConfig,
    SequenceModel,
    add_batch,
    add_example,
    add_model,
    bit_accuracy,
    bits_to_int,
    prob_one,
    recall_accuracy,
    recall_batch,
    recall_examples,
    recall_model,
)

__all__ = [  # the lab's whole API, so a page or the CLI imports from one place
    "ADD_LOSSES", "MEMORY_CELLS", "AddConfig", "RecallConfig", "SequenceModel", "add_batch",
    "add_example", "add_memory_parser", "bits_to_int", "recall_batch", "recall_examples",
    "run_memory", "sweep_distance", "sweep_hidden", "train_add", "train_recall",
]  # fmt: skip

CLIP_NORM = 1.0  # gradient-norm clip; keeps the vanilla RNN from blowing up on long sequences
TEST_SEED = 20_240_601  # the held-out sets are the same for every run, whatever its seed
Batch = tuple[torch.Tensor, torch.Tensor]  # (inputs, targets)


def _generator(seed: int, device: torch.device) -> torch.Generator:
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator


def _fit(
    model: nn.Module,
    *,
    steps: int,
    lr: float,
    sample: Callable[[], Batch],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    accuracy_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    evaluate: Callable[[], dict[str, float]],
    control: Control | None,
    emit: EmitFn,
) -> dict[str, Any]:
    """Adam with clipping for `steps` fresh batches; events and history hold plain numbers."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    log_every, eval_every = max(1, steps // 200), max(1, steps // 10)
    history: dict[str, list[float]] = {"step": [], "loss": [], "accuracy": [], "eval_step": []}
    start, done, stopped = time.perf_counter(), 0, False

    def record_eval(step: int) -> dict[str, float]:
        metrics = evaluate()
        history["eval_step"].append(step)
        for key, value in metrics.items():
            history.setdefault(key, []).append(value)
        emit({"kind": "eval", "step": step, **metrics})
        return metrics

    for step in range(1, steps + 1):
        if control is not None and control.should_stop():
            stopped = True
            break
        inputs, targets = sample()
        outputs = model(inputs)
        loss = loss_fn(outputs, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
        optimizer.step()
        done = step
        if step % log_every == 0 or step == steps:
            event: Event = {"kind": "step", "step": step, "loss": loss.item()}
            event |= {"accuracy": accuracy_fn(outputs, targets).item(), "progress": step / steps}
            for key in ("step", "loss", "accuracy"):
                history[key].append(event[key])
            emit(event)
        if step % eval_every == 0 and step < steps:
            record_eval(step)
    final = record_eval(done)
    seconds = time.perf_counter() - start
    return {**final, "steps": done, "stopped": stopped, "seconds": seconds, "history": history}


def train_recall(
    config: RecallConfig,
    *,
    device: torch.device | str = "cpu",
    control: Control | None = None,
    emit: EmitFn = ignore_event,
) -> dict[str, Any]:
    """Train a fresh reader on recall; returns test_accuracy, history and the trained model."""
    device = torch.device(device)
    torch.manual_seed(config.seed)
    model = recall_model(config).to(device)  # built on the CPU first: same weights on any device
    train_gen = _generator(config.seed, device)
    test_x, test_y = recall_batch(
        config.test_size, config.length, config.position,
        generator=_generator(TEST_SEED, device), device=device,
    )  # fmt: skip

    def sample() -> Batch:
        return recall_batch(
            config.batch_size, config.length, config.position, generator=train_gen, device=device
        )

    @torch.no_grad()
    def evaluate() -> dict[str, float]:
        model.eval()
        accuracy = recall_accuracy(model(test_x), test_y).item()
        model.train()
        return {"test_accuracy": accuracy}

    run = _fit(
        model, steps=config.steps, lr=config.lr, sample=sample, loss_fn=F.cross_entropy,
        accuracy_fn=recall_accuracy, evaluate=evaluate, control=control, emit=emit,
    )  # fmt: skip
    return {"task": "recall", **run, "config": config.to_dict(), "model": model}


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
) -> dict[str, Any]:
    """Train a fresh adder; scores bits and whole sums at the trained length and at twice it."""
    device = torch.device(device)
    torch.manual_seed(config.seed)
    model = add_model(config).to(device)
    train_gen, test_gen = _generator(config.seed, device), _generator(TEST_SEED, device)
    tests = [
        add_batch(config.test_size, n, generator=test_gen, device=device)[:2]
        for n in (config.bits, 2 * config.bits)
    ]

    def sample() -> Batch:
        return add_batch(config.batch_size, config.bits, generator=train_gen, device=device)[:2]

    @torch.no_grad()
    def evaluate() -> dict[str, float]:
        model.eval()
        (bit, whole), (bit_2x, whole_2x) = (_add_scores(model, *test) for test in tests)
        model.train()
        return {
            "test_accuracy": bit, "bit_accuracy": bit, "sum_accuracy": whole,
            "bit_accuracy_2x": bit_2x, "sum_accuracy_2x": whole_2x,
        }  # fmt: skip

    run = _fit(
        model, steps=config.steps, lr=config.lr, sample=sample, loss_fn=_add_loss(config.loss),
        accuracy_fn=bit_accuracy, evaluate=evaluate, control=control, emit=emit,
    )  # fmt: skip
    del run["test_accuracy"]  # an alias of bit_accuracy, kept in the events for the live chart
    return {"task": "add", **run, "config": config.to_dict(), "model": model}


def _sweep(
    runs: list[tuple[dict[str, Any], RecallConfig]],
    *,
    device: torch.device | str,
    control: Control | None,
    emit: EmitFn,
) -> list[dict[str, Any]]:
    """Train each labelled config in turn; a stop ends the sweep with the rows finished so far."""
    rows: list[dict[str, Any]] = []
    for index, (labels, config) in enumerate(runs):

        def relay(event: Event, index: int = index, labels: dict[str, Any] = labels) -> None:
            event = {**event, **labels, "run": index, "runs": len(runs)}
            if "progress" in event:  # progress through the whole sweep, not this run
                event["progress"] = (index + event["progress"]) / len(runs)
            emit(event)

        result = train_recall(config, device=device, control=control, emit=relay)
        if result["stopped"]:
            break
        rows.append({**labels, "test_accuracy": result["test_accuracy"]})
    return rows


def sweep_hidden(
    cell_list: Sequence[str],
    hidden_list: Sequence[int],
    base: RecallConfig,
    *,
    device: torch.device | str,
    control: Control | None = None,
    emit: EmitFn = ignore_event,
) -> list[dict[str, Any]]:
    """Recall accuracy per (cell, hidden size): rows {"cell", "hidden_size", "test_accuracy"}."""
    runs = [
        ({"cell": cell, "hidden_size": hidden}, replace(base, cell=cell, hidden_size=hidden))
        for cell in cell_list
        for hidden in hidden_list
    ]  # every config is validated before any training starts
    return _sweep(runs, device=device, control=control, emit=emit)


def sweep_distance(
    cell_list: Sequence[str],
    distances: Sequence[int],
    base: RecallConfig,
    *,
    device: torch.device | str,
    control: Control | None = None,
    emit: EmitFn = ignore_event,
) -> list[dict[str, Any]]:
    """Recall accuracy per (cell, distance L - K) at the base length, moving the position K.

    Rows {"cell", "distance", "test_accuracy"}.
    """
    bad = [d for d in distances if not 0 <= d < base.length]
    if bad:
        raise ValueError(f"distances {bad} must be between 0 and length - 1 = {base.length - 1}")
    runs = [
        ({"cell": cell, "distance": d}, replace(base, cell=cell, position=base.length - d))
        for cell in cell_list
        for d in distances
    ]
    return _sweep(runs, device=device, control=control, emit=emit)


# --- The `memory` command -------------------------------------------------------------------

TASK_OPTIONS = {"recall": ("length", "position"), "add": ("bits", "loss")}  # task-only flags


def add_memory_parser(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register `memory`; a flag left out takes the chosen task's config default (recall / add)."""
    parser = subparsers.add_parser(
        "memory", help="train a recurrent net on a memory task: recall a digit, add in binary"
    )
    recall, add = RecallConfig, AddConfig  # class attributes hold the field defaults
    arg = parser.add_argument
    arg("--task", required=True, metavar="{recall,add}", help="which memory task")
    arg("--length", type=int, metavar="L", help=f"recall: digits per sequence ({recall.length})")
    arg("--position", type=int, metavar="K", help=f"recall: 1-based K ({recall.position})")
    arg("--bits", type=int, metavar="N", help=f"add: bits per operand ({add.bits})")
    arg("--loss", metavar="{" + ",".join(ADD_LOSSES) + "}", help=f"add: loss ({add.loss})")
    cells = "{" + ",".join(MEMORY_CELLS) + "}"
    arg("--cell", metavar=cells, help=f"recurrent cell ({recall.cell} / {add.cell})")
    arg(
        "--hidden",
        type=int,
        metavar="H",
        help=f"hidden size ({recall.hidden_size} / {add.hidden_size})",
    )
    arg("--steps", type=int, metavar="N", help=f"training steps ({recall.steps} / {add.steps})")
    arg("--seed", type=int, metavar="S", help=f"seeds weights and training data ({recall.seed})")
    arg("--device", default="auto", metavar="{auto,cpu,cuda}", help="auto: cuda if available")
    arg("--json", action="store_true", help="end with one JSON line of metrics")
    parser.set_defaults(func=run_memory)


def _resolve_device(name: str) -> torch.device:
    if name not in ("auto", "cpu", "cuda"):
        raise ValueError(f"--device {name!r} is not one of ['auto', 'cpu', 'cuda']")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but CUDA is not available here")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _config_from_args(args: argparse.Namespace) -> RecallConfig | AddConfig:
    """The config the flags describe; ValueError names a bad or misplaced flag."""
    if args.task not in TASK_OPTIONS:
        raise ValueError(f"--task {args.task!r} is not one of {list(TASK_OPTIONS)}")
    for task, options in TASK_OPTIONS.items():
        misplaced = [
            f"--{o}" for o in options if task != args.task and getattr(args, o) is not None
        ]
        if misplaced:
            raise ValueError(f"{', '.join(misplaced)} applies to --task {task} only")
    flags = {o: o for o in (*TASK_OPTIONS[args.task], "cell", "steps", "seed")}
    flags["hidden"] = "hidden_size"
    kwargs = {field: getattr(args, flag) for flag, field in flags.items()}
    kwargs = {field: value for field, value in kwargs.items() if value is not None}
    return RecallConfig(**kwargs) if args.task == "recall" else AddConfig(**kwargs)


def _print_eval(event: Event) -> None:
    if event["kind"] == "eval":
        print(f"  step {event['step']:>6}  test accuracy {event['test_accuracy']:7.2%}", flush=True)


def _print_recall(result: dict[str, Any], device: torch.device) -> None:
    config = RecallConfig(**result["config"])
    print(f"Test accuracy {result['test_accuracy']:.2%} on {config.test_size} held-out sequences "
          f"(chance 10%) after {result['steps']} steps, {result['seconds']:.1f} s")  # fmt: skip
    print(f"Samples (the digit to recall is in brackets, held for {config.distance} steps):")
    for example in recall_examples(result["model"], config, 5, device=device):
        digits = [str(d) for d in example["digits"]]
        digits[config.position - 1] = f"[{digits[config.position - 1]}]"
        verdict = "right" if example["correct"] else f"wrong, it was {example['target']}"
        print(f"  {' '.join(digits)}  -> {example['prediction']} ({verdict})")


def _print_add(result: dict[str, Any], device: torch.device) -> None:
    config = AddConfig(**result["config"])
    for n, suffix in ((config.bits, ""), (2 * config.bits, "_2x")):
        bits, sums = result[f"bit_accuracy{suffix}"], result[f"sum_accuracy{suffix}"]
        print(f"{n}-bit test sums: bit accuracy {bits:.2%}, whole-sum accuracy {sums:.2%}")
    rng = random.Random(config.seed)
    a, b = rng.randrange(2**config.bits), rng.randrange(2**config.bits)
    ex = add_example(result["model"], config, a, b, device=device)
    print("Worked example, most significant bit on the left (the network reads right to left):")
    rows = [("carry", "carry_bits", None), ("a", "a_bits", a), ("b", "b_bits", b),
            ("a + b", "target_bits", a + b), ("network", "output_bits", ex["output"])]  # fmt: skip
    for label, key, value in rows:
        tail = "" if value is None else f"  = {value}"
        print(f"  {label:<8} {' '.join(str(bit) for bit in reversed(ex[key]))}{tail}")
    print(f"  the network's sum is {'right' if ex['correct'] else 'wrong'}")


def run_memory(args: argparse.Namespace) -> int:
    """Train as the flags say and print a summary; with --json the last line is the metrics."""
    try:
        device = _resolve_device(args.device)
        config = _config_from_args(args)
    except ValueError as err:
        print(f"rnnviz memory: error: {err}", file=sys.stderr)
        return 2
    if device.type == "cpu":
        torch.set_num_threads(1)  # nets this small run fastest on one thread; more only contend
    print(f"Training {args.task} on {device}: {json.dumps(config.to_dict())}", flush=True)
    if isinstance(config, RecallConfig):
        result = train_recall(config, device=device, emit=_print_eval)
        _print_recall(result, device)
    else:
        result = train_add(config, device=device, emit=_print_eval)
        _print_add(result, device)
    if args.json:
        summary = {k: v for k, v in result.items() if k not in ("model", "history")}
        print(json.dumps({**summary, "device": str(device)}))
    return 0
