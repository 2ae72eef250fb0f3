"""Comparison: table rows, curves and CSV from runs' meta.json, with gaps and NaNs handled."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest

from rnnviz.analysis.metrics import Metrics, compute_metrics
from rnnviz.models.cells import group_of
from rnnviz.models.network import ModelConfig
from rnnviz.storage import comparison
from rnnviz.storage.checkpoints import CheckpointInfo
from rnnviz.training.config import RunConfig
from rnnviz.training.history import History
from rnnviz.training.record import RunRecord

CLASSES = [str(i) for i in range(10)]


def make_history(epochs: int, *, steps_per_epoch: int = 4, seconds_per_epoch: float = 10.0) -> dict:
    steps = epochs * steps_per_epoch
    return {
        "step": list(range(1, steps + 1)),
        "loss": [2.0 / (1 + s) for s in range(steps)],
        "step_epoch": [(s + 1) / steps_per_epoch for s in range(steps)],
        "step_seconds": [(s + 1) * seconds_per_epoch / steps_per_epoch for s in range(steps)],
        "epoch": list(range(1, epochs + 1)),
        "train_acc": [0.5 + 0.1 * e for e in range(epochs)],
        "train_loss": [1.0 / (1 + e) for e in range(epochs)],
        "val_acc": [0.6 + 0.1 * e for e in range(epochs)],
        "val_loss": [1.2 / (1 + e) for e in range(epochs)],
        "epoch_seconds": [seconds_per_epoch * (e + 1) for e in range(epochs)],
    }


def metrics(accuracy: float) -> Metrics:
    """Real test metrics of 100 examples, `accuracy` of them right."""
    right = round(accuracy * 100)
    return compute_metrics([0] * 100, [0] * right + [1] * (100 - right), CLASSES)


DEFAULT_METRICS = metrics(0.97)


def run(
    name: str,
    cell: str = "lstm",
    *,
    bidirectional: bool = False,
    title: str | None = None,
    history: dict[str, list[float]] | None = None,
    test_metrics: Metrics | None = DEFAULT_METRICS,
    seconds: float = 30.5,
) -> CheckpointInfo:
    record = RunRecord(
        config=RunConfig(model=ModelConfig(cell=cell, bidirectional=bidirectional)),
        name=name,
        title=title or f"{cell} run",
        history=History(make_history(3) if history is None else history).to_dict(),
        test_metrics=test_metrics,
        seconds=seconds,
        parameters=68_874,
        device="CPU",
    )
    return CheckpointInfo(path=Path("/runs") / name, meta=record.to_dict(), record=record)


def test_groups_follow_the_cell_and_direction() -> None:
    assert comparison.group_of(run("a", "rnn_tanh")) == "RNN"
    assert comparison.group_of(run("b", "lstm", bidirectional=True)) == "BiLSTM"
    assert comparison.group_of(run("c", "gru")) == "GRU"
    assert comparison.group_of(run("d", "rnn")) == "RNN"  # the alias
    assert group_of("new_cell") == "new_cell"  # a cell the registry does not know yet


def test_sort_puts_the_lesson_in_order() -> None:
    runs = [
        run("g", "gru"),
        run("b", "lstm", bidirectional=True),
        run("l", "lstm"),
        run("r", "rnn_tanh"),
    ]
    assert [i.name for i in comparison.sort_runs(runs)] == ["r", "l", "b", "g"]


def test_rows_hold_one_run_each_with_its_numbers() -> None:
    runs = [
        run("r", "rnn_tanh", title="RNN"),
        run("l", "lstm", title="LSTM", history=make_history(2, seconds_per_epoch=6.0)),
    ]
    rows = comparison.comparison_rows(runs)
    assert len(rows) == 2
    assert all(set(row) == set(comparison.COLUMNS) for row in rows)
    lstm = rows[1]
    assert lstm["run"] == "LSTM" and lstm["group"] == "LSTM" and lstm["hidden"] == 128
    assert lstm["epochs"] == 2
    assert lstm["seconds_per_epoch"] == pytest.approx(6.0)
    assert lstm["final_val_accuracy"] == pytest.approx(0.7)
    assert lstm["test_accuracy"] == 0.97
    assert lstm["parameters"] == 68_874 and lstm["bidirectional"] is False


def test_a_shared_dataset_ending_is_dropped_from_labels() -> None:
    same = [run("a", title="RNN 1x128 · MNIST"), run("b", title="LSTM 1x128 · MNIST")]
    assert comparison.run_labels(same) == ["RNN 1x128", "LSTM 1x128"]
    mixed = [run("a", title="RNN 1x128 · MNIST"), run("b", title="RNN 1x128 · Fashion-MNIST")]
    assert comparison.run_labels(mixed) == ["RNN 1x128 · MNIST", "RNN 1x128 · Fashion-MNIST"]


def test_repeated_titles_get_the_folder_name() -> None:
    labels = comparison.run_labels(
        [run("a", title="LSTM"), run("b", title="LSTM"), run("c", title="GRU")]
    )
    assert labels == ["LSTM · a", "LSTM · b", "GRU"]


def test_missing_history_gives_empty_values_not_errors() -> None:
    bare = run("x", history={}, test_metrics=None, seconds=0.0)
    (row,) = comparison.comparison_rows([bare])
    assert row["epochs"] == 0
    assert row["seconds_per_epoch"] is None
    assert row["final_val_accuracy"] is None and row["test_accuracy"] is None
    assert comparison.loss_curves([bare]) == [] and comparison.accuracy_curves([bare]) == []


def test_seconds_per_epoch_falls_back_to_the_seconds_trained() -> None:
    h = make_history(4)
    del h["epoch_seconds"]
    assert comparison.seconds_per_epoch(run("x", history=h).record) == pytest.approx(30.5 / 4)


def test_csv_parses_back_to_the_rows() -> None:
    rows = comparison.comparison_rows(
        [run("a", "rnn_tanh", title="RNN, 1x128"), run("b", "gru", history={})]
    )
    data = comparison.rows_to_csv(rows)
    parsed = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert [p["run"] for p in parsed] == ["RNN, 1x128", "gru run"]  # the comma is quoted
    assert list(parsed[0]) == list(comparison.COLUMNS)
    assert float(parsed[0]["test_accuracy"]) == 0.97
    assert parsed[1]["seconds_per_epoch"] == ""  # None -> empty cell


def test_accuracy_curves_against_epoch_and_seconds() -> None:
    runs = [run("a", "lstm"), run("b", "gru", history=make_history(2, seconds_per_epoch=5.0))]
    by_epoch = comparison.accuracy_curves(runs, x="epoch")
    assert [c.group for c in by_epoch] == ["LSTM", "GRU"]
    assert by_epoch[0].x == (1.0, 2.0, 3.0)
    assert by_epoch[0].y == pytest.approx((0.6, 0.7, 0.8))
    by_time = comparison.accuracy_curves(runs, x="seconds")
    assert by_time[1].x == (5.0, 10.0)


def test_accuracy_uses_training_accuracy_when_there_was_no_validation_set() -> None:
    h = make_history(2)
    h["val_acc"] = [math.nan, math.nan]
    (curve,) = comparison.accuracy_curves([run("a", history=h)])
    assert curve.y == pytest.approx((0.5, 0.6))


def test_loss_curves_are_smoothed_thinned_and_finite() -> None:
    h = make_history(300, steps_per_epoch=10)  # 3,000 steps
    h["loss"][5] = math.nan
    (curve,) = comparison.loss_curves([run("a", history=h)], x="seconds")
    assert len(curve.x) == comparison.MAX_CURVE_POINTS
    assert curve.x[-1] == h["step_seconds"][-1]  # the last point survives thinning
    assert all(math.isfinite(v) for v in curve.y)
    assert curve.y[0] == pytest.approx(h["loss"][0])  # bias-corrected: no dip towards 0
    assert max(curve.y) <= max(v for v in h["loss"] if math.isfinite(v))


def test_loss_curve_without_steps_uses_epoch_means() -> None:
    h = make_history(3)
    for key in ("step", "loss", "step_epoch", "step_seconds"):
        h[key] = []
    (curve,) = comparison.loss_curves([run("a", history=h)])
    assert curve.x == (1.0, 2.0, 3.0)
    assert curve.y == pytest.approx(tuple(h["train_loss"]))


def test_unknown_axis_is_refused() -> None:
    with pytest.raises(ValueError, match="'steps' is not one of"):
        comparison.loss_curves([run("a")], x="steps")  # type: ignore[arg-type]
