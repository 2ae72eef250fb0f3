"""Saved runs on disk: one folder per run, holding `model.safetensors` and `meta.json`.

A checkpoint is plain data. Weights are read with safetensors' own header parser and never with
`torch.load` or pickle, so opening a file someone handed in cannot run code. `meta.json` carries the
`ModelConfig` that rebuilds the model, the class names, and whatever the trainer adds (history,
test metrics, versions); every tensor's name, shape and dtype is checked against the model that
config builds before any weights are loaded. Folders are written to a hidden temporary folder
first and renamed into place, so a crash never leaves a half-written checkpoint in a listing.
"""

from __future__ import annotations

import io
import json
import os
import platform
import re
import shutil
import unicodedata
import uuid
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch
from torch import nn

from rnnviz.models import ModelConfig, build_model

FORMAT = "rnnviz-checkpoint"
FORMAT_VERSION = 1
MAX_WEIGHTS_BYTES = 64 * 2**20  # larger weight files are refused
MAX_META_BYTES = 16 * 2**20  # larger meta.json files are refused
WEIGHTS_FILE = "model.safetensors"
META_FILE = "meta.json"
MAX_NAME_LENGTH = 80

# Folder names: ASCII letters, digits, "-", "_", "." and space; no leading "." (hidden temp
# folders) or space, no trailing space or "." (both are trouble on Windows).
_NAME_RE = re.compile(r"[A-Za-z0-9_-](?:[A-Za-z0-9_. -]*[A-Za-z0-9_-])?")
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
_SAFETENSORS_ERRORS = (safetensors.SafetensorError, OSError, ValueError, TypeError, RuntimeError)

Header = dict[str, tuple[tuple[int, ...], str]]  # tensor name -> (shape, safetensors dtype code)


class CheckpointError(ValueError):
    """A checkpoint (or a would-be one) is invalid; the message names the file and the problem."""


@dataclass(frozen=True)
class CheckpointInfo:
    """What a listing needs to know about a checkpoint, read from its meta.json alone."""

    path: Path
    meta: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def dataset(self) -> str:
        return str(self.meta["dataset"])

    @property
    def cell(self) -> str:
        return str(self.meta["model"]["cell"])

    @property
    def test_accuracy(self) -> float | None:
        test_metrics = self.meta.get("test_metrics")
        accuracy = test_metrics.get("accuracy") if isinstance(test_metrics, dict) else None
        if isinstance(accuracy, int | float) and not isinstance(accuracy, bool):
            return float(accuracy)
        return None

    @property
    def created(self) -> str:
        created = self.meta.get("created")
        return created if isinstance(created, str) else ""


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint; `model` is in eval mode on the device that was asked for."""

    path: Path
    meta: dict[str, Any]
    config: ModelConfig
    model: nn.Module

    @property
    def class_names(self) -> list[str]:
        return list(self.meta["class_names"])


def save_checkpoint(model: nn.Module, meta: dict[str, Any], *, root: Path | str, name: str) -> Path:
    """Write `model`'s weights and `meta` to `root/name` (or `name-2`, ...); returns the folder.

    `meta["model"]` must describe `model` (its state dict must match the one that config builds).
    """
    _check_name(name)
    meta = _complete_meta(meta, name)
    config = _validate_meta(meta, "meta")
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    found = {k: (tuple(v.shape), _dtype_code(v.dtype)) for k, v in tensors.items()}
    _compare_headers(_expected_header(config), found, "the model passed to save_checkpoint")
    meta_bytes = _meta_bytes(meta)

    def write(folder: Path) -> None:
        safetensors.torch.save_file(tensors, str(folder / WEIGHTS_FILE))
        (folder / META_FILE).write_bytes(meta_bytes)

    return _write_atomically(Path(root), name, write)


def load_checkpoint(path: Path | str, *, device: str | torch.device = "cpu") -> Checkpoint:
    """Validate and load the checkpoint folder at `path`; the model comes back in eval mode."""
    path = Path(path)
    meta, config = _read_meta_and_config(path)
    weights = path / WEIGHTS_FILE
    _check_weights_size(weights)
    try:
        with safetensors.safe_open(str(weights), framework="pt") as f:
            names = f.keys()  # a safe_open handle is not iterable itself
            found = {k: _slice_header(f.get_slice(k)) for k in names}
    except _SAFETENSORS_ERRORS as e:
        raise CheckpointError(f"{weights}: not a valid safetensors file ({e})") from e
    _compare_headers(_expected_header(config), found, str(weights))
    model = build_model(config)
    try:
        model.load_state_dict(safetensors.torch.load_file(str(weights), device="cpu"))
    except _SAFETENSORS_ERRORS as e:
        raise CheckpointError(f"{weights}: could not load the weights ({e})") from e
    return Checkpoint(path=path, meta=meta, config=config, model=model.to(device).eval())


def read_meta(path: Path | str) -> dict[str, Any]:
    """The validated meta.json of the checkpoint folder at `path`, without touching the weights."""
    return _read_meta_and_config(Path(path))[0]


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
                meta = read_meta(folder)
                _check_weights_size(folder / WEIGHTS_FILE)
            except (CheckpointError, OSError):
                continue
            found[folder.resolve()] = CheckpointInfo(path=folder, meta=meta)
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
    os.rename(path, target)
    meta["name"] = new_name
    temp = target / f".{META_FILE}.{uuid.uuid4().hex}"
    temp.write_bytes(_meta_bytes(meta))
    _fsync_file(temp)
    os.replace(temp, target / META_FILE)
    _fsync_dir(target)
    return target


def safe_name(text: str) -> str:
    """A valid folder name made from `text`: "LSTM 2x128 · MNIST" -> "LSTM 2x128 - MNIST"."""
    decomposed = unicodedata.normalize("NFKD", text)  # "é" -> "e" + a combining accent
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    name = re.sub(r"[^A-Za-z0-9_. -]+", "-", plain)
    name = re.sub(r"\s+", " ", name).strip(" .-")
    name = name[:MAX_NAME_LENGTH].rstrip(" .-")
    return name if _NAME_RE.fullmatch(name) else "checkpoint"


def export_zip(path: Path | str) -> bytes:
    """The checkpoint at `path` as a zip of `model.safetensors` and `meta.json` (no folders)."""
    path = Path(path)
    read_meta(path)
    _check_weights_size(path / WEIGHTS_FILE)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(path / WEIGHTS_FILE, arcname=WEIGHTS_FILE)
        zf.write(path / META_FILE, arcname=META_FILE)
    return buffer.getvalue()


def import_zip(data: bytes, *, root: Path | str, max_bytes: int = MAX_WEIGHTS_BYTES) -> Path:
    """Validate an exported zip completely, then write it as a new checkpoint under `root`.

    Nothing is written unless the zip, both members, the meta and the weights all check out.
    The folder is named from meta["name"], with "-2", "-3", ... appended if that is taken.
    """
    limit = max_bytes + MAX_META_BYTES + 2**16  # both members at their caps, plus zip overhead
    if len(data) > limit:
        raise CheckpointError(f"zip: {len(data)} bytes is more than the {limit}-byte limit")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = _read_zip_members(zf, max_bytes)
    except CheckpointError:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
    ) as e:
        raise CheckpointError(f"zip: not a readable zip file ({e})") from e
    meta, config = _parse_meta(members[META_FILE], f"{META_FILE} in the zip")
    source = f"{WEIGHTS_FILE} in the zip"
    try:
        found = {
            k: (tuple(v["shape"]), v["dtype"])
            for k, v in safetensors.deserialize(members[WEIGHTS_FILE])
        }
    except _SAFETENSORS_ERRORS as e:
        raise CheckpointError(f"{source}: not a valid safetensors file ({e})") from e
    _compare_headers(_expected_header(config), found, source)

    def write(folder: Path) -> None:
        for member, content in members.items():
            (folder / member).write_bytes(content)

    return _write_atomically(Path(root), safe_name(meta["name"]), write)


def _read_zip_members(zf: zipfile.ZipFile, max_bytes: int) -> dict[str, bytes]:
    """The two members' contents, checking names, flags and sizes before decompressing."""
    names = [info.filename for info in zf.infolist()]
    if sorted(names) != sorted([META_FILE, WEIGHTS_FILE]):
        raise CheckpointError(
            f"zip: members {names!r}; expected exactly {META_FILE!r} and {WEIGHTS_FILE!r}"
        )
    caps = {META_FILE: MAX_META_BYTES, WEIGHTS_FILE: max_bytes}
    members: dict[str, bytes] = {}
    for info in zf.infolist():
        cap = caps[info.filename]
        if info.flag_bits & 0x1:
            raise CheckpointError(f"zip: {info.filename} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise CheckpointError(f"zip: {info.filename} uses compression {info.compress_type}")
        if info.file_size > cap:
            raise CheckpointError(
                f"zip: {info.filename} is {info.file_size} bytes, over the {cap}-byte limit"
            )
        with zf.open(info) as f:
            content = f.read(cap + 1)  # the declared size may lie; never inflate past the cap
        if len(content) > cap:
            raise CheckpointError(f"zip: {info.filename} inflates past the {cap}-byte limit")
        members[info.filename] = content
    return members


def _read_meta_and_config(path: Path) -> tuple[dict[str, Any], ModelConfig]:
    if not path.is_dir():
        raise CheckpointError(f"{path}: no checkpoint folder here")
    meta_file = path / META_FILE
    if not meta_file.is_file():
        raise CheckpointError(f"{meta_file}: missing; {path} is not a checkpoint folder")
    try:
        raw = _read_capped(meta_file, MAX_META_BYTES)
    except OSError as e:
        raise CheckpointError(f"{meta_file}: unreadable ({e})") from e
    return _parse_meta(raw, str(meta_file))


def _read_capped(file: Path, cap: int) -> bytes:
    with open(file, "rb") as f:
        raw = f.read(cap + 1)
    if len(raw) > cap:
        raise CheckpointError(f"{file}: larger than the {cap}-byte limit")
    return raw


def _parse_meta(raw: bytes, source: str) -> tuple[dict[str, Any], ModelConfig]:
    if len(raw) > MAX_META_BYTES:
        raise CheckpointError(f"{source}: larger than the {MAX_META_BYTES}-byte limit")
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"{source}: not valid JSON ({e})") from e
    return meta, _validate_meta(meta, source)


def _validate_meta(meta: Any, source: str) -> ModelConfig:
    """Check the fields this module relies on; returns the config that rebuilds the model."""
    if not isinstance(meta, dict):
        raise CheckpointError(f"{source}: must hold a JSON object, not {type(meta).__name__}")
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{source}: format={meta.get('format')!r}, expected {FORMAT!r}")
    version = meta.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise CheckpointError(
            f"{source}: format_version={version} was written by a newer rnnviz "
            f"(this one reads format_version {FORMAT_VERSION}); upgrade rnnviz to open it"
        )
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise CheckpointError(f"{source}: format_version={version!r}, expected {FORMAT_VERSION}")
    for key in ("name", "dataset"):
        if not isinstance(meta.get(key), str):
            raise CheckpointError(f"{source}: {key}={meta.get(key)!r} must be a string")
    config = _config_from(meta.get("model"), source)
    names = meta.get("class_names")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CheckpointError(f"{source}: class_names={names!r} must be a list of strings")
    if len(names) != config.num_classes:
        raise CheckpointError(
            f"{source}: {len(names)} class_names but model num_classes={config.num_classes}"
        )
    return config


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


def _complete_meta(meta: dict[str, Any], name: str) -> dict[str, Any]:
    """A JSON-clean copy of `meta` with this module's bookkeeping fields filled in."""
    try:
        meta = json.loads(json.dumps(meta))
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"meta: not JSON-serialisable ({e})") from e
    if not isinstance(meta, dict):
        raise CheckpointError(f"meta: must be a dict, not {type(meta).__name__}")
    meta["format"] = FORMAT
    meta["format_version"] = FORMAT_VERSION
    meta.setdefault("name", name)
    meta.setdefault("created", datetime.now(UTC).isoformat(timespec="seconds"))
    meta["versions"] = _versions()
    return meta


def _versions() -> dict[str, str]:
    try:
        rnnviz_version = metadata.version("rnnviz")
    except metadata.PackageNotFoundError:
        rnnviz_version = "0.1.0"  # running from a source tree that is not installed
    return {
        "rnnviz": rnnviz_version,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def _meta_bytes(meta: dict[str, Any]) -> bytes:
    raw = json.dumps(meta, indent=2, ensure_ascii=False).encode("utf-8")
    if len(raw) > MAX_META_BYTES:
        raise CheckpointError(
            f"meta: {len(raw)} bytes of JSON, over the {MAX_META_BYTES}-byte limit"
        )
    return raw


def _check_name(name: str) -> None:
    if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH or not _NAME_RE.fullmatch(name):
        raise CheckpointError(
            f"name={name!r} is not a valid checkpoint name: use 1-{MAX_NAME_LENGTH} ASCII letters, "
            "digits, '-', '_', '.' and spaces, not starting with '.' or a space (see safe_name)"
        )


def _check_weights_size(weights: Path) -> None:
    if not weights.is_file():
        raise CheckpointError(f"{weights}: missing")
    size = weights.stat().st_size
    if size > MAX_WEIGHTS_BYTES:
        raise CheckpointError(f"{weights}: {size} bytes, over the {MAX_WEIGHTS_BYTES}-byte limit")


def _dtype_code(dtype: torch.dtype) -> str:
    return _DTYPE_CODES.get(dtype, str(dtype))


def _slice_header(tensor_slice: Any) -> tuple[tuple[int, ...], str]:
    return tuple(tensor_slice.get_shape()), str(tensor_slice.get_dtype())


def _expected_header(config: ModelConfig) -> Header:
    state = build_model(config).state_dict()
    return {k: (tuple(v.shape), _dtype_code(v.dtype)) for k, v in state.items()}


def _compare_headers(expected: Header, found: Header, source: str) -> None:
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


def _write_atomically(root: Path, name: str, write: Callable[[Path], None]) -> Path:
    """Fill a hidden temporary folder under `root`, then rename it to a free name; returns it."""
    root.mkdir(parents=True, exist_ok=True)
    temp = root / f".{name}.{uuid.uuid4().hex}.tmp"
    temp.mkdir()
    try:
        write(temp)
        for file in temp.iterdir():
            _fsync_file(file)
        _fsync_dir(temp)
        target = _rename_to_free_name(temp, root, name)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    _fsync_dir(root)
    return target


def _rename_to_free_name(temp: Path, root: Path, name: str) -> Path:
    for n in range(1, 10_000):
        suffix = "" if n == 1 else f"-{n}"
        candidate = root / (name[: MAX_NAME_LENGTH - len(suffix)].rstrip(" .") + suffix)
        if candidate.exists() or candidate.is_symlink():
            continue
        try:
            os.rename(temp, candidate)  # atomic; fails if another writer took the name meanwhile
        except OSError:
            if candidate.exists():
                continue
            raise
        return candidate
    raise CheckpointError(f"{root}: no free folder name for {name!r}")


def _fsync_file(file: Path) -> None:
    with open(file, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # directories cannot be opened on every platform (Windows); best effort there
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
