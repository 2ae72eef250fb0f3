"""Student-facing words: what each recurrent cell computes per time step, and what the charts mean.

Plain data for the pages to lay out: the update equations of a vanilla RNN, an LSTM and a GRU in
LaTeX (PyTorch's conventions, one row x_t of the image per step), a few sentences saying what each
line does, and one-sentence lessons for the row-importance and row-experiment charts.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnviz.models.cells import CELLS, cell_key

__all__ = [
    "CNN_NO_TIME",
    "IMPORTANCE_LESSON",
    "CellExplanation",
    "cell_family",
    "explain_cell",
]


@dataclass(frozen=True)
class CellExplanation:
    """How one kind of cell turns the previous state and the next row into a new state."""

    title: str  # e.g. "LSTM (long short-term memory)"
    equations: tuple[str, ...]  # LaTeX, one equation per line, for st.latex
    notes: tuple[str, ...]  # markdown sentences, one per idea


_RNN = CellExplanation(
    title="Vanilla RNN",
    equations=(r"h_t = \tanh\left(W_{ih}\,x_t + b_{ih} + W_{hh}\,h_{t-1} + b_{hh}\right)",),
    notes=(
        "$x_t$ is row $t$ of the image (28 pixel values); $h_t$ is the hidden state after it.",
        "The same weights are used at every row: the network only remembers what fits in $h$.",
        "To learn from row 1, the error signal must pass back through 27 multiplications by "
        "$W_{hh}$ and $\\tanh'$; it usually shrinks to nothing (*vanishing gradients*).",
        "The ReLU variant uses $\\max(0, \\cdot)$ instead of $\\tanh$; the IRNN is that variant "
        "started with $W_{hh} = I$ and $b_{hh} = 0$, so at first it carries $h$ unchanged.",
    ),
)

_LSTM = CellExplanation(
    title="LSTM (long short-term memory)",
    equations=(
        r"i_t = \sigma(W_{ii}x_t + b_{ii} + W_{hi}h_{t-1} + b_{hi}) \quad \text{input gate}",
        r"f_t = \sigma(W_{if}x_t + b_{if} + W_{hf}h_{t-1} + b_{hf}) \quad \text{forget gate}",
        r"g_t = \tanh(W_{ig}x_t + b_{ig} + W_{hg}h_{t-1} + b_{hg}) \quad \text{candidate}",
        r"o_t = \sigma(W_{io}x_t + b_{io} + W_{ho}h_{t-1} + b_{ho}) \quad \text{output gate}",
        r"c_t = f_t \odot c_{t-1} + i_t \odot g_t",
        r"h_t = o_t \odot \tanh(c_t)",
    ),
    notes=(
        "Gates are numbers between 0 (closed) and 1 (open), one per unit, recomputed at every row.",
        "The cell state $c_t$ is the long-term memory: the forget gate $f_t$ decides how much of "
        "it to keep, the input gate $i_t$ how much of the new candidate $g_t$ to write.",
        "Because $c_t$ is updated by addition, not by squashing, the error signal can reach "
        "early rows without vanishing.",
        "The output gate $o_t$ decides how much of the memory shows in the hidden state $h_t$.",
    ),
)

_GRU = CellExplanation(
    title="GRU (gated recurrent unit)",
    equations=(
        r"r_t = \sigma(W_{ir}x_t + b_{ir} + W_{hr}h_{t-1} + b_{hr}) \quad \text{reset gate}",
        r"z_t = \sigma(W_{iz}x_t + b_{iz} + W_{hz}h_{t-1} + b_{hz}) \quad \text{update gate}",
        r"n_t = \tanh\left(W_{in}x_t + b_{in} + r_t \odot (W_{hn}h_{t-1} + b_{hn})\right)",
        r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}",
    ),
    notes=(
        "A GRU is a lighter LSTM: no separate cell state, two gates instead of three.",
        "The update gate $z_t$ near 1 keeps the old state (the row is skipped); near 0 it "
        "replaces the state with the new candidate $n_t$.",
        "The reset gate $r_t$ decides how much of the old state the candidate may look at.",
        "Keeping the old state is a plain copy, so memories and gradients survive many rows.",
    ),
)

_CNN = CellExplanation(
    title="CNN (no recurrence)",
    equations=(r"\hat y = \mathrm{softmax}\big(W\,\mathrm{pool}(\mathrm{conv}(x))\big)",),
    notes=(
        "A CNN slides small filters over the whole image at once: there are no time steps, "
        "no hidden state carried from row to row, and nothing to trace.",
    ),
)

_FAMILIES = {"rnn": _RNN, "lstm": _LSTM, "gru": _GRU, "cnn": _CNN}

CNN_NO_TIME = (
    "This model is a CNN: it looks at the whole image at once, so it has no time steps and no "
    "hidden state to watch. Pick a recurrent model (RNN, LSTM, GRU) in the sidebar."
)

IMPORTANCE_LESSON = (
    "Each bar is how strongly the loss reacts to a change in that row: a vanilla RNN's gradient "
    "fades as it travels back through the steps (vanishing gradients), so it mostly listens to "
    "the last rows, while an LSTM's or GRU's gates carry the signal back to the early rows too."
)


def cell_family(cell: str) -> str:
    """A ModelConfig.cell -> "rnn", "lstm", "gru" or "cnn" (cnn_lstm is an LSTM over conv rows)."""
    return CELLS[cell_key(cell)].family


def explain_cell(cell: str) -> CellExplanation:
    """The equations and notes for the family of `cell` (a ModelConfig.cell)."""
    return _FAMILIES[cell_family(cell)]
