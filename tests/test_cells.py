"""rnnviz.models.cells: one row of facts per cell, one builder, and the rnn alias."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnviz.models.cells import (
    ALIASES,
    CELLS,
    SEQUENCE_CELLS,
    cell_key,
    group_colors,
    group_of,
    recurrent_layer,
)

from .contrast import faint


@pytest.mark.parametrize("key", [k for k, c in CELLS.items() if c.recurrent])
def test_the_builder_makes_the_cells_own_torch_layer(key: str) -> None:
    cell = CELLS[key]
    layer = recurrent_layer(key, 7, 5, num_layers=2, dropout=0.3, bidirectional=True)
    assert isinstance(layer, nn.RNNBase) and layer.batch_first and layer.bidirectional
    expected = {nn.RNN: ("RNN_TANH", "RNN_RELU"), nn.LSTM: ("LSTM",), nn.GRU: ("GRU",)}
    assert type(layer) is cell.layer and layer.mode in expected[type(layer)]
    assert layer.dropout == 0.3 and layer.input_size == 7 and layer.hidden_size == 5
    if cell.nonlinearity is not None:
        assert layer.mode == f"RNN_{cell.nonlinearity.upper()}"
    out, _ = layer(torch.zeros(2, 4, 7))
    assert out.shape == (2, 4, 10)


def test_one_layer_drops_no_dropout_and_the_cnn_has_no_recurrent_layer() -> None:
    assert recurrent_layer("gru", 3, 4, dropout=0.5).dropout == 0.0  # nn.RNNBase would warn
    with pytest.raises(ValueError, match="cell='cnn' has no recurrent layer"):
        recurrent_layer("cnn", 3, 4)


def test_rnn_is_an_alias_of_rnn_tanh() -> None:
    assert ALIASES == {"rnn": "rnn_tanh"} and cell_key("rnn") == "rnn_tanh"
    assert recurrent_layer("rnn", 3, 4).mode == "RNN_TANH"
    with pytest.raises(ValueError, match=r"cell='lstm' is not one of \['gru'\]"):
        cell_key("lstm", ("gru",))


def test_families_groups_and_colours_come_from_the_rows() -> None:
    assert [CELLS[k].family for k in CELLS] == ["rnn", "rnn", "rnn", "lstm", "gru", "lstm", "cnn"]
    assert SEQUENCE_CELLS == ("rnn_tanh", "rnn_relu", "irnn", "lstm", "gru")
    assert group_of("lstm", bidirectional=True) == "BiLSTM" and group_of("rnn_tanh") == "RNN"
    colors = group_colors()
    assert list(colors)[:4] == ["RNN", "BiRNN", "RNN (ReLU)", "BiRNN (ReLU)"]
    assert colors["LSTM"] == CELLS["lstm"].color and colors["BiGRU"] == CELLS["gru"].bi_color
    assert "BiCNN" not in colors and len(set(colors.values())) == len(colors)
    assert faint(list(colors.values())) == []  # every family's lines seen on white and on black
    assert faint(["#ff7f0e", "#393b79"]) == ["#ff7f0e", "#393b79"]  # tab10's orange, its navy


def test_irnn_starts_with_identity_recurrence_and_zero_recurrent_bias() -> None:
    torch.manual_seed(0)
    layer = recurrent_layer("irnn", 28, 16, num_layers=2, bidirectional=True)
    assert layer.mode == "RNN_RELU"
    for name, param in layer.named_parameters():
        if name.startswith("weight_hh"):
            assert torch.equal(param, torch.eye(16)), name
        elif name.startswith("bias"):
            assert torch.count_nonzero(param) == 0, name
        else:  # input weights: small, not torch's uniform(-1/4, 1/4)
            spread = param.detach()
            assert 0 < float(spread.std()) < 0.002 and float(spread.abs().max()) < 0.01, name
    plain = recurrent_layer("rnn_relu", 28, 16).weight_hh_l0
    assert isinstance(plain, torch.Tensor) and not torch.equal(plain, torch.eye(16))
    assert CELLS["irnn"].color not in {c.color for k, c in CELLS.items() if k != "irnn"}
