"""Tests for rnnviz.plots.training: each figure holds the numbers it was given."""

from __future__ import annotations

import json
import math

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from rnnviz.analysis.metrics import compute_metrics
from rnnviz.common.series import ema
from rnnviz.plots.training import (
    accuracy_figure,
    curves,
    for_projector,
    loss_figure,
    per_class_figure,
    rows_figure,
)
from rnnviz.training.events import EpochEnded, Event, Stepped
from rnnviz.training.history import History
from rnnviz.training.record import RunRecord

from .contrast import faint


def test_loss_figure_has_raw_and_smoothed_traces() -> None:
    fig = loss_figure([1, 2, 3], [2.0, 1.0, 0.5], smooth=0.5)
    assert [t.name for t in fig.data] == ["loss", "smoothed (EMA 0.5)"]
    raw, smooth = fig.data
    assert list(raw.x) == [1, 2, 3] and list(raw.y) == [2.0, 1.0, 0.5]
    assert list(smooth.y) == pytest.approx(ema([2.0, 1.0, 0.5], 0.5))
    assert smooth.y[-1] > 0.5  # smoothing lags behind a falling loss


def test_loss_figure_thins_long_runs_and_starts_empty() -> None:
    steps = list(range(1, 10_001))
    fig = loss_figure(steps, [1.0] * len(steps), max_points=1000)
    assert len(fig.data[0].x) == 1000 and fig.data[0].x[1] == 11
    empty = loss_figure([], [])
    assert len(empty.data) == 2 and len(empty.data[0].x) == 0
    with pytest.raises(ValueError):
        loss_figure([1, 2], [1.0])


def test_a_live_job_s_typed_history_draws_the_figure_its_lists_draw() -> None:
    """A page draws a job's typed arrays where they are: the same points as from lists."""
    steps = list(range(1, 3_001))
    losses = [2.0 / (1 + 0.01 * i) + (i % 5) * 0.01 for i in steps]
    losses[7] = float("nan")  # a step whose loss was not a number: a gap, not a crash
    live = History({"step": steps, "loss": losses}, typed=True).data
    from_lists, from_arrays = loss_figure(steps, losses), loss_figure(live["step"], live["loss"])
    assert len(from_arrays.data[0].x) == 600 and from_arrays.data[0].x[1] == 6
    for a, b in zip(from_lists.data, from_arrays.data, strict=True):
        assert np.array_equal(np.asarray(a.x), np.asarray(b.x))
        assert np.allclose(np.asarray(a.y, float), np.asarray(b.y, float), equal_nan=True)
    short = loss_figure(live["step"][:3], live["loss"][:3])
    assert list(short.data[0].x) == [1, 2, 3] and isinstance(short.data[0].x, tuple | list)


def test_accuracy_figure_train_and_validation() -> None:
    fig = accuracy_figure([1, 2], [0.5, 0.8], [0.6, 0.85])
    assert [t.name for t in fig.data] == ["train", "validation"]
    assert list(fig.data[0].y) == [0.5, 0.8] and list(fig.data[1].y) == [0.6, 0.85]
    assert list(fig.data[1].x) == [1, 2]
    assert fig.data[1].line.dash == "dash" and fig.data[0].line.dash in (None, "solid")
    assert faint([t.line.color for t in fig.data]) == []  # seen on white and on black


def test_accuracy_figure_without_validation_has_one_trace() -> None:
    fig = accuracy_figure([1], [0.5], [math.nan])
    assert [t.name for t in fig.data] == ["train"]


def test_empty_accuracy_figure_says_when_it_fills() -> None:
    fig = accuracy_figure([], [], [])
    assert len(fig.data) == 1 and len(fig.data[0].x) == 0
    assert "first epoch" in fig.layout.annotations[0].text
    assert tuple(fig.layout.yaxis.range) == (0.0, 1.0)


def test_per_class_figure_groups_three_scores_by_class() -> None:
    metrics = compute_metrics([0, 0, 1, 1, 2], [0, 1, 1, 1, 2], ["cat", "dog", "eel"])
    fig = per_class_figure(metrics.to_dict()["per_class"])
    assert [t.name for t in fig.data] == ["Precision", "Recall", "F1"]
    assert all(list(t.x) == ["cat", "dog", "eel"] for t in fig.data)
    precision, recall, _ = fig.data
    assert list(precision.y) == pytest.approx([1.0, 2 / 3, 1.0])
    assert list(recall.y) == pytest.approx([0.5, 1.0, 1.0])
    assert fig.layout.barmode == "group"


def test_rows_figure_shows_the_image_and_its_rows_as_steps() -> None:
    image = np.arange(28 * 28, dtype=np.uint8).reshape(28, 28)
    fig = rows_figure(image)
    assert len(fig.data) == 2
    picture, sequence = fig.data
    assert np.array_equal(np.array(picture.z), image)
    assert np.array_equal(np.array(sequence.z), image.T)  # column t is row t
    assert list(sequence.x) == list(range(1, 29))
    with pytest.raises(ValueError):
        rows_figure(np.zeros(28))


def _stepped(first: int, losses: tuple[float, ...]) -> Stepped:
    return Stepped(first, losses, epoch=1, steps_per_epoch=10, total_steps=10, lr=1e-3,
                   samples_per_s=100.0, eta_s=1.0, elapsed_s=0.5)  # fmt: skip


def test_curves_unfold_every_loss_of_each_window_and_prefer_the_record() -> None:
    events: list[Event] = [
        _stepped(1, (2.0,)),
        _stepped(2, (1.5, 1.25, 1.0)),  # a GPU's window: three steps in one report
        EpochEnded(epoch=1, epochs=1, train_acc=0.4, train_loss=1.2, val_acc=0.5, val_loss=1.1,
                   elapsed_s=1.0),
    ]  # fmt: skip
    live = curves(events)
    assert live.steps == [1, 2, 3, 4] and live.losses == [2.0, 1.5, 1.25, 1.0]
    assert live.epochs == [1] and live.train_acc == [0.4] and live.val_acc == [0.5]
    history: dict[str, list[float]] = {"step": [1, 2, 3], "loss": [2, 1, 0.5], "epoch": [1],
                                       "train_acc": [0.4], "val_acc": [0.5]}  # fmt: skip
    done = curves(events, RunRecord(history=History(history).to_dict()))
    assert done.steps == [1, 2, 3] and done.losses == [2, 1, 0.5]
    assert curves([], RunRecord()).steps == []  # a job that failed before its first step


def test_for_projector_enlarges_type_and_height() -> None:
    fig = for_projector(loss_figure([1], [1.0]), height=600)
    assert fig.layout.height == 600 and fig.layout.font.size >= 18
    assert fig.layout.xaxis.tickfont.size >= 18 and fig.layout.legend.font.size >= 18


@pytest.mark.parametrize("steps", [3, 500, 5000])
def test_curves_drawn_without_checks_are_what_plotly_checks(steps):
    """The live curves skip plotly's checks (for speed): checking them changes nothing."""
    x = [float(i) for i in range(1, steps + 1)]
    losses = [2.0 / (1 + 0.01 * i) + (i % 7) * 0.01 for i in range(steps)]
    figs = [
        loss_figure(x, losses, lr_changes=([2.0], [0.05])),
        accuracy_figure([1, 2], [0.5, 0.7], [0.4, float("nan")]),
        accuracy_figure([], [], []),
    ]
    for fig in figs:
        assert json.loads(pio.to_json(go.Figure(fig.to_dict()))) == json.loads(pio.to_json(fig))
    assert [t.name for t in figs[0].data] == ["loss", "smoothed (EMA 0.9)"]
    assert figs[0].layout.shapes[0].x0 == 2.0
    assert list(figs[1].data[1].y) == [0.4, None]


def test_a_projector_figure_leaves_the_next_figure_as_it_was():
    before = pio.to_json(loss_figure([1.0, 2.0], [1.0, 0.5]))
    for_projector(loss_figure([1.0, 2.0], [1.0, 0.5]))
    assert pio.to_json(loss_figure([1.0, 2.0], [1.0, 0.5])) == before
    assert loss_figure([1.0, 2.0], [1.0, 0.5]).layout.height == 320
