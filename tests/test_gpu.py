"""GPU-only checks: the captured CUDA-graph step equals the eager step; OOM fails cleanly."""

from __future__ import annotations

import gc
from dataclasses import replace
from typing import Any

import pytest
import torch

from rnnviz import training
from rnnviz.config import RunConfig, TrainConfig
from rnnviz.data import DATASETS, Dataset, Split
from rnnviz.events import Event, History, Stepped
from rnnviz.models import ModelConfig
from rnnviz.training import OOM_ADVICE, train

from .test_training import split

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def toy_on_gpu() -> Dataset:
    train, val, test = (
        Split(s.images.cuda(), s.labels.cuda())
        for s in (split(512, 0), split(128, 1), split(128, 2))
    )
    return Dataset(DATASETS["digits"], train, val, test, "synthetic")


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
    graphed = train(run, dataset=data).record
    eager = train(replace(run, train=replace(run.train, cuda_graphs=False)), dataset=data).record
    assert graphed.fast_path == "cuda-graph" and eager.fast_path == "eager"
    torch.testing.assert_close(
        torch.tensor(graphed.history["loss"]), torch.tensor(eager.history["loss"]),
        rtol=1e-3, atol=1e-4,
    )  # fmt: skip


def test_gpu_windows_carry_every_loss_and_the_history_is_their_fold() -> None:
    events: list[Event] = []
    run = RunConfig(train=TrainConfig(epochs=1, batch_size=8, device="cuda"))  # 64 steps
    record = train(run, dataset=toy_on_gpu(), emit=events.append).record
    windows = [e for e in events if isinstance(e, Stepped)]
    assert [len(w.losses) for w in windows] == [25, 25, 14]
    assert History.of(events).to_dict() == dict(record.history)
    assert record.history["step"] == list(range(1, 65))


class _RunsOutOfMemory:
    """A step that takes 1 GiB of GPU memory and then runs out: an OOM that is certain."""

    name = "eager"

    def __init__(self) -> None:
        self.held: list[torch.Tensor] = []

    def step(self, x: torch.Tensor, y: torch.Tensor) -> Any:
        self.held.append(torch.empty(2**28, device=x.device))  # 1 GiB of float32
        raise torch.OutOfMemoryError("CUDA out of memory (a test's step)")


def test_out_of_memory_fails_with_advice_and_gives_the_memory_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = toy_on_gpu()
    stepper = _RunsOutOfMemory()
    monkeypatch.setattr(training, "make_stepper", lambda *args, **kwargs: stepper)
    gc.collect()
    torch.cuda.empty_cache()
    before = torch.cuda.memory_allocated()
    result = train(RunConfig(train=TrainConfig(epochs=1, device="cuda")), dataset=data)
    assert result.record.status == "failed" and result.record.message == OOM_ADVICE
    assert len(stepper.held) == 1  # the step really took the memory before it ran out
    stepper.held.clear()
    del result
    gc.collect()
    torch.cuda.empty_cache()
    assert torch.cuda.memory_allocated() <= before + 2**20  # within 1 MiB: all but nothing
