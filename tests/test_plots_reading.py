"""rnnviz.plots.reading: the still figures are checked through fig.data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from rnnviz.analysis.rows import locks_in_at
from rnnviz.data.preprocess import preprocess
from rnnviz.plots import reading as plots

from .contrast import BACKGROUNDS, VISIONS, closest, contrast
from .drawn import traced

NAMES = [str(i) for i in range(10)]


def test_belief_figure_and_probability_bars() -> None:
    belief = traced().probs[0].numpy()
    fig = plots.belief_figure(belief, NAMES)
    assert [t.name for t in fig.data][:10] == NAMES
    lock = locks_in_at(torch.from_numpy(belief))
    assert fig.data[-1].name == f"locks in at row {lock + 1}"
    assert list(fig.data[-1].x) == [lock + 1, lock + 1]
    bars = plots.probability_bars(belief[-1], NAMES).data[0]
    assert sum(bars.y) == pytest.approx(1.0, abs=1e-5)
    best = int(belief[-1].argmax())
    assert bars.marker.color[best] != bars.marker.color[(best + 1) % 10]


def test_every_class_line_has_a_colour_and_a_dash_of_its_own() -> None:
    fig = plots.belief_figure(traced().probs[0].numpy(), NAMES)
    lines = [t.line for t in fig.data[:10]]
    assert [line.color for line in lines] == ["#3f90da", "#cb8504", "#bd1f01", "#7a8a88",
                                              "#832db6", "#a96b59", "#c95603", "#a19459",
                                              "#717581", "#589fa2"]  # fmt: skip
    assert len({line.dash for line in lines}) == 10  # told apart without any colour at all
    legend = fig.layout.showlegend is not False and all(
        t.showlegend is not False for t in fig.data[:10]
    )
    assert legend  # each pattern is named in the legend


def test_class_colours_have_3_to_1_against_both_chart_backgrounds() -> None:
    assert BACKGROUNDS == {"light": "#ffffff", "dark": "#000000"}
    marks = (*plots.COLORS, plots.HIGHLIGHT, plots.GREY)
    on_white = [round(contrast(c, BACKGROUNDS["light"]), 2) for c in marks]
    on_black = [round(contrast(c, BACKGROUNDS["dark"]), 2) for c in marks]
    assert on_white == [3.38, 3.05, 6.25, 3.61, 6.96, 4.26, 4.36, 3.05, 4.6, 3.05, 3.68, 3.36]
    assert on_black == [6.21, 6.9, 3.36, 5.82, 3.02, 4.93, 4.82, 6.9, 4.56, 6.9, 5.7, 6.25]
    assert min(on_white + on_black) >= 3.0  # WCAG 1.4.11: graphical objects
    assert contrast("#ffa90e", "#ffffff") < 2.0  # Petroff's own yellow, a line hard to see on white


def test_class_colours_stay_apart_with_deuteranopia_and_protanopia() -> None:
    apart = {vision: round(closest(plots.COLORS, vision), 3) for vision in VISIONS}
    assert apart == {"normal": 0.062, "deuteranopia": 0.043, "protanopia": 0.054}
    assert closest(["#cb8504", "#e76300"], "deuteranopia") < 0.02  # why the orange went darker too


def test_compare_and_importance_figures() -> None:
    before, after = np.full(10, 0.1), np.eye(10)[3]
    fig = plots.compare_bars(before, after, NAMES)
    assert [t.name for t in fig.data] == ["original", "edited"]
    assert list(fig.data[1].y) == list(after)
    shares = {"RNN": np.linspace(0, 1, 28), "LSTM": np.ones(28) / 28}
    fig = plots.importance_figure(shares)
    assert [t.name for t in fig.data] == ["RNN", "LSTM"]
    assert list(fig.data[0].x) == list(range(1, 29))
    assert fig.data[0].xaxis != fig.data[1].xaxis  # side by side, not overlaid


def test_stages_figure_shows_every_stage() -> None:
    canvas = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(canvas).line([(70, 60), (210, 60), (120, 230)], fill=255, width=28)
    pre = preprocess(np.asarray(canvas))
    fig = plots.stages_figure(pre)
    assert len(fig.data) == 4
    assert np.asarray(fig.data[0].z).shape == (140, 140)  # the canvas, shown at half resolution
    assert np.array_equal(np.asarray(fig.data[2].z), pre.image)
    assert fig.data[3].ygap > 0  # the 28 rows, spaced apart
    naive = plots.stages_figure(pre, naive=True)
    assert len(naive.data) == 5 and np.array_equal(np.asarray(naive.data[4].z), pre.naive)
