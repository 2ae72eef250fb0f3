"""AppTest tests of the Lessons page: every lesson renders from its link, a lesson runs to the
end and its steps open their pages with the state set.

The end-to-end test adds a lesson of its own on the offline digits to the catalog, so it trains
for real in seconds; AppTest fires no `run_every` timers, so it calls `at.run()` until done.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from rnnviz.lessons import LESSONS
from tests.conftest import app_test, shown
from tests.test_lessons import tiny_lesson

PAGE = "pages/lessons.py"


def buttons(at: Any) -> dict[str, Any]:
    return {b.label: b for b in at.button}


@pytest.mark.parametrize("number", sorted(LESSONS))
def test_each_lesson_opens_from_its_link(app_env: Path, number: int) -> None:
    lesson = LESSONS[number]
    at = app_test(PAGE, query={"lesson": str(number)})
    assert not at.exception
    assert [h.value for h in at.header] == [f"Lesson {number}: {lesson.title}"]
    assert at.selectbox(key="lesson_pick").value == number
    found = buttons(at)
    assert "Run this lesson" in found and not found["Run this lesson"].disabled
    for step in lesson.steps:  # no model of this lesson exists yet, except for the Train page
        assert found[step.label].disabled == (step.page not in ("train", "memory")), step.label
    table = at.dataframe[0].value
    assert list(table["figure"]) == [f.label for f in lesson.figures]
    assert set(table["this run"]) == {"-"}
    assert " ".join(m.value for m in at.markdown).count(lesson.questions[0][:30]) == 1


def test_lesson_6_on_a_cpu_lists_its_196_step_races(app_env: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU machine lists the 784-step races")
    at = app_test(PAGE, query={"lesson": "6"})
    assert not at.exception
    listed = [shown(m) for m in at.markdown if m.value.startswith("- ")]
    assert listed[:2] == [
        "- RNN (tanh) vs LSTM 1x64, pixel by pixel at 14x14 (196 steps) (a race of 2 cells)",
        "- RNN (tanh) vs LSTM 1x64, pixels in a fixed random order at 14x14 (196 steps) (a race "
        "of 2 cells)",
    ]
    notes = [shown(c) for c in at.caption if c.value.startswith("On this CPU")]
    assert len(notes) == 2 and "at 14x14 (196 steps, not 784)" in notes[0]


def test_a_bad_link_says_so_and_shows_the_first_lesson(app_env: Path) -> None:
    at = app_test(PAGE, query={"lesson": "<script>9"})
    assert not at.exception
    assert "lesson='<script>9' is not one of [1, 2, 3, 4, 5, 6]" in shown(at.warning[0])
    assert at.header[0].value.startswith("Lesson 1:")


def test_class_mode_keeps_the_lesson_and_its_run_button(app_env: Path) -> None:
    at = app_test(PAGE, query={"lesson": "2", "class": "1"})
    assert not at.exception and at.header[0].value.startswith("Lesson 2:")
    assert "Run this lesson" in buttons(at)


def run_until_done(at: Any, seconds: float = 240) -> Any:
    deadline = time.monotonic() + seconds
    while "Stop the lesson's runs" in buttons(at) or not at.get("progress"):
        assert time.monotonic() < deadline, "the lesson's runs did not finish in time"
        assert not at.exception, at.exception[0].value
        time.sleep(0.5)
        at.run()
    return at.run()


def test_a_lesson_runs_and_its_steps_open_their_pages(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lesson = tiny_lesson()
    monkeypatch.setitem(LESSONS, lesson.number, lesson)
    at = app_test(PAGE, query={"lesson": "99"})
    assert buttons(at)["Evaluate it"].disabled
    buttons(at)["Run this lesson"].click()
    at = run_until_done(at.run())
    texts = [re.sub(r"\\(.)", r"\1", p.proto.text) for p in at.get("progress")]
    assert len(texts) == 2 and all(" · done: " in t for t in texts), texts
    assert texts[0].startswith("Lesson 99: an LSTM")
    table = at.dataframe[0].value
    assert "-" not in set(table["this run"][:3]), table
    assert table["this run"][2] in ("gru", "rnn_tanh")
    assert not buttons(at)["Compare"].disabled
    buttons(at)["Compare"].click()
    at.run()
    assert not at.exception
    chosen = at.session_state["compare_runs"]
    assert len(chosen) == 3 and all(Path(p).parent.parent == app_env for p in chosen)
    assert at.title[0].value == "Compare"


def test_a_fresh_install_reads_the_lessons_shipped_models(
    app_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rnnviz.cli import main
    from rnnviz.storage.folders import drop_state

    lesson = tiny_lesson()
    monkeypatch.setitem(LESSONS, lesson.number, lesson)
    shipped = tmp_path / "shipped"
    out = ["--out", str(shipped / "lessons"), "--ship"]
    assert main(["lesson", str(lesson.number), "--device", "cpu", *out]) == 0
    metas = list(shipped.glob("lessons/*/meta.json"))
    assert len(metas) == 3 and not list(shipped.rglob("state.safetensors"))  # shipped lean
    assert all("train_state" not in json.loads(m.read_text()) for m in metas)
    history = json.loads(metas[0].read_text())["history"]
    assert all(float(f"{v:.6g}") == v for v in history["loss"]) and history["loss"]  # 6 digits
    assert drop_state(metas[0].parent) is False  # nothing left to drop

    monkeypatch.setenv("RNNVIZ_CHECKPOINTS_DIR", str(shipped))  # a fresh install: no runs
    at = app_test(PAGE, query={"lesson": str(lesson.number)})
    assert not at.exception
    table = at.dataframe[0].value
    assert "-" not in set(table["this run"]) and "" not in set(table["seconds"])
    assert table["this run"][0].endswith(" %") and float(table["seconds"][0]) >= 0
    found = buttons(at)
    assert not any(found[step.label].disabled for step in lesson.steps)
    labels = at.sidebar.selectbox(key="sidebar_model").options
    assert len(labels) == 3 and all(label.endswith("(lesson)") for label in labels)
