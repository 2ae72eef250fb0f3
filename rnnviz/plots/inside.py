"""The reading animation: a recurrent network reading an image one row per time step.

`reading_animation` shows one frame per row, with the image (current row outlined, unread rows
dimmed), each layer's hidden state and the gates as units x steps heatmaps that fill in, the class
probabilities after the row, and every class's belief over all rows. Frames change only the bars,
the shapes and the title, so a 28-frame figure stays small. Its bars and belief curves come from
`rnnviz.plots.reading`, which draws the still figures around it. Rows and steps are numbered from 1
on every axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz.plots.reading import GREY, HIGHLIGHT, _bars, _belief_traces, _ref, _steps
from rnnviz.rows import locks_in_at
from rnnviz.trace import Trace

__all__ = ["reading_animation"]

MAX_UNITS = 64  # heatmaps show at most this many units, the ones that vary most over the rows
FRAME_MS = 250  # one row per quarter second when playing
TOP_PX, HEAT_PX = 320, 190  # heights of the first row of charts and of each row of heatmaps
DIM = "rgba(120, 120, 120, 0.8)"  # covers what has not been read yet
DIVERGING = "RdBu_r"  # hidden and cell states: blue negative, red positive
GATES = "Viridis"  # gates live in [0, 1]
GATE_NAMES = {"i": "input gate i", "f": "forget gate f", "o": "output gate o"}
GATE_NAMES |= {"r": "reset gate r", "z": "update gate z"}


def _pick_units(values: np.ndarray, limit: int) -> np.ndarray:
    """Indices of at most `limit` units of values (T, H), those varying most over time, sorted."""
    if values.shape[1] <= limit:
        return np.arange(values.shape[1])
    return np.sort(np.argsort(values.std(axis=0))[-limit:])


def _heatmaps(steps: Trace, max_units: int) -> list[tuple[str, np.ndarray, np.ndarray, bool]]:
    """(title, values (units, T), unit ids, is_gate) for every heatmap, forward direction only."""
    layers = steps.hidden.shape[0]
    found = []
    for layer in range(layers):
        h = steps.hidden[layer, 0, 0].cpu().numpy()  # (T, H)
        units = _pick_units(h, max_units)
        name = f"hidden state h, layer {layer + 1}" if layers > 1 else "hidden state h"
        found.append((name, h[:, units].T, units, False))
    top = layers - 1  # gates and memory of the layer the answer is read from
    h_top = steps.hidden[top, 0, 0].cpu().numpy()
    units = _pick_units(h_top, max_units)
    if steps.cell_state is not None:
        found.append(
            ("cell state c", steps.cell_state[top, 0, 0].cpu().numpy()[:, units].T, units, False)
        )
    for key, title in GATE_NAMES.items():
        if key in steps.gates:
            found.append(
                (title, steps.gates[key][top, 0, 0].cpu().numpy()[:, units].T, units, True)
            )
    return found


def _rect(
    ref: tuple[str, str], x: tuple[float, float], y: tuple[float, float], **style: object
) -> dict:
    """A rectangle shape in data coordinates of the subplot `ref`, drawn above the traces."""
    return {"type": "rect", "xref": ref[0], "yref": ref[1], "x0": x[0], "x1": x[1], "y0": y[0],
            "y1": y[1], "layer": "above", **style}  # fmt: skip


@dataclass(frozen=True)
class _Refs:
    """Axis references ('x3', 'y3') of the subplots the frames draw on."""

    image: tuple[str, str]
    bars: tuple[str, str]
    belief: tuple[str, str]
    heat: list[tuple[tuple[str, str], int]]  # (axes, number of units) per heatmap


def _frame_shapes(t: int, rows: int, probs: np.ndarray, refs: _Refs) -> list[dict]:
    """Shapes for row t (0-based): dim the unread rows and steps, outline the row, draw the
    probabilities after it as bars, mark the step on the belief curves.

    Every frame has the same shapes in the same order; at the last row the dimming is empty.
    """
    dim = {"fillcolor": DIM, "line": {"width": 0}}
    best = int(probs.argmax())
    shapes = [
        _rect(refs.image, (0.5, 28.5), (t + 1.5, rows + 0.5), **dim),
        _rect(refs.image, (0.5, 28.5), (t + 0.5, t + 1.5), line={"color": HIGHLIGHT, "width": 3}),
    ]
    shapes += [_rect(ref, (t + 1.5, rows + 0.5), (-0.5, n - 0.5), **dim) for ref, n in refs.heat]
    shapes += [
        _rect(refs.bars, (c - 0.4, c + 0.4), (0, float(p)), line={"width": 0},
              fillcolor=HIGHLIGHT if c == best else GREY)
        for c, p in enumerate(probs)
    ]  # fmt: skip
    cursor = _rect(refs.belief, (t + 1, t + 1), (0, 1), line={"color": HIGHLIGHT, "width": 2})
    return [*shapes, cursor | {"type": "line", "layer": "below"}]


def _title(t: int, probs: np.ndarray, class_names: Sequence[str]) -> str:
    best = int(probs.argmax())
    return f"After row {t + 1}: best guess <b>{class_names[best]}</b> ({probs[best]:.0%})"


def _grid(n_heat: int) -> tuple[list[list[dict | None]], list[tuple[int, int]]]:
    """make_subplots specs on 6 columns: image | bars | belief, then heatmaps two per row."""
    specs: list[list[dict | None]] = [
        [{"colspan": 2}, None, {"colspan": 2}, None, {"colspan": 2}, None]
    ]
    cells = []
    for k in range(n_heat):
        row, second = 2 + k // 2, k % 2 == 1
        if not second:
            alone = k == n_heat - 1
            specs.append(
                [{"colspan": 6}, *[None] * 5]
                if alone
                else [{"colspan": 3}, None, None, {"colspan": 3}, None, None]
            )
        cells.append((row, 4 if second else 1))
    return specs, cells


def reading_animation(
    image: np.ndarray, steps: Trace, class_names: Sequence[str], *, max_units: int = MAX_UNITS
) -> go.Figure:
    """An animation of a traced batch-of-one: one frame per row, Play/Pause and a step slider.

    image (T, 28) is what the model read; steps is `trace(model, image)`. Heatmaps show the
    forward direction of bidirectional models, at most `max_units` units each.
    """
    rows = steps.probs.shape[1]
    belief = steps.probs[0].cpu().numpy()  # (T, C)
    heat = _heatmaps(steps, max_units)
    specs, cells = _grid(len(heat))
    titles = [
        "the image, row by row",
        "probabilities after this row",
        "belief in each class after each row",
    ]
    titles += [f"{name} ({len(units)} units)" for name, _, units, _ in heat]
    n_rows = len(specs)
    gap = 100 if max(len(str(n)) for n in class_names) > 3 else 60  # room for slanted names
    area = TOP_PX + (HEAT_PX + gap) * (n_rows - 1)  # pixels of the subplot grid
    fig = make_subplots(
        rows=n_rows,
        cols=6,
        specs=specs,
        subplot_titles=titles,
        row_heights=[TOP_PX] + [HEAT_PX] * (n_rows - 1),
        vertical_spacing=gap / area,
        horizontal_spacing=0.06,
    )
    fig.add_trace(
        go.Heatmap(
            z=np.asarray(image).tolist(),
            x=_steps(28),
            y=_steps(rows),
            colorscale="gray",
            zmin=0,
            zmax=255,
            showscale=False,
            hovertemplate="row %{y}, column %{x}: %{z}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    bare = {"showticklabels": False, "showgrid": False, "ticks": "", "zeroline": False}
    fig.update_yaxes(autorange="reversed", scaleanchor=_ref(fig, 1, 1)[0], row=1, col=1, **bare)
    fig.update_xaxes(constrain="domain", row=1, col=1, **bare)
    fig.add_trace(go.Bar(_bars(belief[-1], class_names, final=True)), row=1, col=3)
    fig.update_xaxes(type="category", row=1, col=3)  # "0".."9" are names, not numbers
    fig.update_yaxes(range=[0, 1.15], tickformat=".0%", row=1, col=3)
    for line in _belief_traces(belief, class_names, locks_in_at(steps.probs[0])):
        fig.add_trace(line, row=1, col=5)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", row=1, col=5)
    fig.update_xaxes(range=[0.5, rows + 0.5], row=1, col=5)
    heat_refs = []
    for (name, values, units, gate), (r, c) in zip(heat, cells, strict=True):
        fig.add_trace(
            go.Heatmap(
                z=values.tolist(),
                x=_steps(rows),
                y=[f"unit {u}" for u in units],
                name=name,
                colorscale=GATES if gate else DIVERGING,
                zmin=0 if gate else None,
                zmax=1 if gate else None,
                zmid=None if gate else 0,
                showscale=False,
                hovertemplate="%{y}, step %{x}: %{z:.2f}<extra></extra>",
            ),
            row=r,
            col=c,
        )
        fig.update_yaxes(showticklabels=False, ticks="", showgrid=False, row=r, col=c)
        heat_refs.append((_ref(fig, r, c), len(units)))
    refs = _Refs(_ref(fig, 1, 1), _ref(fig, 1, 3), _ref(fig, 1, 5), heat_refs)
    names = [str(t + 1) for t in range(rows)]
    # Frames change the layout only: Streamlit's chart redraws traces a frame replaces, which
    # makes every other trace flicker while playing.
    fig.frames = [
        {
            "name": names[t],
            "layout": {
                "shapes": _frame_shapes(t, rows, belief[t], refs),
                "title": {"text": _title(t, belief[t], class_names)},
            },
        }
        for t in range(rows)
    ]
    play = {"frame": {"duration": FRAME_MS, "redraw": True}, "transition": {"duration": 0}}
    fig.update_layout(
        height=area + 70 + 120,
        margin={"t": 70, "b": 120, "l": 30, "r": 130},
        shapes=_frame_shapes(0, rows, belief[0], refs),
        title={"text": _title(0, belief[0], class_names)},
        legend={"x": 1.01, "xanchor": "left", "y": 1.0, "yanchor": "top", "font": {"size": 11}},
        updatemenus=[_buttons(play)],
        sliders=[_slider(names, play)],
    )
    return fig


def _buttons(play: dict) -> dict:
    pause = {
        "frame": {"duration": 0, "redraw": False},
        "mode": "immediate",
        "transition": {"duration": 0},
    }
    return {
        "type": "buttons",
        "direction": "left",
        "x": 0.0,
        "y": 0.0,
        "xanchor": "left",
        "yanchor": "top",
        "pad": {"t": 40, "r": 10},
        "showactive": False,
        "buttons": [
            {
                "label": "▶ Play",
                "method": "animate",
                "args": [None, {**play, "fromcurrent": True, "mode": "immediate"}],
            },
            {"label": "❚❚ Pause", "method": "animate", "args": [[None], pause]},
        ],
    }


def _slider(names: list[str], play: dict) -> dict:
    return {
        "active": 0,
        "x": 0.2,
        "y": 0.0,
        "len": 0.8,
        "xanchor": "left",
        "yanchor": "top",
        "pad": {"t": 30},
        "currentvalue": {"prefix": "Row ", "visible": True, "xanchor": "right"},
        "steps": [
            {"label": n, "method": "animate", "args": [[n], {**play, "mode": "immediate"}]}
            for n in names
        ],
    }
