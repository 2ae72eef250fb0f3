"""The Inside the RNN page in AppTest, on the tiny digits checkpoints."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rnnviz.data.datasets import DataConfig
from rnnviz.models.network import ModelConfig, build_model
from rnnviz.storage.checkpoints import save_checkpoint
from rnnviz.training.config import RunConfig
from rnnviz.training.record import RunRecord
from tests.conftest import ROOT, app_test, real_data_dir, shown

PAGE = "pages/inside.py"


def figures(at: Any) -> list[dict[str, Any]]:
    return [json.loads(e.proto.spec) for e in at.get("plotly_chart")]


def animation(at: Any) -> dict[str, Any]:
    """The reading's chart, standing at the frame the controls chose."""
    (found,) = [f for f in figures(at) if f["layout"].get("meta", {}).get("alt", {})
                .get("name", "").startswith("The network's reading")]  # fmt: skip
    return found


def frames(at: Any) -> list[str]:
    return list(at.select_slider[0].options)


def array(value: Any) -> np.ndarray:
    """A figure array as JSON carries it: a list, or plotly's base64 {"dtype", "bdata", "shape"}."""
    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return flat.reshape([int(n) for n in str(value.get("shape", len(flat))).split(",")])
    return np.asarray(value)


def on_model(at: Any, folder: Path) -> Any:
    at.session_state["checkpoint_path"] = str(folder)
    return at.run()


def metric(at: Any, label: str) -> Any:
    return next((m for m in at.metric if m.label.startswith(label)), None)


def test_lstm_reading_of_a_test_image(app_env: Path, tiny_checkpoints: Path) -> None:
    at = on_model(app_test(PAGE), tiny_checkpoints / "lstm-digits")
    assert not at.exception and not at.warning
    assert at.title[0].value == "Inside the RNN"
    assert at.radio(key="inside_source").value == "Test set"
    assert metric(at, "True class") is not None and metric(at, "Prediction") is not None
    anim = animation(at)
    assert frames(at) == [str(t) for t in range(1, 29)]
    names = [t.get("name") for t in anim["data"]]
    assert {"cell state c", "forget gate f"} <= set(names)
    assert (
        not anim["layout"].get("updatemenus")
        and not anim["layout"].get("sliders")
        and not anim.get("frames")
    )
    # Row importance: the tiny checkpoints include a vanilla RNN and an LSTM on the same dataset.
    importance = next(
        f for f in figures(at) if f["data"][0]["type"] == "bar" and len(f["data"]) == 2
    )
    titles = [t["name"].split(" · ")[0] for t in importance["data"]]
    assert titles == ["RNN-tanh 1x32", "LSTM 1x32"]  # the selected LSTM, next to a vanilla RNN
    assert any("vanishing gradients" in c.value for c in at.caption)
    assert any(m.value == r"$c_t = f_t \odot c_{t-1} + i_t \odot g_t$" for m in at.markdown)
    assert any(m.value.startswith(r"**forget gate**: $f_t = \sigma(") for m in at.markdown)


def test_row_experiments_rerun_the_trace(app_env: Path, tiny_checkpoints: Path) -> None:
    at = on_model(app_test(PAGE), tiny_checkpoints / "gru-digits")
    at.number_input(key="inside_index").set_value(5).run()
    at.selectbox(key="inside_experiment").select("erase_top").run()
    assert not at.exception
    assert metric(at, "After the experiment") is not None
    erased = array(animation(at)["data"][0]["z"])  # the image the network read
    assert erased.shape == (28, 28) and erased[:14].max() == 0 and erased[14:].max() > 0
    at.selectbox(key="inside_experiment").select("first_k").run()
    at.slider(key="inside_k").set_value(5).run()
    assert not at.exception
    assert len(frames(at)) == 5
    at.radio(key="inside_over").set_value("256 test images").run()
    assert not at.exception


def test_random_and_mistake_buttons_pick_a_test_image(
    app_env: Path, tiny_checkpoints: Path
) -> None:
    at = on_model(app_test(PAGE), tiny_checkpoints / "rnn_tanh-digits")
    next(b for b in at.button if "mistake" in b.label).click().run()
    assert not at.exception
    index = at.number_input(key="inside_index").value
    true, predicted = metric(at, "True class").value, metric(at, "Prediction").value
    assert not predicted.startswith(true + " "), (index, true, predicted)  # a mistake indeed
    next(b for b in at.button if "Random" in b.label).click().run()
    assert not at.exception


def test_handovers_from_evaluate_and_draw(app_env: Path) -> None:
    at = app_test(PAGE)
    at.session_state["inside_image"] = {"source": "test", "index": 17}
    at.run()
    assert not at.exception and at.number_input(key="inside_index").value == 17
    seven = (
        [[0] * 28] * 6
        + [[0] * 6 + [255] * 16 + [0] * 6] * 3
        + [[0] * 14 + [255] * 3 + [0] * 11] * 19
    )
    at.session_state["inside_image"] = {"source": "drawing", "image": seven}
    at.run()
    assert not at.exception
    assert at.radio(key="inside_source").value == "My drawing"
    assert np.array_equal(array(animation(at)["data"][0]["z"]), seven)
    at.session_state["inside_image"] = {"source": "test", "index": "not an index"}
    at.run()
    assert not at.exception


def test_cnn_explains_there_are_no_time_steps(app_env: Path) -> None:
    at = app_test(PAGE)
    config = ModelConfig(cell="cnn", hidden_size=16)
    torch.manual_seed(0)
    record = RunRecord(
        config=RunConfig(model=config, data=DataConfig(dataset="digits", download=False)),
        class_names=tuple(str(d) for d in range(10)),
    )
    path = save_checkpoint(
        build_model(config), record, root=app_env / at.session_state["owner"], name="cnn"
    )
    on_model(at, path)
    assert not at.exception
    assert any("no time steps" in shown(i) for i in at.info)
    assert not at.get("plotly_chart")


def test_a_pixel_order_model_animates_sampled_frames_and_says_step(app_env: Path) -> None:
    at = app_test(PAGE)
    config = ModelConfig(cell="lstm", hidden_size=8, order="permuted")
    torch.manual_seed(0)
    record = RunRecord(
        config=RunConfig(model=config, data=DataConfig(dataset="digits", download=False)),
        class_names=tuple(str(d) for d in range(10)),
    )
    path = save_checkpoint(
        build_model(config), record, root=app_env / at.session_state["owner"], name="permuted"
    )
    on_model(at, path)
    assert not at.exception
    assert at.subheader[0].value == "Pixel by pixel in a fixed shuffle"
    assert any("784 steps: the frames show every 28th and the last" in c.value for c in at.caption)
    anim = animation(at)
    assert len(frames(at)) == 29 and frames(at)[-1] == "784"
    assert len(anim["layout"]["images"]) == 1  # what is not read yet, dimmed
    assert anim["layout"]["title"]["text"].startswith("After step 1:")
    at.select_slider[0].set_value(28).run()
    assert animation(at)["layout"]["title"]["text"].startswith("After step 784:")
    at.selectbox(key="inside_experiment").set_value("first_k").run()  # black rows after the k-th
    assert not at.exception and len(frames(at)) == 29


def test_a_first_visit_with_mnist_here_reads_with_the_best_shipped_model_and_compares(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RNNVIZ_DATA_DIR", real_data_dir())
    monkeypatch.setenv("RNNVIZ_CHECKPOINTS_DIR", str(ROOT / "checkpoints"))
    at = app_test(PAGE)
    assert not at.exception and not at.warning
    assert Path(at.sidebar.selectbox[0].value).name == "gru-draw"  # 99.1 %, not lstm-digits
    importance = next(
        f for f in figures(at) if f["data"][0]["type"] == "bar" and len(f["data"]) == 2
    )
    titles = [t["name"].split(" · ")[0] for t in importance["data"]]
    assert titles == ["RNN-tanh 1x128", "GRU 1x128"]  # the shipped RNN beside the selected GRU
    assert not any("Train a vanilla RNN" in c.value for c in at.caption)


def button(at: Any, label: str) -> Any:
    (found,) = [b for b in at.button if b.label == label]
    return found


def test_the_reading_is_played_and_stepped_with_buttons(
    app_env: Path, tiny_checkpoints: Path
) -> None:
    """Play, Pause, Previous, Next and the slider are Streamlit widgets: a keyboard reaches them."""
    at = on_model(app_test(PAGE), tiny_checkpoints / "lstm-digits")
    title = lambda: animation(at)["layout"]["title"]["text"]  # noqa: E731
    assert title().startswith("After row 1:") and button(at, "Previous").disabled
    button(at, "Next").click().run()
    button(at, "Next").click().run()
    assert at.select_slider[0].value == 2 and title().startswith("After row 3:")
    alt = animation(at)["layout"]["meta"]["alt"]
    assert alt["caption"].startswith("After row 3 of 28: best guess ")
    assert len(alt["rows"]) == 28 and alt["rows"][27]["row"] == 28
    assert abs(sum(v for k, v in alt["rows"][27].items() if k != "row") - 1) < 1e-2
    button(at, "Play").click().run()
    assert not at.exception and at.session_state["inside_playing"] is True
    button(at, "Play").click().run()  # a second Play (or the same press sent twice) plays on
    assert at.session_state["inside_playing"] is True
    button(at, "Pause").click().run()
    assert at.session_state["inside_playing"] is False and at.select_slider[0].value >= 2
    button(at, "Pause").click().run()  # and a second Pause stays paused
    assert at.session_state["inside_playing"] is False
    at.select_slider[0].set_value(27).run()
    assert title().startswith("After row 28:") and button(at, "Next").disabled
    button(at, "Play").click().run()  # at the end, Play starts again from the first row
    assert at.session_state["inside_playing"] is True and title().startswith("After row")
    assert at.select_slider[0].value <= 1
