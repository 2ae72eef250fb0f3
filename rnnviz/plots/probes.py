"""Figures of a run as it learns: probe images, their belief curves, the gradient per row, races.

`probe_images_figure` shows the probes with their labels and the current guess (green right, red
wrong); `probe_belief_figure` the belief in each probe's true label after every step;
`row_gradient_figure` how much gradient reaches each input row, one line per model, on a log
scale (a vanilla RNN's early rows fade); `lanes_figure` overlays one curve per model of a race in
the cells' colours, and `mark_lr_changes` marks hand-made learning-rate changes on a loss chart.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

import numpy as np
import plotly.graph_objects as go

from rnnviz.common.series import stride
from rnnviz.plots.frames import unchecked
from rnnviz.plots.metrics import RIGHT, WRONG, images_alt  # RIGHT, WRONG: 4.5:1 on either theme
from rnnviz.plots.reading import DASHES
from rnnviz.training.events import Probed, ProbeSet

_MARGIN = dict(l=10, r=10, t=50, b=10)
_LEGEND = dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0)


@dataclass(frozen=True)
class Lane:
    """One model's curve on a shared chart: its label, colour and points."""

    label: str
    color: str
    x: Sequence[float] | np.ndarray
    y: Sequence[float] | np.ndarray


def probe_images_figure(
    probes: ProbeSet, reading: Probed | None, class_names: Sequence[str], *, height: int = 210
) -> go.Figure:
    """The probes side by side, each titled 'label → guess' in green (right) or red (wrong).

    One heatmap with a blank gap between images: it draws in a fraction of the time eight
    subplots take, which matters on a page that refreshes every second.
    """
    gap, size = 4, len(probes.images[0][0]) if probes.images else 28
    n = len(probes.images)
    z = np.full((size, n * (size + gap) - gap), np.nan)  # (28, W): NaN draws as a blank gap
    for i, image in enumerate(probes.images):
        z[:, i * (size + gap) : i * (size + gap) + size] = np.asarray(image, dtype=float)
    notes = []
    for i, label in enumerate(probes.labels):
        guess = reading.guesses[i][-1] if reading is not None else None
        text, font = _name(class_names, label), dict[str, Any](size=13)  # unread: theme colour
        if guess is not None:
            text += f" → {_name(class_names, guess)}"
            font["color"] = RIGHT if guess == label else WRONG
        notes.append(dict(font=font, showarrow=False, text=text,
                          x=i * (size + gap) + size / 2 - 0.5, y=-1.5,
                          yanchor="bottom"))  # fmt: skip
    frame = _images_frame(height)
    titles = [str(note["text"]) for note in notes]
    return unchecked(frame, [{"z": z}], annotations=notes, meta=images_alt("probe images", titles))


@functools.lru_cache(maxsize=16)
def _images_frame(height: int) -> dict[str, Any]:
    fig = go.Figure(go.Heatmap(colorscale="gray_r", showscale=False, zmin=0, zmax=255,
                               hoverinfo="skip", name="probes"))  # fmt: skip
    fig.update_yaxes(autorange="reversed", visible=False, scaleanchor="x")
    fig.update_xaxes(visible=False)
    fig.update_layout(title=dict(text="Probe images: label → guess", font_size=13, y=0.97),
                      height=height, margin=dict(l=5, r=5, t=55, b=5))  # fmt: skip
    return fig.to_dict()


def _name(class_names: Sequence[str], index: int) -> str:
    return class_names[index] if index < len(class_names) else str(index)


def probe_belief_figure(
    probes: ProbeSet,
    reading: Probed,
    class_names: Sequence[str],
    *,
    height: int = 300,
    step: str = "row",
) -> go.Figure:
    """Belief in each probe's true label after steps 1..T: solid lines easy, dashed hard; `step`
    names a step ("row" for a row model, "step" for the other orders)."""
    traces = []
    for i, (label, kind) in enumerate(zip(probes.labels, probes.kinds, strict=True)):
        belief = reading.true_belief[i]
        right = reading.guesses[i][-1] == label
        name = class_names[label] if label < len(class_names) else str(label)
        traces.append(dict(
            type="scatter", x=list(range(1, len(belief) + 1)), y=list(belief), mode="lines",
            name=f"{i + 1}: {name} ({kind})",
            line=dict(color=RIGHT if right else WRONG, width=2,
                      dash="dash" if kind == "hard" else "solid"),
            hovertemplate=step + " %{x}: %{y:.0%}<extra>%{fullData.name}</extra>",
        ))  # fmt: skip
    steps = len(reading.true_belief[0]) if reading.true_belief else 0
    frame = _belief_frame(height, step, steps <= 28)
    title = {"text": f"Belief in the true label, {step} by {step} (step {reading.step})"}
    return unchecked(frame, traces, title=title)


@functools.lru_cache(maxsize=16)
def _belief_frame(height: int, step: str, rows: bool) -> dict[str, Any]:
    fig = go.Figure()
    fig.update_layout(
        xaxis_title=f"{step}s read", yaxis_title="P(true label)", height=height, margin=_MARGIN,
        legend=dict(font_size=10),
    )  # fmt: skip
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    fig.update_xaxes(dtick=4 if rows else 112)  # 784 steps: every 4th row's end
    return fig.to_dict()


def row_gradient_figure(lanes: Sequence[Lane], *, step: int, height: int = 300) -> go.Figure:
    """|d loss / d row t| over the probes, per model, log scale: where learning signal reaches."""
    traces = [dict(type="scatter", x=list(lane.x), y=[max(v, 1e-12) for v in lane.y],
                   name=lane.label, mode="lines+markers",
                   line=dict(color=lane.color, dash=DASHES[i % len(DASHES)], width=3),
                   hovertemplate="row %{x}: %{y:.2e}<extra>%{fullData.name}</extra>")
              for i, lane in enumerate(lanes)]  # fmt: skip
    title = {"text": f"Gradient reaching each input row (step {step})"}
    return unchecked(_gradient_frame(height), traces, title=title)


@functools.lru_cache(maxsize=16)
def _gradient_frame(height: int) -> dict[str, Any]:
    fig = go.Figure()
    fig.update_layout(xaxis_title="row", yaxis_title="|∂ loss / ∂ row|", height=height,
                      margin=_MARGIN, legend=_LEGEND)  # fmt: skip
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_xaxes(dtick=4)
    return fig.to_dict()


def lanes_figure(
    lanes: Sequence[Lane],
    *,
    title: str,
    x_title: str,
    y_title: str,
    percent: bool = False,
    height: int = 320,
    max_points: int = 600,
) -> go.Figure:
    """One line per model of a race, each in its cell's colour and a dash of its own (so the
    lines are told apart without their colours); at most `max_points` evenly spaced points each."""
    thin = lambda v: list(islice(v, 0, None, stride(len(v), max_points)))  # noqa: E731
    fig = go.Figure(
        [
            go.Scatter(x=thin(lane.x), y=thin(lane.y), name=lane.label, mode="lines",
                       line=dict(color=lane.color, dash=DASHES[i % len(DASHES)], width=2))
            for i, lane in enumerate(lanes)
        ]
    )  # fmt: skip
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, height=height,
                      margin=_MARGIN, legend=_LEGEND)  # fmt: skip
    if percent:
        fig.update_yaxes(tickformat=".0%", autorangeoptions=dict(minallowed=0.0, maxallowed=1.02))
        fig.update_traces(mode="lines+markers", marker=dict(size=8))
        few = max((len(lane.x) for lane in lanes), default=0) <= 10
        fig.update_xaxes(rangemode="tozero", dtick=1 if few else None)  # whole epochs, while few
    if not any(len(lane.y) for lane in lanes):
        fig.update_yaxes(range=[0.0, 1.0] if percent else None)
        fig.add_annotation(text="appears after the first epoch" if percent else "no steps yet",
                           showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                           font=dict(color="grey"))  # fmt: skip
    return fig
