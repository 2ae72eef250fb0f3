"""A saved run's training state on disk, and a saved run read back to go on from.

Beside `model.safetensors` a checkpoint keeps `state.safetensors`: the optimiser's moments and
the random states (`rnnviz.training.resume.TrainState`), tensors only, never a pickle; their
numbers (step, schedule, rates) are meta.json's `train_state`. A checkpoint saved before states
were kept has neither, and goes on with a fresh optimiser. A state someone handed in is checked
before a byte of it is allocated: every tensor's name, shape and dtype against the moments the
checkpoint's own model and optimiser can have, read from the file's header alone.

`SavedRun` is a checkpoint's three files as bytes (what travels to a Ray worker, which shares no
disk with the server); `open_saved` validates them into the model and the `Resume` a run goes on
from. A snapshot (an interrupted run) says which process writes it (`writer`), so a listing tells
one that a live job still writes from one whose process died.
"""

from __future__ import annotations

import json
import os
import platform
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import nn

from rnnviz.common.files import read_capped
from rnnviz.models.network import build_model
from rnnviz.storage.meta import MAX_META_BYTES, MetaError, parse_meta
from rnnviz.storage.weights import (
    MAX_WEIGHTS_BYTES,
    SAFETENSORS_ERRORS,
    Header,
    WeightsError,
    check_finite,
    compare_headers,
    expected_header,
)
from rnnviz.training.record import RunRecord
from rnnviz.training.resume import Resume, TrainState, expected_moments

STATE_FILE = "state.safetensors"
STATE_KEY = "train_state"  # meta.json's key for the state's numbers
WRITER_KEY = "writer"  # meta.json's key for the process that writes a snapshot
MAX_STATE_BYTES = 3 * MAX_WEIGHTS_BYTES  # Adam keeps two moments per weight
PROCESS = uuid.uuid4().hex  # this process, among all that ever wrote snapshots here


@dataclass(frozen=True)
class SavedRun:
    """A checkpoint's files as bytes, plain data that travels to a worker."""

    name: str  # the folder's name
    meta: bytes
    weights: bytes
    state: bytes | None  # None: saved before states were kept


def read_saved(path: Path | str) -> SavedRun:
    """The checkpoint folder at `path` as bytes, each file capped; WeightsError or MetaError for
    a file missing or too large (the contents are checked by `open_saved`)."""
    path = Path(path)
    if not (path / "meta.json").is_file() or not (path / "model.safetensors").is_file():
        raise MetaError(f"{path}: not a checkpoint folder (meta.json and model.safetensors)")
    state_file = path / STATE_FILE
    return SavedRun(
        name=path.name,
        meta=read_capped(path / "meta.json", MAX_META_BYTES),
        weights=read_capped(path / "model.safetensors", MAX_WEIGHTS_BYTES),
        state=read_capped(state_file, MAX_STATE_BYTES) if state_file.is_file() else None,
    )


def open_saved(saved: SavedRun) -> tuple[nn.Module, RunRecord, Resume]:
    """The saved run's model, record and the `Resume` to go on from, every byte checked first;
    WeightsError or MetaError naming the file and the problem."""
    source = f"{saved.name}/"
    meta, record = parse_meta(saved.meta, source + "meta.json")
    config = record.config.model
    weights = source + "model.safetensors"
    tensors = _tensors(saved.weights, expected_header(config), weights, MAX_WEIGHTS_BYTES)
    model = build_model(config)
    model.load_state_dict(tensors)
    state = None
    if saved.state is not None and isinstance(meta.get(STATE_KEY), dict):
        state = read_state(saved.state, meta[STATE_KEY], model, source + STATE_FILE)
    steps = record.history.get("step") or [0]
    step = state.step if state is not None else int(steps[-1])
    resume = Resume(saved.name, step, dict(record.history), record.seconds, state)
    return model, record, resume


def read_state(raw: bytes, plain: Any, model: nn.Module, source: str) -> TrainState:
    """A state's tensors (safetensors bytes) and numbers, checked against `model` before anything
    is allocated."""
    optimizer = plain.get("optimizer") if isinstance(plain, dict) else None
    if not isinstance(plain, dict) or not isinstance(optimizer, str):
        raise MetaError(f"{source}: {STATE_KEY} must be an object naming its optimizer")
    try:
        allowed = expected_moments(model, optimizer)
    except KeyError:
        raise MetaError(f"{source}: optimizer={optimizer!r} is not one rnnviz keeps") from None
    found = header_of_bytes(raw, source)
    problems = [f"unexpected tensor {k!r}" for k in found if k not in allowed]
    for k, (shape, dtype) in found.items():
        if k in allowed and (shape, dtype) != allowed[k]:
            want = allowed[k]
            problems.append(f"{k!r} is {list(shape)} {dtype}, expected {list(want[0])} {want[1]}")
    problems += [f"missing tensor {k!r}" for k in ("rng.order", "rng.torch") if k not in found]
    if problems:
        raise WeightsError(f"{source}: state does not fit the model: {'; '.join(problems[:5])}")
    tensors = _tensors(raw, None, source, MAX_STATE_BYTES)
    try:
        return TrainState.from_plain(plain, tensors)
    except ValueError as e:
        raise MetaError(f"{source}: {STATE_KEY}: {e}") from None


def header_of_bytes(raw: bytes, source: str) -> Header:
    """The header of safetensors bytes, read without loading a tensor (8 bytes of length, then
    JSON): name -> (shape, dtype)."""
    if len(raw) < 8:
        raise WeightsError(f"{source}: not a safetensors file (too short)")
    (length,) = struct.unpack("<Q", raw[:8])
    if length > min(len(raw) - 8, 2**24):
        raise WeightsError(f"{source}: not a safetensors file (header of {length} bytes)")
    try:
        header = json.loads(raw[8 : 8 + length])
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise WeightsError(f"{source}: not a safetensors file ({e})") from None
    found: Header = {}
    for name, entry in header.items() if isinstance(header, dict) else ():
        if name == "__metadata__":
            continue
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if not isinstance(shape, list) or not all(isinstance(n, int) for n in shape):
            raise WeightsError(f"{source}: tensor {name!r} has no shape")
        found[str(name)] = (tuple(shape), str(entry.get("dtype")))
    return found


def _tensors(raw: bytes, expected: Header | None, source: str, cap: int) -> dict[str, torch.Tensor]:
    """Safetensors bytes loaded, after their header matched `expected` (when given)."""
    if len(raw) > cap:
        raise WeightsError(f"{source}: {len(raw)} bytes, over the {cap}-byte limit")
    if expected is not None:
        compare_headers(expected, header_of_bytes(raw, source), source)
    try:
        tensors = safetensors.torch.load(raw)
    except SAFETENSORS_ERRORS as e:
        raise WeightsError(f"{source}: could not load the tensors ({e})") from None
    check_finite(tensors, source)
    return tensors


def state_files(state: TrainState | None) -> tuple[bytes, dict[str, Any]] | None:
    """(tensor bytes, numbers) of a state to save; None without one."""
    return None if state is None else (state.tensor_bytes(), state.plain())


def writer() -> dict[str, Any]:
    """What a snapshot says of the process writing it."""
    return {"host": platform.node(), "pid": os.getpid(), "process": PROCESS}


def being_written(meta: dict[str, Any]) -> bool:
    """Is a live job still writing this snapshot? Its process is this one, or one still running
    on this host; a snapshot whose process is gone (or says none) is an interrupted run."""
    mark = meta.get(WRITER_KEY)
    if not isinstance(mark, dict) or mark.get("host") != platform.node():
        return False
    if mark.get("process") == PROCESS:
        return True
    pid = mark.get("pid")
    if not isinstance(pid, int) or pid == os.getpid() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
