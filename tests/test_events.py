"""rnnviz.training.events: every event survives plain JSON, and History is the fold of the
events."""

from __future__ import annotations

import base64
import json
import math
from array import array

import numpy as np
import pytest

from rnnviz.training.events import (
    EVENTS,
    EpochEnded,
    EpochState,
    Event,
    Failed,
    LrChanged,
    MemoryEvaluated,
    MemoryStepped,
    Probed,
    ProbeSet,
    Resumed,
    Started,
    Stepped,
    event_from_dict,
)
from rnnviz.training.events import Tested as Scored  # not a name pytest would collect as tests
from rnnviz.training.history import History

WINDOW = Stepped(
    first_step=9, losses=(0.5, 0.25, 0.125), epoch=2, steps_per_epoch=8, total_steps=16, lr=1e-3,
    samples_per_s=640.0, eta_s=2.5, elapsed_s=1.5,
)  # fmt: skip
ONE_OF_EACH: list[Event] = [
    Started(device="CPU", steps_per_epoch=8, total_steps=16, parameters=3114, fast_path="eager"),
    WINDOW,
    EpochEnded(
        epoch=2,
        epochs=2,
        train_acc=0.5,
        train_loss=0.4,
        val_acc=math.nan,
        val_loss=math.nan,
        elapsed_s=2.0,
    ),
    Scored(accuracy=0.9, loss=None),
    Failed(message="the loss became nan at step 3", lane=2),
    LrChanged(step=12, lr=3e-4, previous=1e-3, lane=1),
    ProbeSet(
        dataset="mnist",
        indices=(4, 7),
        labels=(3, 9),
        kinds=("easy", "hard"),
        images=(((0, 255),) * 2, ((17, 0),) * 2),
    ),
    Probed(
        step=8,
        total_steps=16,
        true_belief=((0.1, 0.9), (0.5, 0.25)),
        guesses=((1, 3), (9, 4)),
        final=((0.0, 1.0), (0.75, 0.25)),
        row_grads=(0.5, 1e-7),
        lane=1,
    ),
    MemoryStepped(
        step=4,
        loss=1.5,
        accuracy=0.25,
        progress=0.5,
        run=1,
        runs=3,
        labels={"cell": "gru", "hidden_size": 5},
    ),
    MemoryEvaluated(step=4, scores={"test_accuracy": 0.75}, labels={"distance": 3}),
    Resumed(
        step=16,
        epoch=2,
        source="lstm-1x16-digits",
        note="a fresh adam optimiser",
        history={"step": [15, 16], "loss": [0.5, 0.25]},
        lane=0,
    ),
    EpochState(
        epoch=1,
        epochs=2,
        step=8,
        record={"status": "interrupted"},
        weights=base64.b64encode(b"w").decode(),
        tensors=base64.b64encode(b"t").decode(),
        state={"step": 8, "span": [0, 16]},
    ),
]


@pytest.mark.parametrize("event", ONE_OF_EACH, ids=lambda e: e.kind)
def test_every_event_round_trips_through_json(event: Event) -> None:
    data = json.loads(json.dumps(event.to_dict()))
    assert data["kind"] == event.kind and EVENTS[event.kind] is type(event)
    back = event_from_dict(data)
    assert type(back) is type(event)
    # NaN never equals itself: compare the JSON texts, which spell it the same way
    assert json.dumps(back.to_dict()) == json.dumps(event.to_dict())


def test_all_event_kinds_are_registered() -> None:
    assert sorted(EVENTS) == sorted(type(e).kind for e in ONE_OF_EACH)


def test_a_window_knows_its_steps_and_epoch_fractions() -> None:
    assert (WINDOW.step, WINDOW.loss, WINDOW.progress) == (11, 0.125, 11 / 16)
    assert WINDOW.step_epochs() == [1.125, 1.25, 1.375]
    assert WINDOW.to_dict()["losses"] == [0.5, 0.25, 0.125]


def test_bad_event_data_is_refused_naming_the_problem() -> None:
    with pytest.raises(ValueError, match="kind='step' is not one of"):
        event_from_dict({"kind": "step", "step": 1})
    with pytest.raises(ValueError, match=r"unknown fields \['extra'\]"):
        event_from_dict({**ONE_OF_EACH[4].to_dict(), "extra": 1})
    with pytest.raises(ValueError, match="tested event"):
        event_from_dict({"kind": "tested", "accuracy": 0.5})


def test_history_is_the_fold_of_the_events_in_order() -> None:
    history = History.of(e for e in ONE_OF_EACH if not isinstance(e, Resumed))
    h = history.to_dict()
    assert h["step"] == [9, 10, 11] and h["loss"] == [0.5, 0.25, 0.125]
    assert h["step_epoch"] == [1.125, 1.25, 1.375] and h["step_seconds"] == [1.5] * 3
    assert h["epoch"] == [2] and h["train_acc"] == [0.5] and h["epoch_seconds"] == [2.0]
    assert history.last_finite("val_acc") is None and history.last_finite("train_acc") == 0.5
    assert History(h).to_dict() == h and History().to_dict()["loss"] == []


def test_nested_tuples_come_back_as_tuples_and_typed_reading_checks_the_kind() -> None:
    probed = next(e for e in ONE_OF_EACH if isinstance(e, Probed))
    back = Probed.from_plain(json.loads(json.dumps(probed.to_dict())))
    assert back == probed and back.true_belief[1] == (0.5, 0.25) and back.lane == 1
    assert back.progress == 0.5
    with pytest.raises(ValueError, match="expected a probed event"):
        Probed.from_plain(WINDOW.to_dict())


def test_history_keeps_each_learning_rate_change() -> None:
    history = History.of([WINDOW, LrChanged(step=12, lr=3e-4, previous=1e-3)])
    assert history.data["lr_step"] == [12] and history.data["lr_value"] == [3e-4]
    assert History(history.to_dict()).data["lr_step"] == [12]
    assert History({"step": [1]}).data["lr_step"] == []  # an older record has none


def test_a_resumed_run_continues_the_saved_history_and_marks_where() -> None:
    resumed = next(e for e in ONE_OF_EACH if isinstance(e, Resumed))
    later = Stepped(first_step=17, losses=(0.125,), epoch=3, steps_per_epoch=8, total_steps=24,
                    lr=1e-3, samples_per_s=1.0, eta_s=1.0, elapsed_s=3.0)  # fmt: skip
    h = History.of([resumed, later]).to_dict()
    assert h["step"] == [15, 16, 17] and h["loss"] == [0.5, 0.25, 0.125]
    assert h["resume_step"] == [16] and h["epoch"] == []
    assert History({"step": [1]}).data["resume_step"] == []  # an older record has none


def test_a_typed_history_folds_the_same_numbers_and_its_copy_stands_apart() -> None:
    resumed = next(e for e in ONE_OF_EACH if isinstance(e, Resumed))
    events = [resumed, *(e for e in ONE_OF_EACH if not isinstance(e, Resumed))]
    lists, typed = History.of(events), History(typed=True)
    for event in events:
        typed.record(event)
    for key, values in lists.to_dict().items():
        assert np.array_equal(typed.to_dict()[key], values, equal_nan=True), key
    assert typed.typed and all(isinstance(v, array) for v in typed.data.values())
    copy = typed.copy()
    typed.record(WINDOW)  # the job goes on; what a page was given stays as it was
    assert list(copy["loss"]) == lists.to_dict()["loss"] != typed.to_dict()["loss"]
    saved = History({"step": [1, 2], "val_acc": [None, 0.5]}, typed=True)  # type: ignore[list-item]
    assert list(saved.data["step"]) == [1.0, 2.0] and math.isnan(saved.data["val_acc"][0])


def test_an_epoch_state_gives_its_files_back_as_bytes() -> None:
    state = next(e for e in ONE_OF_EACH if isinstance(e, EpochState))
    assert state.files() == (b"w", b"t")
