"""The runs lessons are made of: the notebooks trained on all 60,000 training images, with no
validation set held out, and reported test accuracy."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rnnviz.data.datasets import DataConfig
from rnnviz.models.network import ModelConfig
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.presets import PRESETS


def whole(run: RunConfig) -> RunConfig:
    """A run on the whole training set, as the notebooks trained."""
    return replace(run, data=replace(run.data, val_fraction=0.0))


def preset(key: str, **train: Any) -> RunConfig:
    run = whole(PRESETS[key].run)
    return replace(run, train=replace(run.train, **train)) if train else run


def run_of(cell: str, hidden: int, layers: int = 1, *, dataset: str = "mnist",
         model: dict[str, Any] | None = None, **train: Any) -> RunConfig:  # fmt: skip
    return RunConfig(
        model=ModelConfig(cell=cell, hidden_size=hidden, num_layers=layers, **(model or {})),
        data=DataConfig(dataset=dataset, val_fraction=0.0),
        train=TrainConfig(**train),
    )
