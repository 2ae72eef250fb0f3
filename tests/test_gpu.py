"""GPU-only checks: the captured CUDA-graph step equals the eager step; OOM fails cleanly."""

from __future__ import annotations

import gc
from dataclasses import replace
from typing import Any

import pytest
import torch

from rnnviz.data.datasets import DATASETS, Dataset, Split
from rnnviz.models.network import ModelConfig
from rnnviz.training import loop
from rnnviz.training import trainer as training
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.events import Event, Stepped
from rnnviz.training.history import History
from rnnviz.training.trainer import OOM_ADVICE, train

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


@pytest.mark.parametrize("order", ["pixels", "permuted"])
def test_a_pixel_order_lstm_captures_a_graph_that_matches_eager(order: str) -> None:
    data = toy_on_gpu()
    run = RunConfig(
        model=ModelConfig(cell="lstm", hidden_size=32, order=order),
        train=TrainConfig(epochs=1, batch_size=128, lr=3e-3, grad_clip=1.0, device="cuda"),
    )
    graphed = train(run, dataset=data).record
    eager = train(replace(run, train=replace(run.train, cuda_graphs=False)), dataset=data).record
    assert graphed.fast_path == "cuda-graph" and eager.fast_path == "eager"
    assert graphed.history["step"] == [1, 2, 3, 4]
    torch.testing.assert_close(
        torch.tensor(graphed.history["loss"]), torch.tensor(eager.history["loss"]),
        rtol=1e-3, atol=1e-4,
    )  # fmt: skip
    assert graphed.lock_in_row is not None and 1 <= graphed.lock_in_row <= 784


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
    monkeypatch.setattr(loop, "make_stepper", lambda *args, **kwargs: stepper)
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


def test_a_quarter_gpu_ray_job_trains_on_the_gpu(tmp_path: Any) -> None:
    ray = pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-ray.txt")
    from rnnviz.jobs.manager import JobManager
    from rnnviz.jobs.ray_backend import RayBackend
    from rnnviz.jobs.runs import training_job
    from rnnviz.training.record import RunRecord

    run = RunConfig(
        model=ModelConfig(cell="lstm", hidden_size=32),
        train=TrainConfig(epochs=1, batch_size=64, device="auto"),
    )
    run = replace(run, data=replace(run.data, dataset="digits"))
    ray.init(address="local", num_cpus=2, num_gpus=1, include_dashboard=False,
             object_store_memory=100 * 2**20, log_to_driver=False)  # fmt: skip
    backend = RayBackend("auto", gpus_per_job=0.25)
    try:
        jobs = JobManager(backend=backend)
        backend.check()
        assert jobs.max_running == 4
        snap = jobs.wait(jobs.submit(training_job(run, out=tmp_path), owner="0a0a0a0a",
                                     title="gpu"), timeout=300)  # fmt: skip
        record = snap.result
        assert isinstance(record, RunRecord) and snap.state == "done", snap.message
        assert record.backend == "ray" and record.device != "CPU", record.device
        assert record.checkpoint and (tmp_path / record.name / "model.safetensors").is_file()
    finally:
        backend.close()
        ray.shutdown()


@pytest.mark.parametrize("schedule", ["constant", "one_cycle"])
def test_a_new_rate_reaches_the_captured_graph_as_it_does_the_eager_step(schedule: str) -> None:
    from rnnviz.training.control import Control
    from rnnviz.training.stepper import current_lr, lr_schedule

    data = toy_on_gpu()
    run = RunConfig(
        model=ModelConfig(cell="lstm", hidden_size=64),
        train=TrainConfig(epochs=2, batch_size=64, lr=3e-3, schedule=schedule, device="cuda"),
    )  # 8 steps an epoch
    # The rate before the first step (a one-cycle starts at its peak / 25); the new rate is 30x
    # lower, and a schedule goes on scaled by the same factor.
    probe = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=run.train.lr)
    lr_schedule(probe, schedule, run.train.lr, 16)
    new_lr = current_lr(probe) / 30

    def trained(config: RunConfig, lr: float | None) -> tuple[Any, list[float]]:
        control, rates = Control(), []
        if lr is not None:
            control.set_lr(lr)  # taken before the first step

        def emit(event: Event) -> None:
            if isinstance(event, Stepped):
                rates.append(event.lr)

        return train(config, dataset=data, control=control, emit=emit).record, rates

    graphed, graphed_rates = trained(run, new_lr)
    eager, _ = trained(replace(run, train=replace(run.train, cuda_graphs=False)), new_lr)
    assert graphed.fast_path == "cuda-graph" and graphed.history["lr_step"] == [1]
    torch.testing.assert_close(
        torch.tensor(graphed.history["loss"]), torch.tensor(eager.history["loss"]),
        rtol=1e-3, atol=1e-4,
    )  # fmt: skip
    untouched, untouched_rates = trained(run, None)
    assert len(graphed_rates) == len(untouched_rates) > 0
    for got, was in zip(graphed_rates, untouched_rates, strict=True):
        assert got == pytest.approx(was / 30, rel=1e-4, abs=1e-12)
    assert graphed.history["loss"][-1] != pytest.approx(untouched.history["loss"][-1], rel=1e-3)


def test_a_race_on_the_gpu_captures_a_graph_per_lane_and_reads_its_probes() -> None:
    data = toy_on_gpu()
    runs = [
        RunConfig(model=ModelConfig(cell=cell, hidden_size=32),
                  train=TrainConfig(epochs=1, batch_size=64, device="cuda"))
        for cell in ("rnn_tanh", "lstm", "gru")
    ]  # fmt: skip
    results = training.race(runs, dataset=data)
    for result, run in zip(results, runs, strict=True):
        record = result.record
        assert record.status == "done" and record.fast_path == "cuda-graph"
        alone = train(run, dataset=data).record
        raced, single = (torch.tensor(r.history["loss"]) for r in (record, alone))
        torch.testing.assert_close(raced, single, rtol=1e-3, atol=1e-4)
        assert record.probes is not None and len(record.probes["readings"]) == 9  # 8 steps + 0
        assert record.lock_in_row is not None and 1 <= record.lock_in_row <= 28
