"""Figures for how good a model is: per-class scores, the confusion matrix, image grids, run curves.

Pure functions from plain data (a `Metrics`, arrays, `Curve`s) to plotly figures. The confusion
matrix carries an invisible marker on every cell, because plotly reports clicks on heatmaps to no
one; `confusion_cell` reads a click on one of those markers back as (true class, predicted class).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from rnnviz.analysis.metrics import Metrics
from rnnviz.data.sources import IMAGE_SIZE
from rnnviz.models.cells import group_colors
from rnnviz.plots.alt import own
from rnnviz.storage.comparison import Curve

# Title text in these colours reads at 4.5:1 on the light theme's white and the dark one's black.
RIGHT = "#208838"  # green: a correct prediction
WRONG = "#d33d3d"  # red: a mistake
SCORE_COLORS = {"precision": "#4c78a8", "recall": "#e27802", "f1": "#54a24b"}
# Cell families keep one colour on every chart (the registry's): the plain RNN warm, gated cool.
GROUP_COLORS = group_colors()
_SPARE_COLORS = ("#d67883", "#9c755f", "#5e9f9a", "#b19102")  # none of them a cell's
_DASHES = ("solid", "dash", "dot", "dashdot", "longdash")
_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star", "cross")
# The diagonal (right) in blues; mistakes in reds scaled to the worst one, so that a 1 % mix-up
# stands out next to a 98 % diagonal.
_RIGHT_SCALE = [[0.0, "#f7fbff"], [0.5, "#6baed6"], [1.0, "#08306b"]]
_WRONG_SCALE = [[0.0, "#ffffff"], [0.15, "#fde0dd"], [0.6, "#fb6a4a"], [1.0, "#a50f15"]]
_TILE = IMAGE_SIZE  # image side in pixels
_GAP = 3  # pixels between tiles
_BAND = 12  # pixels (data units) above a tile for its two-line title


def per_class_bars(metrics: Metrics) -> go.Figure:
    """Grouped bars of precision, recall and F1 for every class, named by `metrics.class_names`."""
    names = list(metrics.class_names)
    fig = go.Figure()
    for score, color in SCORE_COLORS.items():
        values = [getattr(r, score) for r in metrics.per_class]
        fig.add_trace(
            go.Bar(
                name="F1" if score == "f1" else score.capitalize(),
                x=names,
                y=values,
                marker_color=color,
                hovertemplate="%{x}: %{y:.1%}<extra>%{fullData.name}</extra>",
            )
        )
    low = min((getattr(r, s) for r in metrics.per_class for s in SCORE_COLORS), default=0.0)
    fig.update_layout(
        barmode="group",
        height=360,
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", y=1.12, x=0),
        yaxis=dict(tickformat=".0%", range=[max(0.0, low - 0.05), 1.0], title="score"),
        xaxis=dict(type="category"),
    )
    return fig


def confusion_heatmap(
    confusion: np.ndarray, class_names: Sequence[str], *, selected: tuple[int, int] | None = None
) -> go.Figure:
    """Counts of true class (rows, top to bottom) by predicted class (columns), shape (C, C).

    Colour is each row's share, so rare classes are as readable as common ones: blue on the
    diagonal, red off it (the darkest red is the worst mix-up). The text is the count.
    `selected` (true, predicted) is outlined.
    """
    counts = np.asarray(confusion, dtype=np.int64)
    c = len(class_names)
    if counts.shape != (c, c):
        raise ValueError(f"confusion has shape {counts.shape}, expected ({c}, {c})")
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    names = list(class_names)
    diagonal = np.eye(c, dtype=bool)
    worst = float(share[~diagonal].max(initial=0.0))
    fig = go.Figure()
    for part, scale, top in ((diagonal, _RIGHT_SCALE, 1.0), (~diagonal, _WRONG_SCALE, worst)):
        fig.add_trace(
            go.Heatmap(
                z=np.where(part, share, np.nan),
                text=np.where(part, counts.astype(str), ""),
                texttemplate="%{text}",
                colorscale=scale,
                zmin=0.0,
                zmax=max(top, 1e-9),
                showscale=False,
                hoverinfo="skip",
            )
        )
    rows, cols = np.divmod(np.arange(c * c), c)
    fig.add_trace(
        go.Scatter(
            x=cols,
            y=rows,
            mode="markers",
            marker=dict(symbol="square", size=40, color="rgba(0,0,0,0)"),
            text=[
                f"true <b>{names[t]}</b>, predicted <b>{names[p]}</b>: "
                f"{counts[t, p]} ({share[t, p]:.1%} of {names[t]})"
                for t, p in zip(rows, cols, strict=True)
            ],
            hovertemplate="%{text}<extra></extra>",
            showlegend=False,
        )
    )
    if selected is not None:
        t, p = selected
        fig.add_shape(
            type="rect", x0=p - 0.5, x1=p + 0.5, y0=t - 0.5, y1=t + 0.5,
            line=dict(color="#8c8c8c", width=3),  # seen on a light or dark page
        )  # fmt: skip
    ticks = dict(tickmode="array", tickvals=list(range(c)), ticktext=names, showgrid=False)
    fig.update_layout(
        height=max(360, 46 * c + 110),
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis=dict(title="predicted class", side="top", zeroline=False, **ticks),
        yaxis=dict(title="true class", autorange="reversed", zeroline=False, **ticks),
        clickmode="event+select",
        dragmode=False,
        meta=_confusion_alt(counts, share, names),
    )
    return fig


def _confusion_alt(counts: np.ndarray, share: np.ndarray, names: list[str]) -> dict:
    """The confusion matrix in words (its accuracy and worst mix-ups) and as count rows."""
    total, right = int(counts.sum()), int(np.trace(counts))
    wrong = [(int(counts[t, p]), t, p) for t in range(len(names)) for p in range(len(names))
             if t != p and counts[t, p] > 0]  # fmt: skip
    worst = ", ".join(f"{names[t]} taken for {names[p]} {n:,} times" for n, t, p in
                      sorted(wrong, key=lambda w: (-w[0], w[1], w[2]))[:3])  # fmt: skip
    said = f"{right:,} of {total:,} images on the diagonal ({right / max(total, 1):.1%} right)"
    said += f"; the most common mistakes: {worst}" if worst else "; no mistakes"
    rows = [{"true class": names[t], "predicted class": names[p], "images": int(counts[t, p]),
             "share of the true class": round(float(share[t, p]), 4)}
            for t in range(len(names)) for p in range(len(names))]  # fmt: skip
    return own("Confusion matrix: true class (rows) by predicted class (columns)", said, rows)


def confusion_cell(selection: Mapping[str, Any] | None) -> tuple[int, int] | None:
    """(true, predicted) of the first clicked cell in a plotly selection event, else None.

    A cell's marker sits at x = predicted class, y = true class.
    """
    for point in (selection or {}).get("points") or []:
        x, y = point.get("x"), point.get("y")
        if isinstance(x, int | float) and isinstance(y, int | float):
            return round(y), round(x)
    return None


def image_grid(
    images: np.ndarray,
    titles: Sequence[str],
    *,
    colors: Sequence[str] | None = None,
    columns: int = 8,
    cell_px: int = 120,
) -> go.Figure:
    """Images (N, 28, 28), uint8 white on black, in a grid with a coloured title over each.

    `cell_px` is the expected on-screen width of one grid cell; it sets the figure's height.
    """
    images = np.asarray(images)
    n = len(images)
    if images.ndim != 3 or images.shape[1:] != (_TILE, _TILE):
        raise ValueError(f"images must be (N, 28, 28), not {images.shape}")
    if len(titles) != n or (colors is not None and len(colors) != n):
        raise ValueError(f"{n} images need {n} titles and colours")
    if columns < 1:
        raise ValueError(f"columns={columns} must be at least 1")
    cols = min(columns, max(n, 1))
    rows = max(1, -(-n // cols))
    cell_w, cell_h = _TILE + _GAP, _TILE + _BAND
    mosaic = np.full((rows * cell_h, cols * cell_w), np.nan)  # NaN draws nothing: the page shows
    annotations = []
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        top, left = r * cell_h + _BAND, c * cell_w
        mosaic[top : top + _TILE, left : left + _TILE] = image
        annotations.append(
            dict(
                x=left + _TILE / 2, y=top - 0.6, text=titles[i], showarrow=False,
                yanchor="bottom", font=dict(size=12, color=colors[i] if colors else None),
            )
        )  # fmt: skip
    fig = go.Figure(
        go.Heatmap(z=mosaic, colorscale="gray", zmin=0, zmax=255, showscale=False, hoverinfo="skip")
    )
    hidden = dict(visible=False, showgrid=False, zeroline=False)
    fig.update_layout(
        annotations=annotations,
        height=rows * cell_px * cell_h // cell_w + 10,
        margin=dict(l=0, r=0, t=0, b=0),
        xaxis=dict(hidden, range=[-0.5, cols * cell_w - _GAP - 0.5], constrain="domain"),
        yaxis=dict(hidden, autorange="reversed", scaleanchor="x", constrain="domain"),
        plot_bgcolor="rgba(0,0,0,0)",
        dragmode=False,
        meta=images_alt("test images", titles),
    )
    return fig


def images_alt(what: str, titles: Sequence[str]) -> dict:
    """A grid of images in words: how many, and each one's title."""
    said = "; ".join(f"{i + 1}: {t}" for i, t in enumerate(titles[:24]))
    more = f"; and {len(titles) - 24} more" if len(titles) > 24 else ""
    rows = [{"image": i + 1, "title": t} for i, t in enumerate(titles)]
    return own(f"{len(titles)} {what}, 28 by 28 pixels", f"Titles: {said}{more}.", rows)


def curves_figure(
    curves: Sequence[Curve], *, x_title: str, y_title: str, percent: bool = False
) -> go.Figure:
    """One line per run, coloured by its group; every run differs from the next by its dash and
    every group by its marker, so no two runs are told apart by colour alone."""
    fig = go.Figure()
    seen: dict[str, int] = {}
    spare = iter(_SPARE_COLORS * (len(curves) + 1))
    colors = dict(GROUP_COLORS)
    for k, curve in enumerate(curves):
        if curve.group not in colors:
            colors[curve.group] = next(spare)
        symbol = _SYMBOLS[seen.setdefault(curve.group, len(seen)) % len(_SYMBOLS)]
        fig.add_trace(
            go.Scatter(
                x=list(curve.x),
                y=list(curve.y),
                name=curve.label,
                mode="lines+markers" if len(curve.x) <= 30 else "lines",
                legendgroup=curve.group,
                line=dict(color=colors[curve.group], dash=_DASHES[k % len(_DASHES)], width=2.5),
                marker=dict(symbol=symbol, size=7),
                hovertemplate=f"%{{y:{'.2%' if percent else '.3f'}}}<extra>{curve.label}</extra>",
            )
        )
    fig.update_layout(
        height=380,
        margin=dict(l=10, r=10, t=30, b=10),
        legend=dict(orientation="h", y=-0.22, x=0),
        xaxis=dict(title=x_title),
        yaxis=dict(title=y_title, tickformat=".0%" if percent else None),
        hovermode="x unified",
    )
    return fig
