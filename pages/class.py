"""Class: every run trained on this server since the class started, live, and the class sweeps."""

from __future__ import annotations

import streamlit as st

from pages.parts import shared as app
from pages.parts import teacher
from pages.parts.charts import show
from rnnviz.classroom import register
from rnnviz.classroom.board import TABLE, class_rows, scored, sweep_points, to_csv
from rnnviz.classroom.sweeps import SWEEPABLE, new_sweep
from rnnviz.classroom.urlstate import FIELDS
from rnnviz.common.text import plain
from rnnviz.data.datasets import default_dataset
from rnnviz.plots import classroom as plots
from rnnviz.training.presets import PRESETS, first_run

app.run_through_the_frame()
LABELS = {f.key: f.setting.label for f in FIELDS}
DEFAULT_VALUES = {"hidden": "4, 8, 16, 32, 64, 128", "lr": "0.0003, 0.001, 0.003, 0.01, 0.03"}
COLUMN_CONFIG = {  # short titles: the table fits a phone's width without scrolling sideways
    "test_accuracy": st.column_config.NumberColumn("test acc.", format="percent"),
    "parameters": st.column_config.NumberColumn("params", format="compact"),
    "seconds": st.column_config.NumberColumn("seconds", format="%.0f"),
    "lr": st.column_config.NumberColumn(format="%g"),
}


def names_shown() -> None:
    register.show_names(app.RUNS_DIR, bool(st.session_state["class_names"]))


def teacher_controls(reg: register.Register) -> None:
    row = st.container(horizontal=True)
    if row.button("Start a class", icon=":material/restart_alt:",
                  help="The table and charts show only the runs from now on"):  # fmt: skip
        register.start_class(app.RUNS_DIR)
        st.rerun()
    active = [s for s in app.job_manager().jobs(events=False) if s.active]
    if row.button(f"Stop every job ({len(active)})", disabled=not active):
        for snap in active:
            app.job_manager().cancel(snap.id)  # for everyone: the teacher's stop
    if app.auth_configured():
        row.toggle("Show names", value=reg.show_names, key="class_names", on_change=names_shown)
    with st.expander("Start a class sweep"):
        setting = st.selectbox("Setting to sweep", SWEEPABLE, index=SWEEPABLE.index("hidden"),
                               format_func=LABELS.__getitem__)  # fmt: skip
        values = st.text_input(
            "Its values, separated by commas",
            DEFAULT_VALUES.get(setting, ""),
            key=f"sweep_values_{setting}",
        )
        quick = first_run(default_dataset(app.data_dir()), "cpu").key
        base = st.selectbox("The rest of the run", list(PRESETS), index=list(PRESETS).index(quick),
                            format_func=lambda k: PRESETS[k].describe())  # fmt: skip
        if st.button("Start the sweep", type="primary"):
            try:
                sweep = new_sweep(setting, values, PRESETS[base].run)
            except ValueError as exc:
                st.warning(plain(exc))
            else:
                register.add_sweep(app.RUNS_DIR, sweep)
                st.rerun()


def sweeps(reg: register.Register, rows: list, teaching: bool) -> None:
    for sweep in reg.sweeps:
        if not sweep.open and not any(True for _ in sweep_points(sweep, rows)):
            continue
        st.subheader(f"Class sweep of {LABELS.get(sweep.setting, sweep.setting).lower()}")
        if sweep.open:
            st.markdown(f"Hand out this link: `/train?sweep={sweep.id}` "
                        f"({len(sweep.claims)} students have a value)")  # fmt: skip
            if teaching and st.button("End this sweep", key=f"end_{sweep.id}"):
                register.end_sweep(app.RUNS_DIR, sweep.id)
                st.rerun()
        points = sweep_points(sweep, rows)
        show(plots.sweep_figure(sweep, points), key=f"sweep_{sweep.id}")


def board(teaching: bool) -> None:
    reg = register.read(app.RUNS_DIR)
    rows = class_rows(app.RUNS_DIR, app.job_manager().jobs(events=False), reg.since(), reg.label)
    when = "since the class started" if reg.started else "in the last six hours"
    st.caption(f"{len(rows)} runs on this server {when}; refreshed every few seconds.")
    if not rows:
        st.info("No runs yet: every run a student trains appears here.")
    else:
        every = st.toggle("Every column", key="class_every_column",
                          help="Layers, learning rate, epochs, parameters and seconds as well; "
                               "the CSV always has them")  # fmt: skip
        st.dataframe([r.shown() for r in rows], hide_index=True, column_config=COLUMN_CONFIG,
                     column_order=None if every else TABLE, placeholder="–")  # fmt: skip
        st.download_button("Download the table (CSV)", to_csv(rows), "class-runs.csv", "text/csv")
        if scored(rows):
            x = st.radio("Against", list(plots.AXES), horizontal=True, key="class_x")
            show(plots.class_scatter(rows, x), key="class_scatter")
        else:
            st.caption("No run has a test accuracy yet: each appears on a chart when it ends.")
    sweeps(reg, rows, teaching)


st.title("Class")
reg = teacher.enrolled()
teaching = teacher.is_teacher(reg)
if teaching:
    teacher_controls(reg)
elif not teacher.can_teach():
    st.caption("This server has no teacher key and signs no teachers in: the page is read-only.")
st.fragment(board, run_every=app.live_every(3.0))(teaching)
