"""The trainer: every cell trains, runs repeat, NaN fails cleanly, stop and pause take effect."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from rnnviz.common.devices import resolve_device
from rnnviz.data.datasets import DATASETS, DataConfig, Dataset, Split
from rnnviz.models.cells import CELLS
from rnnviz.models.network import ModelConfig, build_model
from rnnviz.training import loop
from rnnviz.training import trainer as training
from rnnviz.training.averaging import WeightAverage
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.control import Control
from rnnviz.training.events import EpochEnded, Event, Failed, LrChanged, Started, Stepped
from rnnviz.training.events import Tested as Scored  # not a name pytest would collect as tests
from rnnviz.training.history import History
from rnnviz.training.stepper import EagerStep, build_optimizer, current_lr, lr_schedule
from rnnviz.training.trainer import train

from .conftest import real_data_dir


def split(n: int, seed: int) -> Split:
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (n,), generator=g)
    images = torch.randint(0, 40, (n, 28, 28), generator=g, dtype=torch.uint8)
    for i, label in enumerate(labels.tolist()):  # a learnable signal: a bright row per class
        images[i, 2 + 2 * label] = 255
    return Split(images, labels)


@pytest.fixture(scope="module")
def toy() -> Dataset:
    return Dataset(DATASETS["digits"], split(256, 0), split(64, 1), split(64, 2), "synthetic")


def tiny_run(cell: str = "lstm", **train: object) -> RunConfig:
    defaults: dict[str, object] = {"epochs": 1, "batch_size": 128, "lr": 1e-2, "device": "cpu"}
    return RunConfig(
        model=ModelConfig(cell=cell, hidden_size=16, num_layers=1),
        data=DataConfig(dataset="digits"),
        train=TrainConfig(**(defaults | train)),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("cell", list(CELLS))
def test_every_cell_trains_two_batches(toy: Dataset, cell: str) -> None:
    events: list[Event] = []
    record = train(tiny_run(cell), dataset=toy, emit=events.append).record
    assert record.status == "done", record.message
    assert record.history["step"] == [1, 2]
    assert all(torch.isfinite(torch.tensor(record.history["loss"])))
    kinds = [type(e) for e in events]
    assert kinds[0] is Started and kinds.count(Stepped) == 2 and EpochEnded in kinds
    assert kinds[-1] is Scored
    assert record.test_metrics is not None and 0.0 <= record.test_metrics.accuracy <= 1.0
    assert record.config.model.cell == cell and record.parameters > 0


def test_bidirectional_stacked_with_dropout_trains(toy: Dataset) -> None:
    run = tiny_run("gru")
    run = replace(run, model=replace(run.model, num_layers=2, bidirectional=True, dropout=0.2))
    assert train(run, dataset=toy).record.status == "done"


def test_training_learns_the_toy_signal(toy: Dataset) -> None:
    record = train(tiny_run("gru", epochs=12, batch_size=32, lr=2e-2), dataset=toy).record
    assert record.history["loss"][-1] < record.history["loss"][0] * 0.5
    assert record.test_accuracy is not None and record.test_accuracy > 0.8


def test_a_report_window_carries_every_loss_and_the_history_is_its_fold(
    toy: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a GPU does (25 steps a report), on the CPU: the live series is the saved one."""
    monkeypatch.setitem(training.REPORT_EVERY, "cpu", 3)
    events: list[Event] = []
    record = train(tiny_run("gru", epochs=2, batch_size=32), dataset=toy, emit=events.append).record
    windows = [e for e in events if isinstance(e, Stepped)]
    assert [len(w.losses) for w in windows] == [3, 3, 2] * 2  # 8 steps an epoch
    assert [s for w in windows for s in range(w.first_step, w.step + 1)] == list(range(1, 17))
    assert History.of(events).to_dict() == dict(record.history)
    assert record.history["step_epoch"][7] == 1.0 and record.history["step_epoch"][8] == 1.125


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd", "rmsprop"])
@pytest.mark.parametrize("schedule", ["one_cycle", "cosine"])
def test_same_seed_same_run_bit_for_bit(toy: Dataset, optimizer: str, schedule: str) -> None:
    run = tiny_run("lstm", epochs=2, batch_size=64, optimizer=optimizer, schedule=schedule,
                   grad_clip=1.0, weight_decay=1e-4, seed=7)  # fmt: skip
    a, b = train(run, dataset=toy), train(run, dataset=toy)
    assert a.record.history["loss"] == b.record.history["loss"]
    for pa, pb in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert torch.equal(pa, pb)
    c = train(replace(run, train=replace(run.train, seed=8)), dataset=toy)
    assert c.record.history["loss"] != a.record.history["loss"]


def test_nan_loss_fails_with_advice(toy: Dataset) -> None:
    events: list[Event] = []
    run = tiny_run("rnn_relu", epochs=3, batch_size=16, optimizer="adam", lr=10.0)
    record = train(run, dataset=toy, emit=events.append).record
    assert record.status == "failed"
    assert "learning rate" in record.message and "lower it" in record.message
    assert isinstance(events[-1], Failed) and events[-1].message == record.message
    assert record.test_metrics is None and record.test_accuracy is None
    # the partial history stays: the finite losses before the failure
    assert all(torch.isfinite(torch.tensor(record.history["loss"])))


def test_running_out_of_memory_fails_with_the_advice(
    toy: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    class RunsOutOfMemory:
        name = "eager"

        def step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            raise torch.OutOfMemoryError("out of memory (a test's step)")

    monkeypatch.setattr(loop, "make_stepper", lambda *args, **kwargs: RunsOutOfMemory())
    events: list[Event] = []
    record = train(tiny_run(), dataset=toy, emit=events.append).record
    assert record.status == "failed" and record.message == training.OOM_ADVICE
    assert "lower the batch size" in record.message
    assert isinstance(events[-1], Failed) and events[-1].message == training.OOM_ADVICE


def test_stop_takes_effect_within_one_step(toy: Dataset) -> None:
    control = Control()

    def emit(event: Event) -> None:
        if isinstance(event, Stepped) and event.step == 3:
            control.stop()

    record = train(
        tiny_run(epochs=5, batch_size=16), dataset=toy, control=control, emit=emit
    ).record
    assert record.status == "stopped"
    assert record.history["step"] == [1, 2, 3]
    assert record.test_metrics is not None  # a stopped run is still evaluated


def test_pause_holds_then_resume_finishes(toy: Dataset) -> None:
    control = Control()
    paused_at = threading.Event()
    steps: list[int] = []

    def emit(event: Event) -> None:
        if isinstance(event, Stepped):
            steps.append(event.step)
            if event.step == 2:
                control.pause()
                paused_at.set()

    worker = threading.Thread(
        target=train, args=(tiny_run(epochs=2, batch_size=32),),
        kwargs={"dataset": toy, "control": control, "emit": emit},
    )  # fmt: skip
    worker.start()
    assert paused_at.wait(30)
    worker.join(0.5)
    assert worker.is_alive() and steps == [1, 2]  # holding, not advancing
    control.resume()
    worker.join(60)
    assert not worker.is_alive() and steps[-1] == 16


def test_config_errors_name_the_bad_value() -> None:
    with pytest.raises(ValueError, match=r"optimizer='lbfgs'.*adam"):
        TrainConfig(optimizer="lbfgs")
    with pytest.raises(ValueError, match="batch_size=0"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="schedule='step'"):
        TrainConfig(schedule="step")
    with pytest.raises(ValueError, match="lr=-1"):
        TrainConfig(lr=-1)
    with pytest.raises(ValueError, match="unknown TrainConfig fields"):
        TrainConfig.from_dict({"epochs": 1, "learning_rate": 0.1})
    for bad, allowed in (({"beta1": 1.0}, "beta1=1.0 must be"), ({"beta2": -0.1}, "beta2=-0.1"),
                         ({"label_smoothing": 0.6}, "label_smoothing=0.6"),
                         ({"average": 1.0}, "average=1.0 must be")):  # fmt: skip
        with pytest.raises(ValueError, match=allowed):
            TrainConfig(**bad)  # type: ignore[arg-type]
    run = tiny_run()
    assert RunConfig.from_dict(run.to_dict()) == run
    tuned = tiny_run(beta1=0.7, beta2=0.9, label_smoothing=0.1, average=0.99, schedule="warmup")
    saved = tuned.to_dict()["train"]  # what a checkpoint's config.json holds
    assert (saved["beta1"], saved["beta2"], saved["label_smoothing"], saved["average"]) == (
        0.7, 0.9, 0.1, 0.99)  # fmt: skip
    assert RunConfig.from_dict(tuned.to_dict()) == tuned
    older = {k: v for k, v in saved.items() if k not in ("beta1", "beta2", "label_smoothing",
                                                          "average")}  # fmt: skip
    old = TrainConfig.from_dict(older)  # a checkpoint saved before these settings existed
    assert (old.beta1, old.beta2, old.label_smoothing, old.average) == (0.9, 0.999, 0.0, 0.0)


def test_adam_takes_the_betas_and_the_step_smooths_its_labels(toy: Dataset) -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(cell="gru", hidden_size=8))
    cfg = TrainConfig(beta1=0.7, beta2=0.9, label_smoothing=0.2)
    optimizer = build_optimizer(model, cfg, torch.device("cpu"))
    assert optimizer.param_groups[0]["betas"] == (0.7, 0.9)
    assert build_optimizer(model, TrainConfig(), torch.device("cpu")).param_groups[0]["betas"] == (
        0.9, 0.999)  # fmt: skip
    x, y = toy.train.images[:32], toy.train.labels[:32]
    with torch.no_grad():
        logits = model(x)
    smoothed = F.cross_entropy(logits, y, label_smoothing=0.2).item()
    assert smoothed != pytest.approx(F.cross_entropy(logits, y).item())
    step = EagerStep(model, optimizer, None, 0.0, label_smoothing=cfg.label_smoothing)
    loss, _ = step.step(x, y)
    assert loss.item() == pytest.approx(smoothed, rel=1e-6)


def test_warmup_rises_linearly_over_two_percent_of_the_steps_then_holds() -> None:
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.02)
    schedule = lr_schedule(optimizer, "warmup", 0.02, total_steps=500)  # a ramp of 10 steps
    assert schedule is not None
    rates = []
    for _ in range(15):
        rates.append(current_lr(optimizer))
        optimizer.step()
        schedule.step()
    assert rates[:10] == pytest.approx([0.002 * k for k in range(1, 11)])
    assert rates[10:] == pytest.approx([0.02] * 5)


def test_weight_averaging_shows_the_average_and_trains_the_same_path(toy: Dataset) -> None:
    model = torch.nn.Linear(3, 2)
    kept = [p.detach().clone() for p in model.parameters()]
    average = WeightAverage(model, 0.75)
    with torch.no_grad():
        for p in average.live.parameters():
            p.fill_(1.0)
    average.update()
    for p, old in zip(model.parameters(), kept, strict=True):
        assert torch.allclose(p, 0.75 * old + 0.25)
    assert WeightAverage(model, 0.0).live is model  # off: no copy, nothing averaged
    plain = tiny_run("lstm", epochs=2, batch_size=32, seed=3)
    averaged = replace(plain, train=replace(plain.train, average=0.9))
    a, b = train(plain, dataset=toy), train(averaged, dataset=toy)
    assert a.record.history["loss"] == b.record.history["loss"]  # the optimiser's path is the same
    pairs = zip(a.model.parameters(), b.model.parameters(), strict=True)
    assert all(not torch.equal(pa, pb) for pa, pb in pairs)  # what it shows and saves: the average
    assert b.record.test_accuracy is not None


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_gpu_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no CUDA GPU"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


@pytest.mark.slow
def test_quick_cpu_preset_reaches_97_percent_on_real_mnist() -> None:
    from rnnviz.training.presets import preset_run

    run = preset_run("quick-cpu", data_dir=real_data_dir(), device="cpu")
    record = train(run).record
    assert record.status == "done"
    assert record.test_accuracy is not None
    print(f"quick-cpu: {record.test_accuracy:.4f} in {record.seconds:.1f} s")
    assert record.test_accuracy >= 0.97


def test_a_new_learning_rate_takes_effect_at_the_next_step_and_is_recorded(toy: Dataset) -> None:
    control, events = Control(), []

    def emit(event: Event) -> None:
        events.append(event)
        if isinstance(event, Stepped) and event.step == 3:
            control.set_lr(2.5e-3)

    record = train(tiny_run(batch_size=32), dataset=toy, control=control, emit=emit).record
    lrs = {s.step: s.lr for s in events if isinstance(s, Stepped)}
    assert lrs[3] == pytest.approx(1e-2) and lrs[4] == pytest.approx(2.5e-3)
    assert lrs[8] == pytest.approx(2.5e-3)  # constant from there on
    (changed,) = [e for e in events if isinstance(e, LrChanged)]
    assert (changed.step, changed.lr, changed.previous) == (4, 2.5e-3, pytest.approx(1e-2))
    assert record.history["lr_step"] == [4] and record.history["lr_value"] == [2.5e-3]


@pytest.mark.parametrize("schedule", ["one_cycle", "cosine", "warmup"])
def test_a_schedule_goes_on_scaled_from_the_new_rate(toy: Dataset, schedule: str) -> None:
    run = tiny_run(batch_size=16, epochs=2, schedule=schedule)  # 32 steps
    plain: list[Event] = []
    train(run, dataset=toy, emit=plain.append)
    control, changed = Control(), []

    def emit(event: Event) -> None:
        changed.append(event)
        if isinstance(event, Stepped) and event.step == 10:
            control.set_lr(event.lr / 4)

    train(run, dataset=toy, control=control, emit=emit)
    before = {s.step: s.lr for s in plain if isinstance(s, Stepped)}
    after = {s.step: s.lr for s in changed if isinstance(s, Stepped)}
    assert after[10] == before[10]
    for step in (11, 20, 31):  # the same curve, a quarter as high
        assert after[step] == pytest.approx(before[step] / 4, rel=1e-6)


def test_every_lane_of_a_race_takes_the_new_rate_at_the_same_step(toy: Dataset) -> None:
    control, events = Control(), []

    def emit(event: Event) -> None:
        events.append(event)
        if isinstance(event, Stepped) and event.step == 2 and event.lane == 1:
            control.set_lr(1e-3)

    runs = [tiny_run("rnn_tanh", batch_size=32), tiny_run("gru", batch_size=32)]
    results = training.race(runs, dataset=toy, control=control, emit=emit)
    changes = [(e.lane, e.step) for e in events if isinstance(e, LrChanged)]
    assert changes == [(0, 3), (1, 3)]
    assert [r.record.history["lr_step"] for r in results] == [[3], [3]]
