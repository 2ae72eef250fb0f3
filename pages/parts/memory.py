"""The Memory lab's job plumbing: each view's jobs from the last click, its buttons, its status
and the fragment that refreshes it while a job runs."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Literal

import streamlit as st

from pages.parts import shared as app
from rnnviz import memory as lab
from rnnviz.common.text import plain
from rnnviz.jobs.snapshots import JobFn, JobRefused, JobSnapshot
from rnnviz.training import events as lab_events
from rnnviz.training.events import Event

ACTIONS = {"recall": "Start training", "hidden": "Sweep hidden sizes 2, 5, 10",
           "distance": "Accuracy against distance L − K", "seeds": "Spread over seeds",
           "add": "Start training"}  # fmt: skip


def jobs_of(view: str) -> list[JobSnapshot]:
    """This tab's jobs of one view ("recall", "hidden", ..., "add") from the last click."""
    mine = [s for s in app.job_manager().jobs(app.owner_id()) if s.config.get("view") == view]
    return [s for s in mine if s.config["batch"] == mine[-1].config["batch"]]


def busy(*views: str) -> bool:
    return any(s.active for view in views for s in jobs_of(view))


def submit(view: str, jobs: list[tuple[str, JobFn, dict[str, Any]]]) -> None:
    batch = uuid.uuid4().hex[:8]  # the jobs of one click are shown together
    try:
        for title, fn, config in jobs:
            meta = {**config, "view": view, "batch": batch}
            app.job_manager().submit(fn, owner=app.owner_id(), title=title, kind="memory",
                                     config=meta)  # fmt: skip
    except JobRefused as exc:
        st.warning(plain(exc), icon=":material/front_hand:")
        return
    st.rerun()  # the whole page, so that the live view ticks


def stop(*views: str) -> None:
    for snap in (s for view in views for s in jobs_of(view) if s.active):
        app.job_manager().cancel(snap.id, app.owner_id())


def buttons(tab: str, views: tuple[str, ...], blocked: bool) -> str | None:
    """The tab's action buttons and its Stop; the view whose button was clicked, if any."""
    row, clicked = st.container(horizontal=True), None
    for view in views:
        kind: Literal["primary", "secondary"] = "primary" if view == views[0] else "secondary"
        if row.button(
            ACTIONS[view], key=f"{tab}.{view}", type=kind, disabled=blocked or busy(view)
        ):
            clicked = view
    row.button("Stop", key=f"{tab}.stop", on_click=stop, args=views, disabled=not busy(*views))
    return clicked


def status(snap: JobSnapshot) -> None:
    if snap.state == "queued":
        st.info(f"{snap.title}: {snap.message}; it starts when the jobs ahead of it finish.")
    elif snap.active:
        st.progress(snap.progress, text=f"{snap.title}: {snap.message} · {snap.progress:.0%}")
    elif snap.state != "done":
        (st.error if snap.state == "failed" else st.warning)(f"{snap.title}: {snap.message}.")


def live(body: Callable[..., None], views: tuple[str, ...], *args: Any) -> None:
    """`body(*args)` in a fragment that refreshes every second while a job of `views` runs."""
    ticking = busy(*views)

    def view() -> None:
        body(*args)
        if busy(*views) != ticking:
            st.rerun()  # the whole page: to start or to stop ticking

    st.fragment(view, run_every=app.live_every(1.0) if ticking else None)()


def as_job(fn: Callable[..., Any], *args: Any) -> JobFn:
    """`fn(*args, device=, control=, emit=)` as a job: it ends with a MemoryRun or a Sweep."""
    return lab.MemoryJob(fn, args, "auto")


def events(snap: JobSnapshot) -> list[Event]:
    return [*snap.of(lab_events.MemoryStepped), *snap.of(lab_events.MemoryEvaluated)]


def finished(snap: JobSnapshot) -> lab.MemoryRun | None:
    return snap.result if isinstance(snap.result, lab.MemoryRun) else None
