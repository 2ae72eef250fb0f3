"""The Lessons page's parts: queue a lesson's runs, follow them, and open a step's page."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from pages.parts import shared as app
from pages.parts import watch
from rnnviz.classroom import urlstate
from rnnviz.classroom.stagger import settle_ticks
from rnnviz.common.text import plain
from rnnviz.jobs.sharing import delivery
from rnnviz.lessons import (
    PAGES,
    Lesson,
    Result,
    Step,
    lesson_jobs,
    lesson_results,
    saved_spread,
    spread_config,
)
from rnnviz.memory import Sweep
from rnnviz.storage.checkpoints import CheckpointInfo

JOBS = "lesson_jobs"  # lesson number -> the ids of the jobs its last click queued


def _job_ids(lesson: Lesson) -> list[str]:
    return list(st.session_state.get(JOBS, {}).get(lesson.number, []))


def _snapshots(lesson: Lesson) -> list:
    jobs = app.job_manager()
    owner = app.owner_id()
    return [s for s in (jobs.snapshot(i, owner) for i in _job_ids(lesson)) if s is not None]


def run_button(lesson: Lesson, device_type: str) -> None:
    """ "Run this lesson": queue every experiment of the lesson as a job of this tab's."""
    busy = any(s.active for s in _snapshots(lesson))
    icon = ":material/play_arrow:"
    if not st.button("Run this lesson", type="primary", icon=icon, disabled=busy):
        return
    jobs, owner, ids = app.job_manager(), app.owner_id(), []
    deliver = delivery(app.runs_dir())  # a job another student started is joined, not repeated
    try:
        for job in lesson_jobs(lesson, device_type=device_type, out=app.runs_dir(),
                               data_dir=app.data_dir()):  # fmt: skip
            ids.append(jobs.submit(job.fn, owner=owner, title=job.title, kind=job.kind,
                                   config=job.config, key=job.key, deliver=deliver))  # fmt: skip
    except ValueError as exc:  # JobRefused, or no room for the models
        st.warning(f"Not all of the lesson was queued: {plain(exc)}", icon=":material/front_hand:")
    if ids:
        st.session_state.setdefault(JOBS, {})[lesson.number] = ids
        st.rerun()


def live_status(lesson: Lesson) -> None:
    """The lesson's jobs as progress bars, refreshed while any runs; the page redraws whenever
    one ends, so the steps and figures find its new model."""
    snaps = _snapshots(lesson)
    ended = sum(not s.active for s in snaps)
    active = len(snaps) > ended
    st.fragment(_status, run_every=app.live_every(1.0) if active else None)(lesson, ended)


def _status(lesson: Lesson, ended_before: int) -> None:
    snaps = _snapshots(lesson)
    for snap in snaps:
        text = f"{plain(snap.title)} · {snap.state}"
        if snap.state == "queued" and snap.position:
            text += f" (place {snap.position} in the queue)"
        elif not snap.active:
            text += f": {plain(snap.message)}"
        st.progress(min(max(snap.progress, 0.0), 1.0), text=text)
    running = [s.id for s in snaps if s.active]
    if running and st.button("Stop the lesson's runs"):
        for job_id in running:
            app.job_manager().cancel(job_id, app.owner_id())
    ended = [s for s in snaps if not s.active]
    if len(ended) > ended_before:  # the whole page: its steps and figures read the new model
        app.rerun_after(("lesson", lesson.number, len(ended)),
                        max(settle_ticks(s.watchers, s.place) for s in ended))  # fmt: skip


def step_button(lesson: Lesson, step: Step, models: Mapping[str, CheckpointInfo],
                device_type: str, *, key: str) -> None:  # fmt: skip
    """The button that opens `step`'s page with its state set; disabled until its models exist."""
    missing = [m for m in step.models if m not in models] if step.page != "train" else []
    hint = "Run the lesson first: this opens the model it trains." if missing else None
    if st.button(step.label, key=key, disabled=bool(missing), help=hint):
        _open(lesson, step, models, device_type)


def _open(lesson: Lesson, step: Step, models: Mapping[str, CheckpointInfo],
          device_type: str) -> None:  # fmt: skip
    keep = {k: v for k, v in st.query_params.to_dict().items() if k == "class"}
    if step.page == "train":
        key, _, lane = step.models[0].partition(":")
        experiment = lesson.experiment(key)
        run = experiment.lanes_on(device_type)[lane]
        if "race" in step.params:  # the Train page reads its race from here once it has one
            st.session_state[watch.RACE] = step.params["race"].split(",")
            st.session_state["w.race_on"] = True
        params = urlstate.run_to_params(run) | dict(step.params)
        st.switch_page(PAGES["train"], query_params=keep | params)
    if step.page == "memory":
        st.switch_page(PAGES["memory"], query_params=keep | dict(step.params))
    chosen = [models[m] for m in step.models]
    if step.page == "compare":
        st.session_state["compare_runs"] = [str(info.path) for info in chosen]
    else:
        app.select_checkpoint(chosen[0].path)
    if step.page == "inside" and step.image is not None:
        st.session_state["inside_image"] = {"source": "test", "index": step.image}
    st.switch_page(PAGES[step.page], query_params=keep)


def results(lesson: Lesson) -> list[Result]:
    """The lesson's figures beside this machine's models' (and its recall spread: this tab's
    newest run of it, else the newest saved one, the shipped one at least)."""
    sweeps = [s.result for s in _snapshots(lesson) if isinstance(s.result, Sweep)]
    config = spread_config(lesson)
    saved = saved_spread(config, [app.runs_dir(), app.LESSONS_DIR]) if config else None
    return lesson_results(lesson, app.checkpoints(), memory=sweeps[-1] if sweeps else saved)
