"""rnnviz.plots.alt: a chart's name, key numbers and data, read from the figure itself."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import plotly.graph_objects as go

from rnnviz.plots import alt, metrics, reading, training


def test_a_line_says_where_it_starts_ends_and_turns() -> None:
    fig = go.Figure(go.Scatter(x=[1, 2, 3, 4], y=[2.0, 0.5, 0.25, 0.75], name="loss"))
    fig.update_layout(title="Loss per step", xaxis_title="step", yaxis_title="loss")
    said = alt.describe(fig)
    assert said.name == "Line chart: Loss per step"
    assert said.caption == "Line chart: Loss per step. Loss: 2 at 1 to 0.75 at 4, lowest 0.25 at 3."
    xs, ys = [1, 2, 3, 4], [2.0, 0.5, 0.25, 0.75]
    expected = [{"series": "loss", "step": x, "loss": y} for x, y in zip(xs, ys, strict=True)]
    assert said.rows == expected
    assert not said.cut


def test_percent_axes_speak_in_percent_and_bars_name_their_extremes() -> None:
    probs = np.array([0.01, 0.02, 0.01, 0.01, 0.05, 0.01, 0.01, 0.85, 0.02, 0.01])
    said = alt.describe(reading.probability_bars(probs, [str(d) for d in range(10)]), "odds")
    assert said.name == "Bar chart: odds"
    assert "10 bars, highest 7 (85.0%), lowest 0 (1.0%)" in said.caption
    assert [r["probability"] for r in said.rows] == probs.tolist()


def test_many_lines_over_one_axis_are_ranked_where_they_end() -> None:
    belief = np.full((28, 10), 0.02)
    belief[:, 7], belief[:, 1], belief[:, 4] = 0.70, 0.10, 0.04
    said = alt.describe(reading.belief_figure(belief, [str(d) for d in range(10)]))
    assert "At rows read 28, the highest of 10 series: 7 70.0%, 1 10.0%, 4 4.0%" in said.caption
    assert len([r for r in said.rows if r["series"] == "7"]) == 28


def test_a_grid_names_its_size_range_and_largest_cell() -> None:
    z = np.arange(6).reshape(2, 3)
    fig = go.Figure(go.Heatmap(z=z, x=["a", "b", "c"], y=["top", "bottom"], name="grid"))
    said = alt.describe(fig, "a grid")
    assert said.caption == (
        "Heatmap: a grid. Grid: 2 by 3 grid, values 0 to 5, the largest at row bottom, column c."
    )
    assert said.rows[5] == {"series": "grid", "x": "c", "y": "bottom", "value": 5}


def test_a_figure_s_own_words_win_and_hidden_or_empty_traces_are_left_out() -> None:
    counts = np.array([[50, 3], [7, 40]])
    said = alt.describe(metrics.confusion_heatmap(counts, ["cat", "dog"]))
    assert said.name.startswith("Confusion matrix")
    assert "90 of 100 images on the diagonal (90.0% right)" in said.caption
    assert "dog taken for cat 7 times, cat taken for dog 3 times" in said.caption
    assert {"true class": "dog", "predicted class": "cat", "images": 7,
            "share of the true class": 0.1489} in said.rows  # fmt: skip
    fig = go.Figure([go.Scatter(y=[1, 2], name="seen"), go.Scatter(y=[5, 9], visible=False),
                     go.Scatter(y=[None, float("nan")], name="empty")])  # fmt: skip
    assert {r["series"] for r in alt.describe(fig).rows} == {"seen"}
    assert alt.describe(go.Figure()).caption == "Chart. It shows no data yet."


def test_typed_arrays_long_curves_and_the_row_limit() -> None:
    steps = np.arange(1, 3001, dtype=np.float64)
    fig = training.loss_figure(steps.tolist(), (2.0 / steps).tolist())
    said = alt.describe(fig)
    assert said.caption.startswith("Line chart: Loss per step. Loss: 2 at 1 to ")
    raw = {"dtype": "f8", "bdata": base64.b64encode(np.array([3.0, 1.0]).tobytes()).decode()}
    typed = go.Figure({"data": [{"type": "scatter", "y": raw, "name": "t"}]}, _validate=False)
    assert [r["y"] for r in alt.describe(typed).rows] == [3.0, 1.0]
    big = go.Figure(go.Scatter(y=np.zeros(alt.MAX_ROWS + 10)))
    cut = alt.describe(big)
    assert cut.cut and len(cut.rows) == alt.MAX_ROWS


def test_a_table_is_made_when_first_read_and_then_kept() -> None:
    """A live chart's caption is read every refresh, its table only while a student opens it."""
    made: list[int] = []
    fig = training.loss_figure(list(range(1, 601)), [1.0] * 600)
    said = alt.describe(fig)
    real = said.table

    def table() -> tuple[list[dict[str, Any]], bool]:
        made.append(1)
        return real()

    object.__setattr__(said, "table", table)
    assert said.caption.startswith("Line chart: Loss per step.") and made == []
    assert len(said.rows) == 1200 and not said.cut and made == [1]
    assert len(said.rows) == 1200 and made == [1]  # made once


def test_numbers_read_as_a_person_says_them() -> None:
    assert [alt.number(v) for v in (1290, 0.071234, 12345.6, None, float("nan"))] == [
        "1,290", "0.0712", "12,346", "none", "none"]  # fmt: skip
    assert alt.number(0.98123, percent=True) == "98.1%"
    assert alt.text("After row <b>3</b>:  best<br>guess") == "After row 3: best guess"
