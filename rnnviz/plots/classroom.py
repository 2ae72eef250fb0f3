"""Figures of the class as one experiment: everyone's runs, and a class sweep as it fills.

`class_scatter` puts every scored run at its test accuracy against its parameters (or seconds),
one colour and one marker shape per cell, so cells are told apart without seeing colour, with the
best run of each cell named on the chart. `sweep_figure` draws a sweep: each student's run at
its value, the min-max band and the median where several students share a value.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from rnnviz.classroom.board import ClassRow, best_per_cell, scored
from rnnviz.classroom.sweeps import ClassSweep
from rnnviz.models.cells import CELLS

SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "cross", "star", "hexagon",
           "triangle-down", "pentagon")  # fmt: skip
AXES = {"parameters": "parameters (log scale)", "seconds": "seconds of training (log scale)"}
BAND = "rgba(76, 120, 168, 0.18)"
LINE = "#4c78a8"
POINT = "#8c8c8c"  # a student's run: 3.4:1 on the light theme's white, 6.2 on the dark's black


def _accuracy_axis(*, empty: bool) -> dict[str, Any]:
    """Test accuracy in %; 0 to 100 % on a chart with no point yet (plotly's own range for no data
    reads -100 % to 400 %)."""
    axis: dict[str, Any] = {"title": "test accuracy", "tickformat": ".0%"}
    return axis | ({"range": [0, 1.02]} if empty else {})


def _cell_title(cell: str) -> str:
    return CELLS[cell].title if cell in CELLS else cell


def class_scatter(rows: Sequence[ClassRow], x: str = "parameters") -> go.Figure:
    """Test accuracy against `x` ("parameters" or "seconds"), a trace per cell."""
    if x not in AXES:
        raise ValueError(f"x={x!r} is not one of {list(AXES)}")
    points = [r for r in scored(rows) if getattr(r, x)]
    fig = go.Figure()
    for i, cell in enumerate(sorted({r.cell for r in points})):
        mine = [r for r in points if r.cell == cell]
        color = CELLS[cell].color if cell in CELLS else LINE
        fig.add_trace(go.Scatter(
            x=[getattr(r, x) for r in mine], y=[r.test_accuracy for r in mine], mode="markers",
            name=_cell_title(cell), text=[r.student for r in mine],
            marker={"color": color, "symbol": SYMBOLS[i % len(SYMBOLS)], "size": 11,
                    "line": {"width": 1, "color": "#333333"}},
            hovertemplate="%{text}: %{y:.2%} at %{x:,.0f}<extra>%{fullData.name}</extra>",
        ))  # fmt: skip
    for cell, row in best_per_cell(points).items():
        fig.add_annotation(x=getattr(row, x), y=row.test_accuracy, xref="x", yref="y",
                           text=f"best {CELLS[cell].short if cell in CELLS else cell}: "
                                f"{row.test_accuracy:.1%}",
                           showarrow=True, arrowhead=2, ax=0, ay=-28)  # fmt: skip
    fig.update_layout(
        height=420, margin={"l": 10, "r": 10, "t": 40, "b": 10},
        title={"text": f"Test accuracy against {x}: {len(points)} runs", "x": 0},
        xaxis={"type": "log", "title": AXES[x]},
        yaxis=_accuracy_axis(empty=not points), legend={"orientation": "h", "y": -0.2},
    )  # fmt: skip
    return fig


def sweep_figure(sweep: ClassSweep, points: Sequence[tuple[str, str, float]]) -> go.Figure:
    """Accuracy against the swept value: a point per student's run, the min-max band and the
    median of each value several students share; values in the sweep's order."""
    values = list(sweep.values)
    fig = go.Figure()
    by_value = {v: [acc for value, _, acc in points if value == v] for v in values}
    shared = [v for v in values if by_value[v]]
    if shared:
        low = [min(by_value[v]) for v in shared]
        high = [max(by_value[v]) for v in shared]
        fig.add_trace(go.Scatter(x=shared + shared[::-1], y=high + low[::-1], fill="toself",
                                 fillcolor=BAND, line={"width": 0}, name="min to max",
                                 hoverinfo="skip"))  # fmt: skip
        fig.add_trace(go.Scatter(
            x=shared, y=[statistics.median(by_value[v]) for v in shared], mode="lines+markers",
            name="median", line={"color": LINE, "dash": "dash"}, marker={"symbol": "line-ew-open",
                                                                         "size": 14},
            hovertemplate="median %{y:.2%}<extra>%{x}</extra>",
        ))  # fmt: skip
    fig.add_trace(go.Scatter(
        x=[value for value, _, _ in points], y=[acc for _, _, acc in points], mode="markers",
        name="a student's run", text=[who for _, who, _ in points],
        marker={"color": POINT, "symbol": "circle-open", "size": 10, "line": {"width": 2}},
        hovertemplate="%{text}: %{y:.2%}<extra>%{x}</extra>",
    ))  # fmt: skip
    taken = len({value for value, _, _ in points})
    fig.update_layout(
        height=380, margin={"l": 10, "r": 10, "t": 40, "b": 10},
        title={"text": f"Class sweep of {sweep.setting}: {len(points)} runs, {taken} of "
                       f"{len(values)} values", "x": 0},
        xaxis={"type": "category", "categoryorder": "array", "categoryarray": values,
               "title": sweep.setting},
        yaxis=_accuracy_axis(empty=not points), legend={"orientation": "h", "y": -0.25},
    )  # fmt: skip
    return fig
