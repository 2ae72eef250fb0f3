"""The cell registry: every architecture rnnviz trains, one row of facts each, and the one builder.

`CELLS` maps a name to a `Cell`: its titles, the family whose equations explain it, whether it
reads the rows one at a time, the torch class, nonlinearity and initialisation of its recurrent
layer, and the colour it has on every chart. `recurrent_layer` builds that layer for the image
models and the memory lab alike (as pytorch/examples' word_language_model picks RNN/LSTM/GRU by
name, once). `rnn` is accepted everywhere as an alias of `rnn_tanh`: it is what `nn.RNN` calls
its default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from rnnviz.common.text import shown


def identity_init(layer: nn.RNNBase) -> None:
    """IRNN (Le, Jaitly & Hinton 2015): every recurrent matrix the identity, recurrent biases
    zero, input weights small (normal, std 0.001), so a ReLU RNN starts by carrying its state."""
    with torch.no_grad():
        for name, param in layer.named_parameters():
            if name.startswith("weight_hh"):
                param.copy_(torch.eye(*param.shape))
            elif name.startswith("bias"):
                param.zero_()
            elif name.startswith("weight_ih"):
                param.normal_(0.0, 0.001)


@dataclass(frozen=True)
class Cell:
    """One architecture: how it is named, explained, built and drawn."""

    key: str  # the name configs, URLs and the CLI use
    title: str  # what a menu calls it: "Vanilla RNN (tanh)"
    short: str  # legends and table groups: "RNN"
    tag: str  # the start of a run's title: "RNN-tanh 1x128 · MNIST"
    family: str  # whose equations explain it: "rnn", "lstm", "gru" or "cnn"
    layer: Callable[..., nn.RNNBase] | None  # nn.RNN, nn.LSTM, nn.GRU; None: no recurrence
    nonlinearity: str | None  # nn.RNN's `nonlinearity`; None for the gated cells
    color: str  # its line and marker colour on every chart: 3:1 or more on white and on black
    bi_color: str | None  # the bidirectional variant's colour (the same); None where there is none
    convolutional: bool = False  # conv features per row before the recurrent layer
    init: Callable[[nn.RNNBase], None] | None = None  # applied to a new layer; None: torch's

    @property
    def recurrent(self) -> bool:
        """True when it reads one row per time step (everything but the CNN)."""
        return self.layer is not None


CELLS: dict[str, Cell] = {
    c.key: c
    for c in (
        Cell("rnn_tanh", "Vanilla RNN (tanh)", "RNN", "RNN-tanh", "rnn", nn.RNN, "tanh",
             "#d62728", "#d96eb9"),
        Cell("rnn_relu", "Vanilla RNN (ReLU)", "RNN (ReLU)", "RNN-relu", "rnn", nn.RNN, "relu",
             "#e97201", "#989902"),
        Cell("irnn", "IRNN (ReLU, identity init)", "IRNN", "IRNN", "rnn", nn.RNN, "relu",
             "#bd8c02", "#a6761d", init=identity_init),
        Cell("lstm", "LSTM", "LSTM", "LSTM", "lstm", nn.LSTM, None, "#1f77b4", "#9467bd"),
        Cell("gru", "GRU", "GRU", "GRU", "gru", nn.GRU, None, "#2ca02c", "#03a3b2"),
        Cell("cnn_lstm", "CNN features, then an LSTM over the rows", "CNN-LSTM", "CNN-LSTM",
             "lstm", nn.LSTM, None, "#8c564b", "#505495", convolutional=True),
        Cell("cnn", "Small CNN (no recurrence)", "CNN", "Small CNN", "cnn", None, None,
             "#7f7f7f", None),
    )
}  # fmt: skip
ALIASES: dict[str, str] = {"rnn": "rnn_tanh"}
# The cells of one plain recurrent layer: what the memory lab trains.
SEQUENCE_CELLS: tuple[str, ...] = tuple(
    k for k, c in CELLS.items() if c.recurrent and not c.convolutional
)


def cell_key(name: str, allowed: tuple[str, ...] | None = None) -> str:
    """The registry key of `name` (an alias resolved); ValueError naming the allowed ones."""
    choices = allowed if allowed is not None else tuple(CELLS)
    key = ALIASES.get(name, name) if isinstance(name, str) else name
    if key not in choices:
        raise ValueError(f"cell={shown(name)} is not one of {list(choices)}")
    return key


def group_of(cell: str, bidirectional: bool = False) -> str:
    """The family a chart colours by: "RNN", "BiLSTM", "GRU", ... (unknown cells by their name)."""
    short = CELLS[cell].short if cell in CELLS else cell
    return f"Bi{short}" if bidirectional else short


def group_colors() -> dict[str, str]:
    """Group -> colour, in the order of the lesson (plain RNN first, each Bi- after its cell)."""
    colors: dict[str, str] = {}
    for cell in CELLS.values():
        colors[cell.short] = cell.color
        if cell.bi_color is not None:
            colors[f"Bi{cell.short}"] = cell.bi_color
    return colors


def recurrent_layer(
    cell: str,
    input_size: int,
    hidden_size: int,
    *,
    num_layers: int = 1,
    dropout: float = 0.0,
    bidirectional: bool = False,
) -> nn.RNNBase:
    """The batch-first recurrent layer of `cell`; dropout acts between stacked layers only."""
    row = CELLS[cell_key(cell)]
    if row.layer is None:
        raise ValueError(f"cell={cell!r} has no recurrent layer")
    extra = {"nonlinearity": row.nonlinearity} if row.nonlinearity else {}
    layer = row.layer(
        input_size,
        hidden_size,
        num_layers=num_layers,
        batch_first=True,
        dropout=dropout if num_layers > 1 else 0.0,
        bidirectional=bidirectional,
        **extra,
    )
    if row.init is not None:
        row.init(layer)
    return layer
