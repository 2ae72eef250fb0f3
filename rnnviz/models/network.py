"""The model family: recurrent classifiers that read an image one step at a time.

Every model takes a batch of images shaped (B, 28, 28), either uint8 pixels or floats in [0, 1],
and returns class logits (B, C). The config's reading order (`rnnviz.models.orders`) says what a
time step
reads: row t of the image by default, or a column, or one pixel. One registry, `CELLS`, names
every architecture; `ModelConfig` describes one model completely, so a checkpoint that stores the
config can always rebuild its model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from rnnviz.common.settings import Config, setting
from rnnviz.data.sources import IMAGE_SIZE
from rnnviz.models.cells import ALIASES, CELLS, recurrent_layer
from rnnviz.models.orders import ORDERS, order_titles, reading_index, to_sequence


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
    forget_bias: float = setting(0.0, label="Forget-gate bias", low=-10.0, high=10.0, step=0.5,
                                 url="fbias", flag="forget-bias", group="Model",
                                 help="LSTM cells only: the forget gate's starting bias (0: "
                                      "PyTorch's init; TensorFlow and Keras start at 1)")
    order: str = setting("rows", label="Reading order", choices=order_titles, url="order",
                         flag="order", group="Data",
                         help="what one time step reads: a row, a column or one pixel (784 "
                              "steps, or 196 of the image at 14x14)")
    # fmt: on

    def __post_init__(self) -> None:
        super().__post_init__()
        if not CELLS[self.cell].recurrent and self.bidirectional:
            raise ValueError(f"bidirectional=True needs a recurrent cell, not cell={self.cell!r}")
        if CELLS[self.cell].convolutional and self.steps > IMAGE_SIZE:
            allowed = [k for k, o in ORDERS.items() if o.steps == IMAGE_SIZE]
            raise ValueError(
                f"order={self.order!r} reads one pixel per step, which cell={self.cell!r} cannot "
                f"take conv features of; choose order from {allowed}"
            )
        if not self.recurrent and ORDERS[self.order].pool > 1:
            allowed = [k for k, o in ORDERS.items() if o.pool == 1]
            raise ValueError(
                f"order={self.order!r} reads a 14x14 image, which cell={self.cell!r} (a CNN of "
                f"28x28 images) cannot; choose order from {allowed}"
            )
        if self.bidirectional and self.steps > IMAGE_SIZE:
            allowed = [k for k, o in ORDERS.items() if o.steps == IMAGE_SIZE]
            raise ValueError(
                f"bidirectional=True with order={self.order!r}: the backward direction's belief "
                f"after every one of {self.steps} steps is too slow to trace; choose order from "
                f"{allowed}"
            )

    @property
    def steps(self) -> int:
        """Time steps per image in this model's reading order."""
        return ORDERS[self.order].steps

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


class _Ordered(nn.Module):
    """Keeps the reading order's pixel index on the model's device; not saved with the weights
    (non-persistent), so checkpoints of every order have the same keys."""

    index: torch.Tensor

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("index", reading_index(config.order), persistent=False)

    def sequence(self, x: torch.Tensor) -> torch.Tensor:
        """Float images (B, 28, 28) -> the sequence (B, T, F) of the order; rows pass through,
        so a row model still reads fewer than 28 rows (B, T, 28) as they are."""
        return to_sequence(x, self.config.order, self.index)


class RowReader(_Ordered):
    """A recurrent classifier: optional conv features per step, an RNN/LSTM/GRU, a linear readout.

    `sequence` turns images (B, 28, 28) into the order's steps (B, T, 28 or 1); `features` maps
    that to what the recurrent layers read, (B, T, F): for the plain cells the identity, for the
    CNN-LSTM conv features of each row (or column). The readout uses the final state of *each*
    direction: the forward one after the last step and the backward one after the first.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
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
            input_size = ORDERS[config.order].inputs
        self.rnn = recurrent_layer(
            config.cell,
            input_size,
            config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout,
            bidirectional=config.bidirectional,
        )
        if config.forget_bias and CELLS[config.cell].family == "lstm":
            set_forget_bias(self.rnn, config.forget_bias)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size * config.num_directions, config.num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        seq = self.features(self.sequence(as_input(images)))  # (B, T, F)
        _, state = self.rnn(seq)
        h_n = state[0] if isinstance(state, tuple) else state  # (layers * dirs, B, H)
        return self.readout(h_n[-self.config.num_directions :])

    def readout(self, final: torch.Tensor) -> torch.Tensor:
        """Final states of the last layer, (dirs, B, H) -> logits (B, C)."""
        return self.head(self.drop(torch.cat(list(final), dim=-1)))


def set_forget_bias(lstm: nn.RNNBase, value: float) -> None:
    """Start every forget gate of `lstm` at bias `value` (gates are ordered i, f, g, o): the
    input-side bias holds it and the hidden-side one is zeroed, so their sum is `value`. With 1
    the cell keeps its memory from the first step on (Jozefowicz et al. 2015)."""
    with torch.no_grad():
        for name, param in lstm.named_parameters():
            if name.startswith("bias_"):
                hidden = param.shape[0] // 4
                param[hidden : 2 * hidden].fill_(value if name.startswith("bias_ih") else 0.0)


class _RowsAsSteps(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape  # (B, C, rows, W)
        return x.permute(0, 2, 1, 3).reshape(b, h, c * w)  # (B, rows, C * W)


class ConvNet(_Ordered):
    """A small CNN baseline for the "CNN vs RNN" lesson: it sees the whole image at once.

    Its reading order only rearranges the pixels: `columns` shows it the transposed image,
    `permuted` the shuffled one (which a CNN's local filters suffer from), `pixels` the image.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
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
        return self.body(self.image(as_input(images)))

    def image(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 28, 28) -> (B, 28, 28): the pixels rearranged as the order reads them, row-major."""
        if ORDERS[self.config.order].steps == IMAGE_SIZE:
            return self.sequence(x)  # rows, or the transposed image for columns
        return self.sequence(x).reshape(x.shape)  # (B, 784, 1) -> (B, 28, 28)


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
