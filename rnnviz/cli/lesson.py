"""`lesson`: run one lesson's experiments here, as the Lessons page's button does, and print its
figures beside the reported ones.

`python -m rnnviz lesson 5 --out checkpoints/lessons --ship` trains lesson 5's runs one after
another into the folder of the lessons' shipped models (`checkpoints/build-lessons.sh` does every
lesson), without their optimiser states, then prints the table: figure, source, reported, this
run, seconds. `--list` names the lessons. With
`--json` the last line is `{"lesson", "title", "device", "seconds", "jobs": [...], "figures":
[...]}`, each figure a row of the page's table.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from rnnviz.cli.commands import json_line
from rnnviz.common.devices import DEVICES, resolve_device
from rnnviz.lessons import LESSONS, get_lesson, lesson_jobs, lesson_models, lesson_results
from rnnviz.memory import Sweep
from rnnviz.storage.checkpoints import list_checkpoints
from rnnviz.storage.folders import ship
from rnnviz.training.control import Control
from rnnviz.training.events import EpochEnded, Event


def add_parser(sub: Any) -> None:
    p = sub.add_parser("lesson", help="run a lesson's experiments and print its figures")
    p.add_argument("number", nargs="?", type=int, help=f"one of {list(LESSONS)}")
    p.add_argument("--list", action="store_true", help="list the lessons and stop")
    p.add_argument("--device", choices=list(DEVICES), default="auto",
                   help="where to train (a CPU trains a lesson's CPU version)")  # fmt: skip
    p.add_argument("--data-dir", help="folder with <Name>/raw/*.gz (default: $RNNVIZ_DATA_DIR)")
    p.add_argument("--out", default="runs", help="folder the checkpoint folders are created in")
    p.add_argument("--json", action="store_true", help="one JSON object with `figures`, last")
    p.add_argument("--ship", action="store_true",
                   help="save as shipped: no optimiser state, history at 6 digits")  # fmt: skip


def _progress(title: str) -> Any:
    def emit(event: Event) -> None:
        if isinstance(event, EpochEnded):
            print(f"{title}: epoch {event.epoch}/{event.epochs}  train {event.train_acc:.2%}  "
                  f"{event.elapsed_s:.1f} s", file=sys.stderr)  # fmt: skip

    return emit


def cmd_lesson(args: argparse.Namespace) -> int:
    if args.list or args.number is None:
        for number, lesson in LESSONS.items():
            print(f"{number}  {lesson.title}  ({lesson.source})")
        return 0
    lesson = get_lesson(args.number)
    device = resolve_device(args.device)
    jobs = lesson_jobs(lesson, device_type=device.type, out=args.out, data_dir=args.data_dir,
                       device=args.device)  # fmt: skip
    ran, sweep, started = [], None, time.perf_counter()
    for job in jobs:
        print(f"{job.title} ({job.kind})", file=sys.stderr)
        begun = time.perf_counter()
        outcome = job.fn(Control(), _progress(job.title))
        seconds = time.perf_counter() - begun
        sweep = outcome if isinstance(outcome, Sweep) else sweep
        ran.append({"experiment": job.experiment, "kind": job.kind, "status": outcome.status,
                    "message": outcome.message, "seconds": round(seconds, 1)})  # fmt: skip
    infos = list_checkpoints(args.out)
    if args.ship:  # after every job: a later one may have gone on from an earlier one's state
        for info in lesson_models(lesson, infos).values():
            ship(info.path)
    rows = [r.row() for r in lesson_results(lesson, infos, memory=sweep)]
    for row in rows:
        print(f"{row['figure']} [{row['source']}]: reported {row['reported']}, this run "
              f"{row['this run']}, {row['seconds'] or '-'} s")  # fmt: skip
    total = round(time.perf_counter() - started, 1)
    if args.json:
        json_line({"lesson": lesson.number, "title": lesson.title, "device": device.type,
                   "seconds": total, "jobs": ran, "figures": rows})  # fmt: skip
    return 0 if all(r["status"] == "done" for r in ran) else 1
