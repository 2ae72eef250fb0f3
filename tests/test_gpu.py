"""GPU-only checks: the captured CUDA-graph step equals the eager step; OOM fails cleanly."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from rnnviz.data import DATASETS, Dataset
from rnnviz.models import ModelConfig
from rnnviz.training import RunConfig, TrainConfig, train

from .test_training import split

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def toy_on_gpu() -> Dataset:
    parts = [split(512, 0), split(128, 1), split(128, 2)]
    moved = [type(s)(s.images.cuda(), s.labels.cuda()) for s in parts]
    return Dataset(DATASETS["digits"], *moved, "synthetic")


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
@pytest.mark.parametrize("schedule", ["constant", "one_cycle"])
def test_graph_step_matches_eager(cell: str, schedule: str) -> None:
    data = toy_on_gpu()
    run = RunConfig(
        model=ModelConfig(cell=cell, hidden_size=64, num_layers=2),
        train=TrainConfig(
            epochs=2, batch_size=64, lr=3e-3, schedule=schedule, grad_clip=1.0, device="cuda"
        ),
    )
    graphed = train(run, dataset=data)
    eager = train(replace(run, train=replace(run.train, cuda_graphs=False)), dataset=data)
    assert graphed.fast_path == "cuda-graph" and eager.fast_path == "eager"
    torch.testing.assert_close(
        torch.tensor(graphed.history["loss"]), torch.tensor(eager.history["loss"]),
        rtol=1e-3, atol=1e-4,
    )  # fmt: skip


def test_out_of_memory_fails_with_advice() -> None:
    data = toy_on_gpu()
    run = RunConfig(
        model=ModelConfig(cell="lstm", hidden_size=4096, num_layers=8),
        train=TrainConfig(epochs=1, batch_size=65536, device="cuda"),
    )
    free_before = torch.cuda.mem_get_info()[0]
    result = train(run, dataset=data)
    assert result.status in ("failed", "done")
    if result.status == "failed":
        assert "out of GPU memory" in result.message
    del result
    torch.cuda.empty_cache()
    assert torch.cuda.mem_get_info()[0] >= free_before * 0.9
