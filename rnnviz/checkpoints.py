"""Saved runs on disk: one folder per run, holding `model.safetensors` and `meta.json`.

A checkpoint is plain data. Weights are read with safetensors' own header parser and never with
`torch.load` or pickle, so opening a file someone handed in cannot run code. `meta.json` is the
run's `RunRecord` (the config that rebuilds the model, class names, history, test metrics) plus
bookkeeping (format version, creation time, versions); every tensor's name, shape and dtype is
checked against the model that config builds before any weights are loaded. Format version 1
files are read through `record.upgrade_meta`. Folders are written atomically (`rnnviz.files`).
"""

from __future__ import annotations

import json
import platform
import shutil
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch
from torch import nn

import rnnviz
from rnnviz.files import UnsafeFileError, check_name, read_capped, write_atomically, write_replacing
from rnnviz.models import ModelConfig, build_model
from rnnviz.record import RunRecord, model_config_of, upgrade_meta

FORMAT = "rnnviz-checkpoint"
FORMAT_VERSION = 2  # 2: meta.json is a RunRecord; 1 is still read
READABLE_VERSIONS = (1, 2)
MAX_WEIGHTS_BYTES = 64 * 2**20  # larger weight files are refused
MAX_META_BYTES = 16 * 2**20  # larger meta.json files are refused
WEIGHTS_FILE = "model.safetensors"
META_FILE = "meta.json"
# torch dtype -> the code a safetensors header uses for it
_DTYPE_CODES = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
SAFETENSORS_ERRORS = (safetensors.SafetensorError, OSError, ValueError, TypeError, RuntimeError)

Header = dict[str, tuple[tuple[int, ...], str]]  # tensor name -> (shape, safetensors dtype code)


class CheckpointError(ValueError):
    """A checkpoint (or a would-be one) is invalid; the message names the file and the problem."""


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


def save_checkpoint(model: nn.Module, record: RunRecord, *, root: Path | str, name: str) -> Path:
    """Write `model`'s weights and `record` to `root/name` (or `name-2`, ...); returns the folder.

    `record.config.model` must describe `model` (its state dict must match the one it builds).
    """
    _check_name(name)
    meta = _meta_of(record, name)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    found = {k: (tuple(v.shape), _dtype_code(v.dtype)) for k, v in tensors.items()}
    compare_headers(expected_header(record.config.model), found, "the model to save")
    meta_bytes = _meta_bytes(meta)

    def write(folder: Path) -> None:
        safetensors.torch.save_file(tensors, str(folder / WEIGHTS_FILE))
        (folder / META_FILE).write_bytes(meta_bytes)

    return write_atomically(Path(root), name, write)


def load_checkpoint(path: Path | str, *, device: str | torch.device = "cpu") -> Checkpoint:
    """Validate and load the checkpoint folder at `path`; the model comes back in eval mode."""
    path = Path(path)
    meta, record = _read_meta_and_record(path)
    weights = path / WEIGHTS_FILE
    check_weights_size(weights)
    try:
        with safetensors.safe_open(str(weights), framework="pt") as f:
            names = f.keys()  # a safe_open handle is not iterable itself
            found = {k: _slice_header(f.get_slice(k)) for k in names}
    except SAFETENSORS_ERRORS as e:
        raise CheckpointError(f"{weights}: not a valid safetensors file ({e})") from e
    config = record.config.model
    compare_headers(expected_header(config), found, str(weights))
    model = build_model(config)
    try:
        model.load_state_dict(safetensors.torch.load_file(str(weights), device="cpu"))
    except SAFETENSORS_ERRORS as e:
        raise CheckpointError(f"{weights}: could not load the weights ({e})") from e
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
        if not root.is_dir():
            continue
        for folder in root.iterdir():
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            try:
                meta, record = _read_meta_and_record(folder)
                check_weights_size(folder / WEIGHTS_FILE)
            except (CheckpointError, OSError):
                continue
            found[folder.resolve()] = CheckpointInfo(path=folder, meta=meta, record=record)
    return sorted(found.values(), key=lambda info: (info.created, info.name), reverse=True)


def delete_checkpoint(path: Path | str) -> None:
    """Delete a checkpoint folder; anything that is not clearly one is refused."""
    path = Path(path)
    meta_file = path / META_FILE
    if path.is_symlink() or not path.is_dir() or not meta_file.is_file():
        raise CheckpointError(f"{path}: not a checkpoint folder (no {META_FILE}); not deleting")
    try:
        meta = json.loads(_read_capped(meta_file, MAX_META_BYTES))
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
    _check_name(new_name)
    meta = read_meta(path)
    target = path.parent / new_name
    if target.exists() or target.is_symlink():
        raise CheckpointError(f"{target}: already exists; choose another name")
    path.rename(target)
    write_replacing(target / META_FILE, _meta_bytes({**meta, "name": new_name}))
    return target


def _read_meta_and_record(path: Path) -> tuple[dict[str, Any], RunRecord]:
    if not path.is_dir():
        raise CheckpointError(f"{path}: no checkpoint folder here")
    meta_file = path / META_FILE
    if not meta_file.is_file():
        raise CheckpointError(f"{meta_file}: missing; {path} is not a checkpoint folder")
    try:
        raw = _read_capped(meta_file, MAX_META_BYTES)
    except OSError as e:
        raise CheckpointError(f"{meta_file}: unreadable ({e})") from e
    meta, record = parse_meta(raw, str(meta_file))
    return meta, record.with_checkpoint(str(path), path.name)


def parse_meta(raw: bytes, source: str) -> tuple[dict[str, Any], RunRecord]:
    """meta.json's bytes -> (meta in today's format, its RunRecord); CheckpointError if bad."""
    if len(raw) > MAX_META_BYTES:
        raise CheckpointError(f"{source}: larger than the {MAX_META_BYTES}-byte limit")
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"{source}: not valid JSON ({e})") from e
    _check_format(meta, source)
    meta = upgrade_meta(meta)
    return meta, _validate_meta(meta, source)


def _check_format(meta: Any, source: str) -> None:
    if not isinstance(meta, dict):
        raise CheckpointError(f"{source}: must hold a JSON object, not {type(meta).__name__}")
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{source}: format={meta.get('format')!r}, expected {FORMAT!r}")
    version = meta.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise CheckpointError(
            f"{source}: format_version={version} was written by a newer rnnviz "
            f"(this one reads format_version {list(READABLE_VERSIONS)}); upgrade rnnviz to open it"
        )
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        raise CheckpointError(
            f"{source}: format_version={version!r}, expected one of {list(READABLE_VERSIONS)}"
        )


def _validate_meta(meta: dict[str, Any], source: str) -> RunRecord:
    """Check the fields this module relies on; returns the record, whose config builds the model."""
    if not isinstance(meta.get("name"), str):
        raise CheckpointError(f"{source}: name={meta.get('name')!r} must be a string")
    config = meta.get("config")
    data = config.get("data") if isinstance(config, dict) else None
    dataset = data.get("dataset") if isinstance(data, dict) else None
    if not isinstance(dataset, str):
        raise CheckpointError(f"{source}: dataset={dataset!r} must be a string")
    model = _config_from(model_config_of(meta), source)
    names = meta.get("class_names")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CheckpointError(f"{source}: class_names={names!r} must be a list of strings")
    if len(names) != model.num_classes:
        raise CheckpointError(
            f"{source}: {len(names)} class_names but model num_classes={model.num_classes}"
        )
    try:
        return RunRecord.from_dict(meta)
    except (ValueError, TypeError, KeyError) as e:
        raise CheckpointError(f"{source}: not a run record rnnviz can read: {e}") from e


def _config_from(model: Any, source: str) -> ModelConfig:
    if not isinstance(model, dict):
        raise CheckpointError(f"{source}: model={model!r} must be an object of ModelConfig fields")
    for field in fields(ModelConfig):
        if field.name in model and not _same_kind(model[field.name], field.default):
            raise CheckpointError(
                f"{source}: model.{field.name}={model[field.name]!r} must be "
                f"{type(field.default).__name__}"
            )
    try:
        return ModelConfig.from_dict(model)
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{source}: bad model config: {e}") from e


def _same_kind(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def _meta_of(record: RunRecord, name: str) -> dict[str, Any]:
    """meta.json's content: the record (without the folder, which can move) and bookkeeping."""
    meta = {k: v for k, v in record.to_dict().items() if k != "checkpoint"}
    try:
        meta = json.loads(json.dumps(meta))
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"meta: not JSON-serialisable ({e})") from e
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": {
            "rnnviz": rnnviz.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        **meta,
        "name": record.name or name,
    }


def _meta_bytes(meta: dict[str, Any]) -> bytes:
    raw = json.dumps(meta, indent=2, ensure_ascii=False).encode("utf-8")
    if len(raw) > MAX_META_BYTES:
        raise CheckpointError(
            f"meta: {len(raw)} bytes of JSON, over the {MAX_META_BYTES}-byte limit"
        )
    return raw


def _check_name(name: str) -> None:
    try:
        check_name(name)
    except UnsafeFileError as e:
        raise CheckpointError(str(e)) from None


def _read_capped(file: Path, cap: int) -> bytes:
    try:
        return read_capped(file, cap)
    except UnsafeFileError as e:
        raise CheckpointError(str(e)) from None


def check_weights_size(weights: Path) -> None:
    if not weights.is_file():
        raise CheckpointError(f"{weights}: missing")
    size = weights.stat().st_size
    if size > MAX_WEIGHTS_BYTES:
        raise CheckpointError(f"{weights}: {size} bytes, over the {MAX_WEIGHTS_BYTES}-byte limit")


def _dtype_code(dtype: torch.dtype) -> str:
    return _DTYPE_CODES.get(dtype, str(dtype))


def _slice_header(tensor_slice: Any) -> tuple[tuple[int, ...], str]:
    return tuple(tensor_slice.get_shape()), str(tensor_slice.get_dtype())


def expected_header(config: ModelConfig) -> Header:
    state = build_model(config).state_dict()
    return {k: (tuple(v.shape), _dtype_code(v.dtype)) for k, v in state.items()}


def compare_headers(expected: Header, found: Header, source: str) -> None:
    """Raise naming the first few tensors that are missing, unexpected or of the wrong shape."""
    problems: list[str] = []
    for k, (shape, dtype) in expected.items():  # in the model's order, so messages are stable
        if k not in found:
            problems.append(f"missing tensor {k!r}")
        elif found[k][0] != shape:
            problems.append(f"{k!r} has shape {list(found[k][0])}, the model needs {list(shape)}")
        elif found[k][1] != dtype:
            problems.append(f"{k!r} has dtype {found[k][1]}, the model needs {dtype}")
    problems += [f"unexpected tensor {k!r}" for k in found if k not in expected]
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise CheckpointError(
            f"{source}: weights do not fit the model in meta.json: {'; '.join(problems[:5])}{more}"
        )
