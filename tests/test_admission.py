"""rnnviz.training.admission: a run's memory estimated from its config, and refused before
allocation."""

from __future__ import annotations

import pytest
import torch

from rnnviz.data.datasets import DataConfig
from rnnviz.models.network import ModelConfig, build_model, count_parameters
from rnnviz.training.admission import (
    BUDGET_ENV,
    admit,
    budget_bytes,
    estimate_bytes,
    parameter_count,
)
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.trainer import train

CPU = torch.device("cpu")
GIANT = RunConfig(
    model=ModelConfig(cell="lstm", hidden_size=4096, num_layers=8, bidirectional=True),
    data=DataConfig(dataset="digits"),
    train=TrainConfig(batch_size=65536, device="cpu"),
)


def run_of(**model: object) -> RunConfig:
    return RunConfig(model=ModelConfig(**model), train=TrainConfig(batch_size=1))  # type: ignore[arg-type]


def test_the_parameters_are_counted_without_building_the_model() -> None:
    for cell in ("lstm", "gru", "rnn_tanh", "cnn", "cnn_lstm"):
        run = run_of(cell=cell, hidden_size=32)
        assert parameter_count(run) == count_parameters(build_model(run.model))
    assert parameter_count(GIANT) == 2_954_313_738  # counted on the meta device, instantly


def test_the_estimate_holds_weights_gradients_adam_and_grows_with_the_batch() -> None:
    small = run_of(cell="gru", hidden_size=64)
    params = parameter_count(small)
    one = estimate_bytes(small)
    assert one > params * 4 * 4  # weights, gradients and Adam's two moments, in float32
    bigger = RunConfig(model=small.model, train=TrainConfig(batch_size=101))
    assert estimate_bytes(bigger) - params * 16 == pytest.approx((one - params * 16) * 101)
    sgd = RunConfig(model=small.model, train=TrainConfig(batch_size=1, optimizer="sgd"))
    assert one - estimate_bytes(sgd) == params * 4  # one optimiser buffer fewer
    assert estimate_bytes(GIANT) > 2**40  # terabytes: no machine here trains it


def test_a_run_over_the_budget_is_refused_naming_both_figures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValueError, match=r"needs about [\d,]+ MiB .* than the [\d,]+ MiB one job"):
        admit(GIANT, CPU)
    monkeypatch.setenv(BUDGET_ENV, "1")
    assert budget_bytes(CPU) == 2**20
    with pytest.raises(ValueError, match=f"more than the 1 MiB one job may take.*{BUDGET_ENV}"):
        admit(RunConfig(), CPU)
    monkeypatch.setenv(BUDGET_ENV, "100000")
    assert admit(RunConfig(), CPU) == estimate_bytes(RunConfig())
    monkeypatch.setenv(BUDGET_ENV, "lots")
    with pytest.raises(ValueError, match=f"{BUDGET_ENV}='lots' must be a number"):
        budget_bytes(CPU)


def test_the_trainer_refuses_before_it_loads_or_builds_anything() -> None:
    with pytest.raises(ValueError, match="needs about"):
        train(GIANT)  # building this model would take 11 GiB before the first step
