"""rnnviz.plots.inside: the animation is checked through fig.data, fig.frames and fig.layout."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from rnnviz.analysis.rows import locks_in_at
from rnnviz.plots import inside as plots

from .drawn import image, traced

NAMES = [str(i) for i in range(10)]


def _heatmap_titles(fig: go.Figure) -> list[str]:
    return [t.name for t in fig.data if isinstance(t, go.Heatmap) and t.name]


def test_one_frame_per_row_named_by_its_row_and_no_plotly_controls() -> None:
    fig = plots.reading_animation(image(), traced(), NAMES)
    assert len(fig.frames) == 28
    assert [f.name for f in fig.frames] == [str(t) for t in range(1, 29)]
    # The page plays it with widgets a keyboard reaches: Plotly's SVG controls take no keys.
    assert not fig.layout.updatemenus and not fig.layout.sliders
    assert fig.layout.margin.b == 40


def test_the_chart_titles_are_short_lines_that_stay_apart_on_a_phone() -> None:
    fig = plots.reading_animation(image(), traced(), NAMES)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["the image,<br>row by row", "probabilities<br>after this row",
                      "belief after<br>each row", "hidden state h<br>(6 units)",
                      "cell state c<br>(6 units)", "input gate i<br>(6 units)",
                      "forget gate f<br>(6 units)", "output gate o<br>(6 units)"]  # fmt: skip
    pixels = plots.reading_animation(image(), traced(order="pixels14"), NAMES)
    top = [a.text for a in pixels.layout.annotations][:3]
    assert top == ["the image,<br>pixel by pixel", "probabilities<br>after this step",
                   "belief after<br>each step"]  # fmt: skip
    # At 12 px a line of 15 characters is about 75 px: on a 390 px phone the three top charts
    # are about 60 px wide and 70 px apart, centre to centre, so neighbours do not meet.
    assert max(len(line) for t in titles[:3] + top for line in t.split("<br>")) == 15
    assert {a.font.size for a in fig.layout.annotations} == {12}


@pytest.mark.parametrize("t", [0, 9, 27])
def test_frame_outlines_row_t_and_dims_the_rows_below(t: int) -> None:
    fig = plots.reading_animation(image(), traced(), NAMES)
    image_axes = (fig.data[0].xaxis, fig.data[0].yaxis)
    shapes = [s for s in fig.frames[t].layout.shapes if (s.xref, s.yref) == image_axes]
    dim, outline = shapes
    assert (outline.y0, outline.y1) == (t + 0.5, t + 1.5)  # rows are numbered 1..28 on the axis
    assert outline.line.width > 0 and outline.fillcolor is None
    assert (dim.y0, dim.y1) == (t + 1.5, 28.5) and dim.fillcolor is not None
    assert fig.frames[t].layout.title.text.startswith(f"After row {t + 1}:")


def test_frame_bars_are_the_probabilities_after_that_row() -> None:
    steps = traced()
    fig = plots.reading_animation(image(), steps, NAMES)
    (outline,) = [t for t in fig.data if isinstance(t, go.Bar)]  # the answer after the last row
    assert np.allclose(outline.y, steps.probs[0, -1].numpy(), atol=1e-6)
    assert list(outline.x) == NAMES
    bar_axes = (outline.xaxis, outline.yaxis)
    for t, frame in enumerate(fig.frames):
        assert not frame.data  # frames move shapes only; the traces stay put
        bars = [s for s in frame.layout.shapes if (s.xref, s.yref) == bar_axes]
        assert [round((s.x0 + s.x1) / 2) for s in bars] == list(range(10))
        heights = np.array([s.y1 - s.y0 for s in bars])
        assert heights.sum() == pytest.approx(1.0, abs=1e-5)
        assert np.allclose(heights, steps.probs[0, t].numpy(), atol=1e-6)
        best = int(heights.argmax())
        assert bars[best].fillcolor != bars[(best + 1) % 10].fillcolor


def test_belief_curve_per_class_and_the_lock_in_row() -> None:
    steps = traced()
    fig = plots.reading_animation(image(), steps, NAMES)
    lines = {t.name: t for t in fig.data if isinstance(t, go.Scatter)}
    for c, name in enumerate(NAMES):
        assert np.allclose(lines[name].y, steps.probs[0, :, c].numpy(), atol=1e-6)
        assert list(lines[name].x) == list(range(1, 29))
    lock = locks_in_at(steps.probs[0])
    assert list(lines[f"locks in at row {lock + 1}"].x) == [lock + 1, lock + 1]
    final = int(steps.probs[0, -1].argmax())
    assert lines[NAMES[final]].line.width > lines[NAMES[(final + 1) % 10]].line.width


@pytest.mark.parametrize(
    ("cell", "layers", "expected"),
    [("lstm", 1, ["hidden state h", "cell state c", "input gate i", "forget gate f",
                  "output gate o"]),
     ("gru", 1, ["hidden state h", "reset gate r", "update gate z"]),
     ("rnn_tanh", 1, ["hidden state h"]),
     ("rnn_relu", 2, ["hidden state h, layer 1", "hidden state h, layer 2"])],
)  # fmt: skip
def test_heatmaps_per_cell(cell: str, layers: int, expected: list[str]) -> None:
    steps = traced(cell, num_layers=layers)
    fig = plots.reading_animation(image(), steps, NAMES)
    assert _heatmap_titles(fig) == expected
    hidden = next(t for t in fig.data if t.name == expected[0])
    assert np.allclose(np.asarray(hidden.z), steps.hidden[0, 0, 0].numpy().T, atol=1e-6)


def test_gate_heatmaps_fill_in_as_the_rows_are_read() -> None:
    fig = plots.reading_animation(image(), traced("gru"), NAMES)
    gate = next(t for t in fig.data if t.name == "update gate z")
    masks = [s for s in fig.frames[4].layout.shapes if (s.xref, s.yref) == (gate.xaxis, gate.yaxis)]
    (mask,) = masks
    assert (mask.x0, mask.x1) == (5.5, 28.5)  # steps 6..28 still covered after row 5
    assert (gate.zmin, gate.zmax) == (0, 1)


def test_large_hidden_state_is_subsampled_and_the_figure_stays_light() -> None:
    steps = traced("lstm", hidden=100)
    fig = plots.reading_animation(image(), steps, NAMES)
    heatmaps = [t for t in fig.data if isinstance(t, go.Heatmap) and t.name]
    assert all(np.asarray(t.z).shape == (64, 28) for t in heatmaps)
    assert len(set(heatmaps[0].y)) == 64
    assert len(fig.to_json()) < 600_000


def test_a_short_read_has_one_frame_per_row_read() -> None:
    fig = plots.reading_animation(image(6), traced(rows=6), NAMES)
    assert len(fig.frames) == 6
    assert np.asarray(fig.data[0].z).shape == (6, 28)


def test_frame_steps_sample_a_long_reading() -> None:
    assert plots.frame_steps(28) == list(range(28)) and plots.frame_steps(5) == list(range(5))
    shown = plots.frame_steps(784)
    assert len(shown) == 29 and shown[:3] == [0, 28, 56] and shown[-2:] == [756, 783]


def test_a_pixel_reading_animates_29_frames_and_dims_what_is_unread() -> None:
    steps = traced(order="pixels")
    fig = plots.reading_animation(image(), steps, NAMES)
    assert steps.probs.shape[1] == 784
    assert [f.name for f in fig.frames] == [str(t + 1) for t in plots.frame_steps(784)]
    assert fig.frames[-1].layout.title.text.startswith("After step 784:")
    image_axes = (fig.data[0].xaxis, fig.data[0].yaxis)
    for frame, t in zip(fig.frames, plots.frame_steps(784), strict=True):
        (outline,) = [s for s in frame.layout.shapes if (s.xref, s.yref) == image_axes]
        r, c = divmod(t, 28)  # pixels read row-major: step t is pixel (t // 28, t % 28)
        assert (outline.x0, outline.y0) == (c + 0.5, r + 0.5)
        (overlay,) = frame.layout.images
        assert overlay.source.startswith("data:image/png;base64,")
        assert (overlay.xref, overlay.yref) == image_axes
    first, last = fig.frames[0].layout.images[0].source, fig.frames[-1].layout.images[0].source
    assert first != last  # the grey shrinks as pixels are read


def test_a_14x14_reading_outlines_the_2x2_block_each_step_reads() -> None:
    steps = traced(order="pixels14")
    fig = plots.reading_animation(image(), steps, NAMES)
    assert steps.probs.shape[1] == 196 and steps.inputs.shape[1:] == (196, 1)
    assert fig.frames[-1].layout.title.text.startswith("After step 196:")
    image_axes = (fig.data[0].xaxis, fig.data[0].yaxis)
    for frame, t in zip(fig.frames, plots.frame_steps(196), strict=True):
        (outline,) = [s for s in frame.layout.shapes if (s.xref, s.yref) == image_axes]
        r, c = divmod(t, 14)  # step t reads block (t // 14, t % 14) of the 28x28 image
        assert (outline.x0, outline.x1) == (2 * c + 0.5, 2 * c + 2.5)
        assert (outline.y0, outline.y1) == (2 * r + 0.5, 2 * r + 2.5)


def test_a_column_reading_outlines_column_t() -> None:
    fig = plots.reading_animation(image(), traced(order="columns"), NAMES)
    image_axes = (fig.data[0].xaxis, fig.data[0].yaxis)
    dim, outline = [s for s in fig.frames[9].layout.shapes if (s.xref, s.yref) == image_axes]
    assert (outline.x0, outline.x1) == (9.5, 10.5) and (dim.x0, dim.x1) == (10.5, 28.5)
    assert not fig.frames[9].layout.images
