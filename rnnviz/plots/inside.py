"""The reading animation: a recurrent network reading an image one time step at a time.

`reading_animation` shows one frame per step, with the image (what the step reads outlined, what is
still unread dimmed, in the model's reading order), each layer's hidden state and the gates as
units x steps heatmaps that fill in, the class probabilities after the step, and every class's
belief over all steps. A 784-step reading (one pixel a step) shows the frames of `frame_steps`:
every 28th step and the last. Frames change only the bars, the shapes, the dimming image and the
title, so the figure stays small. The figure has no play controls of its own: the Inside page
plays it with Streamlit widgets, which a keyboard and a finger reach, and draws one frame at a
time (`rnnviz.plots.stills`). Its bars and belief curves come from `rnnviz.plots.reading`,
which draws the still figures around it. Rows and steps are numbered from 1 on every axis.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

from rnnviz.analysis.rows import locks_in_at
from rnnviz.analysis.trace import Trace
from rnnviz.models.orders import ORDERS, reading_index, seen_masks
from rnnviz.plots.reading import GREY, HIGHLIGHT, _bars, _belief_traces, _ref, _steps

__all__ = ["FRAMES", "frame_steps", "reading_animation"]

MAX_UNITS = 64  # heatmaps show at most this many units, the ones that vary most over the rows
FRAMES = 28  # readings longer than this show about this many frames, evenly spaced
TOP_PX, HEAT_PX = 320, 190  # heights of the first row of charts and of each row of heatmaps
DIM = "rgba(120, 120, 120, 0.8)"  # covers what has not been read yet
DIM_RGBA = (120, 120, 120, 204)  # the same, as the pixels of the dimming image
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


def frame_steps(steps: int, most: int = FRAMES) -> list[int]:
    """The 0-based steps an animation of `steps` shows: every one up to `most`, else every
    ceil(steps / most)-th from the first, and the last (784 steps: 0, 28, ..., 756, 783)."""
    if steps <= most:
        return list(range(steps))
    stride = -(-steps // most)
    return sorted({*range(0, steps, stride), steps - 1})


def _image_shapes(order: str, t: int, rows: int, ref: tuple[str, str]) -> list[dict]:
    """Outline what step t reads on the image; dim a row or column order's unread part (the
    one-pixel orders dim with `_unread_image`)."""
    dim = {"fillcolor": DIM, "line": {"width": 0}}
    outline = {"line": {"color": HIGHLIGHT, "width": 3}}
    if order == "columns":
        return [
            _rect(ref, (t + 1.5, 28.5), (0.5, rows + 0.5), **dim),
            _rect(ref, (t + 0.5, t + 1.5), (0.5, rows + 0.5), **outline),
        ]
    if ORDERS[order].inputs == 1:  # a pooled order's pixel is a block of the image
        pool = ORDERS[order].pool
        r, c = (pool * i for i in divmod(int(reading_index(order)[t, 0]), ORDERS[order].side))
        return [_rect(ref, (c + 0.5, c + pool + 0.5), (r + 0.5, r + pool + 0.5), **outline)]
    return [
        _rect(ref, (0.5, 28.5), (t + 1.5, rows + 0.5), **dim),
        _rect(ref, (0.5, 28.5), (t + 0.5, t + 1.5), **outline),
    ]


def _unread_image(unread: np.ndarray, ref: tuple[str, str]) -> dict:
    """A layout image over the picture: grey where unread (28, 28) is True, clear elsewhere."""
    rgba = np.zeros((*unread.shape, 4), dtype=np.uint8)
    rgba[unread] = DIM_RGBA
    png = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(png, format="PNG")
    source = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode("ascii")
    return {"source": source, "xref": ref[0], "yref": ref[1], "x": 0.5, "y": 0.5,
            "sizex": unread.shape[1], "sizey": unread.shape[0], "xanchor": "left",
            "yanchor": "top", "sizing": "stretch", "layer": "above"}  # fmt: skip


def _frame_shapes(
    t: int, steps: int, probs: np.ndarray, refs: _Refs, image: list[dict]
) -> list[dict]:
    """Shapes for step t (0-based) of `steps`: the image's (`_image_shapes`), the unread steps of
    the heatmaps dimmed, the probabilities after the step as bars, the step marked on the
    belief curves.

    Every frame has the same shapes in the same order; at the last step the dimming is empty.
    """
    dim = {"fillcolor": DIM, "line": {"width": 0}}
    best = int(probs.argmax())
    shapes = [*image]
    shapes += [_rect(ref, (t + 1.5, steps + 0.5), (-0.5, n - 0.5), **dim) for ref, n in refs.heat]
    shapes += [
        _rect(refs.bars, (c - 0.4, c + 0.4), (0, float(p)), line={"width": 0},
              fillcolor=HIGHLIGHT if c == best else GREY)
        for c, p in enumerate(probs)
    ]  # fmt: skip
    cursor = _rect(refs.belief, (t + 1, t + 1), (0, 1), line={"color": HIGHLIGHT, "width": 2})
    return [*shapes, cursor | {"type": "line", "layer": "below"}]


def _title(t: int, probs: np.ndarray, class_names: Sequence[str], step: str) -> str:
    best = int(probs.argmax())
    return f"After {step} {t + 1}: best guess <b>{class_names[best]}</b> ({probs[best]:.0%})"


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
    """An animation of a traced batch-of-one: a frame per step of `frame_steps`, Play/Pause and
    a step slider.

    image (R, 28) is what the model read (R = 28 for every order but rows); steps is
    `trace(model, image)`. Heatmaps show the forward direction of bidirectional models, at most
    `max_units` units each.
    """
    order = ORDERS[steps.order]
    count = steps.probs.shape[1]  # T time steps
    rows = np.asarray(image).shape[0]
    belief = steps.probs[0].cpu().numpy()  # (T, C)
    heat = _heatmaps(steps, max_units)
    specs, cells = _grid(len(heat))
    # Two short lines each, in a smaller font: side by side they stay apart on a phone (a 390 px
    # screen leaves each top chart about 60 px) as on a tablet and a desktop.
    titles = [
        f"the image,<br>{order.unit} by {order.unit}",
        f"probabilities<br>after this {order.step_name}",
        f"belief after<br>each {order.step_name}",
    ]
    titles += [f"{name}<br>({len(units)} units)" for name, _, units, _ in heat]
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
    fig.update_annotations(font_size=12)  # the subplot titles: the frames add no annotation
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
    # Percent labels inside their charts: on a phone the gap between two charts is a few pixels.
    inside = {"tickformat": ".0%", "ticklabelposition": "inside", "tickfont_size": 10}
    fig.update_yaxes(range=[0, 1.15], row=1, col=3, **inside)
    lock_in = locks_in_at(steps.probs[0])
    for line in _belief_traces(belief, class_names, lock_in, step=order.step_name):
        fig.add_trace(line, row=1, col=5)
    fig.update_yaxes(range=[0, 1.02], row=1, col=5, **inside)
    fig.update_xaxes(range=[0.5, count + 0.5], row=1, col=5)
    heat_refs = []
    for (name, values, units, gate), (r, c) in zip(heat, cells, strict=True):
        fig.add_trace(
            go.Heatmap(
                z=values.tolist(),
                x=_steps(count),
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
    shown = frame_steps(count)
    names = [str(t + 1) for t in shown]
    # Frames change the layout only: Streamlit's chart redraws traces a frame replaces, which
    # makes every other trace flicker while playing.
    layouts = [
        {
            "shapes": _frame_shapes(t, count, belief[t], refs,
                                    _image_shapes(order.key, t, rows, refs.image)),
            "title": {"text": _title(t, belief[t], class_names, order.step_name)},
        }
        for t in shown
    ]  # fmt: skip
    if order.inputs == 1:  # one pixel a step: what is unread is no rectangle
        unread = ~seen_masks(order.key, shown).numpy()  # (frames, 28, 28)
        for layout, mask in zip(layouts, unread, strict=True):
            layout["images"] = [_unread_image(mask, refs.image)]
    fig.frames = [
        {"name": name, "layout": layout} for name, layout in zip(names, layouts, strict=True)
    ]
    fig.update_layout(
        height=area + 70 + 40,
        margin={"t": 70, "b": 40, "l": 30, "r": 130},
        **layouts[0],
        legend={"x": 1.01, "xanchor": "left", "y": 1.0, "yanchor": "top", "font": {"size": 11}},
    )
    return fig
