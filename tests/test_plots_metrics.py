"""Metric figures: what each trace holds, read off fig.data and fig.layout."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.analysis.metrics import compute_metrics
from rnnviz.plots import metrics as plots
from rnnviz.storage.comparison import Curve

from .contrast import faint

FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"]


def small_metrics():  # 5 classes, a Coat/Pullover mix-up
    y_true = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4]
    y_pred = [0, 0, 1, 1, 2, 4, 3, 3, 4, 4, 2]
    return compute_metrics(y_true, y_pred, FASHION)


def test_per_class_bars_are_grouped_by_score_with_class_names() -> None:
    metrics = small_metrics()
    fig = plots.per_class_bars(metrics)
    assert [t.name for t in fig.data] == ["Precision", "Recall", "F1"]
    assert all(list(t.x) == FASHION for t in fig.data)
    assert list(fig.data[1].y) == [r.recall for r in metrics.per_class]
    assert fig.data[1].y[2] == pytest.approx(0.5)
    assert fig.layout.barmode == "group"
    assert faint([t.marker.color for t in fig.data] + [plots.RIGHT, plots.WRONG]) == []


def test_confusion_heatmap_counts_shares_and_clickable_cells() -> None:
    metrics = small_metrics()
    fig = plots.confusion_heatmap(metrics.confusion, FASHION, selected=(2, 4))
    right, wrong, cells = fig.data
    assert right.type == wrong.type == "heatmap"
    assert np.asarray(right.text)[4].tolist() == ["", "", "", "", "2"]  # the diagonal alone
    assert np.asarray(wrong.text)[4].tolist() == ["0", "0", "1", "0", ""]
    assert np.asarray(right.z)[4, 4] == pytest.approx(2 / 3)  # a row share, not a count
    assert np.asarray(wrong.z)[4, 2] == pytest.approx(1 / 3)
    assert np.isnan(np.asarray(wrong.z)[4, 4]) and np.isnan(np.asarray(right.z)[4, 2])
    assert wrong.zmax == pytest.approx(1 / 2)  # the worst mix-up: half of the Pullovers
    assert list(fig.layout.yaxis.ticktext) == FASHION and fig.layout.yaxis.autorange == "reversed"
    assert len(cells.x) == 25 and (cells.y[7], cells.x[7]) == (1, 2)  # row-major (true, pred)
    assert "true <b>Pullover</b>, predicted <b>Coat</b>: 1" in cells.text[14]
    (outline,) = fig.layout.shapes
    assert (outline.x0, outline.y0) == (3.5, 1.5)


def test_confusion_heatmap_refuses_a_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"expected \(5, 5\)"):
        plots.confusion_heatmap(np.zeros((4, 4)), FASHION)


def test_confusion_cell_reads_a_click_back() -> None:
    # as Streamlit reports a click on the cell (true Pullover, predicted Coat)
    point = {"curve_number": 1, "point_index": 14, "x": 4, "y": 2}
    assert plots.confusion_cell({"points": [point], "point_indices": [14]}) == (2, 4)
    assert plots.confusion_cell({"points": [], "point_indices": []}) is None
    assert plots.confusion_cell(None) is None


def test_image_grid_places_images_and_coloured_titles() -> None:
    images = np.stack([np.full((28, 28), 10 * i, dtype=np.uint8) for i in range(10)])
    colors = [plots.RIGHT] * 9 + [plots.WRONG]
    fig = plots.image_grid(images, [f"img {i}" for i in range(10)], colors=colors, columns=4)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape == (3 * (28 + 12), 4 * (28 + 3))  # 3 rows of 4
    assert z[12 + 5, 31 + 5] == 10  # image 1: first row, second column, below its title band
    assert np.isnan(z[0, 0])  # title bands draw nothing
    notes = fig.layout.annotations
    assert [a.text for a in notes] == [f"img {i}" for i in range(10)]
    assert notes[9].font.color == plots.WRONG and notes[0].font.color == plots.RIGHT


def test_image_grid_checks_its_inputs() -> None:
    with pytest.raises(ValueError, match="need 2 titles"):
        plots.image_grid(np.zeros((2, 28, 28)), ["one"])
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        plots.image_grid(np.zeros((2, 8, 8)), ["a", "b"])


def test_curves_are_coloured_by_group_dashed_by_run_and_marked_by_group() -> None:
    curves = [
        Curve("RNN a", "RNN", (1, 2), (0.5, 0.6)),
        Curve("LSTM a", "LSTM", (1, 2), (0.7, 0.9)),
        Curve("LSTM b", "LSTM", (1, 2), (0.6, 0.8)),
        Curve("odd", "Transformer", (1,), (0.1,)),
    ]
    fig = plots.curves_figure(curves, x_title="epoch", y_title="accuracy", percent=True)
    assert [t.name for t in fig.data] == ["RNN a", "LSTM a", "LSTM b", "odd"]
    colors = [t.line.color for t in fig.data]
    assert colors[0] == plots.GROUP_COLORS["RNN"]
    assert colors[1] == colors[2] == plots.GROUP_COLORS["LSTM"]
    assert colors[3] not in plots.GROUP_COLORS.values()
    assert colors[3] == "#d67883"  # the first spare colour, darkened to 3:1
    assert faint(colors) == [] and faint(plots._SPARE_COLORS) == []
    assert [t.line.dash for t in fig.data] == [
        "solid",
        "dash",
        "dot",
        "dashdot",
    ]  # never colour alone
    assert [t.marker.symbol for t in fig.data] == ["circle", "square", "square", "diamond"]
    assert list(fig.data[1].y) == [0.7, 0.9]
    assert fig.layout.yaxis.tickformat == ".0%"
