"""rnnviz.training.resume: a CPU run stopped after epoch k (or mid-epoch) and resumed ends bit for
bit where the uninterrupted run ends, schedule and dropout included; a saved run without a state
goes on with a fresh optimiser and says so; training on past the plan starts a new schedule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pytest
import safetensors.torch
import torch

from rnnviz.data.datasets import DataConfig
from rnnviz.models.network import ModelConfig, build_model
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.control import Control
from rnnviz.training.events import EpochState, Event, Resumed, Stepped
from rnnviz.training.resume import Resume, TrainState
from rnnviz.training.trainer import TrainResult, train


def digits_run(optimizer: str = "adam", schedule: str = "one_cycle", epochs: int = 3) -> RunConfig:
    return RunConfig(
        model=ModelConfig(cell="lstm", hidden_size=16, num_layers=2, dropout=0.2),
        data=DataConfig(dataset="digits"),
        train=TrainConfig(
            epochs=epochs,
            batch_size=64,
            lr=1e-2,
            device="cpu",
            optimizer=optimizer,
            schedule=schedule,
        ),
    )


def same_weights(a: TrainResult, b: TrainResult) -> bool:
    left, right = a.model.state_dict(), b.model.state_dict()
    return left.keys() == right.keys() and all(torch.equal(left[k], right[k]) for k in left)


def without_time(history: Mapping[str, list[float]]) -> dict[str, list[float]]:
    return {k: v for k, v in history.items() if "seconds" not in k and k != "resume_step"}


def go_on_from(state: EpochState, run: RunConfig) -> TrainResult:
    """What a job does with the snapshot a dead process left: the weights and state read back."""
    weights, tensors = state.files()
    model = build_model(run.model)
    model.load_state_dict(safetensors.torch.load(weights))
    saved = TrainState.from_plain(state.state, safetensors.torch.load(tensors))
    resume = Resume("snap", state.step, state.record["history"], state.record["seconds"], saved)
    return train(run, model=model, resume=resume)


KINDS = [("adam", "one_cycle"), ("sgd", "cosine"), ("rmsprop", "constant"), ("adamw", "warmup")]


@pytest.mark.parametrize(("optimizer", "schedule"), KINDS)
def test_a_run_resumed_after_epoch_one_ends_bit_for_bit_where_the_whole_run_ends(
    optimizer: str, schedule: str
) -> None:
    run = digits_run(optimizer, schedule)
    states: list[Event] = []
    whole = train(run, keep_state=True, emit=states.append)
    snapshots = [e for e in states if isinstance(e, EpochState)]
    assert [s.epoch for s in snapshots] == [1, 2]  # none after the last: the checkpoint follows
    assert snapshots[0].record["status"] == "interrupted"
    assert snapshots[0].record["message"] == "interrupted at epoch 1/3"
    resumed = go_on_from(snapshots[0], run)
    assert same_weights(whole, resumed)
    assert without_time(resumed.record.history) == without_time(whole.record.history)
    assert resumed.record.history["resume_step"] == [snapshots[0].step]
    assert resumed.record.resumed_from == "snap" and resumed.record.status == "done"
    assert resumed.record.test_metrics == whole.record.test_metrics


def test_a_run_stopped_mid_epoch_goes_on_bit_for_bit() -> None:
    run = digits_run()
    whole = train(run)
    control = Control()

    def stop_at_30(event: Event) -> None:
        if isinstance(event, Stepped) and event.step == 30:
            control.stop()

    stopped = train(run, control=control, emit=stop_at_30)
    assert stopped.record.status == "stopped" and stopped.state is not None
    assert stopped.state.step == 30  # digits: 20 steps an epoch at 64 a batch: mid-epoch 2
    model = build_model(run.model)
    model.load_state_dict(stopped.model.state_dict())
    events: list[Event] = []
    r = stopped.record
    resumed = train(run, model=model, emit=events.append,
                    resume=Resume("stopped", 30, r.history, r.seconds, stopped.state))  # fmt: skip
    assert same_weights(whole, resumed)
    assert without_time(resumed.record.history) == without_time(whole.record.history)
    first = next(e for e in events if isinstance(e, Stepped))
    assert first.first_step == 31 and first.epoch == 2
    note = next(e for e in events if isinstance(e, Resumed)).note
    assert note == "optimiser state restored; the schedule goes on"


def test_a_checkpoint_without_state_goes_on_with_a_fresh_optimiser_and_says_so() -> None:
    run = digits_run("adam", "constant", epochs=1)
    first = train(run)
    longer = replace(run, train=replace(run.train, epochs=2))
    events: list[Event] = []
    old = Resume("lstm-old", 20, first.record.history, first.record.seconds, state=None)
    model = build_model(run.model)
    model.load_state_dict(first.model.state_dict())
    resumed = train(longer, model=model, resume=old, emit=events.append)
    note = next(e for e in events if isinstance(e, Resumed)).note
    assert note == "a fresh adam optimiser: it was saved without its optimiser state"
    h = resumed.record.history
    assert h["step"] == list(range(1, 41)) and h["epoch"] == [1, 2] and h["resume_step"] == [20]
    assert h["loss"][:20] == first.record.history["loss"]


def test_training_on_past_the_plan_starts_a_new_schedule_over_the_steps_added() -> None:
    run = digits_run("adam", "cosine", epochs=1)
    first = train(run)
    assert first.state is not None and first.state.span == (0, 20)
    assert first.record.history["step"][-1] == 20
    longer = replace(run, train=replace(run.train, epochs=3))
    events: list[Event] = []
    model = build_model(run.model)
    model.load_state_dict(first.model.state_dict())
    r = first.record
    resumed = train(longer, model=model, emit=events.append,
                    resume=Resume("one", 20, r.history, r.seconds, first.state))  # fmt: skip
    note = next(e for e in events if isinstance(e, Resumed)).note
    assert note == "optimiser state restored; a new cosine schedule over the steps added"
    rates = [e.lr for e in events if isinstance(e, Stepped)]
    assert rates[0] == pytest.approx(1e-2, rel=1e-2)  # the new cosine starts at the peak again
    assert rates[-1] == pytest.approx(0.0, abs=1e-9)  # and ends at 0 after the 40 steps added
    assert resumed.state is not None and resumed.state.span == (20, 40)
    assert resumed.record.history["epoch"] == [1, 2, 3]


def test_a_saved_run_with_nothing_left_to_do_is_refused() -> None:
    run = digits_run("sgd", "constant", epochs=1)
    first = train(run)
    r = first.record
    with pytest.raises(ValueError, match="give more epochs to train on"):
        train(run, model=first.model, resume=Resume("one", 20, r.history, r.seconds, first.state))


def test_a_state_with_bad_numbers_is_refused_naming_the_value() -> None:
    plain = {"step": 3, "optimizer": "adam", "schedule": "constant", "span": [0, 9], "peak": 0.1,
             "lrs": [{"lr": 0.1}], "position": {}, "epoch_correct": 0}  # fmt: skip
    assert TrainState.from_plain(plain, {}).span == (0, 9)
    bad_values = [
        {"step": -1}, {"optimizer": "lbfgs"}, {"span": [0]}, {"peak": float("inf")},
        {"lrs": [{"lr": 0.1, "__class__": 1}]}, {"position": {"last_epoch": 1}},
    ]  # fmt: skip
    for bad in bad_values:
        assert isinstance(bad, dict)
        with pytest.raises(ValueError, match=str(next(iter(bad)))):
            TrainState.from_plain({**plain, **bad}, {})
