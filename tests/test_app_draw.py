"""The Draw page in AppTest: a drawing is injected as the canvas's own state (a PNG data URL)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image, ImageDraw

from rnnviz.data.datasets import DATASETS, DataConfig
from rnnviz.models.network import ModelConfig, build_model
from rnnviz.storage.checkpoints import save_checkpoint
from rnnviz.training.config import RunConfig
from rnnviz.training.record import RunRecord
from tests.conftest import app_test

KEY = "draw_canvas"
SEVEN = [(70, 60), (210, 60), (120, 230)]


def canvas_state(points: list[tuple[int, int]] | None, width: int = 28) -> dict[str, Any]:
    """What st_canvas keeps in session state after a stroke: Fabric JSON and the PNG it shows."""
    im = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    if points:
        ImageDraw.Draw(im).line(points, fill=(255, 255, 255, 255), width=width, joint="curve")
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return {"drawing": {"raw": {"objects": [], "background": "#000000"}, "data": url}}


def texts(at: Any) -> str:
    parts = [str(getattr(e, "value", "")) for e in (*at.info, *at.caption, *at.markdown)]
    return "\n".join(parts)


def metric(at: Any, label: str) -> Any:
    return next((m for m in at.metric if m.label.startswith(label)), None)


def draw(at: Any, points: list[tuple[int, int]] | None) -> Any:
    at.session_state[KEY] = canvas_state(points)
    return at.run()


def test_empty_canvas_asks_for_a_digit(app_env: Path) -> None:
    at = app_test("pages/draw.py")
    assert not at.exception
    assert at.title[0].value == "Draw"
    assert at.slider(key="draw_stroke").value == 25  # 10 % of the 252-pixel canvas
    assert "draw a digit" in texts(at).lower()
    assert metric(at, "Prediction") is None
    assert not at.get("plotly_chart")


@pytest.mark.parametrize("points", [None, [(140, 140), (141, 141)]], ids=["black", "a dot"])
def test_blank_or_nearly_blank_drawing_gives_no_prediction(app_env: Path, points: Any) -> None:
    at = draw(app_test("pages/draw.py"), points)
    assert not at.exception
    assert "draw a digit" in texts(at).lower()
    assert metric(at, "Prediction") is None


def test_a_drawing_gets_a_prediction_the_stages_and_the_belief(app_env: Path) -> None:
    at = draw(app_test("pages/draw.py"), SEVEN)
    assert not at.exception
    prediction = metric(at, "Prediction")
    assert prediction is not None and prediction.value in [str(d) for d in range(10)]
    assert "draw a digit" not in texts(at).lower()
    figures = [json.loads(e.proto.spec) for e in at.get("plotly_chart")]
    bars = next(f for f in figures if f["data"][0]["type"] == "bar")
    assert sum(bars["data"][0]["y"]) == pytest.approx(1.0, abs=1e-4)
    assert bars["data"][0]["x"][int(prediction.value)] == prediction.value
    assert any(
        len(f["data"]) == 11 and f["data"][-1]["name"].startswith("locks in") for f in figures
    )
    stages = next(f for f in figures if len(f["data"]) == 4)  # canvas, crop, 28x28, rows
    assert all(trace["type"] == "heatmap" for trace in stages["data"])
    at.toggle(key="draw_naive").set_value(True).run()
    assert not at.exception
    assert metric(at, "Naive resize") is not None


def test_clear_forgets_the_drawing_until_the_canvas_sends_a_new_one(app_env: Path) -> None:
    at = draw(app_test("pages/draw.py"), SEVEN)
    assert metric(at, "Prediction") is not None
    at.button[0].click().run()  # "Clear": the canvas still holds the old picture this run
    assert not at.exception
    assert metric(at, "Prediction") is None and "draw a digit" in texts(at).lower()
    draw(at, [(140, 40), (140, 240)])
    assert metric(at, "Prediction") is not None


def test_open_in_inside_hands_the_28x28_image_over(app_env: Path) -> None:
    at = draw(app_test("pages/draw.py"), SEVEN)
    next(b for b in at.button if "Inside" in b.label).click().run()
    assert not at.exception
    assert at.title[0].value == "Inside the RNN"
    assert at.radio(key="inside_source").value == "My drawing"
    assert len(at.session_state["inside_drawing"]) == 28


def test_fashion_model_shows_its_class_names(app_env: Path) -> None:
    at = app_test("pages/draw.py")
    torch.manual_seed(0)
    config = ModelConfig(cell="lstm", hidden_size=16)
    names = list(DATASETS["fashion-mnist"].class_names)
    data = DataConfig(dataset="fashion-mnist", download=False)
    record = RunRecord(config=RunConfig(model=config, data=data), class_names=tuple(names))
    path = save_checkpoint(build_model(config), record, root=app_env / at.session_state["owner"],
                           name="lstm-fashion")  # fmt: skip
    at.session_state["checkpoint_path"] = str(path)
    draw(at, SEVEN)
    assert not at.exception
    assert "Ankle boot" in texts(at)
    prediction = metric(at, "Prediction")
    assert prediction is not None and prediction.value in names
