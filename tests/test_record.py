"""rnnviz.training.record: one record per run, its plain data, and the first meta.json format
upgraded."""

from __future__ import annotations

import json

import pytest

from rnnviz.analysis.metrics import compute_metrics
from rnnviz.data.datasets import DataConfig
from rnnviz.models.network import ModelConfig
from rnnviz.storage.meta import upgrade_meta
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.history import History
from rnnviz.training.record import RunRecord, run_title

from .conftest import ROOT

RUN = RunConfig(
    model=ModelConfig(cell="gru", hidden_size=24, bidirectional=True),
    data=DataConfig(dataset="fashion-mnist"),
    train=TrainConfig(epochs=3),
)


def test_a_record_round_trips_through_json_and_fills_in_what_it_can() -> None:
    metrics = compute_metrics([0, 1, 2, 3], [0, 1, 2, 2], [f"c{i}" for i in range(10)])
    record = RunRecord(
        config=RUN, status="stopped", message="stopped by request in epoch 2",
        history=History({"step": [1], "loss": [2.0]}).to_dict(), test_metrics=metrics,
        seconds=4.5, parameters=5_000, checkpoint="/x/y",
    )  # fmt: skip
    assert record.title == "BiGRU 1x24 · Fashion-MNIST" and record.dataset == "fashion-mnist"
    assert record.class_names[0] == "T-shirt/top" and record.test_accuracy == 0.75
    back = RunRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert back == record
    summary = record.summary()
    assert "history" not in summary and "test_metrics" not in summary
    assert summary["status"] == "stopped" and summary["test_accuracy"] == 0.75
    assert summary["seconds"] == 4.5 and summary["checkpoint"] == "/x/y"


def test_a_status_that_is_no_outcome_is_refused() -> None:
    with pytest.raises(ValueError, match=r"status='running' is not one of \['done'"):
        RunRecord(status="running")


def test_titles_name_the_cell_its_shape_and_the_dataset() -> None:
    assert run_title(RunConfig()) == "LSTM 1x128 · MNIST"
    cnn = RunConfig(model=ModelConfig(cell="cnn", hidden_size=64), data=DataConfig("digits"))
    assert run_title(cnn) == "Small CNN w64 · Digits (offline, 8x8 upscaled)"
    assert run_title(RunConfig(model=ModelConfig(cell="rnn", num_layers=3))) == (
        "RNN-tanh 3x128 · MNIST"
    )
    drawn = RunConfig(model=ModelConfig(cell="gru"), train=TrainConfig(augment="canvas"))
    assert run_title(drawn) == "GRU 1x128 · MNIST · canvas augmented"


def test_the_first_format_is_upgraded_without_losing_a_value() -> None:
    meta = json.loads((ROOT / "tests" / "fixtures" / "v1-lstm-digits" / "meta.json").read_text())
    new = upgrade_meta(meta)
    assert new["format_version"] == 2 and meta["format_version"] == 1  # a copy
    assert new["config"] == {"model": meta["model"], "data": meta["data"], "train": meta["train"]}
    assert new["seconds"] == meta["seconds_trained"]
    assert not {"model", "data", "train", "dataset", "seconds_trained"} & set(new)
    for key in ("name", "title", "history", "test_metrics", "parameters", "created", "versions"):
        assert new[key] == meta[key]
    assert upgrade_meta(new) is new  # today's format passes through
    record = RunRecord.from_dict(new)
    assert record.config.data.dataset == "digits" and record.seconds == meta["seconds_trained"]
