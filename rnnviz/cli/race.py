"""`race`: 2 to 4 cells trained in one job on the same batches, then a table, here or on Ray.

`python -m rnnviz race --cells rnn_tanh,lstm,gru --hidden 64 --epochs 2` prints one line per
epoch per cell on stderr and the table on stdout; with `--json` the last line is one object whose
`results` list holds, per cell, `cell`, `test_accuracy`, `seconds` and `checkpoint` (and
`parameters`, `seconds_per_epoch`, `lock_in_row`, `status`, `title`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rnnviz.cli.commands import json_line
from rnnviz.cli.flags import add_flag, add_flags, given
from rnnviz.common.settings import declared
from rnnviz.data.datasets import DataConfig
from rnnviz.jobs.races import RACE_CELLS, RaceConfig, RaceRecord, race_job
from rnnviz.jobs.snapshots import OwnerLimits
from rnnviz.models.cells import CELLS
from rnnviz.models.network import ModelConfig
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.control import Control
from rnnviz.training.events import EpochEnded, Event

if TYPE_CHECKING:
    from rnnviz.jobs.manager import JobManager

OWNER = "c11c11c1"


def add_parser(sub: Any) -> None:
    p = sub.add_parser("race", help="2 to 4 cells trained side by side on the same batches")
    p.add_argument("--cells", required=True,
                   help=f"comma-separated, 2 to 4 of {','.join(RACE_CELLS)}")  # fmt: skip
    add_flags(p, DataConfig, TrainConfig)
    model = dict(declared(ModelConfig))
    for name in ("hidden_size", "num_layers", "bidirectional", "dropout", "order"):  # not the cell
        add_flag(p, name, model[name])
    p.add_argument("--data-dir", help="folder with <Name>/raw/*.gz (default: $RNNVIZ_DATA_DIR)")
    p.add_argument("--out", default="runs", help="folder the checkpoint folders are created in")
    p.add_argument("--ray", metavar="ADDRESS", help="race on a Ray cluster (auto, host:6379, "
                   "local)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="one JSON object with `results`, last")


def race_config_from_args(args: argparse.Namespace) -> RaceConfig:
    run = RunConfig()
    data = given(args, DataConfig) | ({"data_dir": args.data_dir} if args.data_dir else {})
    run = replace(
        run,
        model=replace(run.model, **given(args, ModelConfig)),
        data=replace(run.data, **data),
        train=replace(run.train, **given(args, TrainConfig)),
    )
    cells = tuple(c.strip() for c in args.cells.split(",") if c.strip())
    return RaceConfig(run, cells)


def cmd_race(args: argparse.Namespace) -> int:
    config = race_config_from_args(args)
    print(f"{config.title()}: {len(config.cells)} models on the same batches", file=sys.stderr)
    job = race_job(config, out=args.out)
    record = _on_ray(job, config, args.ray) if args.ray else job(Control(), _progress(config))
    if not isinstance(record, RaceRecord):  # the worker died, or the cluster failed the job
        print(f"the race failed: {record.message}", file=sys.stderr)
        if args.json:
            json_line({"status": record.status, "message": record.message, "results": []})
        return 1
    for row in record.results():
        acc = row["test_accuracy"]
        lock = row["lock_in_row"]
        acc_text = "-" if acc is None else f"{acc:.2%}"
        lock_text = "-" if lock is None else f"{lock:.1f}"
        print(f"{row['title']}: {row['status']}, {row['parameters']:,} parameters, "
              f"{row['seconds_per_epoch'] or 0:.1f} s/epoch, test accuracy {acc_text}, locks in "
              f"at row {lock_text}; checkpoint {row['checkpoint']}")  # fmt: skip
    if args.json:
        json_line({"status": record.status, "message": record.message,
                   "title": config.title(), "results": record.results()})  # fmt: skip
    return 0 if record.status != "failed" else 1


def _progress(config: RaceConfig) -> Any:
    def emit(event: Event) -> None:
        if isinstance(event, EpochEnded):
            tag = CELLS[config.cells[event.lane]].tag
            print(f"{tag}: epoch {event.epoch}/{event.epochs}  train {event.train_acc:.2%}  "
                  f"val {event.val_acc:.2%}  {event.elapsed_s:.1f} s", file=sys.stderr)  # fmt: skip

    return emit


def _on_ray(job: Any, config: RaceConfig, address: str) -> Any:
    from rnnviz.jobs.backends import RAY_ADDRESS_ENV, backend_from_env
    from rnnviz.jobs.manager import JobManager

    backend = backend_from_env({**os.environ, RAY_ADDRESS_ENV: address})
    jobs = JobManager(backend=backend, limits=OwnerLimits(running=1, queued=0))
    try:
        return _watch(jobs, job, config)
    finally:
        backend.close()  # its warm workers go with it


def _watch(jobs: JobManager, job: Any, config: RaceConfig) -> Any:
    job_id = jobs.submit(job, owner=OWNER, title=config.title(), kind="race",
                         config=config.to_dict())  # fmt: skip
    print(jobs.backend.describe(), file=sys.stderr)
    emit, told = _progress(config), 0
    while True:
        snap = jobs.snapshot(job_id)
        assert snap is not None
        for event in snap.of(EpochEnded)[told:]:
            emit(event)
        told = len(snap.of(EpochEnded))
        if not snap.active:
            return snap.result
        time.sleep(0.5)
