"""AppTest tests of the class as one experiment: joining a run, a finished run offered, the Class
page, the teacher key and a class sweep, each with several owners (as several browsers are)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from rnnviz.classroom import register
from rnnviz.classroom.board import TABLE
from rnnviz.classroom.sweeps import new_sweep
from rnnviz.classroom.urlstate import run_from_params
from rnnviz.storage.checkpoints import list_checkpoints
from tests.conftest import app_test, shown, tables
from tests.saved import save_small
from tests.test_app_train import TINY, button, run_until

LONG = {**TINY, "epochs": "60"}  # still running while a second student presses Start
KEY = "a key for this test only"
ANN, BOB, CY, TEACH = "a" * 16, "b" * 16, "c" * 16, "d" * 16  # owner ids, as cookies make them


def pages_job_manager() -> Any:
    from pages.parts import shared

    return shared.job_manager()


def texts(at: Any) -> str:
    return " ".join(shown(e) for kind in ("caption", "info", "success", "warning", "markdown")
                    for e in getattr(at, kind))  # fmt: skip


def test_a_second_start_of_the_same_run_joins_it_and_stop_leaves_it(app_env: Path) -> None:
    ann = app_test("pages/train.py", query=LONG, owner=ANN)
    button(ann, "Start training").click().run()
    bob = app_test("pages/train.py", query=LONG, owner=BOB)
    button(bob, "Start training").click().run()
    assert not bob.exception
    assert "You joined a run started by 1 other" in texts(bob)
    jobs = pages_job_manager().jobs()
    assert len(jobs) == 1 and jobs[0].watchers == 2  # trained once for both
    assert button(bob, "Pause").disabled  # nobody steers a shared run alone
    ann.run()
    assert "1 other joined this run" in texts(ann)
    button(bob, "Stop").click().run()  # bob leaves; the run goes on for ann
    snap = pages_job_manager().jobs()[0]
    assert snap.active and snap.watchers == 1
    button(ann, "Stop").click().run()
    run_until(ann, lambda at: not pages_job_manager().jobs()[0].active)


def test_a_joined_run_ends_as_each_students_own_model(app_env: Path) -> None:
    query = {**TINY, "epochs": "3"}
    ann = app_test("pages/train.py", query=query, owner=ANN)
    button(ann, "Start training").click().run()
    bob = app_test("pages/train.py", query=query, owner=BOB)
    button(bob, "Start training").click().run()
    run_until(bob, lambda at: bool(at.success))
    ann.run()
    mine, theirs = list_checkpoints(app_env / ANN), list_checkpoints(app_env / BOB)
    assert len(mine) == 1 and len(theirs) == 1 and len(pages_job_manager().jobs()) == 1
    assert mine[0].record.test_accuracy == theirs[0].record.test_accuracy
    assert "now selected" in texts(bob)


def test_a_finished_run_is_offered_and_can_be_trained_again(app_env: Path) -> None:
    query = {**TINY, "epochs": "1"}
    ann = app_test("pages/train.py", query=query, owner=ANN)
    button(ann, "Start training").click().run()
    run_until(ann, lambda at: bool(at.success))
    cy = app_test("pages/train.py", query=query, owner=CY)
    button(cy, "Start training").click().run()
    assert "This exact run already finished on this server" in texts(cy)
    assert len(pages_job_manager().jobs()) == 1  # nothing queued yet
    button(cy, "Use this model").click().run()
    assert not cy.exception and "Using" in texts(cy)
    assert len(list_checkpoints(app_env / CY)) == 1  # ann's model, copied as cy's own
    button(cy, "Start training").click().run()
    button(cy, "Train it again anyway").click().run()
    button(cy, "Start training").click().run()
    assert len(pages_job_manager().jobs()) == 2


def test_the_class_page_without_a_teacher_is_read_only(app_env: Path) -> None:
    at = app_test("pages/class.py", owner=ANN)
    assert not at.exception and at.title[0].value == "Class"
    assert "read-only" in texts(at) and "No runs yet" in texts(at)
    assert "Start a class" not in [b.label for b in at.button]
    assert "You are **Student 1** in this class" in texts(at)


def test_the_teacher_key_unlocks_the_controls_in_that_browser_only(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(register.TEACHER_KEY_ENV, KEY)
    at = app_test("pages/class.py", owner=TEACH)
    at.text_input(key="teacher_key").input("a guess")
    button(at, "Unlock").click().run()
    assert "That is not the teacher key." in texts(at)
    assert "Start a class" not in [b.label for b in at.button]
    at.text_input(key="teacher_key").input(KEY)
    button(at, "Unlock").click().run()
    assert "Start a class" in [b.label for b in at.button]
    assert not any(KEY in str(v) for v in at.query_params.values())  # never in a URL
    student = app_test("pages/class.py", owner=ANN)
    assert "Start a class" not in [b.label for b in student.button]
    assert not [b for b in student.button if b.label.startswith("Stop every job")]


def test_a_class_sweep_hands_each_student_the_next_value_and_fills_the_page(
    app_env: Path,
) -> None:
    base, _ = run_from_params({**TINY, "epochs": "1"})
    sweep = new_sweep("hidden", "8, 16, 24", base)
    register.add_sweep(app_env, sweep)
    parts = {}
    for owner in (ANN, BOB, CY, ANN):
        at = app_test("pages/train.py", query={"sweep": sweep.id}, owner=owner)
        assert not at.exception
        parts[owner] = next(s for s in texts(at).split(". ") if "class sweep" in s)
        if owner != ANN or len(parts) < 3:
            button(at, "Start training").click().run()
            run_until(at, lambda at: bool(at.success))
    assert "hidden 8" in parts[ANN] and "hidden 16" in parts[BOB]
    assert "hidden 24" in parts[CY]  # and ann, back again, keeps hidden 8
    board = app_test("pages/class.py", owner=BOB)
    assert not board.exception
    table = tables(board)[0].value
    assert len(table) == 3 and sorted(table["hidden"]) == [8, 16, 24]
    charts = [c for c in board.get("plotly_chart")]
    assert len(charts) == 2  # everyone's runs, and the sweep
    assert (
        "Class sweep of" in charts[1].proto.spec and "3 runs, 3 of 3 values" in charts[1].proto.spec
    )


def test_the_class_table_fits_a_phone_and_shows_a_dash_where_a_run_has_no_number(
    app_env: Path, tiny_checkpoints: Path
) -> None:
    save_small(app_env / BOB, "stopped early", status="stopped")  # no test accuracy
    at = app_test("pages/class.py", owner=ANN)
    assert not at.exception and not at.get("plotly_chart")  # nothing scored: no empty chart
    assert "No run has a test accuracy yet" in texts(at)
    shutil.copytree(tiny_checkpoints / "gru-digits", app_env / CY / "gru-digits")
    at.run()
    table = tables(at)[0]
    assert list(table.proto.column_order) == list(TABLE) == [
        "student", "cell", "hidden", "test_accuracy", "status"]  # fmt: skip
    assert table.proto.placeholder == "–"  # a missing number reads as a dash, not "None"
    assert json.loads(table.proto.columns)["test_accuracy"]["label"] == "test acc."
    rows = table.value.set_index("status")
    assert list(rows["cell"]) == ["GRU", "GRU"]  # short names
    assert rows.loc["done", "test_accuracy"] > 0.1 and rows["test_accuracy"].isna()["stopped"]
    assert len(at.get("plotly_chart")) == 1  # the one scored run, on the scatter
    at.toggle(key="class_every_column").set_value(True).run()
    assert list(tables(at)[0].proto.column_order) == []  # every column, as in the CSV
    assert not re.search(r"\bNone\b|\bnan\b", texts(at))


def test_an_empty_class_sweep_reads_0_to_100_percent(app_env: Path) -> None:
    base, _ = run_from_params({**TINY, "epochs": "1"})
    register.add_sweep(app_env, new_sweep("hidden", "8, 16", base))
    at = app_test("pages/class.py", owner=ANN)
    assert not at.exception and "No runs yet" in texts(at)
    (chart,) = at.get("plotly_chart")
    layout = json.loads(chart.proto.spec)["layout"]
    assert layout["yaxis"]["range"] == [0, 1.02] and "0 runs, 0 of 2 values" in chart.proto.spec


def _ticking_page() -> None:
    import streamlit as st

    from pages.parts.shared import rerun_after

    st.session_state["runs"] = st.session_state.get("runs", 0) + 1
    if st.session_state.get("ended"):  # each run here stands for a tick of a live timer
        rerun_after("the run", 2)


def test_a_page_whose_run_ended_reruns_once_after_its_ticks() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_ticking_page)
    at.run()
    at.session_state["ended"] = True
    at.run()
    at.run()  # two ticks showing the end while the class before it reruns
    assert at.session_state["runs"] == 3
    at.run()  # the third: the whole page again, once
    assert at.session_state["runs"] == 5
    at.run()
    assert at.session_state["runs"] == 6  # no more for the same end
