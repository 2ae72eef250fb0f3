"""The Compare page through AppTest: run picker, curves, table and its CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from rnnviz.storage.checkpoints import list_checkpoints

from .conftest import app_test, shown, tables


def figures(at: Any) -> list[dict[str, Any]]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_all_shipped_runs_by_default_one_row_and_line_each(
    app_env: Path, tiny_checkpoints: Path
) -> None:
    at = app_test("pages/compare.py")
    assert not at.exception
    shipped = {str(i.path) for i in list_checkpoints(tiny_checkpoints)}
    assert set(at.multiselect(key="compare_runs").value) == shipped
    table = tables(at)[0].value
    assert len(table) == 3
    assert list(table["group"]) == ["RNN", "LSTM", "GRU"]  # the lesson's order
    loss, accuracy = figures(at)[:2]
    assert len(loss["data"]) == len(accuracy["data"]) == 3
    assert all(t["x"][-1] == 2 for t in accuracy["data"])  # two epochs each
    assert "What to look for" in at.markdown[0].value


def test_choosing_runs_changes_table_and_seconds_axis(
    app_env: Path, tiny_checkpoints: Path
) -> None:
    at = app_test("pages/compare.py")
    two = [str(tiny_checkpoints / "lstm-digits"), str(tiny_checkpoints / "gru-digits")]
    at.multiselect(key="compare_runs").set_value(two).run()
    assert not at.exception
    assert list(tables(at)[0].value["cell"]) == ["lstm", "gru"]
    at.toggle(key="compare_seconds").set_value(True).run()
    assert not at.exception
    _, accuracy = figures(at)[:2]
    assert accuracy["layout"]["xaxis"]["title"]["text"] == "seconds of training"
    meta = json.loads((tiny_checkpoints / "lstm-digits" / "meta.json").read_text())
    assert accuracy["data"][0]["x"] == meta["history"]["epoch_seconds"]


def test_downloaded_csv_parses_back_to_the_table(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self: Any, data: Any, mimetype: str, *args: Any, **kwargs: Any) -> str:
        if isinstance(data, bytes):
            served[mimetype] = data
        return original(self, data, mimetype, *args, **kwargs)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    at = app_test("pages/compare.py")
    assert at.download_button[0].label == "Download table (CSV)"
    parsed = list(csv.DictReader(io.StringIO(served["text/csv"].decode("utf-8"))))
    table = tables(at)[0].value
    assert [p["run"] for p in parsed] == list(table["run"])
    assert [int(p["parameters"]) for p in parsed] == list(table["parameters"])
    assert [float(p["test_accuracy"]) for p in parsed] == list(table["test_accuracy"])


def test_no_runs_chosen_asks_for_some(app_env: Path) -> None:
    at = app_test("pages/compare.py")
    at.multiselect(key="compare_runs").set_value([]).run()
    assert not at.exception
    assert "Choose one or more runs" in shown(at.info[0])


def test_a_saved_runs_probes_replay_from_step_zero(app_env: Path, tiny_checkpoints: Path) -> None:
    at = app_test("pages/compare.py")
    assert not at.exception
    assert len(at.selectbox(key="compare_probes_run").options) == 3  # every tiny run has probes
    at.selectbox(key="compare_probes_run").set_value(
        next(o for o in at.selectbox(key="compare_probes_run").options if o.startswith("GRU"))
    ).run()
    slider = at.select_slider(key="compare_probes_step")
    assert slider.options[0] == "0" and len(slider.options) == 21  # 20 readings and step 0
    titles = [f["layout"].get("title", {}).get("text", "") for f in figures(at)[2:]]
    assert titles[0] == "Probe images: label → guess"
    assert titles[1].endswith(f"(step {slider.options[-1]})")
    slider.set_value(0).run()
    belief = next(f for f in figures(at) if "Belief" in str(f["layout"].get("title")))
    assert belief["layout"]["title"]["text"].endswith("(step 0)") and len(belief["data"]) == 8
    gradient = figures(at)[-1]
    assert [t["name"] for t in gradient["data"]] == ["GRU"] and len(gradient["data"][0]["y"]) == 28
