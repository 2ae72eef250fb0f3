"""The image commands: `presets`, `train`, `evaluate`, `predict` and `bench`.

Each prints a readable summary; with `--json` the last line of stdout is one JSON object (for
`predict`, one per image), whose keys are a contract: `train` prints the run's record without its
history (`status`, `test_accuracy`, `seconds`, `checkpoint`, `config`, ...), `evaluate` prints
`test_accuracy` and `per_class` among others.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from rnnviz.cli.flags import add_flags, given
from rnnviz.common.devices import DEVICES
from rnnviz.data.datasets import DataConfig
from rnnviz.models.network import ModelConfig
from rnnviz.training.config import RunConfig, TrainConfig


def json_line(data: dict[str, Any]) -> None:
    """One line of strict JSON: NaN and infinities (no JSON has them) become null."""
    print(json.dumps(_strict(data), allow_nan=False), flush=True)


def _strict(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # a numpy or torch scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("presets", help="list the presets and the figures the seeds reported")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("train", help="train a model and write its checkpoint")
    p.add_argument("--preset", action="append", help="start from a preset (see `presets`); "
                   "give it more than once to train several, side by side with --ray")  # fmt: skip
    add_flags(p, ModelConfig, DataConfig, TrainConfig)
    p.add_argument("--no-cuda-graphs", action="store_true", help="train eagerly on CUDA")
    p.add_argument("--data-dir", help="folder with <Name>/raw/*.gz (default: $RNNVIZ_DATA_DIR)")
    p.add_argument("--out", default="runs", help="folder the checkpoint folder is created in")
    p.add_argument("--name", help="checkpoint folder name (default: from the model)")
    p.add_argument("--ray", metavar="ADDRESS", help="train on a Ray cluster: auto, host:6379, "
                   "ray://host:10001, or local (one started for this command)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="one JSON object per run, last")
    p.add_argument("--resume", metavar="CKPT", help="train on from a saved run's folder (its "
                   "weights and optimiser state); --epochs is then its whole length")  # fmt: skip
    p = sub.add_parser("export", help="a checkpoint as code: model.py, train.py, the weights")
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True, help="a new (or empty) folder to write")
    p = sub.add_parser("evaluate", help="test accuracy and per-class figures of a checkpoint")
    p.add_argument("checkpoint")
    p.add_argument("--data-dir")
    p.add_argument("--device", choices=list(DEVICES), default="auto")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("predict", help="read pictures of digits (PNG/JPEG, any size)")
    p.add_argument("images", nargs="+", metavar="[CKPT] IMAGES", help="picture files; a "
                   "checkpoint folder first reads with it (as --checkpoint does)")  # fmt: skip
    p.add_argument("--checkpoint", help="the model to read with (default: the one the Draw page "
                   "reads with first, the best shipped model for the data here)")  # fmt: skip
    p.add_argument("--data-dir", help="whose data decides the default model (default: "
                   "$RNNVIZ_DATA_DIR)")  # fmt: skip
    p.add_argument("--naive", action="store_true", help="plain resize instead of MNIST's recipe")
    p.add_argument("--device", choices=list(DEVICES), default="cpu")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p = sub.add_parser("bench", help="the seeds' DataLoader loop against rnnviz's trainer")
    p.add_argument("--device", choices=list(DEVICES), default="auto")
    p.add_argument("--data-dir")
    p.add_argument("--steps", type=int, default=None, help="steps timed per loop and round")
    p.add_argument("--rounds", type=int, default=3, help="turns each loop takes; medians compared")
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--skip-time-to-97",
        action="store_true",
        help="leave out the seconds of training until 97 %% test accuracy",
    )
    which.add_argument("--only-time-to-97", action="store_true",
                       help="time only that, not the seconds per epoch")  # fmt: skip
    p.add_argument("--max-epochs", type=float, default=3.0,
                   help="time to 97 %%: give up after this many epochs of MNIST")  # fmt: skip
    p.add_argument("--json", action="store_true")


def run_configs_from_args(args: argparse.Namespace) -> list[RunConfig]:
    """One run per `--preset` given (or the defaults), every other flag applied on top."""
    return [run_config_from_args(args, preset) for preset in args.preset or [None]]


def run_config_from_args(args: argparse.Namespace, preset: str | None = None) -> RunConfig:
    """The preset (or the defaults) with every flag the user gave applied on top."""
    from rnnviz.training.presets import preset_run

    run = preset_run(preset) if preset else RunConfig()
    train = given(args, TrainConfig) | ({"cuda_graphs": False} if args.no_cuda_graphs else {})
    data = given(args, DataConfig) | ({"data_dir": args.data_dir} if args.data_dir else {})
    return replace(
        run,
        model=replace(run.model, **given(args, ModelConfig)),
        data=replace(run.data, **data),
        train=replace(run.train, **train),
    )


def cmd_train(args: argparse.Namespace) -> int:
    from rnnviz.cli.cluster import Interrupted, resume_here, train_here, train_on_ray

    try:
        if args.resume:
            records = [resume_here(args)]
        else:
            runs = run_configs_from_args(args)
            names = [args.name] if len(runs) == 1 else [args.name and f"{args.name}-{p}"
                                                        for p in args.preset]  # fmt: skip
            records = train_on_ray(runs, names, args) if args.ray else train_here(runs, names, args)
    except Interrupted as stop:
        record = stop.record
        print(f"{record.title}: {record.status}: {record.message}; go on with: python -m rnnviz "
              f"train --resume {record.checkpoint}")  # fmt: skip
        if args.json:
            json_line(record.summary())
        return 130
    for record in records:
        line = f"{record.title}: {record.status}: {record.message} in {record.seconds:.1f} s"
        if record.test_accuracy is not None:
            line += f"; test accuracy {record.test_accuracy:.2%}"
        where = record.on_worker
        print(line + where + (f"; checkpoint {record.checkpoint}" if record.checkpoint else ""))
    if args.json:
        for record in records:
            json_line(record.summary())
    return 0 if all(record.status != "failed" for record in records) else 1


def cmd_export(args: argparse.Namespace) -> int:
    from rnnviz.storage.export import export_checkpoint

    folder = export_checkpoint(args.checkpoint, args.out)
    print(f"exported {args.checkpoint} to {folder}: model.safetensors, model.py, train.py, "
          "README.md")  # fmt: skip
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from rnnviz.training.presets import PRESETS

    if args.json:
        for p in PRESETS.values():
            json_line({"key": p.key, "title": p.title, "reported": p.reported, **p.run.to_dict()})
        return 0
    for p in PRESETS.values():
        figure = f"{p.reported:.2f} %" if p.reported is not None else "—"
        print(f"{p.key:<24} {figure:>8}  {p.title}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from rnnviz.storage.scoring import evaluate_checkpoint

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
        json_line(report)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from rnnviz.storage.scoring import predict_files

    checkpoint, images = predict_checkpoint(args)
    rows = predict_files(checkpoint, images, device=args.device, naive=args.naive)
    for row in rows:
        if args.json:
            json_line(row)
        elif "error" in row:
            print(f"{row['file']}: {row['error']}")
        else:
            print(f"{row['file']}: {row['label']} ({max(row['probabilities']):.1%})")
    return 0 if all("error" not in r for r in rows) else 1


def predict_checkpoint(args: argparse.Namespace) -> tuple[str, list[str]]:
    """(checkpoint, images) for `predict`: --checkpoint, else a checkpoint folder given first,
    else the model the Draw page reads with first."""
    from rnnviz.storage.checkpoints import META_FILE
    from rnnviz.storage.folders import draw_checkpoint, shipped_dir

    images = list(args.images)
    if args.checkpoint:
        return args.checkpoint, images
    if len(images) > 1 and (Path(images[0]) / META_FILE).is_file():
        return images[0], images[1:]
    info = draw_checkpoint(data_dir=args.data_dir)
    if info is None:
        raise ValueError(f"no checkpoint given and none shipped in {shipped_dir()}: "
                         "give --checkpoint CKPT")  # fmt: skip
    print(f"reading with {info.path} (the Draw page's first model)", file=sys.stderr)
    return str(info.path), images


def cmd_bench(args: argparse.Namespace) -> int:
    from rnnviz.bench.speed import run_bench

    report = run_bench(
        device=args.device,
        data_dir=args.data_dir,
        steps=args.steps,
        rounds=args.rounds,
        time_to_97=not args.skip_time_to_97,
        per_epoch=not args.only_time_to_97,
        max_epochs=args.max_epochs,
    )
    for line in report["lines"]:
        print(line)
    if args.json:
        json_line({k: v for k, v in report.items() if k != "lines"})
    return 0
