"""The `memory` command: train a recurrent net on a memory task and print what it learned.

The flags come from `RecallConfig` and `AddConfig`'s declarations; a flag that only one task has
(`--length`, `--position` for recall; `--bits`, `--loss` for add) is refused with the other task.
With `--json` the last line holds the task, its scores, steps, stopped, seconds, config, device.
"""

from __future__ import annotations

import argparse
import json
import random
from typing import Any

import torch

from rnnviz.cli.commands import json_line
from rnnviz.cli.flags import add_flag, given
from rnnviz.devices import DEVICES, resolve_device
from rnnviz.events import Event, MemoryEvaluated
from rnnviz.memory import (
    AddConfig,
    MemoryRun,
    RecallConfig,
    add_example,
    recall_examples,
    train_add,
    train_recall,
)
from rnnviz.settings import Setting, declared

TASKS: dict[str, type[RecallConfig] | type[AddConfig]] = {"recall": RecallConfig, "add": AddConfig}


def _flags() -> dict[str, tuple[Setting, list[str]]]:
    """field -> (its setting, the tasks that have it), for every setting with a flag."""
    found: dict[str, tuple[Setting, list[str]]] = {}
    for task, cls in TASKS.items():
        for name, s in declared(cls):
            if s.flag is not None:
                found.setdefault(name, (s, []))[1].append(task)
    return found


def add_parser(subparsers: Any) -> None:
    """Register `memory`; a flag left out takes the chosen task's config default."""
    parser = subparsers.add_parser(
        "memory", help="train a recurrent net on a memory task: recall a digit, add in binary"
    )
    parser.add_argument("--task", required=True, metavar="{recall,add}", help="which memory task")
    for name, (s, tasks) in _flags().items():
        defaults = " / ".join(str(getattr(TASKS[t](), name)) for t in tasks)
        only = f"{tasks[0]}: " if len(tasks) == 1 else ""
        add_flag(parser, name, s, help=f"{only}{s.help or s.label} (default {defaults})")
    parser.add_argument("--device", default="auto", metavar="{" + ",".join(DEVICES) + "}",
                        help="auto: cuda if available")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="end with one JSON line of metrics")


def config_from_args(args: argparse.Namespace) -> RecallConfig | AddConfig:
    """The config the flags describe; ValueError names a bad or misplaced flag."""
    if args.task not in TASKS:
        raise ValueError(f"--task {args.task!r} is not one of {list(TASKS)}")
    misplaced = [
        f"--{s.flag}"
        for name, (s, tasks) in _flags().items()
        if args.task not in tasks and getattr(args, name) is not None
    ]
    if misplaced:
        other = next(t for t in TASKS if t != args.task)
        raise ValueError(f"{', '.join(misplaced)} applies to --task {other} only")
    return TASKS[args.task](**given(args, TASKS[args.task]))


def _print_eval(event: Event) -> None:
    if isinstance(event, MemoryEvaluated):
        print(f"  step {event.step:>6}  test accuracy {event.test_accuracy:7.2%}", flush=True)


def _print_recall(run: MemoryRun, config: RecallConfig, device: torch.device) -> None:
    print(f"Test accuracy {run.scores['test_accuracy']:.2%} on {config.test_size} held-out "
          f"sequences (chance 10%) after {run.steps} steps, {run.seconds:.1f} s")  # fmt: skip
    print(f"Samples (the digit to recall is in brackets, held for {config.distance} steps):")
    for example in recall_examples(run.build(device), config, 5, device=device):
        digits = [str(d) for d in example["digits"]]
        digits[config.position - 1] = f"[{digits[config.position - 1]}]"
        verdict = "right" if example["correct"] else f"wrong, it was {example['target']}"
        print(f"  {' '.join(digits)}  -> {example['prediction']} ({verdict})")


def _print_add(run: MemoryRun, config: AddConfig, device: torch.device) -> None:
    for n, suffix in ((config.bits, ""), (2 * config.bits, "_2x")):
        bits, sums = run.scores[f"bit_accuracy{suffix}"], run.scores[f"sum_accuracy{suffix}"]
        print(f"{n}-bit test sums: bit accuracy {bits:.2%}, whole-sum accuracy {sums:.2%}")
    rng = random.Random(config.seed)
    a, b = rng.randrange(2**config.bits), rng.randrange(2**config.bits)
    ex = add_example(run.build(device), config, a, b, device=device)
    print("Worked example, most significant bit on the left (the network reads right to left):")
    rows = [("carry", "carry_bits", None), ("a", "a_bits", a), ("b", "b_bits", b),
            ("a + b", "target_bits", a + b), ("network", "output_bits", ex["output"])]  # fmt: skip
    for label, key, value in rows:
        tail = "" if value is None else f"  = {value}"
        print(f"  {label:<8} {' '.join(str(bit) for bit in reversed(ex[key]))}{tail}")
    print(f"  the network's sum is {'right' if ex['correct'] else 'wrong'}")


def cmd_memory(args: argparse.Namespace) -> int:
    """Train as the flags say and print a summary; with --json the last line is the metrics."""
    device = resolve_device(args.device)
    config = config_from_args(args)
    if device.type == "cpu":
        torch.set_num_threads(1)  # nets this small run fastest on one thread; more only contend
    print(f"Training {args.task} on {device}: {json.dumps(config.to_dict())}", flush=True)
    if isinstance(config, RecallConfig):
        run = train_recall(config, device=device, emit=_print_eval)
        _print_recall(run, config, device)
    else:
        run = train_add(config, device=device, emit=_print_eval)
        _print_add(run, config, device)
    if args.json:
        json_line({**run.summary(), "device": str(device)})
    return 0
