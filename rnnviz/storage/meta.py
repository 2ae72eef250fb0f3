"""meta.json, a checkpoint's plain-data half: its format versions, and what a valid one holds.

Version 2 is a `RunRecord`'s `to_dict()` (without the folder, which can move) plus bookkeeping:
`format`, `format_version`, `created`, `versions`. Version 1 kept `model`, `data`, `train` and
`dataset` at the top level and called the seconds `seconds_trained`; `upgrade_meta` reads it into
today's layout, so every checkpoint ever saved keeps loading. `parse_meta` checks the bytes of a
meta.json someone handed in (size, JSON, format, the fields the loader relies on) before anything
uses them, and never runs anything from them.
"""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Mapping
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import torch

import rnnviz
from rnnviz.common.text import clip, shown
from rnnviz.models.network import ModelConfig
from rnnviz.training.record import RunRecord

FORMAT = "rnnviz-checkpoint"
FORMAT_VERSION = 2  # 2: meta.json is a RunRecord; 1 is still read
READABLE_VERSIONS = (1, 2)
MAX_META_BYTES = 16 * 2**20  # larger meta.json files are refused
# Keys of the first format that moved or were renamed in the second.
_V1_MOVED = ("model", "data", "train", "dataset", "seconds_trained")


class MetaError(ValueError):
    """A meta.json is not one rnnviz can read; the message names the file and the value."""


def upgrade_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """meta.json of format version 1 in today's layout (a copy); other versions as they are.

    Version 1 kept `model`, `data`, `train` and `dataset` at the top level and called the seconds
    `seconds_trained`; today they are `config` and `seconds`.
    """
    if meta.get("format_version") != 1:
        return meta
    model = meta.get("model")
    data = meta.get("data") or {"dataset": meta.get("dataset")}
    upgraded = {k: v for k, v in meta.items() if k not in _V1_MOVED}
    upgraded["config"] = {"model": model, "data": data, "train": meta.get("train") or {}}
    upgraded["seconds"] = meta.get("seconds_trained", 0.0)
    upgraded["format_version"] = 2
    return upgraded


def model_config_of(meta: Mapping[str, Any]) -> Any:
    """The raw `config.model` of an upgraded meta (validated by the caller)."""
    config = meta.get("config")
    return config.get("model") if isinstance(config, dict) else None


def parse_meta(raw: bytes, source: str) -> tuple[dict[str, Any], RunRecord]:
    """meta.json's bytes -> (meta in today's format, its RunRecord); CheckpointError if bad."""
    if len(raw) > MAX_META_BYTES:
        raise MetaError(f"{source}: larger than the {MAX_META_BYTES}-byte limit")
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise MetaError(f"{source}: not valid JSON ({clip(str(e), 200)})") from e
    _check_format(meta, source)
    meta = upgrade_meta(meta)
    return meta, _validate_meta(meta, source)


def _check_format(meta: Any, source: str) -> None:
    if not isinstance(meta, dict):
        raise MetaError(f"{source}: must hold a JSON object, not {type(meta).__name__}")
    if meta.get("format") != FORMAT:
        raise MetaError(f"{source}: format={shown(meta.get('format'))}, expected {FORMAT!r}")
    version = meta.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise MetaError(
            f"{source}: format_version={version} was written by a newer rnnviz "
            f"(this one reads format_version {list(READABLE_VERSIONS)}); upgrade rnnviz to open it"
        )
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        raise MetaError(
            f"{source}: format_version={shown(version)}, expected one of {list(READABLE_VERSIONS)}"
        )


def _validate_meta(meta: dict[str, Any], source: str) -> RunRecord:
    """Check the fields this module relies on; returns the record, whose config builds the model."""
    if not isinstance(meta.get("name"), str):
        raise MetaError(f"{source}: name={shown(meta.get('name'))} must be a string")
    config = meta.get("config")
    data = config.get("data") if isinstance(config, dict) else None
    dataset = data.get("dataset") if isinstance(data, dict) else None
    if not isinstance(dataset, str):
        raise MetaError(f"{source}: dataset={shown(dataset)} must be a string")
    model = _config_from(model_config_of(meta), source)
    names = meta.get("class_names")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise MetaError(f"{source}: class_names={shown(names)} must be a list of strings")
    if len(names) != model.num_classes:
        raise MetaError(
            f"{source}: {len(names)} class_names but model num_classes={model.num_classes}"
        )
    try:
        return RunRecord.from_dict(meta)
    except (ValueError, TypeError, KeyError) as e:
        raise MetaError(f"{source}: not a run record rnnviz can read: {clip(str(e), 300)}") from e


def _config_from(model: Any, source: str) -> ModelConfig:
    if not isinstance(model, dict):
        raise MetaError(f"{source}: model={shown(model)} must be an object of ModelConfig fields")
    for field in fields(ModelConfig):
        if field.name in model and not _same_kind(model[field.name], field.default):
            raise MetaError(
                f"{source}: model.{field.name}={shown(model[field.name])} must be "
                f"{type(field.default).__name__}"
            )
    try:
        return ModelConfig.from_dict(model)
    except (ValueError, TypeError) as e:
        raise MetaError(f"{source}: bad model config: {clip(str(e), 300)}") from e


def _same_kind(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def meta_of(record: RunRecord, name: str) -> dict[str, Any]:
    """meta.json's content: the record (without the folder, which can move) and bookkeeping."""
    meta = {k: v for k, v in record.to_dict().items() if k != "checkpoint"}
    try:
        meta = json.loads(json.dumps(meta))
    except (TypeError, ValueError) as e:
        raise MetaError(f"meta: not JSON-serialisable ({e})") from e
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


# A list of plain values (numbers, true/false/null) that `json.dumps(indent=2)` put one per line.
_FLAT_LIST = re.compile(r"\[\n\s+([-0-9.+a-zA-Z]+(?:,\n\s+[-0-9.+a-zA-Z]+)*)\n\s*\]")


def meta_bytes(meta: dict[str, Any]) -> bytes:
    """meta.json's bytes: indented, with each list of numbers on one line (a run's history is
    thousands of them: one per line doubled a checkpoint's size)."""
    text = json.dumps(meta, indent=2, ensure_ascii=False)
    text = _FLAT_LIST.sub(lambda m: "[" + re.sub(r",\n\s+", ", ", m.group(1)) + "]", text)
    raw = text.encode("utf-8")
    if len(raw) > MAX_META_BYTES:
        raise MetaError(f"meta: {len(raw)} bytes of JSON, over the {MAX_META_BYTES}-byte limit")
    return raw
