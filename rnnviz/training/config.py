"""What one experiment is: how to fit (`TrainConfig`) and the whole run (`RunConfig`).

`RunConfig` joins the model (`ModelConfig`), the data (`DataConfig`) and the fitting; the same
object builds the model, drives the trainer, fills the Train page's widgets and its URL, becomes
the CLI's flags and is written into every checkpoint. `OPTIMIZERS` and `SCHEDULES` are the
registries the optimiser and schedule settings choose from; `AUGMENTS`
(`rnnviz.data.augment`) the one the augmentation setting does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rnnviz.common.devices import DEVICES
from rnnviz.common.settings import Config, declared, setting
from rnnviz.data.augment import augment_titles
from rnnviz.data.datasets import DataConfig
from rnnviz.models.network import ModelConfig

OPTIMIZERS: dict[str, str] = {
    "adam": "Adam",
    "adamw": "AdamW (decoupled weight decay)",
    "sgd": "SGD with momentum",
    "rmsprop": "RMSprop",
}
SCHEDULES: dict[str, str] = {
    "constant": "constant learning rate",
    "one_cycle": "one-cycle: warm up, then anneal (fast convergence)",
    "cosine": "cosine decay to zero",
    "warmup": "short linear warm-up, then constant (pairs with weight averaging)",
}
WARMUP_SHARE = 0.02  # the share of a run's steps the `warmup` schedule spends ramping up
_RUN = "Regularisation & run"  # the Train page's column of everything else


@dataclass(frozen=True)
class TrainConfig(Config):
    """How to fit: optimiser, schedule, batches, regularisation, seed and device."""

    # fmt: off
    optimizer: str = setting("adam", label="Optimizer", choices=lambda: OPTIMIZERS, url="opt",
                             flag="optimizer", group="Optimiser", help="the update rule")
    lr: float = setting(1e-3, label="Learning rate", low=1e-6, high=10.0, step=1e-4, url="lr",
                        flag="lr", group="Optimiser", help="peak learning rate")
    batch_size: int = setting(128, label="Batch size", low=1, high=65536, step=16, url="batch",
                              flag="batch-size", group="Data", help="images per step")
    epochs: int = setting(5, label="Epochs", low=1, high=1000, url="epochs", flag="epochs",
                          group="Data", help="passes over the training split")
    weight_decay: float = setting(0.0, label="Weight decay (L2)", low=0.0, high=1.0, step=1e-4,
                                  url="wd", flag="weight-decay", group=_RUN,
                                  help="L2 penalty (decoupled for AdamW)")
    momentum: float = setting(0.9, label="Momentum", low=0.0, high=0.99, step=0.05,
                              url="momentum", flag="momentum", group="Optimiser",
                              help="used by SGD and RMSprop")
    beta1: float = setting(0.9, label="Adam beta1", low=0.0, high=0.999, step=0.05, url="b1",
                           flag="beta1", group="Optimiser",
                           help="Adam/AdamW: how much of the mean gradient each step keeps")
    beta2: float = setting(0.999, label="Adam beta2", low=0.0, high=0.9999, step=0.001,
                           url="b2", flag="beta2", group="Optimiser",
                           help="Adam/AdamW: how much of the mean squared gradient each step "
                                "keeps")
    label_smoothing: float = setting(0.0, label="Label smoothing", low=0.0, high=0.5, step=0.05,
                                     url="ls", flag="label-smoothing", group=_RUN,
                                     help="share of each target spread over all classes; 0: "
                                          "plain cross-entropy")
    average: float = setting(0.0, label="Weight averaging", low=0.0, high=0.9999, step=0.005,
                             url="ema", flag="average", group=_RUN,
                             help="keep and show a moving average of the weights, this much of "
                                  "it kept each step (0.99: over about 100 steps); 0: off")
    grad_clip: float = setting(0.0, label="Gradient clipping", low=0.0, high=1e6, step=0.5,
                               url="clip", flag="grad-clip", group=_RUN,
                               help="max gradient norm; 0 turns clipping off")
    schedule: str = setting("constant", label="Schedule", choices=lambda: SCHEDULES,
                            url="sched", flag="schedule", group="Optimiser",
                            help="how the learning rate changes over the run")
    seed: int = setting(0, label="Seed", low=0, high=2**32 - 1, url="seed", flag="seed",
                        group=_RUN, help="the same seed gives the same run (bit for bit on CPU)")
    augment: str = setting("none", label="Augmentation", choices=augment_titles, url="aug",
                           flag="augment", group=_RUN,
                           help="redraw every training batch (never validation or test) so it "
                                "looks like a canvas drawing")
    device: str = setting("auto", label="Device", choices=lambda: DEVICES, url="device",
                          flag="device", group=_RUN, help="auto picks CUDA when there is a GPU")
    cuda_graphs: bool = True  # capture the train step on CUDA (falls back to eager if it cannot)
    # fmt: on


@dataclass(frozen=True)
class RunConfig:
    """One experiment: the model, the data it learns from and how it is trained."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model.to_dict(), "data": self.data.to_dict(),
                "train": self.train.to_dict()}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        return cls(
            model=ModelConfig.from_dict(data["model"]),
            data=DataConfig.from_dict(data["data"]),
            train=TrainConfig.from_dict(data["train"]),
        )


LR_SETTING = dict(declared(TrainConfig))["lr"]  # bounds for a rate changed while a job runs
SECTIONS: dict[str, type[Config]] = {"model": ModelConfig, "data": DataConfig, "train": TrainConfig}


_MACHINE = {"data": ("data_dir", "download"), "train": ("device", "cuda_graphs")}


def run_key(run: RunConfig) -> str:
    """The run's settings without the machine's, as text: equal for the same experiment."""
    plain = run.to_dict()
    for section, names in _MACHINE.items():
        for name in names:
            plain[section].pop(name, None)
    return json.dumps(plain, sort_keys=True)
