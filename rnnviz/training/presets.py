"""Presets: one per seed experiment, named after what it teaches, with the figure the seed reported.

A preset is a complete `RunConfig`. The UI lists `PRESETS` in order and the CLI takes its keys
(`python -m rnnviz train --preset quick-cpu`), so adding an entry here adds it everywhere.
`FIRST_RUNS` names each dataset's quick preset per device type: what the Train page starts with,
so a first press of Start teaches well on whichever data this machine has.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from rnnviz.data.datasets import DataConfig
from rnnviz.models.network import ModelConfig
from rnnviz.training.config import RunConfig, TrainConfig


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    lesson: str  # one sentence: what running it teaches
    run: RunConfig
    reported: float | None  # the seed's test accuracy in percent, None where it gave none
    device_hint: str = "any"  # "cpu", "cuda" or "any": where it was meant to run

    def describe(self) -> str:
        figure = f"{self.reported:.2f} %" if self.reported is not None else "no figure reported"
        return f"{self.title}: {figure}"


def _run(
    cell: str,
    hidden: int,
    layers: int,
    *,
    dataset: str = "mnist",
    bidirectional: bool = False,
    forget_bias: float = 0.0,
    **train: Any,
) -> RunConfig:
    return RunConfig(
        model=ModelConfig(
            cell=cell,
            hidden_size=hidden,
            num_layers=layers,
            bidirectional=bidirectional,
            forget_bias=forget_bias,
        ),
        data=DataConfig(dataset=dataset),
        train=TrainConfig(**train),
    )


_CELLS_1x128: dict[str, Any] = {"lr": 0.002, "batch_size": 100, "epochs": 5}
_QUICK: dict[str, Any] = {"batch_size": 128, "schedule": "one_cycle"}  # warm up, then anneal
# The fast-MNIST records' recipe: a high Adam rate with short memories (betas 0.7, 0.9), a short
# warm-up, label smoothing, and a moving average of the weights in place of an annealed rate.
_QUICKEST: dict[str, Any] = {
    "lr": 1e-2,
    "beta1": 0.7,
    "beta2": 0.9,
    "schedule": "warmup",
    "label_smoothing": 0.1,
    "average": 0.99,
    "batch_size": 128,
}

_PRESETS = [
    Preset(
        "quick-cpu",
        "Quick demo (CPU): LSTM 1x64 on MNIST, weight-averaged",
        "A first model in seconds on a laptop: about 98.3 % test accuracy after 2 epochs, "
        "10 s on a 2-core CPU.",
        _run("lstm", 64, 1, forget_bias=1.0, epochs=2, **_QUICKEST),
        None,
        "cpu",
    ),
    Preset(
        "quick-gpu",
        "Quick demo (GPU): LSTM 2x128 on MNIST, one-cycle",
        "On a GPU a two-layer LSTM passes 98.5 % in seconds.",
        _run("lstm", 128, 2, lr=3e-3, batch_size=128, epochs=5, schedule="one_cycle"),
        98.99,
        "cuda",
    ),
    Preset(
        "digits-offline",
        "Offline digits: LSTM 1x64 on the bundled 8x8 digits",
        "Works with no download at all: the same pages on scikit-learn's small digit set, about "
        "97 % test accuracy in 7 s on a 2-core CPU.",
        _run("lstm", 64, 1, dataset="digits", lr=3e-3, batch_size=64, epochs=30),
        None,
    ),
    Preset(
        "quick-fashion-cpu",
        "Quick demo (CPU): GRU 1x96 on Fashion-MNIST, one-cycle",
        "Clothes on a laptop: about 87 % test accuracy after 3 epochs, 37 s on a 2-core CPU; "
        "shirts, pullovers and coats are the hard ones.",
        _run("gru", 96, 1, dataset="fashion-mnist", lr=5e-3, epochs=3, **_QUICK),
        None,
        "cpu",
    ),
    Preset(
        "quick-fashion-gpu",
        "Quick demo (GPU): GRU 2x128 on Fashion-MNIST, one-cycle",
        "On a GPU a two-layer GRU learns the clothes in seconds.",
        _run("gru", 128, 2, dataset="fashion-mnist", lr=3e-3, epochs=8, **_QUICK),
        None,
        "cuda",
    ),
    Preset(
        "lstm-2x128-mnist",
        "Seed 002: LSTM 2x128 on MNIST",
        "A standard stacked LSTM reads MNIST row by row to near 99 %.",
        _run("lstm", 128, 2, lr=1e-3, batch_size=100, epochs=10),
        98.86,
    ),
    Preset(
        "rnn-tanh-3x256-fashion",
        "Seed 001: vanilla RNN (tanh) 3x256 on Fashion-MNIST",
        "A deep vanilla RNN on clothes: harder images and a memory that fades.",
        _run("rnn_tanh", 256, 3, dataset="fashion-mnist", lr=5e-4, batch_size=64, epochs=15),
        85.70,
    ),
    Preset(
        "cells-rnn",
        "Seed 003: one-layer RNN (tanh), 128 units",
        "Compare cells: the vanilla RNN forgets the top of the image.",
        _run("rnn_tanh", 128, 1, **_CELLS_1x128),
        93.09,
    ),
    Preset(
        "cells-lstm",
        "Seed 003: one-layer LSTM, 128 units",
        "Compare cells: gates let the LSTM keep what it read early.",
        _run("lstm", 128, 1, **_CELLS_1x128),
        96.98,
    ),
    Preset(
        "cells-gru",
        "Seed 003: one-layer GRU, 128 units",
        "Compare cells: the GRU matches the LSTM with fewer gates.",
        _run("gru", 128, 1, **_CELLS_1x128),
        96.80,
    ),
    Preset(
        "cells-bilstm",
        "Seed 003: one-layer bidirectional LSTM, 128 units",
        "Compare cells: reading the rows both ways.",
        _run("lstm", 128, 1, bidirectional=True, **_CELLS_1x128),
        94.75,
    ),
    Preset(
        "lstm-20-sgd",
        "Seed 004: small LSTM (20 units) with plain SGD",
        "Even 20 units learn MNIST; plain SGD at lr 0.1 gets there more slowly than Adam.",
        _run("lstm", 20, 1, optimizer="sgd", lr=0.1, momentum=0.0, batch_size=100, epochs=10),
        95.8,
    ),
    Preset(
        "fashion-rnn",
        "RNN vs LSTM on Fashion-MNIST: the RNN",
        "Pair with fashion-lstm: the same budget, the vanilla cell.",
        _run("rnn_tanh", 128, 1, dataset="fashion-mnist", lr=1e-3, batch_size=100, epochs=10),
        None,
    ),
    Preset(
        "fashion-lstm",
        "RNN vs LSTM on Fashion-MNIST: the LSTM",
        "Pair with fashion-rnn: the same budget, the gated cell.",
        _run("lstm", 128, 1, dataset="fashion-mnist", lr=1e-3, batch_size=100, epochs=10),
        None,
    ),
    Preset(
        "cnn-mnist",
        "CNN vs RNN: a small CNN",
        "A CNN sees the whole image at once; compare it with the row readers.",
        _run("cnn", 64, 1, lr=1e-3, batch_size=128, epochs=3),
        None,
    ),
    Preset(
        "cnn-lstm-mnist",
        "CNN vs RNN: CNN features, then an LSTM over the rows",
        "Convolutions see each row's neighbourhood; the LSTM still reads top to bottom.",
        _run("cnn_lstm", 64, 1, lr=2e-3, batch_size=128, epochs=3, schedule="one_cycle"),
        None,
    ),
]

PRESETS: dict[str, Preset] = {p.key: p for p in _PRESETS}
# dataset -> device type -> the preset a first run of the Train page starts from
FIRST_RUNS: dict[str, dict[str, str]] = {
    "mnist": {"cpu": "quick-cpu", "cuda": "quick-gpu"},
    "fashion-mnist": {"cpu": "quick-fashion-cpu", "cuda": "quick-fashion-gpu"},
    "digits": {"cpu": "digits-offline", "cuda": "digits-offline"},
}


def get_preset(key: str) -> Preset:
    if key not in PRESETS:
        raise ValueError(f"preset {key!r} is not one of {list(PRESETS)}")
    return PRESETS[key]


def first_run(dataset: str, device_type: str) -> Preset:
    """The quick preset of `dataset` for a "cpu" or "cuda" device: a first run that teaches well."""
    if dataset not in FIRST_RUNS:
        raise ValueError(f"dataset={dataset!r} is not one of {list(FIRST_RUNS)}")
    if device_type not in FIRST_RUNS[dataset]:
        raise ValueError(f"device_type={device_type!r} is not one of {list(FIRST_RUNS[dataset])}")
    return PRESETS[FIRST_RUNS[dataset][device_type]]


def preset_run(key: str, *, data_dir: str | None = None, device: str | None = None) -> RunConfig:
    """A preset's run with the data folder and device of this machine filled in."""
    run = get_preset(key).run
    data = replace(run.data, data_dir=data_dir) if data_dir is not None else run.data
    train = replace(run.train, device=device) if device is not None else run.train
    return replace(run, data=data, train=train)
