"""Presets: every key builds a valid run, and each dataset has a quick first run per device."""

from __future__ import annotations

import pytest

from rnnviz.data.datasets import DATASETS
from rnnviz.training.presets import FIRST_RUNS, PRESETS, first_run, get_preset

DEVICE_TYPES = ("cpu", "cuda")


def test_every_dataset_has_a_first_run_for_every_device_type() -> None:
    assert set(FIRST_RUNS) == set(DATASETS)
    for dataset in DATASETS:
        for device_type in DEVICE_TYPES:
            preset = first_run(dataset, device_type)
            assert preset.run.data.dataset == dataset
            assert preset.key in PRESETS and preset.device_hint in (device_type, "any")


@pytest.mark.parametrize(
    ("dataset", "device_type", "key"),
    [
        ("mnist", "cpu", "quick-cpu"),
        ("mnist", "cuda", "quick-gpu"),
        ("fashion-mnist", "cpu", "quick-fashion-cpu"),
        ("fashion-mnist", "cuda", "quick-fashion-gpu"),
        ("digits", "cpu", "digits-offline"),
        ("digits", "cuda", "digits-offline"),
    ],
)
def test_first_run_names_the_quick_preset(dataset: str, device_type: str, key: str) -> None:
    assert first_run(dataset, device_type).key == key


def test_quick_presets_are_quick_and_say_what_they_reach() -> None:
    for key in ("quick-cpu", "quick-fashion-cpu", "digits-offline"):
        preset = get_preset(key)
        assert preset.reported is None  # our own recipe: the figure is in the lesson
        assert "%" in preset.lesson and "2-core CPU" in preset.lesson
        assert preset.run.train.epochs <= 30


def test_first_run_refuses_unknown_names() -> None:
    with pytest.raises(ValueError, match="'svhn' is not one of"):
        first_run("svhn", "cpu")
    with pytest.raises(ValueError, match="'tpu' is not one of"):
        first_run("mnist", "tpu")


def test_existing_preset_keys_stay() -> None:
    kept = {"quick-cpu", "quick-gpu", "digits-offline", "lstm-2x128-mnist", "cells-lstm",
            "fashion-lstm", "cnn-mnist"}  # fmt: skip
    assert kept <= set(PRESETS)
