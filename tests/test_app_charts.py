"""pages/parts/charts.py: a chart is built once per version, and every tab sees it drawn."""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import sys
sys.path.insert(0, {root!r})
import plotly.graph_objects as go
import streamlit as st
from pages.parts.charts import chart

def build():
    with open({log!r}, "a") as log:
        log.write("built\\n")
    return go.Figure(layout={{"title": {{"text": "version {version}"}}}})

chart("the_chart", {version!r}, build)
"""


def tab(tmp_path: Path, version: object) -> AppTest:
    script = SCRIPT.format(root=str(ROOT), log=str(tmp_path / "log"), version=version)
    at = AppTest.from_string(script, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def title(at: AppTest) -> str:
    (chart,) = at.get("plotly_chart")
    return json.loads(chart.proto.spec)["layout"]["title"]["text"]


def builds(tmp_path: Path) -> int:
    return (tmp_path / "log").read_text().count("built")


def test_tabs_asking_for_one_version_share_one_build(tmp_path: Path) -> None:
    st.cache_data.clear()
    first, second = tab(tmp_path, ("job", 1)), tab(tmp_path, ("job", 1))
    assert title(first) == title(second) == "version ('job', 1)"
    assert builds(tmp_path) == 1  # the second tab replayed the drawn chart
    assert title(tab(tmp_path, ("job", 2))) == "version ('job', 2)" and builds(tmp_path) == 2


def test_without_a_version_it_is_built_every_time(tmp_path: Path) -> None:
    st.cache_data.clear()
    tab(tmp_path, None)
    assert title(tab(tmp_path, None)) == "version None" and builds(tmp_path) == 2
