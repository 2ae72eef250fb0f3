"""AppTest tests of the Home page: the example image as time steps, page links, the quick run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from rnnviz.classroom.urlstate import run_to_params
from rnnviz.data.datasets import dataset_available
from rnnviz.training.presets import PRESETS
from tests.conftest import app_test

PAGES = {"Train", "Evaluate", "Compare", "Inside the RNN", "Draw", "Memory lab", "Lessons"}


def expected_quick_preset() -> str:
    """What pages/home.py picks here: offline digits without MNIST, else the GPU or CPU demo."""
    if not dataset_available("mnist", os.environ.get("RNNVIZ_DATA_DIR")):
        return "digits-offline"
    return "quick-gpu" if torch.cuda.is_available() else "quick-cpu"


def test_home_shows_an_image_as_rows_and_links_every_page(app_env: Path) -> None:
    at = app_test("pages/home.py")
    assert not at.exception
    [chart] = at.get("plotly_chart")
    spec = json.loads(chart.proto.spec)
    image, steps = spec["data"]
    assert [t["type"] for t in spec["data"]] == ["heatmap", "heatmap"]
    assert len(image["z"]) == 28 and len(image["z"][0]) == 28
    assert steps["z"] == [list(col) for col in zip(*image["z"], strict=True)]  # rows -> steps
    assert max(max(row) for row in image["z"]) > 100  # a real image, not a blank one
    assert {link.proto.label for link in at.get("page_link")} == PAGES
    assert [b.label for b in at.button] == ["Train a quick model"]
    preset = PRESETS[expected_quick_preset()]
    assert any(f"**{preset.title}** preset" in c.value for c in at.caption)


def test_train_a_quick_model_submits_and_opens_train(app_env: Path) -> None:
    from pages.parts.shared import job_manager

    at = app_test("pages/home.py", query={"class": "1"})
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "Train"
    [job] = job_manager().jobs(at.session_state["owner"])
    expected = expected_quick_preset()
    assert f"(preset {expected})" in job.title
    assert at.query_params["class"] == "1" and "owner" not in at.query_params  # no control
    # The Train page opens on the preset's settings, and shows this job with Stop enabled.
    for key, value in run_to_params(PRESETS[expected].run).items():
        assert at.query_params[key] == value
    stop = next(b for b in at.button if b.label == "Stop")
    if job.active:
        assert not stop.disabled
        stop.click().run()
    final = job_manager().wait(job.id, timeout=60)
    assert final.state in ("stopped", "done")


def test_the_app_keeps_streamlit_from_collecting_garbage_after_every_run(app_env: Path) -> None:
    """A full collection per rerun holds the GIL long enough to starve training threads."""
    import tomllib

    from streamlit import config

    config.set_option("runner.postScriptGC", True)  # Streamlit's default
    at = app_test("pages/home.py")
    assert not at.exception
    assert config.get_option("runner.postScriptGC") is False
    with open(Path(__file__).parents[1] / ".streamlit" / "config.toml", "rb") as f:
        assert tomllib.load(f)["runner"]["postScriptGC"] is False
