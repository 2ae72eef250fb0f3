"""The command line: `python -m rnnviz presets | train | evaluate | predict | bench | memory`.

A teacher prepares models before class with it, and other tools rely on its flags and on the last
line of `--json` output, so both are a stable contract. Bad arguments or files end with exit code 2
and one readable line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, NoReturn

from rnnviz.checkpoints import CheckpointError
from rnnviz.data import DATASETS, DatasetUnavailableError
from rnnviz.models import CELLS
from rnnviz.training import DEVICES, OPTIMIZERS, SCHEDULES


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


class UsageError(ValueError):
    """Bad input from the command line; printed as one line."""


def _json_line(data: dict[str, Any]) -> None:
    print(json.dumps(data, default=float), flush=True)


def add_train_parser(sub: Any) -> None:
    p = sub.add_parser("train", help="train a model and write its checkpoint")
    p.add_argument("--preset", help="start from a preset (see `presets`)")
    p.add_argument("--dataset", choices=sorted(DATASETS))
    p.add_argument("--cell", choices=list(CELLS))
    p.add_argument("--hidden", type=int, help="hidden units per layer")
    p.add_argument("--layers", type=int)
    p.add_argument("--bidirectional", action="store_true", default=None)
    p.add_argument("--dropout", type=float)
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--optimizer", choices=list(OPTIMIZERS))
    p.add_argument("--schedule", choices=list(SCHEDULES))
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--grad-clip", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--val-fraction", type=float)
    p.add_argument("--device", choices=list(DEVICES), default="auto")
    p.add_argument("--no-cuda-graphs", action="store_true", help="train eagerly on CUDA")
    p.add_argument("--data-dir", help="folder with <Name>/raw/*.gz (default: $RNNVIZ_DATA_DIR)")
    p.add_argument("--out", default="runs", help="folder the checkpoint folder is created in")
    p.add_argument("--name", help="checkpoint folder name (default: from the model)")
    p.add_argument("--json", action="store_true", help="last line: one JSON object")


def run_config_from_args(args: argparse.Namespace) -> Any:
    from rnnviz.presets import preset_run
    from rnnviz.training import RunConfig

    run = preset_run(args.preset) if args.preset else RunConfig()
    model = {
        "cell": args.cell, "hidden_size": args.hidden, "num_layers": args.layers,
        "bidirectional": args.bidirectional, "dropout": args.dropout,
    }  # fmt: skip
    train = {
        "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
        "optimizer": args.optimizer, "schedule": args.schedule, "seed": args.seed,
        "weight_decay": args.weight_decay, "grad_clip": args.grad_clip, "device": args.device,
    }  # fmt: skip
    if args.no_cuda_graphs:
        train["cuda_graphs"] = False
    data = {"dataset": args.dataset, "data_dir": args.data_dir, "val_fraction": args.val_fraction}
    return replace(
        run,
        model=replace(run.model, **{k: v for k, v in model.items() if v is not None}),
        train=replace(run.train, **{k: v for k, v in train.items() if v is not None}),
        data=replace(run.data, **{k: v for k, v in data.items() if v is not None}),
    )


def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from rnnviz.runs import run_title, train_and_save

    run = run_config_from_args(args)
    bar = tqdm(
        total=None, unit="step", desc=run_title(run), file=sys.stderr, leave=False,
        mininterval=0.5, disable=not sys.stderr.isatty(),
    )  # fmt: skip

    def emit(event: dict[str, Any]) -> None:
        if event["kind"] == "start":
            bar.reset(total=event["total_steps"])
            bar.write(
                f"{run_title(run)} on {event['device']} · {event['parameters']:,} parameters",
                file=sys.stderr,
            )
        elif event["kind"] == "step":
            bar.n = event["step"]
            bar.set_postfix(loss=f"{event['loss']:.3f}", refresh=False)
            bar.refresh()
        elif event["kind"] == "epoch":
            bar.write(
                f"epoch {event['epoch']}/{event['epochs']}  train {event['train_acc']:.2%}  "
                f"val {event['val_acc']:.2%}  {event['elapsed_s']:.1f} s",
                file=sys.stderr,
            )

    summary = train_and_save(run, out=args.out, name=args.name, emit=emit)
    bar.close()
    acc = summary["test_accuracy"]
    line = f"{summary['status']}: {summary['message']} in {summary['seconds']:.1f} s"
    if acc is not None:
        line += f"; test accuracy {acc:.2%}"
    print(line + (f"; checkpoint {summary['checkpoint']}" if summary["checkpoint"] else ""))
    if args.json:
        _json_line(
            {k: summary[k] for k in summary if k not in ("history", "test_metrics")}
            | {"config": run.to_dict()}
        )
    return 0 if summary["status"] != "failed" else 1


def cmd_presets(args: argparse.Namespace) -> int:
    from rnnviz.presets import PRESETS

    if args.json:
        for p in PRESETS.values():
            _json_line({"key": p.key, "title": p.title, "reported": p.reported, **p.run.to_dict()})
        return 0
    for p in PRESETS.values():
        figure = f"{p.reported:.2f} %" if p.reported is not None else "—"
        print(f"{p.key:<24} {figure:>8}  {p.title}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from rnnviz.evaluation import evaluate_checkpoint

    report = evaluate_checkpoint(args.checkpoint, data_dir=args.data_dir, device=args.device)
    accuracy, dataset = report["test_accuracy"], report["dataset"]
    print(f"{report['checkpoint']}: test accuracy {accuracy:.2%} on {dataset}")
    print(f"{'class':<14}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for row in report["per_class"]:
        print(
            f"{row['name']:<14}{row['precision']:>10.3f}{row['recall']:>10.3f}"
            f"{row['f1']:>10.3f}{row['support']:>9}"
        )
    if args.json:
        _json_line(report)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from rnnviz.evaluation import predict_files

    rows = predict_files(args.checkpoint, args.images, device=args.device, naive=args.naive)
    for row in rows:
        if args.json:
            _json_line(row)
        elif "error" in row:
            print(f"{row['file']}: {row['error']}")
        else:
            print(f"{row['file']}: {row['label']} ({max(row['probabilities']):.1%})")
    return 0 if all("error" not in r for r in rows) else 1


def cmd_bench(args: argparse.Namespace) -> int:
    from rnnviz.bench import run_bench

    report = run_bench(
        device=args.device, data_dir=args.data_dir, steps=args.steps, rounds=args.rounds
    )
    for line in report["lines"]:
        print(line)
    if args.json:
        _json_line({k: v for k, v in report.items() if k != "lines"})
    return 0


def build_parser() -> argparse.ArgumentParser:
    from rnnviz.memory import add_memory_parser

    parser = _Parser(prog="rnnviz", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("presets", help="list the presets and the figures the seeds reported")
    p.add_argument("--json", action="store_true")
    add_train_parser(sub)
    p = sub.add_parser("evaluate", help="test accuracy and per-class figures of a checkpoint")
    p.add_argument("checkpoint")
    p.add_argument("--data-dir")
    p.add_argument("--device", choices=list(DEVICES), default="auto")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("predict", help="read pictures of digits (PNG/JPEG, any size)")
    p.add_argument("checkpoint")
    p.add_argument("images", nargs="+")
    p.add_argument("--naive", action="store_true", help="plain resize instead of MNIST's recipe")
    p.add_argument("--device", choices=list(DEVICES), default="cpu")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p = sub.add_parser("bench", help="the seeds' DataLoader loop against rnnviz's trainer")
    p.add_argument("--device", choices=list(DEVICES), default="auto")
    p.add_argument("--data-dir")
    p.add_argument("--steps", type=int, default=None, help="steps timed per loop and round")
    p.add_argument("--rounds", type=int, default=3, help="turns each loop takes; medians compared")
    p.add_argument("--json", action="store_true")
    add_memory_parser(sub)
    return parser


COMMANDS = {
    "train": cmd_train,
    "presets": cmd_presets,
    "evaluate": cmd_evaluate,
    "predict": cmd_predict,
    "bench": cmd_bench,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "memory":
            from rnnviz.memory import run_memory

            return run_memory(args)
        return COMMANDS[args.command](args)
    except (ValueError, CheckpointError, DatasetUnavailableError, FileNotFoundError) as exc:
        print(f"rnnviz {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rnnviz {args.command}: interrupted", file=sys.stderr)
        return 130
