"""rnnviz.plots.probes: probe images, belief curves, gradient per row, race lanes, rate marks."""

from __future__ import annotations

import json
import math
from array import array

import plotly.graph_objects as go
import plotly.io as pio

from rnnviz.plots import probes as plots
from rnnviz.plots.training import loss_figure
from rnnviz.training.events import Probed, ProbeSet

from .contrast import faint

NAMES = [str(i) for i in range(10)]
PROBES = ProbeSet(dataset="mnist", indices=(4, 9), labels=(3, 7), kinds=("easy", "hard"),
                  images=(((10,) * 28,) * 28, ((200,) * 28,) * 28))  # fmt: skip
READING = Probed(step=12, total_steps=40, true_belief=((0.1,) * 27 + (0.9,), (0.5,) * 28),
                 guesses=((1,) * 27 + (3,), (7,) * 27 + (2,)), final=((0.1,) * 10,) * 2,
                 row_grads=tuple(10.0**-k for k in range(28)))  # fmt: skip


def test_the_probe_images_are_one_heatmap_titled_right_in_green_and_wrong_in_red() -> None:
    fig = plots.probe_images_figure(PROBES, READING, NAMES)
    (heat,) = fig.data
    z = heat.z
    assert (
        z.shape == (28, 2 * 28 + 4) and math.isnan(z[0, 28]) and z[0, 0] == 10 and z[5, 40] == 200
    )
    texts = [(a.text, a.font.color) for a in fig.layout.annotations]
    assert texts == [("3 → 3", plots.RIGHT), ("7 → 2", plots.WRONG)]
    unread = plots.probe_images_figure(PROBES, None, NAMES)
    assert [a.text for a in unread.layout.annotations] == ["3", "7"]
    assert [a.font.color for a in unread.layout.annotations] == [None, None]  # the theme's text


def test_belief_lines_solid_for_easy_dashed_for_hard() -> None:
    fig = plots.probe_belief_figure(PROBES, READING, NAMES)
    assert [t.line.dash for t in fig.data] == ["solid", "dash"]
    assert [t.line.color for t in fig.data] == [plots.RIGHT, plots.WRONG]
    assert faint([plots.RIGHT, plots.WRONG]) == []
    assert list(fig.data[0].x) == list(range(1, 29)) and fig.data[0].y[-1] == 0.9
    assert "(step 12)" in fig.layout.title.text


def test_gradient_per_row_is_on_a_log_scale_one_line_per_model() -> None:
    lanes = [plots.Lane("RNN", "#d62728", range(1, 29), READING.row_grads),
             plots.Lane("LSTM", "#1f77b4", range(1, 29), (0.0,) * 28)]  # fmt: skip
    fig = plots.row_gradient_figure(lanes, step=12)
    assert fig.layout.yaxis.type == "log" and [t.name for t in fig.data] == ["RNN", "LSTM"]
    assert min(fig.data[1].y) == 1e-12  # a zero gradient stays drawable on a log axis
    assert fig.data[0].line.dash != fig.data[1].line.dash  # told apart without colour


def test_each_race_lane_has_a_dash_of_its_own() -> None:
    lanes = [plots.Lane(c, "#000000", [1, 2], [0.5, 0.6]) for c in ("RNN", "LSTM", "GRU", "BiLSTM")]
    fig = plots.lanes_figure(lanes, title="t", x_title="step", y_title="loss")
    assert len({t.line.dash for t in fig.data}) == 4  # even in one colour, four lines


def test_a_long_race_draws_a_bounded_number_of_points_per_lane() -> None:
    steps = array("d", range(1, 10_001))  # a live race's typed history
    lanes = [plots.Lane("GRU", "#2ca02c", steps, array("d", (1.0 / s for s in steps))),
             plots.Lane("RNN", "#d62728", range(1, 41), [0.5] * 40)]  # fmt: skip
    fig = plots.lanes_figure(lanes, title="t", x_title="step", y_title="loss", max_points=500)
    long, short = fig.data
    assert len(long.x) == len(long.y) == 500 and list(long.x[:3]) == [1.0, 21.0, 41.0]
    assert long.y[1] == 1.0 / 21 and len(short.x) == 40  # a short lane keeps every point


def test_race_lanes_keep_their_colours_and_an_empty_accuracy_chart_stays_in_range() -> None:
    lanes = [plots.Lane("GRU", "#2ca02c", [1, 2], [0.8, 0.9])]
    fig = plots.lanes_figure(lanes, title="t", x_title="epoch", y_title="acc", percent=True)
    assert fig.data[0].line.color == "#2ca02c" and fig.data[0].mode == "lines+markers"
    assert fig.layout.xaxis.dtick == 1  # whole epochs while there are few
    long = [plots.Lane("GRU", "#2ca02c", range(1, 81), [0.9] * 80)]
    many = plots.lanes_figure(long, title="t", x_title="epoch", y_title="acc", percent=True)
    assert many.layout.xaxis.dtick is None  # 80 labels would overlap: plotly spaces them
    empty = plots.lanes_figure([plots.Lane("GRU", "#2ca02c", [], [])], title="t", x_title="e",
                               y_title="a", percent=True)  # fmt: skip
    assert tuple(empty.layout.yaxis.range) == (0.0, 1.0)
    assert empty.layout.annotations[0].text == "appears after the first epoch"


def test_a_rate_changed_by_hand_is_a_labelled_line_on_the_loss_chart() -> None:
    fig = loss_figure([1, 2, 3, 4], [2.0, 1.5, 1.2, 1.1], lr_changes=([3], [3e-4]))
    (line,) = fig.layout.shapes
    assert line.x0 == line.x1 == 3 and line.line.dash == "dot"
    assert fig.layout.annotations[0].text == "lr → 0.0003"
    assert not loss_figure([1], [2.0]).layout.shapes


def test_probe_figures_drawn_without_checks_are_what_plotly_checks() -> None:
    """The probe figures skip plotly's checks (a live page redraws them): checking changes
    nothing, and two figures in a row do not share what either changes."""
    lanes = [plots.Lane("LSTM", "#1f77b4", range(1, 29), READING.row_grads)]
    figs = [
        plots.probe_images_figure(PROBES, READING, NAMES),
        plots.probe_images_figure(PROBES, None, NAMES),
        plots.probe_belief_figure(PROBES, READING, NAMES, step="step"),
        plots.row_gradient_figure(lanes, step=12),
    ]
    for fig in figs:
        assert json.loads(pio.to_json(go.Figure(fig.to_dict()))) == json.loads(pio.to_json(fig))
    figs[2].update_layout(height=900)
    assert plots.probe_belief_figure(PROBES, READING, NAMES, step="step").layout.height == 300
    assert figs[2].layout.title.text == "Belief in the true label, step by step (step 12)"
    assert figs[3].layout.yaxis.type == "log" and figs[3].data[0].name == "LSTM"
