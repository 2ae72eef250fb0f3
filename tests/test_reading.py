"""rnnviz.analysis.reading: what the Inside and Draw pages compute, on known inputs and small
models."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from rnnviz.analysis import explain, reading
from rnnviz.data.preprocess import BlankImageError
from rnnviz.models.network import ModelConfig, build_model

CANVAS = 280


def _model(cell: str, hidden: int = 8, **kw: object) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelConfig(cell=cell, hidden_size=hidden, **kw))  # type: ignore[arg-type]


def _digit() -> np.ndarray:
    """A (28, 28) uint8 image with ink in every row band: a thick vertical bar and a top bar."""
    image = np.zeros((28, 28), dtype=np.uint8)
    image[4:24, 12:16] = 255
    image[4:7, 6:22] = 200
    return image


def _canvas(points: list[tuple[int, int]] | None, width: int = 28) -> np.ndarray:
    """A (280, 280, 4) RGBA canvas like st_canvas returns: white strokes on opaque black."""
    im = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 255))
    if points:
        ImageDraw.Draw(im).line(points, fill=(255, 255, 255, 255), width=width, joint="curve")
    return np.asarray(im)


SEVEN = [(70, 60), (210, 60), (120, 230)]


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
def test_read_image_matches_the_models_own_forward(cell: str) -> None:
    model = _model(cell)
    image = _digit()
    result = reading.read_image(model, image)
    expected = model(torch.from_numpy(image).unsqueeze(0)).softmax(-1)[0].detach().numpy()
    assert np.allclose(result.probs, expected, atol=1e-5)
    assert result.probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert result.prediction == int(expected.argmax())
    assert result.belief is not None and result.belief.shape == (28, 10)
    assert np.allclose(result.belief[-1], result.probs)
    assert result.locks_in is not None and 0 <= result.locks_in <= 27


def test_read_image_accepts_lists_and_unit_floats_alike() -> None:
    model = _model("gru")
    image = _digit()
    from_list = reading.read_image(model, image.tolist())
    from_floats = reading.read_image(model, image.astype(np.float32) / 255.0)
    assert from_list.image.dtype == np.uint8
    assert np.array_equal(from_list.image, image)
    assert np.allclose(from_list.probs, from_floats.probs, atol=1e-6)


def test_cnn_gives_probabilities_but_no_trace() -> None:
    model = _model("cnn")
    result = reading.read_image(model, _digit())
    assert result.trace is None and result.belief is None and result.locks_in is None
    assert result.probs.shape == (10,) and result.probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert not reading.is_recurrent(model) and reading.is_recurrent(_model("lstm"))
    with pytest.raises(ValueError, match="28"):
        reading.read_image(model, _digit()[:10])


@pytest.mark.parametrize("cell", ["cnn", "gru"])
def test_reading_puts_every_training_flag_back(cell: str) -> None:
    model = _model(cell, hidden=16, dropout=0.5)
    model.eval()
    dropout = next(m for m in model.modules() if isinstance(m, torch.nn.Dropout))
    dropout.train()  # one submodule left in training mode must stay so
    flags = [m.training for m in model.modules()]
    first = reading.read_image(model, _digit())
    again = reading.read_image(model, _digit())
    assert np.array_equal(first.probs, again.probs)  # eval mode inside: dropout did not fire
    images = torch.from_numpy(np.stack([_digit(), _digit()]))
    assert reading.misclassified_indices(model, images, torch.tensor([10, 10])) == [0, 1]
    assert [m.training for m in model.modules()] == flags


@pytest.mark.parametrize("shape", [(28,), (28, 27), (29, 28), (0, 28)])
def test_read_image_refuses_what_is_not_rows_of_28(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="must be"):
        reading.read_image(_model("lstm"), np.zeros(shape, dtype=np.uint8))


def test_read_drawing_preprocesses_then_reads() -> None:
    model = _model("lstm")
    drawing = reading.read_drawing(model, _canvas(SEVEN))
    assert drawing.pre.image.shape == (28, 28) and drawing.pre.image.max() == 255
    assert np.array_equal(drawing.reading.image, drawing.pre.image)
    assert drawing.naive is None
    both = reading.read_drawing(model, _canvas(SEVEN), naive=True)
    assert both.naive is not None and np.array_equal(both.naive.image, both.pre.naive)


@pytest.mark.parametrize("points", [None, [(140, 140), (142, 141)]], ids=["empty", "dot"])
def test_blank_or_dot_canvas_raises_blank_image_error(points: list | None) -> None:
    with pytest.raises(BlankImageError, match="draw a digit"):
        reading.read_drawing(_model("lstm"), _canvas(points, width=6))


def test_misclassified_indices_are_exactly_the_wrong_ones() -> None:
    model = _model("gru")
    images = torch.from_numpy(
        np.stack([_digit(), _digit()[::-1].copy(), np.zeros((28, 28), np.uint8)])
    )
    preds = model(images).argmax(-1)
    labels = preds.clone()
    labels[1] = (preds[1] + 1) % 10
    assert reading.misclassified_indices(model, images, labels) == [1]
    assert reading.misclassified_indices(model, images, labels, limit=1) == []


@dataclass
class _Info:
    cell: str
    dataset: str


def test_importance_pair_needs_both_kinds_on_one_dataset() -> None:
    infos = [_Info("lstm", "mnist"), _Info("rnn_tanh", "digits"), _Info("cnn", "digits"),
             _Info("gru", "digits"), _Info("rnn_relu", "mnist")]  # fmt: skip
    assert reading.importance_pair(infos) == (infos[4], infos[0])
    assert reading.importance_pair(infos, "digits") == (infos[1], infos[3])
    assert reading.importance_pair(infos[:3]) is None  # no rnn + gated on one dataset
    assert reading.importance_pair(infos[:4], "mnist") is None  # digits has both: not asked for


def test_parse_handover_accepts_only_well_formed_values() -> None:
    test = reading.parse_handover({"source": "test", "index": 42})
    assert test is not None and test.source == "test" and test.index == 42
    image = _digit()
    drawn = reading.parse_handover(reading.drawing_handover(image))
    assert drawn is not None and drawn.source == "drawing"
    assert drawn.image is not None and np.array_equal(drawn.image, image)
    bad = [None, 3, {}, {"source": "test"}, {"source": "test", "index": -1},
           {"source": "test", "index": True}, {"source": "test", "index": "4"},
           {"source": "drawing", "image": [[0] * 28] * 27},
           {"source": "drawing", "image": [[300] * 28] * 28},
           {"source": "drawing", "image": "not an image"}, {"source": "camera"}]  # fmt: skip
    assert [reading.parse_handover(value) for value in bad] == [None] * len(bad)


@pytest.mark.parametrize(
    ("cell", "family", "needle"),
    [("rnn_tanh", "rnn", r"\tanh"), ("rnn_relu", "rnn", "W_{hh}"), ("lstm", "lstm", "c_t"),
     ("cnn_lstm", "lstm", "f_t"), ("gru", "gru", "z_t"), ("cnn", "cnn", "conv")],
)  # fmt: skip
def test_every_cell_has_equations(cell: str, family: str, needle: str) -> None:
    assert explain.cell_family(cell) == family
    about = explain.explain_cell(cell)
    assert any(needle in line for line in about.equations) and about.notes
    with pytest.raises(ValueError, match="cell"):
        explain.cell_family("transformer")


def test_importance_lesson_is_one_sentence_about_vanishing_gradients() -> None:
    lesson = explain.IMPORTANCE_LESSON
    assert "vanishing gradients" in lesson and lesson.count(". ") == 0 and lesson.endswith(".")
