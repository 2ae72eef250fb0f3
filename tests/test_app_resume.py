"""AppTest tests of training on from the Train page: an interrupted run (its server died after an
epoch) is listed for its owner and resumed in its own folder or discarded; any saved model trains
on for more epochs, its loss chart marked where it went on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rnnviz.data.datasets import DataConfig
from rnnviz.jobs.runs import train_and_save
from rnnviz.models.network import ModelConfig
from rnnviz.storage import states
from rnnviz.storage.checkpoints import list_checkpoints, read_record
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.events import Event, Stepped
from tests.conftest import app_test, shown

OWNER = "0123456789abcdef"
RUN = RunConfig(
    model=ModelConfig(cell="gru", hidden_size=8),
    data=DataConfig(dataset="digits"),
    train=TrainConfig(epochs=3, batch_size=256, device="cpu"),
)


class Died(Exception):
    """The server process is gone mid-run."""


def die_in_epoch_3(event: Event) -> None:
    if isinstance(event, Stepped) and event.epoch == 3:
        raise Died


def interrupted(runs: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A run of OWNER's that died in epoch 3 of 3, as a server started again finds it."""
    with pytest.raises(Died):
        train_and_save(RUN, out=runs / OWNER, name="gru-run", emit=die_in_epoch_3)
    monkeypatch.setattr(states, "PROCESS", "a-server-started-again")
    return runs / OWNER / "gru-run"


def button(at: Any, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def until_done(at: Any) -> Any:
    for _ in range(240):
        if at.success or at.warning or at.error:
            return at
        at.run()
    raise AssertionError("the run did not end")


def test_an_interrupted_run_is_listed_for_its_owner_and_resumed_in_its_folder(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = interrupted(app_env, monkeypatch)
    other = app_test("pages/train.py")  # another browser: not theirs to see
    assert not any("interrupted" in shown(m) for m in other.markdown)
    at = app_test("pages/train.py", owner=OWNER)
    said = [shown(m) for m in at.markdown if "interrupted" in shown(m)]
    assert said == ["**gru-run** was interrupted at epoch 2/3 when the server stopped: its last "
                    "epoch is saved."]  # fmt: skip
    button(at, "Resume").click().run()
    until_done(at)
    assert not at.exception and shown(at.success[0]).startswith("Done")
    record = read_record(folder)
    assert record.status == "done" and record.resumed_from == "gru-run"
    assert len(record.history["epoch"]) == 3 and record.history["resume_step"] == [2 * 5]
    assert [i.name for i in list_checkpoints(app_env / OWNER)] == ["gru-run"]  # in its own place
    assert not any("interrupted" in shown(m) for m in at.markdown)


def test_an_interrupted_run_can_be_discarded(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = interrupted(app_env, monkeypatch)
    at = app_test("pages/train.py", owner=OWNER)
    button(at, "Discard").click().run()
    assert not at.exception and not folder.exists()
    assert not any("interrupted" in shown(m) for m in at.markdown)


def test_the_selected_model_trains_on_and_its_chart_marks_where(app_env: Path) -> None:
    first = train_and_save(RUN, out=app_env / OWNER, name="three")
    assert first.checkpoint is not None
    at = app_test("pages/train.py", owner=OWNER)
    at.session_state["checkpoint_path"] = first.checkpoint  # chosen in the sidebar
    at.run()
    epochs = at.number_input(key=f"w.train_on_epochs.{first.checkpoint}")
    assert epochs.value == 6 and epochs.min == 4  # done: as many epochs again; at least one more
    epochs.set_value(5)
    button(at, "Train on").click().run()
    until_done(at)
    assert not at.exception and shown(at.success[0]).startswith("Done")
    saved = [i for i in list_checkpoints(app_env / OWNER) if i.name != "three"]
    assert len(saved) == 1 and saved[0].record.resumed_from == "three"
    assert len(saved[0].record.history["epoch"]) == 5
    assert saved[0].record.history["step"][:15] == first.history["step"]  # the old steps go on
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    loss = next(s for s in specs if s["layout"]["title"]["text"] == "Loss per step")
    [marker] = [a["text"] for a in loss["layout"]["annotations"]]
    assert marker == "trained on from here"
    assert read_record(first.checkpoint).history == first.history  # the old run is untouched
