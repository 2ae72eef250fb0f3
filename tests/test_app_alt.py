"""Every chart on a page has a text alternative: an accessible name, a caption with its key
numbers right under it, and its data in a table that opens on request (AppTest, tiny models)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pages.parts.charts import TABLE
from tests.conftest import app_test, shown

PAGES = {  # page -> the charts it draws for the tiny checkpoints, at least
    "pages/home.py": 1,
    "pages/train.py": 2,  # the loss and accuracy charts, empty before a run
    "pages/evaluate.py": 4,  # per-class bars, the confusion matrix, two image grids
    "pages/compare.py": 2,
    "pages/inside.py": 2,  # the reading, row importance
}


def open_tables(at: Any) -> Any:
    """Open every chart's data panel, as a student does by a click or a key (keyed charts build
    their tables only while it is open)."""
    keys = [e.proto.id.split("-", 2)[2] for e in at.expander
            if e.label == TABLE and e.proto.id.startswith("$$ID-")]  # fmt: skip
    for key in keys:
        at.session_state[key] = True
    return at.run() if keys else at


def alternatives(at: Any) -> list[tuple[str, str, int]]:
    """(accessible name, the caption under it, rows of its table) of every chart, in order."""
    at = open_tables(at)
    found, charts = [], at.get("plotly_chart")
    captions = [shown(c) for c in at.caption]
    tables = {d.proto.alt: len(d.value) for d in at.dataframe}
    for chart in charts:
        name = chart.proto.alt
        caption = next((c for c in captions if c.startswith(f"{name}.")), "")
        found.append((name, caption, tables.get(f"Data of the chart: {name}", 0)))
    return found


@pytest.mark.parametrize("page", PAGES)
def test_every_chart_says_what_it_shows(app_env: Path, page: str) -> None:
    at = app_test(page)
    assert not at.exception
    said = alternatives(at)
    assert len(said) >= PAGES[page], said
    for name, caption, rows in said:
        kinds = r"(Line chart|Bar chart|Heatmap|Chart|Confusion matrix): \S"
        assert re.match(rf"{kinds}|\d+ \w+ images, 28 by 28|The network's reading, after ", name)
        if caption == f"{name}. It shows no data yet.":
            assert rows == 0 and page == "pages/train.py"
            continue
        assert re.search(r"\d", caption) and len(caption) > len(name) + 10, (name, caption)
        assert rows > 0, name
    assert sum(e.label == TABLE for e in at.expander) == len(said)


def test_a_keyed_chart_builds_its_table_only_while_the_panel_is_open(app_env: Path) -> None:
    at = app_test("pages/inside.py")
    assert at.get("plotly_chart") and not at.dataframe  # closed: no table was built
    alternatives(at)
    reading = [d for d in at.dataframe if d.proto.alt.startswith("Data of the chart: The network")]
    assert len(reading) == 1 and len(reading[0].value) == 28  # opened: the belief after each row


def test_a_confusion_matrix_is_read_out_with_its_mistakes(app_env: Path) -> None:
    at = app_test("pages/evaluate.py")
    ((name, caption, rows),) = [a for a in alternatives(at) if a[0].startswith("Confusion")]
    found = re.search(r"of ([\d,]+) images on the diagonal", caption)
    assert found is not None, caption
    total = int(found[1].replace(",", ""))
    assert rows == 100 and total > 0
    counts = next(d.value for d in at.dataframe if d.proto.alt == f"Data of the chart: {name}")
    assert int(counts["images"].sum()) == total
    right = int(counts[counts["true class"] == counts["predicted class"]]["images"].sum())
    assert f"({right / total:.1%} right)" in caption
