"""The `memory` command: train a recurrent net on a memory task and print what it learned.

The task is `--task recall|add` or the first word (`memory recall ...`). The flags come from
`RecallConfig` and `AddConfig`'s declarations; a flag that only one task has (`--length`,
`--position` for recall; `--bits`, `--loss` for add) is refused with the other task. With `--json`
the last line holds the task, its scores, steps, stopped, seconds, config, device. Recall's
`--hidden-sizes 2,5,10 --seeds 0,1,2` trains every pair instead (a seed sweep); its `--json` line
holds the rows, the spread per hidden size and the config they share.
"""

from __future__ import annotations

import argparse
import json
import random
from typing import Any

import torch

from rnnviz.cli.commands import json_line
from rnnviz.cli.flags import add_flag, given
from rnnviz.common.devices import DEVICES, resolve_device
from rnnviz.common.settings import Setting, declared
from rnnviz.memory import (
    AddConfig,
    MemoryRun,
    RecallConfig,
    add_example,
    recall_examples,
    spread,
    sweep_seeds,
    train_add,
    train_recall,
)
from rnnviz.training.events import Event, MemoryEvaluated

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
    parser.add_argument("task_word", nargs="?", metavar="{recall,add}", help="which memory task")
    parser.add_argument("--task", metavar="{recall,add}", help="which memory task (or the word)")
    for name, (s, tasks) in _flags().items():
        defaults = " / ".join(str(getattr(TASKS[t](), name)) for t in tasks)
        only = f"{tasks[0]}: " if len(tasks) == 1 else ""
        add_flag(parser, name, s, help=f"{only}{s.help or s.label} (default {defaults})")
    parser.add_argument("--device", default="auto", metavar="{" + ",".join(DEVICES) + "}",
                        help="auto: cuda if available")  # fmt: skip
    parser.add_argument(
        "--hidden-sizes",
        metavar="H,H,...",
        help="recall: a seed sweep over these hidden sizes (instead of --hidden)",
    )
    parser.add_argument(
        "--seeds",
        metavar="S,S,...",
        help="recall: a seed sweep over these seeds (instead of --seed)",
    )
    parser.add_argument("--json", action="store_true", help="end with one JSON line of metrics")


def config_from_args(args: argparse.Namespace) -> RecallConfig | AddConfig:
    """The config the flags describe; ValueError names a bad or misplaced flag."""
    if args.task is not None and args.task_word is not None and args.task != args.task_word:
        raise ValueError(f"the task is {args.task_word!r} or --task {args.task!r}, not both")
    args.task = args.task or args.task_word
    if args.task is None:
        raise ValueError(f"name the task: recall or add (or --task), one of {list(TASKS)}")
    if args.task not in TASKS:
        raise ValueError(f"--task {args.task!r} is not one of {list(TASKS)}")
    sweeping = [f for f in ("hidden_sizes", "seeds") if getattr(args, f, None) is not None]
    if sweeping and args.task != "recall":
        raise ValueError(f"--{sweeping[0].replace('_', '-')} applies to --task recall only")
    misplaced = [
        f"--{s.flag}"
        for name, (s, tasks) in _flags().items()
        if args.task not in tasks and getattr(args, name) is not None
    ]
    if misplaced:
        other = next(t for t in TASKS if t != args.task)
        raise ValueError(f"{', '.join(misplaced)} applies to --task {other} only")
    return TASKS[args.task](**given(args, TASKS[args.task]))


def whole_numbers(text: str, flag: str, low: int, high: int) -> list[int]:
    """'2,5,10' -> [2, 5, 10]; ValueError naming `flag` unless each is a whole number in range."""
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"{flag} {text!r} must be whole numbers separated by commas") from None
    bad = [v for v in values if not low <= v <= high]
    if bad:
        raise ValueError(f"{flag} {bad} must be between {low} and {high}")
    if len(set(values)) != len(values):
        raise ValueError(f"{flag} {text!r} names a value twice")
    return values


def seed_sweep_from_args(
    args: argparse.Namespace, config: RecallConfig
) -> tuple[list[int], list[int]] | None:
    """(hidden sizes, seeds) when --hidden-sizes or --seeds asks for a sweep; else None."""
    if args.hidden_sizes is None and args.seeds is None:
        return None
    found, lists = dict(declared(RecallConfig)), []
    for many, one, default in (("hidden_sizes", "hidden_size", config.hidden_size),
                               ("seeds", "seed", config.seed)):  # fmt: skip
        s, flag = found[one], f"--{many.replace('_', '-')}"
        if getattr(args, many) is not None and getattr(args, one) is not None:
            raise ValueError(f"{flag} and --{s.flag}: give one of them")
        text = getattr(args, many)
        low, high = int(s.low or 0), int(s.high or 0)
        lists.append([default] if text is None else whole_numbers(text, flag, low, high))
    return lists[0], lists[1]


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
    sweep = seed_sweep_from_args(args, config) if isinstance(config, RecallConfig) else None
    if sweep is not None:
        assert isinstance(config, RecallConfig)
        return _seed_sweep(config, *sweep, device=device, json_out=args.json)
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


def _seed_sweep(
    config: RecallConfig, sizes: list[int], seeds: list[int], *, device: torch.device,
    json_out: bool,
) -> int:  # fmt: skip
    """Train every (hidden size, seed) pair, print a line each and the spread per hidden size."""
    print(f"Seed sweep of recall on {device}, hidden sizes {sizes}, seeds {seeds}: "
          f"{json.dumps(config.to_dict())}", flush=True)  # fmt: skip

    def print_run(event: Event) -> None:  # a run's last score comes after its last step
        if isinstance(event, MemoryEvaluated) and event.step == config.steps:
            print(f"  H={event.labels['hidden_size']:<5} seed {event.labels['seed']:<6} "
                  f"test accuracy {event.test_accuracy:7.2%}", flush=True)  # fmt: skip

    result = sweep_seeds(sizes, seeds, config, device=device, emit=print_run)
    summary = spread(result.rows)
    for size, s in summary.items():
        print(f"H={size:<5} min {s['min']:7.2%}  median {s['median']:7.2%}  max {s['max']:7.2%}"
              f"  mean {s['mean']:7.2%}  over {s['runs']} seeds")  # fmt: skip
    if json_out:
        json_line({"task": "recall", "sweep": "seeds", "rows": result.rows,
                   "summary": {str(k): v for k, v in summary.items()},
                   "config": config.to_dict(), "device": str(device),
                   "status": result.status, "message": result.message})  # fmt: skip
    return 0
