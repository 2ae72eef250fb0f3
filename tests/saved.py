"""Small checkpoints for tests: a record for a model config, a seeded model, a saved folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from rnnviz.data.datasets import DataConfig
from rnnviz.models.network import ModelConfig, build_model
from rnnviz.storage.checkpoints import save_checkpoint
from rnnviz.training.config import RunConfig
from rnnviz.training.record import RunRecord

CLASS_NAMES = [str(i) for i in range(10)]


def make_record(config: ModelConfig, dataset: str = "mnist", **fields: Any) -> RunRecord:
    run = RunConfig(model=config, data=DataConfig(dataset=dataset, download=False))
    names = tuple(CLASS_NAMES[: config.num_classes])
    return RunRecord(config=run, class_names=names, **fields)


def make_model(config: ModelConfig, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(config).eval()


def save_small(
    root: Path, name: str = "run", *, hidden: int = 8, created: str | None = None, **fields: Any
) -> Path:
    """A GRU 1xhidden saved under root/name; `created` rewrites the bookkeeping timestamp."""
    config = ModelConfig(cell="gru", hidden_size=hidden)
    folder = save_checkpoint(make_model(config), make_record(config, **fields), root=root,
                             name=name)  # fmt: skip
    if created is not None:
        rewrite_meta(folder, created=created)
    return folder


def rewrite_meta(folder: Path, **changes: Any) -> None:
    """Change meta.json on disk: dict values are merged into the dict there, at any depth."""

    def merge(into: dict[str, Any], update: dict[str, Any]) -> None:
        for key, value in update.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = value

    meta = json.loads((folder / "meta.json").read_text())
    merge(meta, changes)
    (folder / "meta.json").write_text(json.dumps(meta))


class Hostile:
    """Unpickling this creates a file: proof that a loader ran code from the data."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))
