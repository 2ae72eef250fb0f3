"""Figures of a run as it learns: probe images, their belief curves, the gradient per row, races.

`probe_images_figure` shows the probes with their labels and the current guess (green right, red
wrong); `probe_belief_figure` the belief in each probe's true label after every row;
`row_gradient_figure` how much gradient reaches each input row, one line per model, on a log
scale (a vanilla RNN's early rows fade); `lanes_figure` overlays one curve per model of a race in
the cells' colours, and `mark_lr_changes` marks hand-made learning-rate changes on a loss chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz.events import Probed, ProbeSet

RIGHT, WRONG = "#2ca02c", "#d62728"
_MARGIN = dict(l=10, r=10, t=50, b=10)
_LEGEND = dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0)


@dataclass(frozen=True)
class Lane:
    """One model's curve on a shared chart: its label, colour and points."""

    label: str
    color: str
    x: Sequence[float]
    y: Sequence[float]


def probe_images_figure(
    probes: ProbeSet, reading: Probed | None, class_names: Sequence[str], *, height: int = 210
) -> go.Figure:
    """The probes side by side, each titled 'label → guess' in green (right) or red (wrong)."""
    n = len(probes.indices)
    titles = []
    for i, (label, kind) in enumerate(zip(probes.labels, probes.kinds, strict=True)):
        guess = reading.guesses[i][-1] if reading is not None else None
        name = class_names[label] if label < len(class_names) else str(label)
        if guess is None:
            titles.append(f"{name} ({kind})")
            continue
        said = class_names[guess] if guess < len(class_names) else str(guess)
        color = RIGHT if guess == label else WRONG
        titles.append(f"<span style='color:{color}'>{name} → {said}</span>")
    fig = make_subplots(rows=1, cols=max(n, 1), subplot_titles=titles, horizontal_spacing=0.01)
    for i, image in enumerate(probes.images):
        fig.add_trace(
            go.Heatmap(z=[list(row) for row in image], colorscale="gray_r", showscale=False,
                       zmin=0, zmax=255, hoverinfo="skip", name=f"probe {i + 1}"),
            row=1, col=i + 1,
        )  # fmt: skip
    fig.update_yaxes(autorange="reversed", showticklabels=False, scaleanchor="x")
    fig.update_xaxes(showticklabels=False)
    for i in range(n):  # each image keeps square pixels against its own x axis
        fig.update_yaxes(scaleanchor=f"x{i + 1 if i else ''}", row=1, col=i + 1)
    fig.update_annotations(font_size=12)
    fig.update_layout(title=dict(text="Probe images: label → guess", font_size=13, y=0.98),
                      height=height, margin=dict(l=5, r=5, t=55, b=5))  # fmt: skip
    return fig


def probe_belief_figure(
    probes: ProbeSet, reading: Probed, class_names: Sequence[str], *, height: int = 300
) -> go.Figure:
    """Belief in each probe's true label after rows 1..T: solid lines easy, dashed hard."""
    fig = go.Figure()
    for i, (label, kind) in enumerate(zip(probes.labels, probes.kinds, strict=True)):
        belief = reading.true_belief[i]
        right = reading.guesses[i][-1] == label
        name = class_names[label] if label < len(class_names) else str(label)
        fig.add_trace(
            go.Scatter(
                x=list(range(1, len(belief) + 1)), y=list(belief), mode="lines",
                name=f"{i + 1}: {name} ({kind})",
                line=dict(color=RIGHT if right else WRONG, width=2,
                          dash="dash" if kind == "hard" else "solid"),
                hovertemplate="row %{x}: %{y:.0%}<extra>%{fullData.name}</extra>",
            )
        )  # fmt: skip
    fig.update_layout(
        title=f"Belief in the true label, row by row (step {reading.step})",
        xaxis_title="rows read", yaxis_title="P(true label)", height=height, margin=_MARGIN,
        legend=dict(font_size=10),
    )  # fmt: skip
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    fig.update_xaxes(dtick=4)
    return fig


def row_gradient_figure(lanes: Sequence[Lane], *, step: int, height: int = 300) -> go.Figure:
    """|d loss / d row t| over the probes, per model, log scale: where learning signal reaches."""
    fig = go.Figure(
        [
            go.Scatter(x=list(lane.x), y=[max(v, 1e-12) for v in lane.y], name=lane.label,
                       mode="lines+markers", line=dict(color=lane.color, width=3),
                       hovertemplate="row %{x}: %{y:.2e}<extra>%{fullData.name}</extra>")
            for lane in lanes
        ]
    )  # fmt: skip
    fig.update_layout(
        title=f"Gradient reaching each input row (step {step})", xaxis_title="row",
        yaxis_title="|∂ loss / ∂ row|", height=height, margin=_MARGIN, legend=_LEGEND,
    )  # fmt: skip
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_xaxes(dtick=4)
    return fig


def lanes_figure(
    lanes: Sequence[Lane],
    *,
    title: str,
    x_title: str,
    y_title: str,
    percent: bool = False,
    height: int = 320,
) -> go.Figure:
    """One line per model of a race, each in its cell's colour."""
    fig = go.Figure(
        [
            go.Scatter(x=list(lane.x), y=list(lane.y), name=lane.label, mode="lines",
                       line=dict(color=lane.color, width=2))
            for lane in lanes
        ]
    )  # fmt: skip
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, height=height,
                      margin=_MARGIN, legend=_LEGEND)  # fmt: skip
    if percent:
        fig.update_yaxes(tickformat=".0%", autorangeoptions=dict(minallowed=0.0, maxallowed=1.02))
        fig.update_traces(mode="lines+markers", marker=dict(size=8))
        fig.update_xaxes(dtick=1, rangemode="tozero")
    if not any(len(lane.y) for lane in lanes):
        fig.update_yaxes(range=[0.0, 1.0] if percent else None)
        fig.add_annotation(text="appears after the first epoch" if percent else "no steps yet",
                           showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                           font=dict(color="grey"))  # fmt: skip
    return fig
