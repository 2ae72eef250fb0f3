"""Saved runs on disk: one folder per run, holding `model.safetensors`, `meta.json` and, since
states are kept, `state.safetensors` (the optimiser and random state to go on from;
`rnnviz.storage.states`).

A checkpoint is plain data. Weights are read with safetensors' own header parser and never with
`torch.load` or pickle, so opening a file someone handed in cannot run code. `meta.json` is the
run's `RunRecord` (the config that rebuilds the model, class names, history, test metrics) plus
bookkeeping (format version, creation time, versions); every tensor's name, shape and dtype is
checked against the model that config builds before any weights are loaded. Format version 1
files are read through `record.upgrade_meta`. Folders are written atomically
(`rnnviz.common.files`); a running job's snapshot is replaced by the next one the same way.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import nn

from rnnviz.common.files import (
    UnsafeFileError,
    check_name,
    read_capped,
    replace_folder,
    write_atomically,
)
from rnnviz.models.network import ModelConfig, build_model
from rnnviz.storage.meta import (
    MAX_META_BYTES,
    MetaError,
    meta_bytes,
    meta_of,
    parse_meta,
)
from rnnviz.storage.states import STATE_FILE, STATE_KEY, WRITER_KEY, read_state, state_files, writer
from rnnviz.storage.weights import (
    MAX_WEIGHTS_BYTES,
    SAFETENSORS_ERRORS,
    WeightsError,
    check_finite,
    check_weights_size,
    compare_headers,
    expected_header,
    header_of,
    read_header,
)
from rnnviz.training.record import RunRecord
from rnnviz.training.resume import TrainState

WEIGHTS_FILE = "model.safetensors"
META_FILE = "meta.json"


class CheckpointError(ValueError):
    """A checkpoint (or a would-be one) is invalid; the message names the file and the problem."""


@contextmanager
def checkpoint_errors() -> Iterator[None]:
    """The lower layers' refusals (a name, a size, weights that do not fit) as CheckpointError."""
    try:
        yield
    except (UnsafeFileError, WeightsError, MetaError) as e:
        raise CheckpointError(str(e)) from None


@dataclass(frozen=True)
class CheckpointInfo:
    """What a listing needs to know about a checkpoint, read from its meta.json alone."""

    path: Path
    meta: dict[str, Any]  # as today's format, whichever version is on disk
    record: RunRecord

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def dataset(self) -> str:
        return self.record.dataset

    @property
    def cell(self) -> str:
        return self.record.config.model.cell

    @property
    def test_accuracy(self) -> float | None:
        return self.record.test_accuracy

    @property
    def created(self) -> str:
        created = self.meta.get("created")
        return created if isinstance(created, str) else ""


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint; `model` is in eval mode on the device that was asked for."""

    path: Path
    meta: dict[str, Any]
    record: RunRecord
    model: nn.Module

    @property
    def config(self) -> ModelConfig:
        return self.record.config.model

    @property
    def class_names(self) -> list[str]:
        return list(self.record.class_names)


def save_checkpoint(
    model: nn.Module,
    record: RunRecord,
    *,
    root: Path | str,
    name: str,
    state: TrainState | None = None,
) -> Path:
    """Write `model`'s weights, `record` and its training `state` (when given) to `root/name` (or
    `name-2`, ...); returns the folder. `record.config.model` must describe `model`."""
    return _save_tensors(_cpu_tensors(model), record, root=Path(root), name=name,
                         source="the model", state=state_files(state))  # fmt: skip


def save_weights(
    weights: bytes,
    record: RunRecord,
    *,
    root: Path | str,
    name: str,
    state: tuple[bytes, dict[str, Any]] | None = None,
    replacing: Path | None = None,
) -> Path:
    """Write safetensors `weights` made elsewhere (a Ray worker) with `record` and `state` (its
    tensors as safetensors bytes, its numbers), as `save_checkpoint` does; validated first: size,
    format, every tensor against `record.config.model` and finite values. `replacing` names a
    folder of the same run (its snapshot) that the new one takes the place of, atomically."""
    source = "the job's weights"
    if len(weights) > MAX_WEIGHTS_BYTES:
        raise CheckpointError(f"{source}: {len(weights)} bytes, over the {MAX_WEIGHTS_BYTES} limit")
    try:
        tensors = safetensors.torch.load(weights)
    except SAFETENSORS_ERRORS as e:
        raise CheckpointError(f"{source}: not a valid safetensors file ({e})") from e
    with checkpoint_errors():
        check_finite(tensors, source)
        if state is not None:
            model = build_model(record.config.model)
            read_state(state[0], state[1], model, "the job's state")
    return _save_tensors(tensors, record, root=Path(root), name=name, source=source,
                         state=state, replacing=replacing)  # fmt: skip


def weights_of(model: nn.Module) -> bytes:
    """`model`'s weights as the bytes of a safetensors file (what a remote job sends back)."""
    return safetensors.torch.save(_cpu_tensors(model))


def _cpu_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


def _save_tensors(
    tensors: dict[str, torch.Tensor],
    record: RunRecord,
    *,
    root: Path,
    name: str,
    source: str,
    state: tuple[bytes, dict[str, Any]] | None = None,
    replacing: Path | None = None,
) -> Path:
    with checkpoint_errors():
        check_name(name)
        compare_headers(expected_header(record.config.model), header_of(tensors), source)
        meta = meta_of(record, name) | ({STATE_KEY: state[1]} if state else {})
        if record.status == "interrupted":  # a snapshot: which process writes it
            meta[WRITER_KEY] = writer()
        content = meta_bytes(meta)

    def write(folder: Path) -> None:
        safetensors.torch.save_file(tensors, str(folder / WEIGHTS_FILE))
        if state is not None:
            (folder / STATE_FILE).write_bytes(state[0])
        (folder / META_FILE).write_bytes(content)

    if replacing is not None and replacing.is_dir():
        return replace_folder(replacing, write)
    return write_atomically(root, name, write)


def load_checkpoint(path: Path | str, *, device: str | torch.device = "cpu") -> Checkpoint:
    """Validate and load the checkpoint folder at `path`; the model comes back in eval mode."""
    path = Path(path)
    meta, record = _read_meta_and_record(path)
    weights, config = path / WEIGHTS_FILE, record.config.model
    with checkpoint_errors():
        check_weights_size(weights)
        try:
            found = read_header(weights)
        except SAFETENSORS_ERRORS as e:
            raise CheckpointError(f"{weights}: not a valid safetensors file ({e})") from e
        compare_headers(expected_header(config), found, str(weights))
    try:
        tensors = safetensors.torch.load_file(str(weights), device="cpu")
    except SAFETENSORS_ERRORS as e:
        raise CheckpointError(f"{weights}: could not load the weights ({e})") from e
    with checkpoint_errors():
        check_finite(tensors, str(weights))
    model = build_model(config)
    model.load_state_dict(tensors)
    return Checkpoint(path=path, meta=meta, record=record, model=model.to(device).eval())


def read_meta(path: Path | str) -> dict[str, Any]:
    """The validated meta.json of the checkpoint folder at `path` in today's format, without
    touching the weights."""
    return _read_meta_and_record(Path(path))[0]


def read_record(path: Path | str) -> RunRecord:
    """The run record of the checkpoint folder at `path`, its `checkpoint` set to that folder."""
    return _read_meta_and_record(Path(path))[1]


def list_checkpoints(*roots: Path | str) -> list[CheckpointInfo]:
    """Every valid checkpoint folder directly under each root, newest first.

    Missing roots, hidden folders (temporary writes) and invalid folders are skipped silently.
    """
    found: dict[Path, CheckpointInfo] = {}
    for root in map(Path, roots):
        try:
            entries = os.scandir(root)  # its entries know whether they are folders or links
        except OSError:
            continue
        with entries:
            base = root.resolve()  # once a root: every page run lists its models
            for entry in (e for e in entries if e.is_dir() and not e.name.startswith(".")):
                try:
                    info = checkpoint_info(root / entry.name)
                except (CheckpointError, WeightsError, OSError):
                    continue
                found[info.path.resolve() if entry.is_symlink() else base / entry.name] = info
    return sorted(found.values(), key=lambda info: (info.created, info.name), reverse=True)


_READ: OrderedDict[Path, tuple[tuple[int, ...], CheckpointInfo]] = OrderedDict()
_READ_LOCK = threading.Lock()


def checkpoint_info(folder: Path) -> CheckpointInfo:
    """One folder's checkpoint, read again only when its files changed: every page run lists the
    models in its sidebar, and parsing each meta.json (its whole history) every time was most of
    a page's cost. CheckpointError, WeightsError or OSError for a folder that holds none."""
    meta, weights = (folder / META_FILE).stat(), (folder / WEIGHTS_FILE).stat()
    stamp = tuple(getattr(st, f) for st in (meta, weights)
                  for f in ("st_ino", "st_mtime_ns", "st_size"))  # fmt: skip
    with _READ_LOCK:
        kept = _READ.get(folder)
        if kept is not None and kept[0] == stamp:
            _READ.move_to_end(folder)
            return kept[1]
    meta_data, record = _read_meta_and_record(folder)
    check_weights_size(folder / WEIGHTS_FILE)
    info = CheckpointInfo(path=folder, meta=meta_data, record=record)
    with _READ_LOCK:
        _READ[folder] = (stamp, info)
        while len(_READ) > 4096:
            _READ.popitem(last=False)
    return info


def _read_meta_and_record(path: Path) -> tuple[dict[str, Any], RunRecord]:
    if not path.is_dir():
        raise CheckpointError(f"{path}: no checkpoint folder here")
    meta_file = path / META_FILE
    if not meta_file.is_file():
        raise CheckpointError(f"{meta_file}: missing; {path} is not a checkpoint folder")
    try:
        with checkpoint_errors():
            raw = read_capped(meta_file, MAX_META_BYTES)
    except OSError as e:
        raise CheckpointError(f"{meta_file}: unreadable ({e})") from e
    with checkpoint_errors():
        meta, record = parse_meta(raw, str(meta_file))
    return meta, record.with_checkpoint(str(path), path.name)
