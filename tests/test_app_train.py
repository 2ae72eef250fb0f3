"""AppTest tests of the Train page: controls from configs, a real run, errors, links, class mode.

AppTest fires no `run_every` timers, so the tests call `at.run()` again to see the live view move.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rnnviz.classroom import urlstate
from rnnviz.common.devices import resolve_device
from rnnviz.data.datasets import DATASETS, default_dataset
from rnnviz.models.network import ModelConfig
from rnnviz.training.config import TrainConfig
from rnnviz.training.presets import PRESETS, first_run
from tests.conftest import app_test, shown, tables
from tests.test_app_alt import alternatives

TINY = {
    "dataset": "digits",
    "hidden": "16",
    "epochs": "2",
    "batch": "32",
    "lr": "0.01",
    "device": "cpu",
}
STEPS = 2 * (1293 // 32)  # 2 epochs over the 1,293 digits left for training after validation


@dataclass(frozen=True)
class Ended:
    """A job's outcome (`rnnviz.jobs.manager.Outcome`) for a job that trains nothing."""

    status: str
    message: str


def button(at: Any, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def labels(widgets: Any) -> list[str]:
    return [w.label for w in widgets]


def charts(at: Any) -> dict[str, dict[str, Any]]:
    """The plotly charts on screen, by their key ("loss", "accuracy", "per_class")."""
    specs = {}
    for node in at.get("plotly_chart"):
        spec = json.loads(node.proto.spec)
        specs[spec["layout"]["title"]["text"].split()[0].lower()] = spec
    return specs


def run_until(at: Any, done: Any, seconds: float = 120) -> Any:
    deadline = time.monotonic() + seconds
    while not done(at):
        assert time.monotonic() < deadline, "the run did not finish in time"
        time.sleep(0.5)
        at.run()
    return at


def test_renders_controls_from_the_configs(app_env: Path) -> None:
    at = app_test("pages/train.py")
    assert not at.exception
    assert labels(at.button) == ["Start training", "Pause", "Stop", "Set learning rate", "Train on"]
    assert button(at, "Set learning rate").disabled
    assert button(at, "Stop").disabled and not button(at, "Start training").disabled
    assert {"Preset", "Dataset", "Cell", "Optimizer", "Schedule", "Device"} <= set(
        labels(at.selectbox)
    )
    first = first_run(default_dataset(), resolve_device("auto").type)  # no settings in the URL
    assert at.selectbox(key="w.dataset").value == default_dataset()
    assert at.selectbox(key="w.cell").value == first.run.model.cell
    assert at.number_input(key="w.hidden").value == first.run.model.hidden_size
    assert at.number_input(key="w.lr").value == first.run.train.lr
    assert at.selectbox(key="w.preset").value == first.key
    assert any("Nothing trained yet" in caption.value for caption in at.caption)
    empty = charts(at)  # drawn before any run: the browser loads its chart code before Start
    assert set(empty) == {"loss", "accuracy"}
    assert [len(trace["x"]) for trace in empty["loss"]["data"]] == [0, 0]


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_a_first_visit_starts_from_the_datasets_quick_preset(app_env: Path, dataset: str) -> None:
    at = app_test("pages/train.py", query={"dataset": dataset})
    assert not at.exception
    first = first_run(dataset, resolve_device("auto").type)
    assert first.run.data.dataset == dataset
    assert at.selectbox(key="w.preset").value == first.key
    shown_values = {f.key: at.session_state[f"w.{f.key}"] for f in urlstate.FIELDS}
    assert shown_values == urlstate.values_of(first.run)
    assert first.lesson in [c.value for c in at.caption]  # what a first Start reaches
    written = at.query_params.get("dataset", "mnist")
    assert written == dataset  # the link now says the whole run; MNIST is the default


def test_with_no_downloads_a_first_visit_starts_from_the_offline_digits(
    app_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(tmp_path / "nothing-here"))
    at = app_test("pages/train.py")
    assert at.selectbox(key="w.dataset").value == "digits"
    assert at.selectbox(key="w.preset").value == "digits-offline"
    assert at.number_input(key="w.epochs").value == PRESETS["digits-offline"].run.train.epochs


def test_settings_in_the_url_start_from_the_defaults_not_a_preset(app_env: Path) -> None:
    at = app_test("pages/train.py", query={"dataset": "digits", "hidden": "16"})
    assert at.selectbox(key="w.preset").value is None
    assert at.number_input(key="w.hidden").value == 16
    assert at.number_input(key="w.lr").value == TrainConfig().lr


def test_a_tiny_run_on_digits_finishes_with_curves_and_a_checkpoint(app_env: Path) -> None:
    at = app_test("pages/train.py", query=TINY)
    button(at, "Start training").click().run()
    assert not at.exception
    run_until(at, lambda at: at.success or at.error)
    assert not at.error, shown(at.error[0])
    message = shown(at.success[0])
    assert "Test accuracy" in message and "selected" in message

    [folder] = [p for p in app_env.rglob("meta.json")]
    meta = json.loads(folder.read_text())
    assert meta["format_version"] == 2
    assert meta["config"]["model"]["hidden_size"] == 16 and meta["status"] == "done"
    assert folder.parent.name in message
    assert at.sidebar.selectbox(key="sidebar_model").value == str(folder.parent)
    assert meta["test_metrics"]["accuracy"] > 0.3  # it learned: chance is 0.1
    assert f"{meta['test_metrics']['accuracy']:.2%}" in message

    on_screen = charts(at)
    assert set(on_screen) == {"loss", "accuracy", "test", "probe", "belief", "gradient"}
    loss, smoothed = on_screen["loss"]["data"]
    assert loss["x"] == meta["history"]["step"] and len(loss["x"]) == STEPS
    assert smoothed["y"][0] == loss["y"][0] and len(smoothed["y"]) == STEPS
    assert [t["name"] for t in on_screen["accuracy"]["data"]] == ["train", "validation"]
    assert on_screen["accuracy"]["data"][0]["x"] == [1, 2]
    assert len(on_screen["test"]["data"]) == 3
    assert not button(at, "Start training").disabled and button(at, "Stop").disabled
    said = alternatives(at)  # every chart says what it shows, numbers and all
    assert len(said) == 6 and all(re.search(r"\d", c) and rows > 0 for _, c, rows in said), said
    loss_said = next(c for name, c, _ in said if name == "Line chart: Loss per step")
    assert f" to {loss['y'][-1]:.3g} at {STEPS:,}" in loss_said


def test_pause_resume_and_stop_keep_a_checkpoint(app_env: Path) -> None:
    at = app_test("pages/train.py", query={**TINY, "epochs": "1000"})
    button(at, "Start training").click().run()
    run_until(at, lambda at: at.get("plotly_chart"), 60)
    button(at, "Pause").click().run()
    assert labels(at.button)[:4] == ["Start training", "Resume", "Stop", "Set learning rate"]
    assert "paused" in at.get("progress")[0].proto.text
    button(at, "Resume").click().run()
    button(at, "Stop").click().run()
    run_until(at, lambda at: at.warning or at.success, 60)
    assert not at.exception
    assert shown(at.warning[0]).startswith("Stopped") and "Test accuracy" in shown(at.warning[0])
    assert len(list(app_env.rglob("meta.json"))) == 1


def test_a_bad_combination_is_explained_and_blocks_start(app_env: Path) -> None:
    at = app_test("pages/train.py")
    at.selectbox(key="w.cell").set_value("cnn")
    at.toggle(key="w.bidir").set_value(True).run()
    assert not at.exception
    assert any("bidirectional=True needs a recurrent cell" in shown(e) for e in at.error)
    assert button(at, "Start training").disabled


def test_a_link_to_a_model_too_big_for_the_server_is_refused_before_start(
    app_env: Path,
) -> None:
    giant = {"hidden": "4096", "layers": "8", "bidir": "1", "batch": "65536", "device": "cpu"}
    at = app_test("pages/train.py", query=giant)
    assert not at.exception
    assert at.number_input(key="w.hidden").value == 4096  # the link's values are shown as given
    assert any(
        "needs about" in shown(e) and "RNNVIZ_MAX_JOB_MEMORY_MB" in shown(e) for e in at.error
    )
    assert button(at, "Start training").disabled


def test_markdown_in_a_link_is_shown_as_text(app_env: Path) -> None:
    hostile = "[log in here](http://127.0.0.1:9/) ![t](http://127.0.0.1:9/t.png) **now**"
    at = app_test("pages/train.py", query={"cell": hostile})
    assert not at.exception
    markdown = at.warning[0].value
    assert "](" not in markdown and "![" not in markdown and "**" not in markdown
    assert f"cell={hostile!r} is not one of" in shown(at.warning[0])  # as typed, quoted


def test_a_link_prefills_the_widgets_and_stays_in_the_url(app_env: Path) -> None:
    query = {"cell": "gru", "hidden": "48", "bidir": "1", "lr": "0.003", "epochs": "3",
             "sched": "one_cycle", "class": "0", "owner": "abcdef123456"}  # fmt: skip
    # An old link's owner= is dropped unread: a link carries settings, never control.
    at = app_test("pages/train.py", query=query)
    assert not at.exception
    assert at.selectbox(key="w.cell").value == "gru"
    assert at.number_input(key="w.hidden").value == 48
    assert at.toggle(key="w.bidir").value is True
    assert at.number_input(key="w.lr").value == 0.003
    assert at.number_input(key="w.epochs").value == 3
    assert at.selectbox(key="w.sched").value == "one_cycle"
    assert "owner" not in at.query_params and at.session_state["owner"] != "abcdef123456"
    settings = {k: v for k, v in query.items() if k != "owner"}
    assert {k: at.query_params[k] for k in settings} == settings
    at.number_input(key="w.hidden").set_value(64).run()
    assert at.query_params["hidden"] == "64" and "owner" not in at.query_params


def test_a_bad_link_value_is_a_warning_not_a_crash(app_env: Path) -> None:
    at = app_test("pages/train.py", query={"hidden": "lots", "epochs": "0"})
    assert not at.exception
    assert "hidden='lots'" in shown(at.warning[0]) and "epochs=0" in shown(at.warning[0])
    assert at.number_input(key="w.hidden").value == ModelConfig().hidden_size


@pytest.mark.parametrize("locked", [False, True])
def test_class_mode_shows_presets_and_start_stop_only(
    app_env: Path, monkeypatch: pytest.MonkeyPatch, locked: bool
) -> None:
    if locked:
        monkeypatch.setenv("RNNVIZ_LOCK_CONTROLS", "1")
    at = app_test("pages/train.py", query={"class": "1"})
    assert not at.exception
    assert labels(at.button) == ["Start training", "Stop"]
    assert labels(at.selectbox) == ["Preset"] + (["Model"] if at.sidebar.selectbox else [])
    assert labels(at.main.toggle) == ([] if locked else ["Show all controls"])
    if not locked:
        at.main.toggle[0].set_value(True).run()
        assert "Dataset" in labels(at.selectbox) and not at.exception


@pytest.mark.parametrize(
    ("env", "query", "lecture"),
    [
        ({"RNNVIZ_CLASS_MODE": "1"}, {}, True),
        ({"RNNVIZ_CLASS_MODE": "1"}, {"class": "0"}, False),
        ({"RNNVIZ_LOCK_CONTROLS": "1"}, {"class": "0"}, True),
        ({}, {}, False),
    ],
)
def test_the_server_chooses_class_mode_and_may_lock_it(
    app_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    query: dict[str, str],
    lecture: bool,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    at = app_test("pages/train.py", query=query)
    assert not at.exception
    assert ("Dataset" not in labels(at.selectbox)) is lecture


def test_a_preset_fills_the_widgets(app_env: Path) -> None:
    at = app_test("pages/train.py")
    at.selectbox(key="w.preset").set_value("lstm-20-sgd").run()
    assert not at.exception
    assert at.number_input(key="w.hidden").value == 20
    assert at.selectbox(key="w.opt").value == "sgd"
    assert at.number_input(key="w.momentum").value == 0.0
    assert at.query_params["opt"] == "sgd"


def test_a_failed_run_explains_itself_and_keeps_its_partial_curves(app_env: Path) -> None:
    exploding = {
        "dataset": "digits",
        "cell": "rnn_relu",
        "layers": "3",
        "hidden": "64",
        "opt": "sgd",
        "lr": "10",
        "batch": "32",
        "epochs": "1",
        "device": "cpu",
    }
    at = app_test("pages/train.py", query=exploding)
    button(at, "Start training").click().run()
    run_until(at, lambda at: at.error or at.success)
    assert not at.exception and not at.success
    assert "The run failed: the loss became nan" in shown(at.error[0])
    assert "lower it" in shown(at.error[0])  # what to change
    loss = charts(at)["loss"]["data"][0]
    assert 0 < len(loss["x"]) < 40  # the steps before the loss blew up stay on screen
    assert not list(app_env.rglob("meta.json"))


def test_a_queued_run_shows_its_place_and_can_be_cancelled(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RNNVIZ_MAX_JOBS", "1")
    at = app_test("pages/train.py", query=TINY)
    from pages.parts.shared import job_manager

    def blocker(control: Any, emit: Any) -> Ended:
        while not control.stopped:
            time.sleep(0.05)
        return Ended(status="stopped", message="unblocked")

    other = job_manager().submit(blocker, owner="someoneelse1", title="another tab's run")
    try:
        button(at, "Start training").click().run()
        assert "queued, position 1" in shown(at.info[0])
        assert not at.get("plotly_chart")  # no empty charts while it waits
        button(at, "Stop").click().run()
        assert not at.exception
        assert "cancelled before it started" in shown(at.warning[0])
        assert not button(at, "Start training").disabled
    finally:
        job_manager().cancel(other)


def test_a_race_from_a_link_overlays_the_cells_and_ends_with_its_table(app_env: Path) -> None:
    at = app_test("pages/train.py", query={**TINY, "epochs": "1", "race": "rnn_tanh,gru"})
    assert not at.exception
    assert at.toggle(key="w.race_on").value and at.multiselect(key="w.race_cells").value == [
        "rnn_tanh", "gru"
    ]  # fmt: skip
    button(at, "Start race").click().run()
    run_until(at, lambda at: at.success, 120)
    assert not at.exception
    message = shown(at.success[0])
    assert message.startswith("Race done") and "now selected in the sidebar" in message
    (table,) = tables(at)
    rows = table.value
    assert list(rows["title"]) == ["RNN-tanh 1x16 · Digits (offline, 8x8 upscaled)",
                                   "GRU 1x16 · Digits (offline, 8x8 upscaled)"]  # fmt: skip
    assert all(1 <= v <= 28 for v in rows["lock_in_row"]) and all(rows["parameters"] > 0)
    saved = sorted(p.parent.name for p in app_env.rglob("meta.json"))
    assert len(saved) == 2 and all(name.startswith("race-") for name in saved)
    best = max(rows["test_accuracy"])
    assert f"{best:.2%}" in message
    on_screen = charts(at)
    loss = on_screen["loss"]["data"]
    assert [t["name"] for t in loss] == ["RNN-tanh", "GRU"]
    assert [t["line"]["color"] for t in loss] == ["#d62728", "#2ca02c"]
    assert [t["name"] for t in on_screen["gradient"]["data"]] == ["RNN-tanh", "GRU"]
    assert len(on_screen["gradient"]["data"][0]["y"]) == 28
    assert at.radio(key="train_probes_lane").options == ["RNN-tanh", "GRU"]


def replay_shown(at: Any) -> bool:
    """The stopped run's warning and the probes' replay slider: the warning can come one
    refresh before the page's rerun draws the slider."""
    return bool(at.warning) and any(s.key == "train_probes_step" for s in at.select_slider)


def test_a_new_learning_rate_is_marked_on_the_chart_and_probes_replay(app_env: Path) -> None:
    at = app_test("pages/train.py", query={**TINY, "epochs": "40"})
    button(at, "Start training").click().run()
    run_until(at, lambda at: at.get("progress") and "step" in at.get("progress")[0].proto.text)
    at.number_input(key="w.new_lr").set_value(0.002)
    button(at, "Set learning rate").click().run()
    run_until(at, lambda at: any("lr →" in str(a.get("text")) for a in
                                 charts(at)["loss"]["layout"].get("annotations", [])))  # fmt: skip
    button(at, "Stop").click().run()
    run_until(at, replay_shown, 60)
    assert not at.exception
    (meta,) = [json.loads(p.read_text()) for p in app_env.rglob("meta.json")]
    assert meta["history"]["lr_value"] == [0.002]
    (note,) = charts(at)["loss"]["layout"]["annotations"]
    assert note["text"] == "lr → 0.002" and note["x"] == meta["history"]["lr_step"][0]
    steps = at.select_slider(key="train_probes_step")
    assert steps.options[0] == "0" and steps.value == int(steps.options[-1])
    steps.set_value(0).run()
    assert "(step 0)" in charts(at)["belief"]["layout"]["title"]["text"]


def test_a_one_cycle_run_ending_below_the_rate_bounds_leaves_a_working_page(
    app_env: Path,
) -> None:
    at = app_test(
        "pages/train.py", query={**TINY, "epochs": "1", "sched": "one_cycle", "lr": "0.0001"}
    )
    button(at, "Start training").click().run()
    run_until(at, lambda at: at.success or at.exception, 120)
    assert not at.exception  # one-cycle ends near 1e-8, below the rate control's lowest value
    rate = next(c.value for c in at.caption if c.value.startswith("The rate at step"))
    assert 0 < float(rate.split(": ")[1]) < 1e-6


def test_class_mode_keeps_a_linked_race_without_its_widgets(app_env: Path) -> None:
    at = app_test("pages/train.py", query={**TINY, "class": "1", "race": "rnn_tanh,gru"})
    assert not at.exception
    assert labels(at.button) == ["Start race", "Stop"] and labels(at.main.toggle) == [
        "Show all controls"
    ]  # fmt: skip
    assert not at.multiselect
