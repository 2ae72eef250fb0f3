"""Figures of the Memory lab: training curves, the recall sweeps and a worked binary sum.

Pure functions from plain data (a job's typed events, sweep rows, `add_example`'s dict) to plotly
figures. `curves_figure` overlays one or more runs' loss and accuracy; `sweep_rows` reads a sweep's
rows back from its events, so the sweep figures can grow while it runs; `hidden_sweep_figure` and
`distance_sweep_figure` draw recall accuracy per cell; `seed_spread_figure` draws every seed's
accuracy per hidden size and its range; `length_accuracy_figure` a recall run's accuracy per
sequence length; `add_example_figure` lays a sum out bit by bit, least significant bit first, as
the network reads it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz.memory.tasks import NOTEBOOK_RECALL_FIGURES
from rnnviz.models.cells import group_of
from rnnviz.plots.metrics import GROUP_COLORS, RIGHT, WRONG
from rnnviz.plots.training import MARGIN
from rnnviz.training.events import Event, MemoryEvaluated, MemoryStepped

Events = Sequence[Event]  # a memory job's events, oldest first
Row = Mapping[str, Any]

RUN_COLORS = ("#636efa", "#ef553b", "#01a87b", "#ab63fa")  # one per overlaid run
RANGE = "#6f9ab0"  # a seed spread's range: 3:1 on white and black; its dots ringed in white
CHANCE = 0.1  # one digit in ten
# Cell codes of the grid figures, zmin 0 to zmax 3: 0 plain, 1 marked (blue), 2 right, 3 wrong.
# One heatmap per figure: plotly.js 3 fails to draw two heatmaps on one categorical axis.
_CODE_SCALE = [[0.0, "#f1f3f9"], [0.25, "#f1f3f9"], [0.25, "#9ecae1"], [0.5, "#9ecae1"],
               [0.5, RIGHT], [0.75, RIGHT], [0.75, WRONG], [1.0, WRONG]]  # fmt: skip
_LEGEND = dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1.0)


def curves_figure(runs: Mapping[str, Events], *, height: int = 340) -> go.Figure:
    """Loss per step (left) and accuracy (right) of each run, keyed by its legend label.

    Per run: the loss from "step" events, the training-batch accuracy (thin) from the same
    events, and the held-out accuracy ("test_accuracy") from "eval" events (markers). With one
    run the label may be "": the traces are then named "loss", "train batch", "test".
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss per step", "Accuracy"))
    for index, (label, events) in enumerate(runs.items()):
        color, prefix = RUN_COLORS[index % len(RUN_COLORS)], f"{label} " if label else ""
        steps = [e for e in events if isinstance(e, MemoryStepped)]
        evals = [e for e in events if isinstance(e, MemoryEvaluated)]
        x = [e.step for e in steps]
        dash = ("solid", "dash", "dot", "dashdot")[index % 4]  # runs differ by more than colour
        line = dict(mode="lines", legendgroup=label, line=dict(color=color, dash=dash))
        fig.add_trace(go.Scatter(x=x, y=[e.loss for e in steps], name=f"{prefix}loss",
                                 **line), row=1, col=1)  # fmt: skip
        fig.add_trace(go.Scatter(x=x, y=[e.accuracy for e in steps], name=f"{prefix}train batch",
                                 opacity=0.45, **line), row=1, col=2)  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=[e.step for e in evals], y=[e.test_accuracy for e in evals],
                name=f"{prefix}test", mode="lines+markers", legendgroup=label,
                line=dict(color=color, width=3, dash=dash), marker=dict(size=8),
            ),
            row=1, col=2,
        )  # fmt: skip
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text="loss", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="accuracy", tickformat=".0%", range=[0, 1.02], row=1, col=2)
    below = dict(orientation="h", yanchor="top", y=-0.25, xanchor="center", x=0.5)
    fig.update_layout(height=height, margin=dict(MARGIN, t=30), legend=below)
    return fig


def sweep_rows(events: Events) -> list[dict[str, Any]]:
    """One row per sweep run from its `MemoryEvaluated` events: its labels and latest scores.

    A finished run's row is its final score, as `sweep_hidden`/`sweep_distance` return it; the
    run in progress shows its accuracy so far.
    """
    latest: dict[int, MemoryEvaluated] = {}
    for event in events:
        if isinstance(event, MemoryEvaluated):
            latest[event.run] = event
    return [{**latest[run].labels, **latest[run].scores} for run in sorted(latest)]


def _sweep_figure(rows: Sequence[Row], x: str, *, title: str, x_title: str) -> go.Figure:
    """Test accuracy against `x`, one line per cell in the order the cells first appear."""
    fig = go.Figure()
    for cell in dict.fromkeys(str(r["cell"]) for r in rows):
        mine = sorted((r for r in rows if r["cell"] == cell), key=lambda r: r[x])
        name = group_of(cell)
        fig.add_trace(
            go.Scatter(
                x=[r[x] for r in mine], y=[r["test_accuracy"] for r in mine], name=name,
                mode="lines+markers", line=dict(color=GROUP_COLORS.get(name), width=3),
                marker=dict(size=10), hovertemplate=f"{name}: %{{y:.1%}}<extra></extra>",
            )
        )  # fmt: skip
    fig.add_hline(y=CHANCE, line=dict(color="grey", dash="dot"), annotation_text="chance")
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title="test accuracy",
                      height=340, margin=MARGIN, legend=_LEGEND)  # fmt: skip
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05])
    return fig


def hidden_sweep_figure(
    rows: Sequence[Row], *, reference: Mapping[int, float] | None = NOTEBOOK_RECALL_FIGURES
) -> go.Figure:
    """Recall accuracy against hidden size, per cell; rows {"cell", "hidden_size", "test_accuracy"}.

    `reference` (hidden size -> accuracy; the notebook's figures unless None) adds crosses.
    """
    fig = _sweep_figure(rows, "hidden_size", title="Recall accuracy against hidden size",
                        x_title="hidden size H")  # fmt: skip
    if reference:
        fig.add_trace(_reference_trace(reference))
    return fig


def _reference_trace(reference: Mapping[int, float]) -> go.Scatter:
    sizes = sorted(reference)
    return go.Scatter(
        x=sizes, y=[reference[h] for h in sizes], name="notebook: vanilla RNN", mode="markers",
        marker=dict(symbol="x-open", size=14, color="#8c8c8c", line=dict(width=2)),  # light or dark
        hovertemplate="the notebook, H=%{x}: %{y:.0%}<extra></extra>",
    )  # fmt: skip


def seed_spread_figure(
    rows: Sequence[Row], *, reference: Mapping[int, float] | None = NOTEBOOK_RECALL_FIGURES
) -> go.Figure:
    """Every seed's recall accuracy per hidden size, and its range; `sweep_seeds`'s rows
    {"hidden_size", "seed", "test_accuracy"}.

    Traces: "range" (one vertical line from the lowest to the highest accuracy per hidden size,
    its segments split by None), "seeds" (one dot per run, nudged sideways by seed so equal
    scores stay visible; the seed in `customdata`) and, unless `reference` is None, the
    notebook's crosses.
    """
    sizes = sorted({int(r["hidden_size"]) for r in rows})
    seeds = sorted({int(r["seed"]) for r in rows})
    range_x: list[float | None] = []
    range_y: list[float | None] = []
    for size in sizes:
        acc = [float(r["test_accuracy"]) for r in rows if int(r["hidden_size"]) == size]
        range_x += [size, size, None]
        range_y += [min(acc), max(acc), None]
    nudge = {seed: 0.08 * (i - (len(seeds) - 1) / 2) for i, seed in enumerate(seeds)}
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=range_x, y=range_y, name="range over seeds", mode="lines",
                             line=dict(color=RANGE, width=12), hoverinfo="skip"))  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=[int(r["hidden_size"]) + nudge[int(r["seed"])] for r in rows],
            y=[float(r["test_accuracy"]) for r in rows], customdata=[int(r["seed"]) for r in rows],
            name="one seed", mode="markers",
            marker=dict(size=10, color=RUN_COLORS[0], line=dict(width=1, color="#ffffff")),
            hovertemplate="seed %{customdata}: %{y:.1%}<extra></extra>",
        )
    )  # fmt: skip
    if reference:
        fig.add_trace(_reference_trace(reference))
    fig.add_hline(y=CHANCE, line=dict(color="grey", dash="dot"), annotation_text="chance")
    fig.update_layout(title="Recall accuracy over seeds, per hidden size",
                      xaxis_title="hidden size H", yaxis_title="test accuracy", height=340,
                      margin=MARGIN, legend=_LEGEND)  # fmt: skip
    fig.update_xaxes(tickvals=sizes or None)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05])
    return fig


def length_accuracy_figure(per_length: Mapping[int, float], *, height: int = 280) -> go.Figure:
    """A recall run's test accuracy at each sequence length (`MemoryRun.per_length`)."""
    lengths = sorted(per_length)
    fig = go.Figure(
        go.Bar(
            x=lengths, y=[per_length[n] for n in lengths], name="test accuracy",
            text=[f"{per_length[n]:.0%}" for n in lengths], textposition="auto",
            marker_color=RUN_COLORS[0], hovertemplate="L=%{x}: %{y:.1%}<extra></extra>",
        )
    )  # fmt: skip
    fig.add_hline(y=CHANCE, line=dict(color="grey", dash="dot"), annotation_text="chance")
    fig.update_layout(title="Test accuracy per sequence length", xaxis_title="length L",
                      yaxis_title="test accuracy", height=height, margin=MARGIN)  # fmt: skip
    fig.update_xaxes(tickvals=lengths or None)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05])
    return fig


def distance_sweep_figure(rows: Sequence[Row]) -> go.Figure:
    """Recall accuracy against L - K, per cell; rows {"cell", "distance", "test_accuracy"}."""
    return _sweep_figure(rows, "distance", title="Recall accuracy against distance",
                         x_title="steps the digit must be held, L − K")  # fmt: skip


def recall_samples_figure(
    samples: Sequence[Mapping[str, Any]], position: int, *, height: int | None = None
) -> go.Figure:
    """Sample sequences and the network's answers, one row each; `recall_examples`'s dicts.

    One heatmap: the digits as text, the digit at 1-based `position` highlighted, and a last
    column "answer" with the network's guess, green where right and red (with the truth) where
    wrong. z codes each cell: 0 a digit, 1 the digit to recall, 2 a right answer, 3 a wrong one.
    """
    if samples and not 1 <= position <= len(samples[0]["digits"]):
        raise ValueError(f"position={position} must be between 1 and {len(samples[0]['digits'])}")
    z, text = [], []
    for s in samples:
        codes = [1 if t == position else 0 for t in range(1, len(s["digits"]) + 1)]
        z.append([*codes, 2 if s["correct"] else 3])
        answer = f"{s['prediction']}" if s["correct"] else f"{s['prediction']} (not {s['target']})"
        text.append([*(str(d) for d in s["digits"]), answer])
    length = len(samples[0]["digits"]) if samples else 0
    x = [*(str(t) for t in range(1, length + 1)), "answer"]
    fig = go.Figure(
        go.Heatmap(
            z=z, x=x, y=list(range(1, len(samples) + 1)), text=text, texttemplate="%{text}",
            colorscale=_CODE_SCALE, zmin=0, zmax=3, showscale=False, xgap=2, ygap=2,
            hovertemplate="sample %{y}, %{x}: %{text}<extra></extra>", name="samples",
        )
    )  # fmt: skip
    fig.update_layout(
        title=f"Samples: the digit at K = {position} (blue) and the network's answer",
        height=height or 90 + 30 * len(samples), margin=MARGIN,
    )  # fmt: skip
    fig.update_xaxes(type="category", title_text="position")
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    return fig


def add_scores_figure(results: Mapping[str, Mapping[str, Any]], *, height: int = 300) -> go.Figure:
    """Bit and whole-sum accuracy at the trained width and at twice it, one bar group per score.

    `results` maps a run's label ("" for a single run) to its `MemoryRun.summary()`.
    """
    fig = go.Figure()
    for index, (label, result) in enumerate(results.items()):
        n = int(result["config"]["bits"])
        keys = {f"bits, {n}-bit sums": "bit_accuracy", f"whole sums, {n}-bit": "sum_accuracy",
                f"bits, {2 * n}-bit sums": "bit_accuracy_2x",
                f"whole sums, {2 * n}-bit": "sum_accuracy_2x"}  # fmt: skip
        y = [float(result[k]) for k in keys.values()]
        fig.add_trace(
            go.Bar(x=list(keys), y=y, name=label or "network", text=[f"{v:.1%}" for v in y],
                   marker_color=RUN_COLORS[index % len(RUN_COLORS)], textposition="auto")
        )  # fmt: skip
    fig.update_layout(title="Held-out sums: share right, at the trained width and at twice it",
                      barmode="group", height=height, margin=MARGIN, legend=_LEGEND,
                      showlegend=len(results) > 1)  # fmt: skip
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05])
    return fig


def add_example_figure(example: Mapping[str, Any], *, label: str = "") -> go.Figure:
    """A sum as the network reads it: one column per step, least significant bit first.

    One heatmap: rows a, b, the carry into the step and the true sum bit (z = the bit, blue where
    1), then the network's bit with P(bit = 1) (z = 2, green, where right; 3, red, where wrong).
    `example` is `add_example`'s dict; `label` names the run in the title when several are shown.
    """
    names = ["a", "b", "carry in", "a + b", "network"]
    bits = [list(example[k]) for k in ("a_bits", "b_bits", "carry_bits", "target_bits")]
    out, probs = list(example["output_bits"]), list(example["output_probs"])
    verdicts = [2 if o == t else 3 for o, t in zip(out, example["target_bits"], strict=True)]
    guesses = [f"<b>{o}</b> ({p:.2f})" for o, p in zip(out, probs, strict=True)]
    fig = go.Figure(
        go.Heatmap(
            z=[*bits, verdicts], x=list(range(len(out))), y=names, text=[*bits, guesses],
            texttemplate="%{text}", colorscale=_CODE_SCALE, zmin=0, zmax=3, showscale=False,
            xgap=3, ygap=3, name="sum", hovertemplate="step %{x}, %{y}: %{text}<extra></extra>",
        )
    )  # fmt: skip
    verdict = "right" if example["correct"] else "wrong"
    prefix = f"{label}: " if label else ""
    fig.update_layout(
        title=f"{prefix}{example['a']} + {example['b']} = {example['sum']}; "
        f"the network says {example['output']} ({verdict})",
        height=110 + 40 * len(names),
        margin=MARGIN,
    )
    fig.update_xaxes(title_text="step t, least significant bit first (bit t is worth 2^t)",
                     dtick=1, side="bottom")  # fmt: skip
    fig.update_yaxes(autorange="reversed")
    return fig
