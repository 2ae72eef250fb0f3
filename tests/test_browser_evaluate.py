"""Evaluate and Compare in headless chromium: the table, the plotly charts, a click on a cell."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, shot, wait_idle

pytestmark = pytest.mark.browser


def open_page(tab: Any, url: str) -> None:
    """Open `url` after the app's root: with a pages/ folder beside app.py, Streamlit runs a page
    URL as a bare script (the old pages-folder mode) until some session has run app.py's
    st.navigation."""
    tab.goto(url.rsplit("/", 1)[0])
    tab.get_by_text("Device:").wait_for()  # the shared sidebar: app.py has run
    tab.goto(url)
    wait_idle(tab)


def full_shot(tab: Any, name: str) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside its own container, so the
    viewport is made as tall as the page first."""
    height = tab.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    tab.set_viewport_size({"width": 1400, "height": int(height) + 40})
    tab.wait_for_timeout(1000)
    shot(tab, name)


def matrix(tab: Any) -> Any:
    """The confusion matrix: the chart whose y axis is the true class (the image grids beside
    and below it are heatmaps too, and may be drawn first)."""
    true_axis = tab.locator(".ytitle", has_text="true class")
    return tab.locator(".js-plotly-plot").filter(has=true_axis).first


def pair_chosen(tab: Any) -> tuple[str, str]:
    """The (true, predicted) class names the pair pickers beside the matrix show."""
    true_box = tab.get_by_role("combobox", name="True class")
    pred_box = tab.get_by_role("combobox", name="Predicted class")
    return true_box.input_value(), pred_box.input_value()


def choose_another_cell(tab: Any) -> tuple[str, str]:
    """Click the matrix cell one row down and two columns right of the chosen pair (wrapping
    round); the (true, predicted) names of the clicked cell, once the page has run."""
    names = matrix(tab).evaluate("g => g._fullLayout.yaxis.ticktext")
    true_name, pred_name = pair_chosen(tab)
    n = len(names)
    t, p = (names.index(true_name) + 1) % n, (names.index(pred_name) + 2) % n
    matrix(tab).scroll_into_view_if_needed()
    cell = matrix(tab).locator(".scatterlayer .point").nth(t * n + p).bounding_box()
    tab.mouse.click(cell["x"] + cell["width"] / 2, cell["y"] + cell["height"] / 2)
    tab.wait_for_timeout(500)
    wait_idle(tab)
    return names[t], names[p]


def test_evaluate_then_compare(page: Any, app_url: str) -> None:
    open_page(page, f"{app_url}/evaluate")
    page.wait_for_selector('[data-testid="stMetric"]')
    page.locator('[data-testid="stDataFrame"]:visible').first.wait_for()  # not a chart's table
    page.wait_for_selector(".js-plotly-plot .heatmaplayer")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Test accuracy" in page.locator('[data-testid="stMetric"]').first.inner_text()
    assert page.locator(".js-plotly-plot .barlayer .bars").count() == 3  # precision, recall, F1

    # A click on a confusion-matrix cell chooses that (true, predicted) pair.
    assert choose_another_cell(page) == pair_chosen(page)

    # Another model, with other class names where there is one (digits <-> garments): the pair
    # pickers must not carry a class name over that the new model does not have.
    model = page.get_by_role("combobox", name="Model", exact=True)
    fashion = "Fashion" in model.input_value()
    model.click()
    options = page.get_by_role("option")
    texts = options.all_inner_texts()
    other = next((x for x in texts if ("Fashion" in x) != fashion), texts[-1])
    options.nth(texts.index(other)).click()
    page.wait_for_timeout(500)
    wait_idle(page)
    page.wait_for_selector(".js-plotly-plot .heatmaplayer")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert model.input_value() == other
    names = matrix(page).evaluate("g => g._fullLayout.yaxis.ticktext")
    assert set(pair_chosen(page)) <= set(names)
    full_shot(page, "evaluate")

    page.set_viewport_size({"width": 1400, "height": 1000})
    open_page(page, f"{app_url}/compare")
    page.locator('[data-testid="stDataFrame"]:visible').first.wait_for()  # not a chart's table
    page.wait_for_selector(".js-plotly-plot .scatterlayer .trace")
    assert page.locator('[data-testid="stException"]').count() == 0
    # loss and accuracy, and the shipped models' probes replayed: images, belief, gradient
    assert page.locator(".js-plotly-plot").count() == 5
    assert page.get_by_text("None of these runs recorded probe images").count() == 0
    full_shot(page, "compare")


def test_an_upload_declaring_a_giant_model_is_refused_at_once(
    page: Any, app_url: str, tmp_path: Path
) -> None:
    """lstm-digits' weights with a meta.json saying LSTM 8x4096 bidirectional (2.95 billion
    parameters): checked against the declared shapes without building the model."""
    source = ROOT / "checkpoints" / "lstm-digits"
    meta = json.loads((source / "meta.json").read_text())
    meta["config"]["model"] |= {"hidden_size": 4096, "num_layers": 8, "bidirectional": True}
    upload = tmp_path / "giant.zip"
    with zipfile.ZipFile(upload, "w") as zf:
        zf.writestr("meta.json", json.dumps(meta))
        zf.write(source / "model.safetensors", "model.safetensors")
    open_page(page, f"{app_url}/evaluate")
    page.get_by_text("Manage models").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
    error = page.locator('[data-testid="stAlertContentError"]').filter(has_text="not imported")
    error.wait_for(timeout=30_000)
    assert "weights do not fit the model in meta.json" in error.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stFileUploaderFile"]').count() == 0  # not retried
    shot(page, "evaluate-giant-upload")
