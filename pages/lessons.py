"""Lessons: each notebook as a short walk: run its experiment, open the pages, compare figures."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages.parts import lessons as ui
from pages.parts import shared as app
from rnnviz.common.devices import resolve_device
from rnnviz.common.text import plain
from rnnviz.lessons import (
    LESSONS,
    cpu_note,
    experiment_title,
    lesson_from_param,
    lesson_models,
)

app.run_through_the_frame()

PICK, SHOWN = "lesson_pick", "lesson_shown"  # the chooser, and the lesson the URL last named


def choose() -> int:
    """The lesson to show: the URL's `?lesson=N` when it names a new one, else the chooser's (or,
    back from another page, which drops the chooser's state, the lesson shown last)."""
    given, problem = lesson_from_param(st.query_params.get("lesson"))
    if problem:
        st.warning(f"Ignored from the link: {plain(problem)}")
    if given is not None and st.session_state.get(SHOWN) != given.number:
        st.session_state[PICK] = given.number
    elif PICK not in st.session_state and SHOWN in st.session_state:
        st.session_state[PICK] = st.session_state[SHOWN]  # back from a step's page: the same one
    number = st.selectbox("Lesson", list(LESSONS), key=PICK,
                          format_func=lambda n: f"Lesson {n}: {LESSONS[n].title}")  # fmt: skip
    st.session_state[SHOWN] = number
    st.query_params["lesson"] = str(number)
    return number


st.title("Lessons")
lesson = LESSONS[choose()]
device_type = resolve_device("auto").type
st.header(f"Lesson {lesson.number}: {lesson.title}")
st.caption(plain(lesson.source))
st.markdown(lesson.teaches)

st.subheader("1 · Run the experiment")
for experiment in lesson.experiments:
    st.markdown(f"- {plain(experiment_title(experiment, device_type))}")
    if device_type == "cpu" and experiment.shrinks_on_cpu:
        st.caption(plain(cpu_note(experiment)))
if lesson.spread is not None:
    sizes = ", ".join(str(h) for h in lesson.spread_sizes)
    st.markdown(f"- the Memory lab's recall at the notebook's setting, hidden sizes {sizes}, "
                f"{len(lesson.spread_seeds)} seeds each")  # fmt: skip
ui.run_button(lesson, device_type)
ui.live_status(lesson)

st.subheader("2 · Look at what it learned")
models = lesson_models(lesson, app.checkpoints())
for number, step in enumerate(lesson.steps, start=1):
    st.markdown(f"**{number}.** {plain(step.text)}")  # the button under it: beside it, a
    ui.step_button(lesson, step, models, device_type, key=f"step_{lesson.number}_{number}")
    # tablet's half page cut its label short

st.subheader("3 · The reported figures beside this run's")
rows = [r.row() for r in ui.results(lesson)]
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
if any(r["this run"] == "-" for r in rows):
    st.caption("A '-' under 'this run' fills in when the lesson's runs finish.")

st.subheader("4 · Questions")
for number, question in enumerate(lesson.questions, start=1):
    st.markdown(f"{number}. {question}")
