"""The model family: recurrent classifiers that read an image one row per time step.

Every model takes a batch of images shaped (B, 28, 28), either uint8 pixels or floats in [0, 1],
and returns class logits (B, C). Row t of the image is the input at time step t. One registry,
`CELLS`, names every architecture; `ModelConfig` describes one model completely, so a checkpoint
that stores the config can always rebuild its model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from rnnviz.cells import ALIASES, CELLS, recurrent_layer
from rnnviz.settings import Config, setting
from rnnviz.sources import IMAGE_SIZE


def _cell_titles() -> dict[str, str]:
    return {key: cell.title for key, cell in CELLS.items()}


@dataclass(frozen=True)
class ModelConfig(Config):
    """Everything needed to build a model; argument names follow `nn.LSTM`."""

    # fmt: off
    cell: str = setting("lstm", label="Cell", choices=_cell_titles, aliases=ALIASES, url="cell",
                        flag="cell", group="Model", help="the architecture (rnn: rnn_tanh)")
    hidden_size: int = setting(128, label="Hidden size", low=1, high=4096, step=16, url="hidden",
                               flag="hidden", group="Model", help="units per layer and direction")
    num_layers: int = setting(1, label="Layers", low=1, high=8, url="layers", flag="layers",
                              group="Model", help="stacked recurrent layers")
    bidirectional: bool = setting(False, label="Bidirectional", url="bidir", flag="bidirectional",
                                  group="Model", help="a second layer reads the rows bottom to top")
    dropout: float = setting(0.0, label="Dropout", low=0.0, high=0.95, step=0.05, url="dropout",
                             flag="dropout", group="Regularisation & run",
                             help="between stacked layers and before the readout")
    num_classes: int = setting(10, label="Classes", low=2, high=1000)  # the dataset's, not a choice
    # fmt: on

    def __post_init__(self) -> None:
        super().__post_init__()
        if not CELLS[self.cell].recurrent and self.bidirectional:
            raise ValueError(f"bidirectional=True needs a recurrent cell, not cell={self.cell!r}")

    @property
    def recurrent(self) -> bool:
        return CELLS[self.cell].recurrent

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1


def as_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels (B, 28, 28) -> float in [0, 1]; floats pass through. The one normalisation."""
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    return images.float()


class RowReader(nn.Module):
    """A recurrent classifier: optional conv features per row, an RNN/LSTM/GRU, a linear readout.

    `features` maps (B, 28, 28) to the sequence the recurrent layers read, (B, T, F); for the plain
    cells it is the identity (T = 28 rows, F = 28 pixels). The readout uses the final state of
    *each* direction: the forward one after row 28 and the backward one after row 1.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        if CELLS[config.cell].convolutional:
            # Pool only across columns so the 28 rows stay 28 time steps.
            self.features: nn.Module = nn.Sequential(
                nn.Unflatten(1, (1, -1)),  # (B, 1, T, 28): any number of rows
                nn.Conv2d(1, 16, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d((1, 2)),  # (B, 16, T, 14)
                nn.Conv2d(16, 32, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d((1, 2)),  # (B, 32, T, 7)
                _RowsAsSteps(),  # (B, T, 224)
            )
            input_size = 32 * 7
        else:
            self.features = nn.Identity()
            input_size = IMAGE_SIZE
        self.rnn = recurrent_layer(
            config.cell,
            input_size,
            config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout,
            bidirectional=config.bidirectional,
        )
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size * config.num_directions, config.num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        seq = self.features(as_input(images))  # (B, T, F)
        _, state = self.rnn(seq)
        h_n = state[0] if isinstance(state, tuple) else state  # (layers * dirs, B, H)
        return self.readout(h_n[-self.config.num_directions :])

    def readout(self, final: torch.Tensor) -> torch.Tensor:
        """Final states of the last layer, (dirs, B, H) -> logits (B, C)."""
        return self.head(self.drop(torch.cat(list(final), dim=-1)))


class _RowsAsSteps(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape  # (B, C, rows, W)
        return x.permute(0, 2, 1, 3).reshape(b, h, c * w)  # (B, rows, C * W)


class ConvNet(nn.Module):
    """A small CNN baseline for the "CNN vs RNN" lesson: it sees the whole image at once."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        width = max(8, config.hidden_size // 4)
        self.body = nn.Sequential(
            nn.Unflatten(1, (1, IMAGE_SIZE)),  # (B, 1, 28, 28)
            nn.Conv2d(1, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, w, 14, 14)
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 2w, 7, 7)
            nn.Flatten(),
            nn.Dropout(config.dropout),
            nn.Linear(2 * width * 49, config.num_classes),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(as_input(images))


def build_model(config: ModelConfig) -> nn.Module:
    """The model a config describes, freshly initialised (seed torch first for repeatability)."""
    return RowReader(config) if config.recurrent else ConvNet(config)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@contextmanager
def evaluating(model: nn.Module) -> Iterator[None]:
    """Eval mode for the block; every submodule gets its own training flag back afterwards."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training
