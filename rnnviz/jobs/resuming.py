"""Nothing running is lost: a job's run folder on disk, and the settings of a run that trains on.

A `RunFolder` is where one training job's run lives: at the end of every epoch the job's snapshot
(its weights, its state, its record marked "interrupted at epoch k/n") replaces the last one there
atomically, and the finished run's checkpoint takes the snapshot's place at the end. A process
that dies leaves the last snapshot, which a server started again lists as an interrupted run;
nothing else in the owner's folder is touched, and the folder counts once against their cap.

`train_on` is the run that goes on from a saved one: the saved run's model and data, its training
settings with the changes asked for, and its length in epochs (the planned length while the saved
run has epochs left; else as many epochs again).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from rnnviz.common.files import write_replacing
from rnnviz.storage.checkpoints import (
    META_FILE,
    CheckpointError,
    list_checkpoints,
    read_meta,
    save_weights,
)
from rnnviz.storage.meta import meta_bytes
from rnnviz.storage.states import WRITER_KEY
from rnnviz.training.config import RunConfig, run_key
from rnnviz.training.events import EpochState
from rnnviz.training.record import RunRecord

log = logging.getLogger(__name__)
KEPT = "its last epoch's snapshot is kept as an interrupted run"


class RunFolder:
    """One job's folder in `out`: created by its first snapshot (or given: a run resumed in its
    own folder), replaced by each later one and by the checkpoint at the end."""

    def __init__(self, out: Path, name: str, path: Path | None = None) -> None:
        self.out, self.name, self.path = out, name, path

    def keep(self, event: EpochState) -> None:
        """Write the snapshot of an epoch's end; a failure (a full disk) is logged, and the run
        goes on: it loses its safety net, not its work."""
        weights, tensors = event.files()
        try:
            record = RunRecord.from_dict(event.record).with_checkpoint(None, self.name)
            self.path = save_weights(weights, record, root=self.out, name=self.name,
                                     state=(tensors, dict(event.state)),
                                     replacing=self.path)  # fmt: skip
        except (OSError, ValueError):
            log.exception("the snapshot of epoch %s was not written", event.epoch)

    def save(self, record: RunRecord, weights: bytes,
             state: tuple[bytes, dict[str, Any]] | None) -> RunRecord:  # fmt: skip
        """The run's checkpoint, in its snapshot's place when it has one; its record."""
        path = save_weights(weights, record.with_checkpoint(None, self.name), root=self.out,
                            name=self.name, state=state, replacing=self.path)  # fmt: skip
        self.path = path
        return record.with_checkpoint(str(path), path.name)

    def release(self) -> str:
        """The job has ended without a checkpoint (it failed, or its worker died): its snapshot
        is left as an interrupted run, marked as written by no one; what to tell people."""
        if self.path is None or not self.path.is_dir():
            return ""
        try:
            meta = read_meta(self.path)
            meta.pop(WRITER_KEY, None)
            write_replacing(self.path / META_FILE, meta_bytes(meta))
        except (OSError, ValueError):
            log.exception("the snapshot in %s was not released", self.path)
        return KEPT


def train_on(record: RunRecord, *, epochs: int | None = None, **train: Any) -> RunConfig:
    """The settings of a run going on from `record`'s: its model and data, its training settings
    with `train`'s changes, `epochs` long in all (by default the planned length while epochs are
    left, else as many epochs again); ValueError for a length it has already trained."""
    config, done = record.config, len(record.history.get("epoch") or [])
    planned = config.train.epochs
    length = epochs if epochs is not None else (planned if done < planned else done + planned)
    if length <= done:
        raise ValueError(
            f"{record.name or record.title} has trained {done} epochs; to train on, give more "
            f"epochs in all than that (epochs={length})"
        )
    return replace(config, train=replace(config.train, epochs=length, **train))


def newest_of(run: RunConfig, out: Path | str) -> Path | None:
    """The newest saved run in `out` with `run`'s settings (done or stopped), to train on from."""
    key = run_key(run)
    try:
        infos = list_checkpoints(out)
    except (OSError, CheckpointError):
        return None
    same = [i for i in infos if i.record.status in ("done", "stopped")
            and run_key(i.record.config) == key]  # fmt: skip
    return same[0].path if same else None
