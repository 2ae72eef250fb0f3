"""A run's settings as flat named fields: the widgets of the Train page and the text of its URL.

`FIELDS` lists every setting a user can change, one `Field` per dataclass field of `ModelConfig`,
`DataConfig` and `TrainConfig`, with its label, its choices or bounds and its short URL key.
`run_to_params` writes a `RunConfig` as query parameters (only the settings that differ from the
dataclass defaults, so a link stays short); `run_from_params` reads them back, ignoring unknown
keys (`owner`, `class`, ...) and naming every value it could not use. Machine-specific settings
(`data_dir`, `download`, `cuda_graphs`) are never part of a link.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from rnnviz.data import DATASETS, DataConfig
from rnnviz.models import CELLS, ModelConfig
from rnnviz.training import DEVICES, OPTIMIZERS, SCHEDULES, RunConfig, TrainConfig

SECTIONS = ("model", "data", "train")  # the RunConfig attributes, in the order they are built
_DEVICE_TITLES = {"auto": "auto (GPU when there is one)", "cpu": "CPU", "cuda": "CUDA GPU"}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class Field:
    """One setting: where it lives in a RunConfig, how it is shown and how it is written."""

    key: str  # the URL query parameter
    section: str  # "model", "data" or "train"
    name: str  # the dataclass field
    label: str  # the widget label
    kind: str  # "choice", "bool", "int" or "float"
    group: str  # which column of controls it belongs to
    choices: Mapping[str, str] | None = None  # key -> title, for kind "choice"
    low: float = 0.0  # inclusive bounds for numbers, within what the dataclass accepts
    high: float = 0.0
    step: float = 1.0  # the widget's +/- step
    help: str = ""


def _choices(names: Mapping[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else str(v[0]) for k, v in names.items()}


FIELDS: tuple[Field, ...] = (
    Field("dataset", "data", "dataset", "Dataset", "choice", "Data",
          {k: d.title for k, d in DATASETS.items()}, help="✓: its files are on this machine"),
    Field("val", "data", "val_fraction", "Validation fraction", "float", "Data", None, 0.0, 0.5,
          0.05, "share of the training images held out for the validation curve"),
    Field("batch", "train", "batch_size", "Batch size", "int", "Data", None, 1, 65536, 16),
    Field("epochs", "train", "epochs", "Epochs", "int", "Data", None, 1, 1000, 1),
    Field("cell", "model", "cell", "Cell", "choice", "Model", _choices(CELLS)),
    Field("layers", "model", "num_layers", "Layers", "int", "Model", None, 1, 8, 1),
    Field("hidden", "model", "hidden_size", "Hidden size", "int", "Model", None, 1, 4096, 16,
          "units per layer and direction"),
    Field("bidir", "model", "bidirectional", "Bidirectional", "bool", "Model",
          help="a second layer reads the rows bottom to top"),
    Field("opt", "train", "optimizer", "Optimizer", "choice", "Optimiser", OPTIMIZERS),
    Field("lr", "train", "lr", "Learning rate", "float", "Optimiser", None, 1e-6, 10.0, 1e-4),
    Field("momentum", "train", "momentum", "Momentum", "float", "Optimiser", None, 0.0, 0.99,
          0.05, "used by SGD and RMSprop"),
    Field("sched", "train", "schedule", "Schedule", "choice", "Optimiser", SCHEDULES),
    Field("dropout", "model", "dropout", "Dropout", "float", "Regularisation & run", None, 0.0,
          0.95, 0.05, "between stacked layers and before the readout"),
    Field("wd", "train", "weight_decay", "Weight decay (L2)", "float", "Regularisation & run",
          None, 0.0, 1.0, 1e-4),
    Field("clip", "train", "grad_clip", "Gradient clipping", "float", "Regularisation & run",
          None, 0.0, 1e6, 0.5, "max gradient norm; 0 turns clipping off"),
    Field("seed", "train", "seed", "Seed", "int", "Regularisation & run", None, 0, 2**32 - 1, 1,
          "the same seed gives the same run"),
    Field("device", "train", "device", "Device", "choice", "Regularisation & run",
          {d: _DEVICE_TITLES[d] for d in DEVICES}),
)  # fmt: skip
GROUPS = tuple(dict.fromkeys(f.group for f in FIELDS))  # the columns of controls, in order
PARAM_KEYS = frozenset(f.key for f in FIELDS)


def values_of(run: RunConfig) -> dict[str, Any]:
    """The run as {field key: value}, each value of its field's type (what the widgets hold)."""
    return {f.key: _coerce(f, getattr(getattr(run, f.section), f.name)) for f in FIELDS}


def run_from_values(values: Mapping[str, Any]) -> tuple[RunConfig, list[str]]:
    """A RunConfig from {field key: value} and the reasons any value could not be used.

    Missing keys take the dataclass defaults; a value that is out of its field's bounds or that
    its config rejects is left at the default and explained in the list. Settings that are fine
    alone but not together (a bidirectional CNN) are explained too.
    """
    errors: list[str] = []
    parts: dict[str, dict[str, Any]] = {s: {} for s in SECTIONS}
    for f in FIELDS:
        if f.key in values:
            try:
                parts[f.section][f.name] = _check(f, values[f.key])
            except ValueError as exc:
                errors.append(str(exc))
    model = _build(ModelConfig, parts["model"], errors)
    data = _build(DataConfig, parts["data"], errors)
    train = _build(TrainConfig, parts["train"], errors)
    return RunConfig(model=model, data=data, train=train), errors


def run_to_params(run: RunConfig) -> dict[str, str]:
    """The settings of `run` that differ from the defaults, as query parameters."""
    defaults = values_of(RunConfig())
    return {k: _text(v) for k, v in values_of(run).items() if v != defaults[k]}


def run_from_params(params: Mapping[str, str]) -> tuple[RunConfig, list[str]]:
    """Read `run_to_params` back: unknown keys are ignored, bad values explained and defaulted."""
    values: dict[str, Any] = {}
    errors: list[str] = []
    for f in FIELDS:
        if f.key in params:
            try:
                values[f.key] = _parse(f, str(params[f.key]))
            except ValueError as exc:
                errors.append(str(exc))
    run, more = run_from_values(values)
    return run, errors + more


def param_changes(current: Mapping[str, str], run: RunConfig) -> dict[str, str | None]:
    """What to write into a URL holding `current` so it says `run`: key -> value, None = delete.

    Keys that are not run settings (`owner`, `class`, ...) are never touched.
    """
    wanted = run_to_params(run)
    changes: dict[str, str | None] = {k: v for k, v in wanted.items() if current.get(k) != v}
    changes.update({k: None for k in current if k in PARAM_KEYS and k not in wanted})
    return changes


def _build(cls: Any, fields: dict[str, Any], errors: list[str]) -> Any:
    """`cls(**fields)`, or the defaults with every field that fits applied, the rest explained."""
    try:
        return cls(**fields)
    except ValueError:
        pass
    config = cls()
    for name, value in fields.items():
        try:
            config = replace(config, **{name: value})
        except ValueError as exc:
            errors.append(str(exc))
    return config


def _coerce(f: Field, value: Any) -> Any:
    if f.kind == "int":
        return int(value)
    if f.kind == "float":
        return float(value)
    if f.kind == "bool":
        return bool(value)
    return str(value)


def _check(f: Field, value: Any) -> Any:
    """`value` as its field's type, within its bounds and choices; ValueError naming both."""
    if f.kind == "choice":
        assert f.choices is not None
        if value not in f.choices:
            raise ValueError(f"{f.key}={value!r} is not one of {sorted(f.choices)}")
        return value
    if f.kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{f.key}={value!r} must be true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{f.key}={value!r} must be a number")
    if f.kind == "int" and value != int(value):
        raise ValueError(f"{f.key}={value!r} must be a whole number")
    number = _coerce(f, value)
    if not (math.isfinite(number) and f.low <= number <= f.high):
        raise ValueError(f"{f.key}={value!r} is outside [{_text(f.low)}, {_text(f.high)}]")
    return number


def _parse(f: Field, text: str) -> Any:
    """A query parameter's text as its field's type; ValueError naming the key and the text."""
    text = text.strip()
    if f.kind == "choice":
        return text
    if f.kind == "bool":
        if text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise ValueError(f"{f.key}={text!r} must be 1 or 0")
    try:
        return int(text) if f.kind == "int" else float(text)
    except ValueError:
        kind = "a whole number" if f.kind == "int" else "a number"
        raise ValueError(f"{f.key}={text!r} is not {kind}") from None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}" if value == float(f"{value:g}") else repr(value)
    return str(value)
