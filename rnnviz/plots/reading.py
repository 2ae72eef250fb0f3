"""Still figures of what a model made of one image, for the Draw and Inside pages.

The class probabilities as bars (`probability_bars`, or before and after a row edit side by side in
`compare_bars`), each class's belief after every row with the lock-in row marked (`belief_figure`),
each row's share of the gradient for several models (`importance_figure`), and the preprocessing
stages of a drawing (`stages_figure`). The bars and belief curves are drawn by the same helpers as
the reading animation's, so a class has one colour everywhere. Rows are numbered from 1 on every
axis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from rnnviz.analysis.rows import locks_in_at
from rnnviz.data.preprocess import Preprocessed

__all__ = [
    "belief_figure",
    "compare_bars",
    "importance_figure",
    "probability_bars",
    "stages_figure",
]

# One colour per class, the same in every chart. Petroff's ten (chosen for telling apart with the
# common colour-vision deficiencies), each moved in OKLCH lightness only, hue kept, until it has
# 3:1 against both chart backgrounds, white (light theme) and black (dark): a line is a graphical
# object that must be seen (WCAG 1.4.11). The yellow (#ffa90e), grey (#94a4a2), khaki (#b9ac70)
# and cyan (#92dadd) went darker; the orange (#e76300) and the grey a little further, to stay
# apart from the darkened yellow and cyan. The closest pair is then CIEDE2000 12.4 apart (was
# 17.3), and 8.2 (was 12.6) and 7.5 (was 11.9) with deuteranopia and protanopia (Machado 2009).
COLORS = ("#3f90da", "#cb8504", "#bd1f01", "#7a8a88", "#832db6",
          "#a96b59", "#c95603", "#a19459", "#717581", "#589fa2")  # fmt: skip
# And one dash per class, so no line needs its colour at all; the pairs closest with deuteranopia
# or protanopia (3/9, 1/6, 3/8, 5/7, 1/7) have dashes unlike each other.
DASHES = ("solid", "dot", "dash", "longdash", "dashdot", "longdashdot",
          "12px,3px,3px,3px,3px,3px", "24px,4px", "3px,3px,3px,12px", "2px,7px")  # fmt: skip
HIGHLIGHT = "#e4572e"  # the row being read and the best guess (3.7:1 on white, 5.7 on black)
GREY = "#8c8c8c"  # every other class (3.4:1 on white, 6.2 on black)


def _steps(count: int) -> list[int]:
    return list(range(1, count + 1))


def _color(c: int) -> str:
    return COLORS[c % len(COLORS)]


def _dash(c: int) -> str:
    return DASHES[c % len(DASHES)]


def _ref(fig: go.Figure, row: int, col: int) -> tuple[str, str]:
    """('x3', 'y3')-style references of a subplot, for shapes."""
    sub = fig.get_subplot(row, col)
    return sub.xaxis.plotly_name.replace("axis", ""), sub.yaxis.plotly_name.replace("axis", "")


def _belief_traces(
    belief: np.ndarray, class_names: Sequence[str], lock_in: int, *, step: str = "row"
) -> list[go.Scatter]:
    """One line per class over steps 1..T (the final guess drawn thicker), and the lock-in line;
    `step` is what the captions call a step ("row" for a row model, else "step")."""
    final = int(belief[-1].argmax())
    steps = _steps(belief.shape[0])
    lines = [
        go.Scatter(
            x=steps,
            y=belief[:, c].tolist(),
            mode="lines",
            name=str(name),
            legendgroup="classes",
            line={"color": _color(c), "dash": _dash(c), "width": 4 if c == final else 2},
            hovertemplate=f"{name}: %{{y:.1%}} after {step} %{{x}}<extra></extra>",
        )
        for c, name in enumerate(class_names)
    ]
    lines.append(  # named in the legend: a label on the chart has no room on a phone
        go.Scatter(
            x=[lock_in + 1, lock_in + 1],
            y=[0, 1],
            mode="lines",
            name=f"locks in at {step} {lock_in + 1}",
            line={"color": GREY, "dash": "dash", "width": 2},  # seen on a light or dark page
            hoverinfo="name",
        )
    )
    return lines


def _bars(probs: np.ndarray, class_names: Sequence[str], *, final: bool = False) -> dict:
    """Class probabilities (C,) as a bar trace, the best one highlighted; `final` draws only a
    faint outline, behind the animation's bars for the current row."""
    best = int(probs.argmax())
    colors = [HIGHLIGHT if c == best else GREY for c in range(len(probs))]
    return {
        "type": "bar",
        "x": [str(n) for n in class_names],
        "y": probs.tolist(),
        "name": "after the last row" if final else "probability",
        "marker": {"color": "rgba(0, 0, 0, 0)", "line": {"color": GREY, "width": 1}}
        if final
        else {"color": colors},
        "text": ["" if final or p < 0.05 else f"{p:.0%}" for p in probs],
        "textposition": "outside",
        "hovertemplate": "%{x}: %{y:.1%}"
        + (" after the last row" if final else "")
        + "<extra></extra>",
        "showlegend": False,
    }


def belief_figure(
    belief: np.ndarray, class_names: Sequence[str], *, height: int = 320, step: str = "row"
) -> go.Figure:
    """Each class's probability after every step, belief (T, C), with the lock-in step marked;
    `step` names a step on the axis and the marker ("row", or "step" for the other orders)."""
    probs = np.asarray(belief)
    lock_in = locks_in_at(torch.from_numpy(np.ascontiguousarray(probs)))
    fig = go.Figure(_belief_traces(probs, class_names, lock_in, step=step))
    fig.update_layout(
        height=height,
        margin={"t": 20, "b": 40, "l": 50, "r": 10},
        legend={"font": {"size": 11}, "tracegroupgap": 0},
        xaxis={"title": f"{step}s read", "range": [0.5, probs.shape[0] + 0.5]},
        yaxis={"title": "probability", "range": [0, 1.02], "tickformat": ".0%"},
    )
    return fig


def probability_bars(
    probs: np.ndarray, class_names: Sequence[str], *, height: int = 300
) -> go.Figure:
    """Class probabilities (C,) as bars, the best one highlighted."""
    fig = go.Figure(go.Bar(_bars(np.asarray(probs), class_names)))
    fig.update_layout(
        height=height,
        margin={"t": 20, "b": 40, "l": 50, "r": 10},
        xaxis={"type": "category"},  # "0".."9" are names, not numbers
        yaxis={"range": [0, 1.15], "tickformat": ".0%", "title": "probability"},
    )
    return fig


def compare_bars(
    before: np.ndarray,
    after: np.ndarray,
    class_names: Sequence[str],
    *,
    labels: tuple[str, str] = ("original", "edited"),
) -> go.Figure:
    """Two sets of class probabilities (C,) side by side: an image before and after an edit."""
    names = [str(n) for n in class_names]
    fig = go.Figure(
        [
            go.Bar(x=names, y=before, name=labels[0], marker_color="#8c8c8c"),
            go.Bar(x=names, y=after, name=labels[1], marker_color=HIGHLIGHT),
        ]
    )
    fig.update_layout(
        barmode="group",
        xaxis={"type": "category"},
        height=280,
        margin={"t": 20, "b": 40, "l": 50, "r": 10},
        yaxis={"range": [0, 1.05], "tickformat": ".0%"},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"},
    )
    return fig


def importance_figure(shares: Mapping[str, np.ndarray], *, height: int = 300) -> go.Figure:
    """Each model's share of the gradient per row (title -> (T,)), as bar charts side by side."""
    titles = list(shares)
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles, shared_yaxes=True)
    for k, title in enumerate(titles):
        values = np.asarray(shares[title])
        fig.add_trace(
            go.Bar(
                x=_steps(len(values)),
                y=values,
                name=title,
                marker_color=_color(k),
                hovertemplate="row %{x}: %{y:.1%} of the gradient<extra></extra>",
                showlegend=False,
            ),
            row=1,
            col=k + 1,
        )
        fig.update_xaxes(title_text="row", row=1, col=k + 1)
    fig.update_yaxes(tickformat=".0%", row=1, col=1, title_text="share of the gradient")
    fig.update_layout(height=height, margin={"t": 40, "b": 40, "l": 60, "r": 10})
    return fig


def _gray(values: np.ndarray, limit: int = 140) -> np.ndarray:
    """A picture for a heatmap: padded square with black, at most `limit` pixels a side (every
    k-th pixel), in 0..255."""
    height, width = values.shape
    side = max(height, width)
    square = np.zeros((side, side), dtype=np.float32)
    top, left = (side - height) // 2, (side - width) // 2
    square[top : top + height, left : left + width] = values
    step = max(1, int(np.ceil(side / limit)))
    return square[::step, ::step] * (1.0 if values.dtype == np.uint8 else 255.0)


def stages_figure(pre: Preprocessed, *, naive: bool = False, height: int = 260) -> go.Figure:
    """The preprocessing stages side by side: canvas, crop, 28x28, the 28 rows (and the naive
    resize when asked); the last panel spaces the rows apart to show the 28 time steps."""
    panels = [("your drawing", _gray(pre.gray), 0), ("cropped to the ink", _gray(pre.cropped), 0)]
    panels += [("28x28, centred", pre.image, 0), ("the 28 rows it reads", pre.image, 2)]
    if naive:
        panels.append(("naive resize", pre.naive, 0))
    fig = make_subplots(
        rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels], horizontal_spacing=0.03
    )
    for k, (_, values, gap) in enumerate(panels):
        fig.add_trace(
            go.Heatmap(
                z=values,
                colorscale="gray",
                zmin=0,
                zmax=255,
                showscale=False,
                ygap=gap,
                y=_steps(values.shape[0]) if gap else None,
                hovertemplate=("row %{y}" if gap else "%{x}, %{y}") + ": %{z:.0f}<extra></extra>",
            ),
            row=1,
            col=k + 1,
        )
        bare = {"showticklabels": False, "showgrid": False, "ticks": "", "zeroline": False}
        anchor = _ref(fig, 1, k + 1)[0]
        fig.update_yaxes(autorange="reversed", scaleanchor=anchor, row=1, col=k + 1, **bare)
        fig.update_xaxes(constrain="domain", row=1, col=k + 1, **bare)
    fig.update_layout(height=height, margin={"t": 30, "b": 10, "l": 10, "r": 10})
    return fig
