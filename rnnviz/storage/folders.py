"""Saved run folders as a person manages them: the one to select first, rename, delete, and the
interrupted runs.

The shipped models live in `shipped_dir()` ($RNNVIZ_CHECKPOINTS_DIR, else the checkout's
`checkpoints/`); `draw_checkpoint` is the one of them the Draw page reads with before anyone
chose a model, which is also what `python -m rnnviz predict` reads with when given none.

A run whose process died leaves its last epoch's snapshot: a checkpoint folder whose record says
"interrupted at epoch k/n" and whose writer is gone. `interrupted_runs` lists them (a snapshot a
live job still writes is not one); each can be resumed by the same job or discarded.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from rnnviz.common.files import check_name, read_capped, recover_replaced, write_replacing
from rnnviz.data.datasets import DATASETS, dataset_available, default_dataset
from rnnviz.storage.checkpoints import (
    META_FILE,
    CheckpointError,
    CheckpointInfo,
    checkpoint_errors,
    list_checkpoints,
    read_meta,
)
from rnnviz.storage.meta import FORMAT, MAX_META_BYTES, meta_bytes
from rnnviz.storage.states import STATE_FILE, STATE_KEY, being_written

SHIPPED_ENV = "RNNVIZ_CHECKPOINTS_DIR"  # where the shipped models are, when not in the checkout


def shipped_dir() -> Path:
    """The folder of the shipped models: $RNNVIZ_CHECKPOINTS_DIR, else `checkpoints/` beside
    the `rnnviz` package."""
    return Path(os.environ.get(SHIPPED_ENV, Path(__file__).resolve().parents[2] / "checkpoints"))


def best_checkpoint(
    infos: Sequence[CheckpointInfo], *, data_dir: str | None = None
) -> CheckpointInfo | None:
    """The model to select before anyone chose one: the best reader of the data that is here.

    Among the checkpoints whose dataset is on this machine, those of the default dataset (MNIST
    when its files are here) come first, then any other downloaded one, the offline digits only
    when nothing else is here; within those, the highest test accuracy. With none of their
    datasets here, the first of `infos`.
    """
    default = default_dataset(data_dir)

    def rank(info: CheckpointInfo) -> tuple[bool, bool, float]:
        return (info.dataset != "digits", info.dataset == default, info.test_accuracy or 0.0)

    here = [i for i in infos if i.dataset in DATASETS and dataset_available(i.dataset, data_dir)]
    if not here:
        return infos[0] if infos else None
    return max(here, key=rank)


def draw_checkpoint(*, data_dir: str | None = None) -> CheckpointInfo | None:
    """The shipped model a first visit to the Draw page reads with: `best_checkpoint` of
    `shipped_dir()` for the data on this machine; None when nothing is shipped."""
    return best_checkpoint(list_checkpoints(shipped_dir()), data_dir=data_dir)


def interrupted_runs(*roots: Path | str) -> list[CheckpointInfo]:
    """The interrupted runs directly under each root, newest first: snapshots no live job writes
    (a folder a crash left renamed aside is put back first)."""
    for root in roots:
        recover_replaced(Path(root))
    return [i for i in list_checkpoints(*roots)
            if i.record.status == "interrupted" and not being_written(i.meta)]  # fmt: skip


def delete_checkpoint(path: Path | str) -> None:
    """Delete a checkpoint folder; anything that is not clearly one is refused."""
    path = Path(path)
    meta_file = path / META_FILE
    if path.is_symlink() or not path.is_dir() or not meta_file.is_file():
        raise CheckpointError(f"{path}: not a checkpoint folder (no {META_FILE}); not deleting")
    try:
        with checkpoint_errors():
            meta = json.loads(read_capped(meta_file, MAX_META_BYTES))
    except (ValueError, OSError) as e:
        raise CheckpointError(f"{meta_file}: unreadable ({e}); not deleting") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{meta_file}: format is not {FORMAT!r}; not deleting {path}")
    for entry in path.iterdir():
        if entry.is_symlink() or not entry.is_file():
            raise CheckpointError(f"{path}: contains {entry.name!r}, not a file; not deleting")
    shutil.rmtree(path)


def rename_checkpoint(path: Path | str, new_name: str) -> Path:
    """Rename a checkpoint folder (and the name in its meta.json); returns the new folder."""
    path = Path(path)
    with checkpoint_errors():
        check_name(new_name)
    meta = read_meta(path)
    target = path.parent / new_name
    if target.exists() or target.is_symlink():
        raise CheckpointError(f"{target}: already exists; choose another name")
    path.rename(target)
    with checkpoint_errors():
        write_replacing(target / META_FILE, meta_bytes({**meta, "name": new_name}))
    return target


def drop_state(path: Path | str) -> bool:
    """A checkpoint without its training state, as models are shipped (a third of the size for
    Adam): it still loads and trains on, from its weights with a fresh optimiser, and says so.
    False when it had none."""
    path = Path(path)
    meta = read_meta(path)
    if STATE_KEY not in meta and not (path / STATE_FILE).exists():
        return False
    meta.pop(STATE_KEY, None)
    with checkpoint_errors():
        write_replacing(path / META_FILE, meta_bytes(meta))  # the meta first: never a stray key
        (path / STATE_FILE).unlink(missing_ok=True)
    return True


def ship(path: Path | str) -> None:
    """A checkpoint made ready to ship: without its training state (`drop_state`) and with its
    history's numbers at 6 significant digits (a long run's per-step history was half a
    megabyte of digits no chart shows)."""
    path = Path(path)
    drop_state(path)
    meta = read_meta(path)
    history = meta.get("history")
    if isinstance(history, dict):
        meta["history"] = {k: [_short(v) for v in values] if isinstance(values, list) else values
                           for k, values in history.items()}  # fmt: skip
    with checkpoint_errors():
        write_replacing(path / META_FILE, meta_bytes(meta))


def _short(value: object) -> object:
    return float(f"{value:.6g}") if isinstance(value, float) else value
