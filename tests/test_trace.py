"""rnnviz.analysis.trace: the unrolled states must be nn.RNN/LSTM/GRU's own, step by step."""

from __future__ import annotations

import functools

import pytest
import torch

from rnnviz.analysis.rows import first_rows
from rnnviz.analysis.trace import Trace, trace
from rnnviz.models.cells import CELLS
from rnnviz.models.network import ModelConfig, RowReader, as_input, build_model

RECURRENT = [key for key, cell in CELLS.items() if cell.recurrent]
HIDDEN = 5  # odd and unlike any input width, so a wrong chunk or transpose shows
ATOL = 1e-5
SHAPES = [(cell, layers, bi) for cell in RECURRENT for layers in (1, 3) for bi in (False, True)]


pytestmark = pytest.mark.usefixtures("one_thread")


def _model(cell: str, layers: int = 1, bidirectional: bool = False, seed: int = 0) -> RowReader:
    torch.manual_seed(seed)
    config = ModelConfig(
        cell=cell,
        hidden_size=HIDDEN,
        num_layers=layers,
        bidirectional=bidirectional,
        dropout=0.3,  # would change the states if trace forgot eval mode
    )
    model = build_model(config)
    assert isinstance(model, RowReader)
    return model.train()


def _images(batch: int = 3, rows: int = 28, seed: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (batch, rows, 28), generator=gen, dtype=torch.uint8)


@functools.cache
def _traced(cell: str, layers: int, bidirectional: bool) -> tuple[RowReader, torch.Tensor, Trace]:
    """One trace per shape, shared by the tests below (the unroll is the slow part)."""
    model, images = _model(cell, layers, bidirectional), _images()
    return model, images, trace(model, images)


def _reference(model: RowReader, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """nn.RNN's own (out, h_n[, c_n]) in eval mode."""
    model.eval()
    with torch.no_grad():
        out, state = model.rnn(model.features(as_input(images)))
    model.train()
    return (out, *state) if isinstance(state, tuple) else (out, state)


@pytest.mark.parametrize(("cell", "layers", "bi"), SHAPES)
def test_hidden_matches_nn_rnn(cell: str, layers: int, bi: bool) -> None:
    model, images, tr = _traced(cell, layers, bi)
    out, h_n, *c_n = _reference(model, images)
    dirs = 2 if bi else 1
    assert tr.hidden.shape == (layers, dirs, 3, 28, HIDDEN)
    assert tr.cell == cell
    assert torch.equal(tr.inputs, model.features(as_input(images)))
    torch.testing.assert_close(tr.hidden[-1, 0], out[..., :HIDDEN], atol=ATOL, rtol=0)
    if bi:  # (B, T, H) at every row, and index t is the row for the backward pass too
        torch.testing.assert_close(tr.hidden[-1, 1], out[..., HIDDEN:], atol=ATOL, rtol=0)
    states = [tr.hidden] + ([tr.cell_state] if c_n else [])
    for traced, final in zip(states, [h_n, *c_n], strict=True):
        assert traced is not None
        ends = [traced[:, 0, :, -1]] + ([traced[:, 1, :, 0]] if bi else [])  # each (L, B, H)
        expected = final.view(layers, dirs, 3, HIDDEN)  # h_n is (L * D, B, H), layer-major
        torch.testing.assert_close(torch.stack(ends, dim=1), expected, atol=ATOL, rtol=0)


@pytest.mark.parametrize(("cell", "layers", "bi"), SHAPES)
def test_logits_and_probs(cell: str, layers: int, bi: bool) -> None:
    model, images, tr = _traced(cell, layers, bi)
    assert model.training  # trace put the training flag back
    model.eval()
    with torch.no_grad():
        expected = model(images)
    model.train()
    torch.testing.assert_close(tr.logits, expected, atol=ATOL, rtol=0)
    torch.testing.assert_close(tr.probs[:, -1], tr.logits.softmax(-1), atol=1e-7, rtol=0)
    assert tr.probs.shape == (3, 28, 10)
    torch.testing.assert_close(tr.probs.sum(-1), torch.ones(3, 28))
    assert torch.equal(tr.predictions, expected.argmax(-1))
    tensors = [tr.inputs, tr.hidden, tr.probs, tr.logits, *tr.gates.values()]
    assert not any(t.requires_grad for t in tensors)


@pytest.mark.parametrize(
    ("cell", "bi"),
    [
        ("rnn_tanh", False),
        ("gru", False),
        ("lstm", False),
        ("lstm", True),
        ("gru", True),
        ("cnn_lstm", True),
    ],
)
def test_probs_at_row_t_are_the_model_reading_rows_0_to_t(cell: str, bi: bool) -> None:
    model, images = _model(cell, 2, bi), _images(batch=2, rows=6)
    tr = trace(model, images)
    for t in range(6):
        prefix = first_rows(images, t + 1)
        unrolled = trace(model, prefix).logits.softmax(-1)
        torch.testing.assert_close(tr.probs[:, t], unrolled, atol=1e-6, rtol=0)
        model.eval()
        with torch.no_grad():
            expected = model(prefix).softmax(-1)
        torch.testing.assert_close(tr.probs[:, t], expected, atol=ATOL, rtol=0)


def test_unidirectional_probs_read_every_hidden_state() -> None:
    model, _, tr = _traced("gru", 3, False)
    with torch.no_grad():
        expected = model.head(tr.hidden[-1, 0]).softmax(-1)  # (B, T, C)
    torch.testing.assert_close(tr.probs, expected, atol=1e-6, rtol=0)


def _previous(states: torch.Tensor, direction: int) -> torch.Tensor:
    """(B, T, H) -> the state each step started from: zeros, then the neighbour it came from."""
    zero = torch.zeros_like(states[:, :1])
    if direction == 0:
        return torch.cat([zero, states[:, :-1]], dim=1)
    return torch.cat([states[:, 1:], zero], dim=1)


@pytest.mark.parametrize(("cell", "layers", "bi"), [s for s in SHAPES if "lstm" in s[0]])
def test_lstm_gates_reproduce_cell_and_hidden(cell: str, layers: int, bi: bool) -> None:
    _, _, tr = _traced(cell, layers, bi)
    assert tr.cell_state is not None
    assert sorted(tr.gates) == ["f", "g", "i", "o"]
    i, f, g, o = (tr.gates[name] for name in "ifgo")
    for gate in (i, f, o):
        assert gate.min() >= 0 and gate.max() <= 1
    assert g.abs().max() <= 1
    for layer in range(layers):
        for d in range(2 if bi else 1):
            c, h = tr.cell_state[layer, d], tr.hidden[layer, d]
            at = (layer, d)
            c_prev = _previous(c, d)
            torch.testing.assert_close(c, f[at] * c_prev + i[at] * g[at], atol=1e-6, rtol=0)
            torch.testing.assert_close(h, o[at] * c.tanh(), atol=1e-6, rtol=0)


@pytest.mark.parametrize(("layers", "bi"), [(1, False), (3, True)])
def test_gru_gates_reproduce_hidden(layers: int, bi: bool) -> None:
    _, _, tr = _traced("gru", layers, bi)
    assert tr.cell_state is None
    assert sorted(tr.gates) == ["n", "r", "z"]
    r, z, n = (tr.gates[name] for name in "rzn")
    assert r.min() >= 0 and r.max() <= 1 and z.min() >= 0 and z.max() <= 1
    assert n.abs().max() <= 1
    for layer in range(layers):
        for d in range(2 if bi else 1):
            h, at = tr.hidden[layer, d], (layer, d)
            expected = (1 - z[at]) * n[at] + z[at] * _previous(h, d)
            torch.testing.assert_close(h, expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu"])
def test_vanilla_rnn_has_no_gates(cell: str) -> None:
    _, _, tr = _traced(cell, 1, False)
    assert tr.gates == {}
    assert tr.cell_state is None
    if cell == "rnn_relu":
        assert tr.hidden.min() >= 0


def test_single_image_is_a_batch_of_one() -> None:
    model, images, whole = _traced("lstm", 3, True)
    one = trace(model, images[1])  # (T, 28)
    assert one.hidden.shape == (3, 2, 1, 28, HIDDEN)
    torch.testing.assert_close(one.hidden[:, :, 0], whole.hidden[:, :, 1], atol=1e-6, rtol=0)
    torch.testing.assert_close(one.probs[0], whole.probs[1], atol=1e-6, rtol=0)


@pytest.mark.parametrize("cell", RECURRENT)
def test_fewer_rows(cell: str) -> None:
    model, images = _model(cell, 2, True), _images(batch=2, rows=10)
    tr = trace(model, images)
    assert tr.hidden.shape == (2, 2, 2, 10, HIDDEN)
    assert tr.probs.shape == (2, 10, 10)
    assert tr.inputs.shape[:2] == (2, 10)
    model.eval()
    with torch.no_grad():
        out, _ = model.rnn(tr.inputs)
    torch.testing.assert_close(tr.hidden[-1, 1], out[..., HIDDEN:], atol=ATOL, rtol=0)


def test_float_and_uint8_images_agree() -> None:
    model, images, tr = _traced("rnn_tanh", 1, True)
    tr_float = trace(model, images.float() / 255)
    torch.testing.assert_close(tr_float.hidden, tr.hidden)


def test_cnn_is_refused() -> None:
    model = build_model(ModelConfig(cell="cnn", hidden_size=32))
    with pytest.raises(ValueError, match="recurrent"):
        trace(model, _images())


@pytest.mark.parametrize("shape", [(2, 29, 28), (2, 28, 27), (28,), (1, 2, 28, 28), (2, 0, 28)])
def test_bad_image_shapes(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="images must be"):
        trace(_model("gru"), torch.zeros(shape))


def test_training_flags_of_submodules_come_back() -> None:
    model = _model("lstm", 2)
    model.eval()
    model.head.train()
    trace(model, _images(batch=1, rows=3))
    assert model.head.training and not model.rnn.training and not model.training


@pytest.mark.parametrize("order", ["pixels", "permuted", "columns", "permuted14"])
def test_a_trace_follows_the_models_reading_order(order: str) -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(cell="gru", hidden_size=5, order=order))
    assert isinstance(model, RowReader)
    images = torch.randint(0, 256, (2, 28, 28), dtype=torch.uint8)
    steps = trace(model, images)
    length = {"columns": 28, "permuted14": 196}.get(order, 784)
    assert steps.order == order and steps.hidden.shape == (1, 1, 2, length, 5)
    assert steps.probs.shape == (2, length, 10) and steps.inputs.shape[1] == length
    with torch.no_grad():
        out, _ = model.rnn(model.sequence(as_input(images)))  # (B, T, H) from nn.GRU itself
        torch.testing.assert_close(steps.hidden[0, 0], out, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(steps.logits, model(images), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="reads whole 28x28 images"):
        trace(model, images[:, :10])
