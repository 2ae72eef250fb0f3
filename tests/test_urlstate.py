"""Tests for rnnviz.classroom.urlstate: a run written as query parameters reads back as the same
run."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest

from rnnviz.classroom.urlstate import (
    FIELDS,
    GROUPS,
    PARAM_KEYS,
    param_changes,
    run_from_params,
    run_from_values,
    run_to_params,
    values_of,
)
from rnnviz.data.datasets import DataConfig
from rnnviz.models.network import ModelConfig
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.presets import PRESETS

MACHINE_ONLY = {("data", "data_dir"), ("data", "download"), ("train", "cuda_graphs")}


def test_every_config_field_has_a_widget_except_machine_settings() -> None:
    named = {(f.section, f.name) for f in FIELDS}
    every = {
        (section, f.name)
        for section, cls in (("model", ModelConfig), ("data", DataConfig), ("train", TrainConfig))
        for f in fields(cls)
    }
    assert every - named == MACHINE_ONLY | {("model", "num_classes")}
    assert len(PARAM_KEYS) == len(FIELDS)


def test_defaults_make_no_params_and_read_back_as_defaults() -> None:
    assert run_to_params(RunConfig()) == {}
    assert run_from_params({}) == (RunConfig(), [])


@pytest.mark.parametrize("key", list(PRESETS))
def test_every_preset_round_trips(key: str) -> None:
    run = PRESETS[key].run
    params = run_to_params(run)
    assert all(isinstance(v, str) for v in params.values())
    assert run_from_params(params) == (run, [])


def test_params_are_short_readable_text() -> None:
    run = RunConfig(
        model=ModelConfig(cell="gru", hidden_size=64, bidirectional=True),
        data=DataConfig(dataset="digits", val_fraction=0.2),
        train=TrainConfig(lr=3e-3, epochs=2, schedule="one_cycle", seed=7, device="cpu"),
    )
    assert run_to_params(run) == {
        "dataset": "digits", "val": "0.2", "cell": "gru", "hidden": "64", "bidir": "1",
        "lr": "0.003", "epochs": "2", "sched": "one_cycle", "seed": "7", "device": "cpu",
    }  # fmt: skip


def test_bad_values_are_explained_and_left_at_default() -> None:
    run, errors = run_from_params(
        {"hidden": "lots", "lr": "-1", "cell": "transformer", "epochs": "3", "bidir": "maybe"}
    )
    assert run.model.hidden_size == ModelConfig().hidden_size
    assert run.model.cell == ModelConfig().cell
    assert run.train.lr == TrainConfig().lr
    assert run.train.epochs == 3  # the good value is kept
    assert len(errors) == 4
    text = " ".join(errors)
    for expected in ("hidden='lots'", "lr=", "transformer", "bidir='maybe'"):
        assert expected in text


def test_unknown_keys_like_owner_and_class_are_ignored() -> None:
    run, errors = run_from_params({"owner": "abc123def456", "class": "1", "epochs": "2"})
    assert errors == []
    assert run.train.epochs == 2


def test_a_bad_combination_is_named() -> None:
    run, errors = run_from_values({"cell": "cnn", "bidir": True})
    assert errors == ["bidirectional=True needs a recurrent cell, not cell='cnn'"]
    assert run.model.cell == "cnn" and not run.model.bidirectional


def test_values_match_the_widget_types() -> None:
    values = values_of(PRESETS["lstm-20-sgd"].run)
    assert values["momentum"] == 0.0 and isinstance(values["momentum"], float)
    assert values["hidden"] == 20 and isinstance(values["hidden"], int)
    assert values["bidir"] is False
    assert run_from_values(values) == (PRESETS["lstm-20-sgd"].run, [])


def test_out_of_bounds_and_wrong_types_are_rejected() -> None:
    _, errors = run_from_values({"layers": 9, "dropout": 0.5, "batch": 12.5, "wd": float("nan")})
    assert len(errors) == 3
    assert any("layers=9" in e for e in errors)
    assert any("batch=12.5" in e for e in errors)


def test_param_changes_touch_only_run_keys() -> None:
    current = {"owner": "abc123def456", "class": "1", "hidden": "64", "lr": "0.01"}
    run = RunConfig(model=ModelConfig(hidden_size=32))
    assert param_changes(current, run) == {"hidden": "32", "lr": None}
    assert param_changes({"hidden": "32"}, run) == {}


NUMBERS = [f for f in FIELDS if f.kind in ("int", "float")]


@pytest.mark.parametrize("field", NUMBERS, ids=[f.key for f in NUMBERS])
def test_every_number_a_widget_allows_is_one_its_config_accepts(field: Any) -> None:
    for value in (field.setting.low, field.setting.high):
        run, errors = run_from_values({field.key: value})
        assert errors == [], errors
        assert values_of(run)[field.key] == value


def test_controls_come_in_groups_that_cover_every_field() -> None:
    assert GROUPS == ("Data", "Model", "Optimiser", "Regularisation & run")
    assert all(f.setting.group in GROUPS for f in FIELDS)


def test_rnn_in_a_link_means_rnn_tanh() -> None:
    run, errors = run_from_params({"cell": "rnn", "layers": "2"})
    assert errors == [] and run.model.cell == "rnn_tanh" and run.model.num_layers == 2
    assert run_to_params(run) == {"cell": "rnn_tanh", "layers": "2"}


def test_fields_are_the_declared_settings_with_a_link_key() -> None:
    keys = [f.key for f in FIELDS]
    assert keys[:6] == ["dataset", "val", "subset", "order", "batch", "epochs"]  # the Data column
    assert len(keys) == len(set(keys)) == 25  # with fbias, aug, Adam's b1/b2, ls and ema
    lr = next(f for f in FIELDS if f.key == "lr")
    assert (lr.section, lr.name, lr.setting.label) == ("train", "lr", "Learning rate")


def test_one_config_class_reads_and_writes_its_own_keys() -> None:
    from rnnviz.classroom.urlstate import config_from_params, config_to_params
    from rnnviz.memory import NOTEBOOK_RECALL, RecallConfig, lab_from_params, lab_params

    assert config_to_params(NOTEBOOK_RECALL) == {"position": "2"}  # only what differs
    params = lab_params(NOTEBOOK_RECALL)
    assert params["lab"] == "recall" and params["length"] == "10" and params["min"] == "3"
    assert lab_from_params(params) == ("recall", NOTEBOOK_RECALL, [])
    config, errors = config_from_params(
        RecallConfig, {"length": "4", "position": "7", "sched": "cosine", "owner": "x"}
    )
    assert (config.length, config.position, config.schedule) == (4, 3, "cosine")
    assert errors == ["position=7 must be between 1 and length=4"]
    assert lab_from_params({"lab": "sort"})[2] == ["lab='sort' is not one of ['recall', 'add']"]


def test_a_link_carries_the_quick_recipe_betas_smoothing_and_averaging() -> None:
    from rnnviz.training.presets import get_preset

    run = get_preset("quick-cpu").run
    params = run_to_params(run)
    assert (params["b1"], params["b2"], params["ls"], params["ema"], params["sched"]) == (
        "0.7", "0.9", "0.1", "0.99", "warmup")  # fmt: skip
    back, errors = run_from_params(params)
    assert errors == [] and back == run
    _, errors = run_from_params({"ema": "1"})
    assert errors == ["ema=1.0 must be between 0 and 0.9999"]
