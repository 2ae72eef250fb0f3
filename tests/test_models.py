"""rnnviz.models.network: config validation, every cell's shapes, a readout that uses both
directions."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch

from rnnviz.models.cells import CELLS
from rnnviz.models.network import ModelConfig, RowReader, as_input, build_model

RECURRENT = [key for key, cell in CELLS.items() if cell.recurrent]
PLAIN_CELLS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]  # features are the identity
H = 6


pytestmark = pytest.mark.usefixtures("one_thread")


def _images(batch: int = 2, rows: int = 28, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (batch, rows, 28), generator=gen, dtype=torch.uint8)


def _reader(cell: str, layers: int = 1, bidirectional: bool = True) -> RowReader:
    torch.manual_seed(0)
    config = ModelConfig(cell=cell, hidden_size=H, num_layers=layers, bidirectional=bidirectional)
    model = build_model(config)
    assert isinstance(model, RowReader)
    return model.eval()


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"cell": "transformer"}, "'transformer'"),
        ({"hidden_size": 0}, "hidden_size=0"),
        ({"num_layers": 0}, "num_layers=0"),
        ({"dropout": 1.0}, "dropout=1.0"),
        ({"dropout": -0.1}, "dropout=-0.1"),
        ({"num_classes": 1}, "num_classes=1"),
        ({"cell": "cnn", "bidirectional": True}, "cell='cnn'"),
    ],
)
def test_bad_config_names_the_value(kwargs: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        ModelConfig(**kwargs)


def test_bad_cell_lists_the_allowed_ones() -> None:
    with pytest.raises(ValueError) as error:
        ModelConfig(cell="LSTM")
    assert all(cell in str(error.value) for cell in CELLS)


def test_config_round_trips_through_json() -> None:
    config = ModelConfig(cell="gru", hidden_size=7, num_layers=3, bidirectional=True, dropout=0.2)
    data = json.loads(json.dumps(config.to_dict()))
    assert ModelConfig.from_dict(data) == config
    assert ModelConfig.from_dict({}) == ModelConfig()


def test_unknown_config_keys_are_rejected() -> None:
    with pytest.raises(ValueError, match="hidden_units"):
        ModelConfig.from_dict({"cell": "lstm", "hidden_units": 3})


@pytest.mark.parametrize(
    ("cell", "bidirectional"),
    [(cell, False) for cell in CELLS] + [(cell, True) for cell in RECURRENT],
)
def test_every_cell_maps_images_to_logits(cell: str, bidirectional: bool) -> None:
    torch.manual_seed(0)
    config = ModelConfig(cell=cell, hidden_size=8, num_layers=2, bidirectional=bidirectional)
    model = build_model(config).eval()
    assert model.config is config
    assert CELLS[cell].recurrent == isinstance(model, RowReader)
    with torch.no_grad():
        logits = model(_images(batch=3))
    assert logits.shape == (3, 10) and logits.dtype == torch.float32
    assert logits.isfinite().all()
    assert not torch.allclose(logits[0], logits[1])  # the images are read, not ignored


@pytest.mark.parametrize("cell", list(CELLS))
def test_uint8_pixels_equal_floats_over_255(cell: str) -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(cell=cell, hidden_size=8)).eval()
    images = _images()
    with torch.no_grad():
        torch.testing.assert_close(model(images), model(images.float() / 255))
    assert torch.equal(as_input(images), images.float() / 255)


def test_as_input_leaves_uint8_images_alone() -> None:
    images = _images()
    original = images.clone()
    as_input(images)
    assert torch.equal(images, original)


@pytest.mark.parametrize("cell", PLAIN_CELLS)
@pytest.mark.parametrize("layers", [1, 2])
def test_bidirectional_readout_uses_each_directions_final_state(cell: str, layers: int) -> None:
    model, images = _reader(cell, layers), _images()
    with torch.no_grad():
        out, _ = model.rnn(as_input(images))  # (B, T, 2H): forward | backward at every row
        logits = model(images)
        # Forward is done after the last row; backward is done after row 0, where it ends.
        right = model.head(torch.cat([out[:, -1, :H], out[:, 0, H:]], dim=-1))
        # The common bug: out[:, -1] holds a backward state that has read only the last row.
        wrong = model.head(out[:, -1, :])
    torch.testing.assert_close(logits, right, atol=1e-6, rtol=0)
    assert (logits - wrong).abs().max() > 1e-3


@pytest.mark.parametrize("cell", PLAIN_CELLS)
def test_first_row_reaches_the_backward_final_state(cell: str) -> None:
    model, images = _reader(cell, layers=1), _images()
    changed = images.clone()
    changed[:, 0] = 255 - images[:, 0]
    with torch.no_grad():
        out, state = model.rnn(as_input(images))
        out2, state2 = model.rnn(as_input(changed))
        logits, logits2 = model(images), model(changed)
    h_n = state[0] if isinstance(state, tuple) else state
    h_n2 = state2[0] if isinstance(state2, tuple) else state2
    assert (h_n[-1] - h_n2[-1]).abs().max() > 1e-3  # h_n[-1]: the backward direction's final state
    assert (logits - logits2).abs().max() > 1e-4
    # The backward state at the last row has seen only that row, so row 0 cannot reach it.
    assert torch.equal(out[:, -1, H:], out2[:, -1, H:])


def test_eval_mode_is_deterministic_and_dropout_is_not() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(cell="lstm", hidden_size=16, num_layers=2, dropout=0.5))
    images = _images()
    with torch.no_grad():
        assert not torch.equal(model.train()(images), model(images))
        assert torch.equal(model.eval()(images), model(images))


@pytest.mark.parametrize("cell", PLAIN_CELLS)
def test_recurrent_models_read_fewer_rows(cell: str) -> None:
    with torch.no_grad():
        assert _reader(cell)(_images(rows=5)).shape == (2, 10)


def test_cnn_lstm_reads_fewer_rows() -> None:
    with torch.no_grad():
        assert _reader("cnn_lstm")(_images(rows=5)).shape == (2, 10)


@pytest.mark.parametrize("cell", ["lstm", "cnn_lstm"])
def test_forget_bias_starts_every_lstm_forget_gate_there(cell: str) -> None:
    torch.manual_seed(0)
    plain = build_model(ModelConfig(cell=cell, hidden_size=6, num_layers=2))
    torch.manual_seed(0)
    opened = build_model(ModelConfig(cell=cell, hidden_size=6, num_layers=2, forget_bias=1.0))
    for (name, before), (_, after) in zip(
        plain.get_submodule("rnn").named_parameters(),
        opened.get_submodule("rnn").named_parameters(),
        strict=True,
    ):
        if name.startswith("bias_"):
            # the gates are ordered input, forget, cell, output: only the forget slice moves
            forget = after[6:12].tolist()
            assert forget == ([1.0] * 6 if name.startswith("bias_ih") else [0.0] * 6), name
            assert torch.equal(
                torch.cat([before[:6], before[12:]]), torch.cat([after[:6], after[12:]])
            )
        else:
            assert torch.equal(before, after), name  # the same weights otherwise, same RNG use


def test_forget_bias_leaves_cells_without_a_forget_gate_alone() -> None:
    torch.manual_seed(0)
    plain = build_model(ModelConfig(cell="gru", hidden_size=6))
    torch.manual_seed(0)
    biased = build_model(ModelConfig(cell="gru", hidden_size=6, forget_bias=1.0))
    assert all(
        torch.equal(a, b) for a, b in zip(plain.parameters(), biased.parameters(), strict=True)
    )
