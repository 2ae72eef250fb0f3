"""rnnviz.analysis.rows: row edits, row experiments, row importance and the lock-in row, on known
inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from rnnviz.analysis import rows
from rnnviz.analysis.rows import erase_rows, first_rows, locks_in_at, reverse_rows, row_importance
from rnnviz.analysis.trace import trace
from rnnviz.models.network import ModelConfig, RowReader, build_model

pytestmark = pytest.mark.usefixtures("one_thread")


def _model(cell: str, hidden: int = 8, **kw: object) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelConfig(cell=cell, hidden_size=hidden, **kw))  # type: ignore[arg-type]


def _images(batch: int = 3, rows: int = 28, seed: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (batch, rows, 28), generator=gen, dtype=torch.uint8)


def _digit() -> np.ndarray:
    """A (28, 28) uint8 image with ink in every row band: a thick vertical bar and a top bar."""
    image = np.zeros((28, 28), dtype=np.uint8)
    image[4:24, 12:16] = 255
    image[4:7, 6:22] = 200
    return image


def test_locks_in_at_hand_made() -> None:
    flips = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.1, 0.9]])
    assert locks_in_at(flips) == 3  # guesses 0 1 0 1 1: the final 1 holds from row 3
    assert locks_in_at(torch.tensor([[0.1, 0.9]] * 4)) == 0
    assert locks_in_at(torch.tensor([[0.9, 0.1]] * 4 + [[0.4, 0.6]])) == 4
    assert locks_in_at(torch.tensor([[0.3, 0.3, 0.4]])) == 0
    with pytest.raises(ValueError, match="T, C"):
        locks_in_at(torch.ones(2, 3, 4))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 2), min_size=1, max_size=28))
def test_locks_in_at_is_where_the_last_change_ends(guesses: list[int]) -> None:
    probs = F.one_hot(torch.tensor(guesses), 3).float()
    t = locks_in_at(probs)
    assert all(g == guesses[-1] for g in guesses[t:])
    assert t == 0 or guesses[t - 1] != guesses[-1]


def test_erase_rows() -> None:
    images = torch.arange(1, 2 * 4 * 28 + 1).reshape(2, 4, 28).to(torch.uint8)
    original = images.clone()
    erased = erase_rows(images, [1, 3])
    assert erased.dtype == torch.uint8
    assert (erased[:, [1, 3]] == 0).all()
    assert torch.equal(erased[:, [0, 2]], images[:, [0, 2]])
    assert torch.equal(images, original)  # a copy, not in place
    assert torch.equal(erase_rows(images, (1, 3)), erased)  # a tuple is rows, not dimensions
    assert torch.equal(erase_rows(images, slice(2, None))[:, :2], images[:, :2])
    assert (erase_rows(images, slice(2, None))[:, 2:] == 0).all()
    assert torch.equal(erase_rows(images, []), images)
    assert (erase_rows(images[0], [-1])[3] == 0).all()


def test_reverse_rows() -> None:
    images = torch.arange(3.0).view(1, 3, 1).expand(2, 3, 28)
    flipped = reverse_rows(images)
    assert flipped[:, :, 0].tolist() == [[2.0, 1.0, 0.0]] * 2
    assert torch.equal(reverse_rows(flipped), images)


def test_first_rows() -> None:
    images = _images(batch=2, rows=28)
    head = first_rows(images, 5)
    assert head.shape == (2, 5, 28)
    assert torch.equal(head, images[:, :5])
    assert first_rows(images[0], 28).shape == (28, 28)
    for k in (0, 29, -1, True, 2.0):
        with pytest.raises(ValueError, match="k="):
            first_rows(images, k)  # type: ignore[arg-type]


def _loss(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return F.cross_entropy(model(images), labels, reduction="none")


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh", "cnn"])
def test_row_importance(cell: str) -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(cell=cell, hidden_size=16 if cell == "cnn" else 8)).train()
    images, labels = _images(batch=3, rows=28), torch.tensor([1, 7, 3])
    importance = row_importance(model, images, labels)
    assert importance.shape == (3, 28)
    assert model.training and all(p.grad is None for p in model.parameters())
    # Random weights and random pixels leave no row without influence.
    assert (importance > 0).all()
    one = row_importance(model, images[2], labels[2:])  # image 2 alone: its own loss's gradient
    torch.testing.assert_close(one[0], importance[2], atol=1e-6, rtol=1e-4)
    model.eval()
    before = _loss(model, images, labels)
    edited = images.clone()
    edited[0] = erase_rows(images[0], [int(importance[0].argmax())])
    after = _loss(model, edited, labels)
    assert after[0] != before[0]
    assert torch.equal(after[1:], before[1:])  # image 0's edit moves only image 0's loss


def test_zero_importance_means_erasing_changes_nothing() -> None:
    model = _model("gru", hidden=5, num_layers=2, bidirectional=True, dropout=0.3).eval()
    assert isinstance(model, RowReader)
    with torch.no_grad():  # a head that ignores the state: the loss is log(10) whatever the rows
        model.head.weight.zero_()
        model.head.bias.zero_()
    images, labels = _images(batch=2), torch.tensor([0, 9])
    assert torch.equal(row_importance(model, images, labels), torch.zeros(2, 28))
    before = _loss(model, images, labels)
    assert torch.equal(_loss(model, erase_rows(images, range(0, 28, 2)), labels), before)


def test_erasing_the_top_half_blanks_rows_0_to_13_only() -> None:
    image = _digit()
    edited = rows.edit_rows(image, "erase_top")
    assert not np.array_equal(edited, image)
    assert edited[:14].max() == 0
    assert np.array_equal(edited[14:], image[14:])
    bottom = rows.edit_rows(image, "erase_bottom")
    assert bottom[14:].max() == 0 and np.array_equal(bottom[:14], image[:14])
    assert image[:14].max() == 255  # the input itself is left alone


def test_first_k_and_reverse_rows() -> None:
    image = _digit()
    assert np.array_equal(rows.edit_rows(image, "first_k", k=5), image[:5])
    assert np.array_equal(rows.edit_rows(image, "reverse"), image[::-1])
    assert np.array_equal(rows.edit_rows(image, "none"), image)
    with pytest.raises(ValueError, match="experiment"):
        rows.edit_rows(image, "rotate")


def test_run_experiment_reads_the_edited_rows() -> None:
    model = _model("lstm")
    image = _digit()
    same = rows.run_experiment(model, image, "none")
    assert same.edited is same.original and not same.changed
    short = rows.run_experiment(model, image, "first_k", k=6)
    assert short.edited.image.shape == (6, 28)
    assert short.edited.belief is not None and short.edited.belief.shape == (6, 10)
    assert short.original.belief is not None
    # The edited reading is the full reading cut after row 6: a recurrent model cannot peek ahead.
    assert np.allclose(short.edited.probs, short.original.belief[5], atol=1e-5)
    erased = rows.run_experiment(model, image, "erase_top")
    expected = trace(model, torch.from_numpy(rows.edit_rows(image, "erase_top"))).probs[0, -1]
    assert np.allclose(erased.edited.probs, expected.numpy(), atol=1e-6)


def test_row_share_sums_to_one_per_model() -> None:
    image = _digit()
    for cell in ("rnn_tanh", "lstm"):
        shares = rows.row_share(_model(cell), image, [3])
        assert shares.shape == (28,) and shares.min() >= 0
        assert shares.sum() == pytest.approx(1.0, abs=1e-5)
    batch = np.stack([image, image[::-1]])
    assert rows.row_share(_model("gru"), batch, [1, 2]).sum() == pytest.approx(1.0, abs=1e-5)
