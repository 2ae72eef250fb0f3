"""The same work trains once: what makes two Starts the same work, and each joiner's own copy.

In a class most students press Start on the lesson's preset: the same settings, the same seed, the
same result (CPU training is bit-for-bit repeatable). `work_key` is what makes two runs (or races)
the same work: their complete settings, less the machine's folders, and the kind of device they
train on. A student whose Start matches a live job joins it (`JobManager.submit(key=...)`); when it
ends, `delivery` copies each saved model into the joiner's own runs folder, so deleting or renaming
it there changes only their list. `finished_match` finds a run with the same settings that already
finished on this server, which the Train page offers before training it again.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from rnnviz.common.devices import resolve_device
from rnnviz.common.files import write_atomically
from rnnviz.jobs.job import Deliver
from rnnviz.jobs.races import RaceRecord
from rnnviz.jobs.runs import check_room
from rnnviz.jobs.snapshots import Outcome
from rnnviz.storage.checkpoints import CheckpointInfo
from rnnviz.storage.states import STATE_FILE
from rnnviz.training.config import RunConfig, run_key
from rnnviz.training.record import RunRecord

CHECKPOINT_FILES = ("model.safetensors", "meta.json", STATE_FILE)  # the state when it has one


def device_kind(device: str) -> str:
    """ "cuda" or "cpu": what `device` ("auto", "cpu", "cuda") means on this machine."""
    return resolve_device(device).type


def work_key(run: RunConfig, *, cells: Sequence[str] = ()) -> str:
    """Equal for the same work: a run's settings and device kind, and a race's cells."""
    kind = device_kind(run.train.device)
    return json.dumps({"run": run_key(run), "device": kind, "race": list(cells)}, sort_keys=True)


def copy_run(record: RunRecord, out: Path | str) -> RunRecord:
    """A saved run's folder copied into `out` under a free name; the record of the copy. A run
    that saved nothing (it failed) is returned as it is."""
    if not record.checkpoint:
        return record
    source = Path(record.checkpoint)

    def fill(folder: Path) -> None:
        for name in CHECKPOINT_FILES:
            if name != STATE_FILE or (source / name).is_file():
                shutil.copyfile(source / name, folder / name)

    check_room(out)  # the joiner's own cap on saved runs holds for a copy too
    path = write_atomically(Path(out), source.name, fill)
    return record.with_checkpoint(str(path), path.name)


def delivery(out: Path | str) -> Deliver:
    """What a joiner gets when a shared job ends: its saved models copied into `out`."""

    def deliver(result: Outcome) -> Outcome:
        if isinstance(result, RunRecord):
            return copy_run(result, out)
        if isinstance(result, RaceRecord):
            return RaceRecord(tuple(copy_run(r, out) for r in result.records))
        return result  # a memory-lab run or a crash: nothing saved to copy

    return deliver


def finished_match(run: RunConfig, infos: Iterable[CheckpointInfo]) -> CheckpointInfo | None:
    """The newest finished run among `infos` with `run`'s settings (its device kind too)."""
    key, kind = run_key(run), device_kind(run.train.device)
    same = [
        i
        for i in infos
        if i.record.status == "done"
        and not i.record.resumed_from  # trained on from another run: not the same work
        and run_key(i.record.config) == key
        and _trained_on(i.record) == kind
    ]
    return max(same, key=lambda i: i.path.stat().st_mtime, default=None)


def _trained_on(record: RunRecord) -> str:
    return "cpu" if record.device.upper() == "CPU" else "cuda"
