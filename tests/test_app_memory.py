"""AppTest tests of the Memory lab page: both tabs, a tiny recall run to the end, bad settings,
links that open it on a setting, and the spread over seeds.

AppTest fires no `run_every` timers, so the tests call `at.run()` again until a job is done.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rnnviz.memory import NOTEBOOK_RECALL, AddConfig, RecallConfig, lab_params
from tests.conftest import app_test, shown

PAGE = "pages/memory_lab.py"


def buttons(at: Any, label: str) -> list[Any]:
    return [b for b in at.button if b.label == label]


def charts(at: Any) -> list[dict[str, Any]]:
    """The plotly figures on screen, as plotly JSON."""
    return [json.loads(node.proto.spec) for node in at.get("plotly_chart")]


def run_until(at: Any, done: Any, seconds: float = 120) -> Any:
    deadline = time.monotonic() + seconds
    while not done(at):
        assert time.monotonic() < deadline, "the job did not finish in time"
        assert not at.exception, at.exception[0].value
        time.sleep(0.3)
        at.run()
    return at


def test_renders_both_tabs_with_defaults_from_the_configs(app_env: Path) -> None:
    at = app_test(PAGE)
    assert not at.exception
    assert [t.label for t in at.tabs] == [
        "Recall the digit at position K",
        "Add two binary numbers",
    ]
    assert len(buttons(at, "Start training")) == 2
    assert buttons(at, "Sweep hidden sizes 2, 5, 10") and buttons(
        at, "Accuracy against distance L − K"
    )
    assert all(b.disabled for b in buttons(at, "Stop"))
    assert at.number_input(key="recall.length").value == RecallConfig.length
    assert at.number_input(key="recall.position").value == RecallConfig.position
    assert at.selectbox(key="recall.cell").value == RecallConfig.cell
    assert at.number_input(key="add.bits").value == AddConfig.bits
    assert at.selectbox(key="add.loss").value == AddConfig.loss
    assert "16 %, 30 % and 96 %" in " ".join(c.value for c in at.caption)
    assert at.number_input(key="recall.min_length").value == RecallConfig.min_length
    assert buttons(at, "Spread over seeds")
    assert not at.error and not at.get("plotly_chart")


def test_k_beyond_l_is_an_error_not_an_exception(app_env: Path) -> None:
    at = app_test(PAGE)
    at.number_input(key="recall.length").set_value(5)
    at.number_input(key="recall.position").set_value(8).run()
    assert not at.exception
    [error] = at.error
    assert "position=8" in shown(error) and "length=5" in shown(error)
    recall_buttons = [b for b in at.button if b.key and b.key.startswith("recall.")]
    assert all(b.disabled for b in recall_buttons)


def test_a_tiny_recall_run_shows_curves_accuracy_and_samples(app_env: Path) -> None:
    at = app_test(PAGE)
    at.number_input(key="recall.length").set_value(5)
    at.number_input(key="recall.position").set_value(4)
    at.number_input(key="recall.steps").set_value(50)
    at.button(key="recall.recall").click().run()
    assert not at.exception
    run_until(at, lambda at: at.success)
    [done] = at.success
    assert "Test accuracy" in done.value and "after 50 steps" in done.value
    shown = charts(at)
    curves = next(s for s in shown if s["data"][0].get("name") == "loss")
    loss, train, test = curves["data"]
    assert len(train["y"]) == 50 and 0 <= min(train["y"]) <= max(train["y"]) <= 1
    assert loss["x"][-1] == 50 and len(loss["y"]) == 50  # one step event per step (log_every 1)
    assert test["x"][-1] == 50 and f"{test['y'][-1]:.1%}" in done.value
    samples = next(s for s in shown if s["data"][0].get("type") == "heatmap")
    heat = samples["data"][0]
    assert heat["x"] == ["1", "2", "3", "4", "5", "answer"] and len(heat["text"]) == 8
    assert all(row[3] == 1 for row in heat["z"])  # K = 4 highlighted in every sample
    assert {row[-1] for row in heat["z"]} <= {2, 3}  # each answer right (2) or wrong (3)
    assert at.button(key="recall.recall").disabled is False
    assert at.button(key="recall.stop").disabled


def test_a_tiny_adder_trains_both_losses_and_works_an_example(app_env: Path) -> None:
    at = app_test(PAGE)
    at.number_input(key="add.bits").set_value(3)
    at.number_input(key="add.steps").set_value(30)
    at.toggle(key="add.both").set_value(True)
    at.button(key="add.add").click().run()
    run_until(at, lambda at: len(charts(at)) >= 4)
    assert not at.exception
    titles = [s["layout"]["title"]["text"] for s in charts(at) if "title" in s["layout"]]
    assert any(t.startswith("Held-out sums") for t in titles)
    examples = [t for t in titles if "the network says" in t]
    assert [t.split(":")[0] for t in examples] == ["CE", "MSE"]
    assert all("173 + 94 = 267" in t for t in examples)
    curves = next(s for s in charts(at) if s["data"][0].get("name") == "CE loss")
    assert [t["name"] for t in curves["data"]][3:] == ["MSE loss", "MSE train batch", "MSE test"]


def test_a_link_opens_the_lab_on_the_notebooks_setting(app_env: Path) -> None:
    params = lab_params(replace(NOTEBOOK_RECALL, steps=1234, seed=4))
    assert {k: params[k] for k in ("lab", "length", "position", "hidden", "min")} == {
        "lab": "recall", "length": "10", "position": "2", "hidden": "10", "min": "3",
    }  # fmt: skip
    at = app_test(PAGE, query=params)
    assert not at.exception and not at.warning
    widgets = {n: at.number_input(key=f"recall.{n}").value for n in ("length", "position",
               "min_length", "hidden_size", "steps")}  # fmt: skip
    assert widgets == {"length": 10, "position": 2, "min_length": 3, "hidden_size": 10,
                       "steps": 1234}  # fmt: skip
    assert at.selectbox(key="recall.cell").value == "rnn_tanh"
    assert at.number_input(key="add.hidden_size").value == AddConfig.hidden_size  # recall's link


def test_an_add_link_fills_the_add_tab_and_bad_values_are_explained(app_env: Path) -> None:
    at = app_test(PAGE, query={"lab": "add", "bits": "4", "loss": "mse", "hidden": "zero"})
    assert not at.exception
    assert (
        at.number_input(key="add.bits").value == 4 and at.selectbox(key="add.loss").value == "mse"
    )
    assert at.number_input(key="add.hidden_size").value == AddConfig.hidden_size
    [warning] = at.warning
    assert "Ignored from the link" in shown(warning) and "hidden='zero'" in shown(warning)
    assert at.number_input(key="recall.position").value == RecallConfig.position


def test_the_spread_over_seeds_runs_and_shows_every_seed(app_env: Path) -> None:
    at = app_test(PAGE, query={"lab": "recall", "length": "4", "position": "2", "steps": "10"})
    at.number_input(key="recall.seed_count").set_value(2)
    at.button(key="recall.seeds").click().run()
    assert not at.exception
    run_until(at, lambda at: at.table)
    spread = next(
        s for s in charts(at) if s["layout"]["title"]["text"].startswith("Recall accuracy over")
    )
    span, dots, notebook = spread["data"]
    assert dots["customdata"] == [0, 1, 0, 1, 0, 1] and len(dots["y"]) == 6
    assert all(0.0 <= y <= 1.0 for y in dots["y"])
    assert span["x"] == [2, 2, None, 5, 5, None, 10, 10, None]
    assert notebook["y"] == [0.16, 0.3, 0.96]
    [table] = at.table
    frame = table.value
    assert list(frame["hidden size"]) == [2, 5, 10] and list(frame["seeds"]) == [2, 2, 2]
    low = min(dots["y"][4:])  # hidden 10's two seeds
    assert frame["min"].iloc[2] == f"{low:.1%}"
