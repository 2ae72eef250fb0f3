"""Tests for rnnviz.plots.memory: each Memory lab figure holds the numbers it was given."""

from __future__ import annotations

from typing import Any

import pytest

from rnnviz.memory import NOTEBOOK_RECALL_FIGURES
from rnnviz.plots.memory import (
    add_example_figure,
    add_scores_figure,
    curves_figure,
    distance_sweep_figure,
    hidden_sweep_figure,
    length_accuracy_figure,
    recall_samples_figure,
    seed_spread_figure,
    sweep_rows,
)
from rnnviz.training.events import Event, MemoryEvaluated, MemoryStepped

from .contrast import faint

EVENTS: list[Event] = [
    MemoryStepped(step=1, loss=2.3, accuracy=0.1, progress=0.5),
    MemoryStepped(step=2, loss=1.9, accuracy=0.3, progress=1.0),
    MemoryEvaluated(step=2, scores={"test_accuracy": 0.25}),
]


def test_curves_figure_one_run_has_loss_train_and_test_traces() -> None:
    fig = curves_figure({"": EVENTS})
    assert [t.name for t in fig.data] == ["loss", "train batch", "test"]
    loss, train, test = fig.data
    assert list(loss.x) == [1, 2] and list(loss.y) == [2.3, 1.9]
    assert list(train.y) == [0.1, 0.3] and train.xaxis == "x2"
    assert list(test.x) == [2] and list(test.y) == [0.25] and test.yaxis == "y2"


def test_curves_figure_overlays_runs_with_their_own_colour() -> None:
    runs = {name: EVENTS for name in ("CE", "MSE", "BCE", "L1")}
    colors = [curves_figure(runs).data[k].line.color for k in (0, 3, 6, 9)]
    assert len(set(colors)) == 4 and faint(colors) == []  # seen on white and on black
    fig = curves_figure({"CE": EVENTS, "MSE": EVENTS[:1]})
    names = [t.name for t in fig.data]
    assert names == [
        "CE loss",
        "CE train batch",
        "CE test",
        "MSE loss",
        "MSE train batch",
        "MSE test",
    ]
    assert fig.data[0].line.color != fig.data[3].line.color
    assert list(fig.data[3].y) == [2.3] and len(fig.data[5].x) == 0  # no eval yet
    assert len(curves_figure({"": []}).data) == 3  # a job that has not reported yet


def test_sweep_rows_keep_the_latest_eval_of_each_run() -> None:
    small, large = {"cell": "rnn_tanh", "hidden_size": 2}, {"cell": "rnn_tanh", "hidden_size": 5}
    evals: list[Event] = [
        MemoryEvaluated(step=5, scores={"test_accuracy": 0.2}, run=0, runs=2, labels=small),
        MemoryStepped(step=6, loss=1.0, accuracy=0.3, progress=0.3, run=0, runs=2, labels=small),
        MemoryEvaluated(step=10, scores={"test_accuracy": 0.4}, run=0, runs=2, labels=small),
        MemoryEvaluated(step=5, scores={"test_accuracy": 0.9}, run=1, runs=2, labels=large),
    ]
    assert sweep_rows(evals) == [
        {"test_accuracy": 0.4, "cell": "rnn_tanh", "hidden_size": 2},
        {"test_accuracy": 0.9, "cell": "rnn_tanh", "hidden_size": 5},
    ]
    assert sweep_rows([]) == []


def test_hidden_sweep_figure_one_line_per_cell_and_the_notebooks_markers() -> None:
    rows = [
        {"cell": "rnn_tanh", "hidden_size": 10, "test_accuracy": 0.9},
        {"cell": "rnn_tanh", "hidden_size": 2, "test_accuracy": 0.2},
        {"cell": "lstm", "hidden_size": 2, "test_accuracy": 0.5},
    ]
    fig = hidden_sweep_figure(rows)
    assert [t.name for t in fig.data] == ["RNN", "LSTM", "notebook: vanilla RNN"]
    assert list(fig.data[0].x) == [2, 10] and list(fig.data[0].y) == [0.2, 0.9]  # sorted by H
    assert fig.data[0].line.color != fig.data[1].line.color
    notebook = fig.data[2]
    assert list(notebook.x) == [2, 5, 10] and list(notebook.y) == [0.16, 0.30, 0.96]
    assert dict(zip(notebook.x, notebook.y, strict=True)) == NOTEBOOK_RECALL_FIGURES
    assert [t.name for t in hidden_sweep_figure(rows, reference=None).data] == ["RNN", "LSTM"]


def test_seed_spread_figure_has_a_dot_per_seed_and_the_range() -> None:
    rows = [
        {"hidden_size": h, "seed": s, "test_accuracy": a}
        for h, accs in ((10, [1.0, 0.9, 0.95]), (2, [0.2, 0.1, 0.15]))
        for s, a in enumerate(accs)
    ]
    fig = seed_spread_figure(rows)
    assert [t.name for t in fig.data] == ["range over seeds", "one seed", "notebook: vanilla RNN"]
    span, dots, notebook = fig.data
    assert list(span.x) == [2, 2, None, 10, 10, None]  # the sizes in order, min to max
    assert list(span.y) == [0.1, 0.2, None, 0.9, 1.0, None]
    assert faint([span.line.color, dots.marker.color, notebook.marker.color]) == []
    assert list(dots.y) == [1.0, 0.9, 0.95, 0.2, 0.1, 0.15] and list(dots.customdata) == [
        0, 1, 2, 0, 1, 2,
    ]  # fmt: skip
    assert [round(x, 2) for x in dots.x] == [9.92, 10.0, 10.08, 1.92, 2.0, 2.08]  # nudged by seed
    assert dict(zip(notebook.x, notebook.y, strict=True)) == NOTEBOOK_RECALL_FIGURES
    assert list(fig.layout.xaxis.tickvals) == [2, 10]
    assert len(seed_spread_figure(rows, reference=None).data) == 2
    assert [len(t.x) for t in seed_spread_figure([], reference=None).data] == [0, 0]


def test_length_accuracy_figure_one_bar_per_length() -> None:
    fig = length_accuracy_figure({5: 0.5, 3: 0.9, 4: 0.75})
    [bars] = fig.data
    assert list(bars.x) == [3, 4, 5] and list(bars.y) == [0.9, 0.75, 0.5]
    assert list(bars.text) == ["90%", "75%", "50%"]


def test_distance_sweep_figure_plots_accuracy_against_distance() -> None:
    rows = [
        {"cell": cell, "distance": d, "test_accuracy": acc}
        for cell, d, acc in [("gru", 7, 0.8), ("gru", 0, 1.0), ("rnn_tanh", 0, 1.0)]
    ]
    fig = distance_sweep_figure(rows)
    assert [t.name for t in fig.data] == ["GRU", "RNN"]
    assert list(fig.data[0].x) == [0, 7] and list(fig.data[0].y) == [1.0, 0.8]
    assert "L − K" in fig.layout.xaxis.title.text
    assert len(distance_sweep_figure([]).data) == 0


def test_recall_samples_figure_highlights_k_and_colours_the_answers() -> None:
    samples = [
        {"digits": [3, 1, 4], "target": 1, "prediction": 1, "correct": True},
        {"digits": [5, 9, 2], "target": 9, "prediction": 6, "correct": False},
    ]
    fig = recall_samples_figure(samples, 2)
    [heat] = fig.data
    assert list(heat.x) == ["1", "2", "3", "answer"]
    assert [list(r) for r in heat.z] == [[0, 1, 0, 2], [0, 1, 0, 3]]
    assert [list(r) for r in heat.text] == [["3", "1", "4", "1"], ["5", "9", "2", "6 (not 9)"]]
    with pytest.raises(ValueError, match="position"):
        recall_samples_figure(samples, 4)


def _add_result(bits: int, acc: float) -> dict[str, Any]:
    scores = ("bit_accuracy", "sum_accuracy", "bit_accuracy_2x", "sum_accuracy_2x")
    return {"config": {"bits": bits}} | {k: acc - i / 10 for i, k in enumerate(scores)}


def test_add_scores_figure_one_bar_trace_per_run() -> None:
    fig = add_scores_figure({"CE": _add_result(4, 1.0), "MSE": _add_result(4, 0.9)})
    assert [t.name for t in fig.data] == ["CE", "MSE"]
    ce = fig.data[0]
    assert list(ce.x) == ["bits, 4-bit sums", "whole sums, 4-bit", "bits, 8-bit sums",
                          "whole sums, 8-bit"]  # fmt: skip
    assert list(ce.y) == pytest.approx([1.0, 0.9, 0.8, 0.7])
    assert list(fig.data[1].y) == pytest.approx([0.9, 0.8, 0.7, 0.6])
    assert ce.text[0] == "100.0%"
    assert add_scores_figure({"": _add_result(2, 1.0)}).data[0].name == "network"


def test_add_example_figure_lays_the_sum_out_bit_by_bit() -> None:
    example = {  # 3 + 1 = 4 in 2 bits, LSB first; the network gets the top bit wrong
        "a": 3, "b": 1, "sum": 4, "a_bits": [1, 1, 0], "b_bits": [1, 0, 0],
        "carry_bits": [0, 1, 1], "target_bits": [0, 0, 1], "output_bits": [0, 0, 0],
        "output_probs": [0.1, 0.2, 0.4], "output": 0, "correct": False,
    }  # fmt: skip
    fig = add_example_figure(example)
    [grid] = fig.data
    assert list(grid.y) == ["a", "b", "carry in", "a + b", "network"] and list(grid.x) == [0, 1, 2]
    assert [list(r) for r in grid.z] == [[1, 1, 0], [1, 0, 0], [0, 1, 1], [0, 0, 1], [2, 2, 3]]
    assert list(grid.text[4]) == ["<b>0</b> (0.10)", "<b>0</b> (0.20)", "<b>0</b> (0.40)"]
    assert list(grid.text[2]) == [0, 1, 1]  # the carry the network must hold
    assert "3 + 1 = 4" in fig.layout.title.text and "says 0 (wrong)" in fig.layout.title.text
    assert add_example_figure(example, label="MSE").layout.title.text.startswith("MSE: 3 + 1")
