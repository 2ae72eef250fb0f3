"""Figures of a training run and of its input: pure functions from plain numbers to plotly figures.

`loss_figure` draws the loss per step, raw and smoothed; `accuracy_figure` the train and
validation accuracy per epoch; `per_class_figure` precision, recall and F1 per class;
`rows_figure` an image next to the 28 rows an RNN reads from it, one per time step. `curves`
folds a training job's events into those numbers, or reads its record once it has one.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz.common.series import ema_array, stride
from rnnviz.plots.frames import unchecked
from rnnviz.plots.metrics import SCORE_COLORS
from rnnviz.training.events import Event
from rnnviz.training.history import History
from rnnviz.training.record import RunRecord

LOSS_COLOR, SMOOTH_COLOR = "rgba(99, 110, 250, 0.45)", "#636efa"
TRAIN_COLOR, VAL_COLOR = "#636efa", "#ef553b"
MARGIN = dict(l=10, r=10, t=50, b=10)
TYPED_FROM = 256  # points per trace from which the loss curve is sent as typed arrays
_TOP_LEGEND = dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0)


@dataclass(frozen=True)
class Curves:
    """The numbers behind the training charts; empty before the first step or epoch. They are
    the history's own lists (a live job's typed arrays), read, never changed."""

    steps: Sequence[float] = field(default_factory=list)
    losses: Sequence[float] = field(default_factory=list)
    epochs: Sequence[float] = field(default_factory=list)
    train_acc: Sequence[float] = field(default_factory=list)
    val_acc: Sequence[float] = field(default_factory=list)
    lr_steps: Sequence[float] = field(default_factory=list)  # steps whose rate was set by hand
    lr_values: Sequence[float] = field(default_factory=list)
    resume_steps: Sequence[float] = field(default_factory=list)  # steps done when it went on


def curves(
    events: Iterable[Event], record: RunRecord | None = None, history: History | None = None
) -> Curves:
    """A job's curves: its record's history once it has one, else `history` (the job's own, kept
    as its events came), else its events folded the same way.

    `events` are the job's `Stepped`, `EpochEnded` and `LrChanged` (others are ignored).
    """
    if record is not None:
        history = History(record.history)
    elif history is None:
        history = History.of(events)
    h = history.data
    return Curves(
        steps=h["step"],
        losses=h["loss"],
        epochs=h["epoch"],
        train_acc=h["train_acc"],
        val_acc=h["val_acc"],
        lr_steps=h["lr_step"],
        lr_values=h["lr_value"],
        resume_steps=h.get("resume_step", []),
    )


def loss_figure(
    steps: Sequence[float],
    losses: Sequence[float],
    *,
    smooth: float = 0.9,
    max_points: int = 600,
    height: int = 320,
    lr_changes: tuple[Sequence[float], Sequence[float]] = ((), ()),
    resumed: Sequence[float] = (),
) -> go.Figure:
    """Cross-entropy per step: the raw loss (faint) and its EMA (solid), two traces.

    Long runs are thinned to at most `max_points` points per trace (the EMA is taken first):
    about one a pixel of the chart, so a refresh costs the same after 100 steps or 100,000.
    `lr_changes` (steps, rates): a dotted line at each step whose learning rate was set by hand;
    `resumed`: a dashed line where the run went on from a saved one (after that many steps).
    """
    if len(steps) != len(losses):
        raise ValueError(f"{len(steps)} steps but {len(losses)} losses")
    y = np.asarray(losses, dtype=np.float64)  # a typed history's array is read, not copied
    every = stride(len(y), max_points)
    thinned = (np.asarray(steps, dtype=np.float64)[::every], y[::every],
               ema_array(y, smooth)[::every])  # fmt: skip
    # a long series checks and travels as one typed array, a short one as numbers
    x, raw, smooth_y = thinned if len(thinned[0]) > TYPED_FROM else (a.tolist() for a in thinned)
    changes = tuple(zip(*lr_changes, strict=True))
    frame = _loss_frame(smooth, height, len(steps) <= 10, changes, tuple(resumed))
    return unchecked(frame, [{"x": x, "y": raw}, {"x": x, "y": smooth_y}])


@functools.lru_cache(maxsize=256)
def _loss_frame(
    smooth: float,
    height: int,
    few: bool,
    lr_changes: tuple[tuple[float, float], ...],
    resumed: tuple[float, ...],
) -> dict[str, Any]:
    """The loss chart without its numbers: built (and checked by plotly) once per look."""
    fig = go.Figure(
        [
            go.Scatter(name="loss", mode="lines", line=dict(color=LOSS_COLOR, width=1)),
            go.Scatter(
                name=f"smoothed (EMA {smooth:g})",
                mode="lines",
                line=dict(color=SMOOTH_COLOR, width=3),
            ),
        ]
    )
    fig.update_layout(
        title="Loss per step",
        xaxis_title="step",
        yaxis_title="loss",
        height=height,
        margin=MARGIN,
        legend=_TOP_LEGEND,
    )
    if few:
        fig.update_xaxes(dtick=1)  # whole steps while there are only a few
    for step, lr in lr_changes:
        fig.add_vline(x=step, line=dict(color="#7f7f7f", dash="dot", width=2),
                      annotation_text=f"lr → {lr:g}", annotation_position="top left")  # fmt: skip
    for step in resumed:
        fig.add_vline(x=step + 0.5, line=dict(color="#8c8c8c", dash="dash", width=2),
                      annotation_text="trained on from here",
                      annotation_position="bottom right")  # fmt: skip
    return fig.to_dict()


def accuracy_figure(
    epochs: Sequence[float],
    train_acc: Sequence[float],
    val_acc: Sequence[float],
    *,
    height: int = 320,
) -> go.Figure:
    """Accuracy (0..1, shown in %) per epoch: train, and validation where there is any."""
    if not len(epochs) == len(train_acc) == len(val_acc):
        raise ValueError(f"{len(epochs)} epochs, {len(train_acc)} train, {len(val_acc)} val")
    x: Any = list(epochs)
    columns: list[tuple[Any, Any]] = [(x, list(train_acc))]
    if has_val := any(math.isfinite(v) for v in val_acc):
        columns.append((x, [v if math.isfinite(v) else None for v in val_acc]))
    if len(x) > TYPED_FROM:  # hundreds of epochs (a small dataset): typed arrays, NaN a gap
        columns = [(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
                   for a, b in columns]  # fmt: skip
    frame = _accuracy_frame(height, has_val, min(len(epochs), 21))
    return unchecked(frame, [{"x": a, "y": b} for a, b in columns])


@functools.lru_cache(maxsize=64)
def _accuracy_frame(height: int, has_val: bool, epochs: int) -> dict[str, Any]:
    """The accuracy chart without its numbers; its axis depends on how many epochs there are
    (`epochs` up to 21: from there on it looks the same)."""
    line = dict(mode="lines+markers", marker=dict(size=9))
    fig = go.Figure([go.Scatter(name="train", line=dict(color=TRAIN_COLOR, width=3), **line)])
    if has_val:
        fig.add_trace(
            go.Scatter(name="validation", line=dict(color=VAL_COLOR, width=3, dash="dash"), **line)
        )  # dashed: told from the training line without colour
    fig.update_layout(
        title="Accuracy per epoch",
        xaxis_title="epoch",
        yaxis_title="accuracy",
        height=height,
        margin=MARGIN,
        legend=_TOP_LEGEND,
    )
    fig.update_xaxes(dtick=1 if epochs <= 20 else None, rangemode="tozero")
    # Zoom in on the interesting range, but never past 0 % or 100 % (a little room for markers).
    fig.update_yaxes(tickformat=".0%", autorangeoptions=dict(minallowed=0.0, maxallowed=1.02))
    if not epochs:
        fig.update_yaxes(range=[0.0, 1.0])
        fig.add_annotation(text="appears after the first epoch", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper", font=dict(color="grey"))  # fmt: skip
    return fig.to_dict()


def per_class_figure(per_class: Sequence[Mapping[str, Any]], *, height: int = 360) -> go.Figure:
    """Grouped bars of precision, recall and F1 per class; `per_class` as `Metrics.to_dict()`.

    Colours and names match the Evaluate page's `per_class_bars`.
    """
    names = [str(r["name"]) for r in per_class]
    fig = go.Figure(
        [
            go.Bar(
                x=names,
                y=[float(r[score]) for r in per_class],
                name="F1" if score == "f1" else score.capitalize(),
                marker_color=color,
                hovertemplate="%{x}: %{y:.1%}<extra>%{fullData.name}</extra>",
            )
            for score, color in SCORE_COLORS.items()
        ]
    )
    fig.update_layout(
        title="Test set, per class",
        barmode="group",
        height=height,
        margin=MARGIN,
        legend=_TOP_LEGEND,
    )
    fig.update_xaxes(type="category")
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return fig


def rows_figure(image: Any, *, height: int = 360) -> go.Figure:
    """An image (28, 28) and its rows as time steps: row t, left to right, is column t.

    Two heatmaps: the image with its rows pulled apart, and the sequence the RNN reads, one
    28-pixel column per step (the image transposed).
    """
    pixels = np.asarray(image, dtype=float)  # (28, 28): rows are time steps
    if pixels.ndim != 2:
        raise ValueError(f"image must be 2-D (rows, columns), not {pixels.shape}")
    steps = list(range(1, pixels.shape[0] + 1))
    titles = ("the image: 28 rows", "what the RNN reads: one row per time step")
    fig = make_subplots(
        rows=1, cols=2, column_widths=[0.3, 0.7], horizontal_spacing=0.06, subplot_titles=titles
    )
    grey = dict(colorscale="gray_r", showscale=False, zmin=0, zmax=float(pixels.max() or 1))
    fig.add_trace(
        go.Heatmap(
            z=pixels.tolist(),
            y=steps,
            ygap=1,
            name="image",
            hovertemplate="row %{y}, column %{x}: %{z}<extra></extra>",
            **grey,
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Heatmap(
            z=pixels.T.tolist(),
            x=steps,
            xgap=3,
            name="rows as steps",
            hovertemplate="step %{x}, pixel %{y}: %{z}<extra></extra>",
            **grey,
        ),
        row=1,
        col=2,
    )
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    fig.update_yaxes(title_text="row = time step", showticklabels=True, dtick=4, row=1, col=1)
    fig.update_yaxes(scaleanchor="x", constrain="domain", row=1, col=1)  # square pixels
    fig.update_xaxes(showticklabels=False, row=1, col=1)
    fig.update_xaxes(title_text="time step t (row t of the image)", dtick=1, row=1, col=2)
    fig.update_yaxes(title_text="28 inputs", row=1, col=2)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def for_projector(fig: go.Figure, *, height: int = 480) -> go.Figure:
    """The same figure, taller and in large type, readable from the back of a lecture hall."""
    big, bigger = dict(size=20), dict(size=24)
    fig.update_layout(height=height, font=big, legend_font=big, margin=dict(t=110))
    # The title at the very top, the legend just above the plot: large type needs both rows.
    fig.update_layout(title=dict(font=dict(size=28), y=0.98, yanchor="top", yref="container"))
    fig.update_xaxes(tickfont=big, title_font=bigger)
    fig.update_yaxes(tickfont=big, title_font=bigger)
    return fig
