"""Starting a run from a page: the same work trains once for the whole class. Layout only.

`submit` queues a run or a race, or joins the live job with the same settings (its model is
copied into this tab's runs when it ends; `rnnviz.jobs.sharing`). `offer` is what Start shows when
a run with the same settings already finished on this server: use it at once, or train it again.
"""

from __future__ import annotations

import streamlit as st

from pages.parts import shared as app
from rnnviz.classroom import register
from rnnviz.classroom.sweeps import ClassSweep
from rnnviz.common.text import plain, shown
from rnnviz.jobs.races import RaceConfig, race_job
from rnnviz.jobs.runs import training_job
from rnnviz.jobs.sharing import copy_run, delivery, finished_match, work_key
from rnnviz.jobs.snapshots import JobSnapshot
from rnnviz.storage.checkpoints import CheckpointInfo, list_checkpoints
from rnnviz.training.config import RunConfig
from rnnviz.training.record import RunRecord, run_title

OFFER, AGAIN = "start_offer", "start_again"  # session keys: a finished match shown, its refusal
SWEEP = "start_sweep"  # session key: (sweep id, value index) this session claimed


def submit(run: RunConfig, cells: list[str], *, title: str | None = None) -> str:
    """Queue one run, or a race of `cells` on the same settings, or join the live job that is
    the same work; the job's id."""
    jobs, owner, out = app.job_manager(), app.owner_id(), app.runs_dir()
    key, deliver = work_key(run, cells=cells), delivery(out)
    if not cells:
        job = training_job(run, out=out)
        return jobs.submit(job, owner=owner, title=title or run_title(run), config=run.to_dict(),
                           key=key, deliver=deliver)  # fmt: skip
    race = RaceConfig(run, tuple(cells))
    config = {**run.to_dict(), "race_cells": list(race.cells)}
    return jobs.submit(race_job(race, out=out), owner=owner, title=race.title(), kind="race",
                       config=config, key=key, deliver=deliver)  # fmt: skip


def server_runs() -> list[CheckpointInfo]:
    """Every saved run on this server, everyone's, and the shipped models (the lessons' too)."""
    owners = [p for p in app.RUNS_DIR.iterdir() if p.is_dir()] if app.RUNS_DIR.is_dir() else []
    return list_checkpoints(*owners, app.SHIPPED_DIR, app.LESSONS_DIR)


def finished(run: RunConfig, cells: list[str]) -> CheckpointInfo | None:
    """A finished run with exactly these settings, unless this tab chose to train it again."""
    if cells or st.session_state.get(AGAIN) == work_key(run):
        return None  # a race is offered nothing: its point is the race itself
    return finished_match(run, server_runs())


def use(info: CheckpointInfo) -> RunRecord:
    """A finished run made this tab's: selected, and copied into its runs when it is another's."""
    record = info.record.with_checkpoint(str(info.path), info.name)
    mine = info.path.parent == app.runs_dir() or app.shipped(info)
    if not mine:
        record = copy_run(record, app.runs_dir())
    app.select_checkpoint(record.checkpoint or info.path)
    return record


def offer(run: RunConfig, info: CheckpointInfo) -> RunRecord | None:
    """The finished match, with Use it and Train it again anyway; the record once used."""
    acc = info.record.test_accuracy
    score = f", test accuracy **{acc:.2%}**" if acc is not None else ""
    st.info(
        f"This exact run already finished on this server: **{plain(info.record.title)}**{score}, "
        f"{info.record.seconds:.0f} s of training. Use its model at once, or train it again.",
        icon=":material/history:",
    )
    row = st.container(horizontal=True)
    if row.button("Use this model", type="primary", key="offer_use"):
        try:
            return use(info)
        except ValueError as exc:  # no room for another saved run
            st.warning(plain(exc), icon=":material/front_hand:")
    if row.button("Train it again anyway", key="offer_again"):
        st.session_state[AGAIN] = work_key(run)
        st.session_state.pop(OFFER, None)
        st.rerun()
    return None


def shared_note(snap: JobSnapshot) -> None:
    """Says so when other people watch the same run: joined, or joined by others."""
    others = snap.watchers - 1
    people = f"{others} other" + ("s" if others != 1 else "")
    if snap.joined:
        st.caption(f"You joined a run started by {people}: it trains once for all of you, and "
                   "its model is yours when it ends. Stop leaves it to the others.")  # fmt: skip
    elif others:
        st.caption(f"{people.capitalize()} joined this run: it trains once for all of you. "
                   "Pause and the learning rate are off while others watch.")  # fmt: skip


def sweep_part() -> tuple[ClassSweep, int] | None:
    """This student's part of the class sweep a `?sweep=ID` link names (claimed once a session;
    the same value again for the same browser), or None without one; a warning for a link to an
    unknown or ended sweep."""
    sweep_id = st.query_params.get("sweep")
    if not sweep_id:
        return None
    claimed = st.session_state.get(SWEEP)
    if claimed and claimed[0] == sweep_id:
        sweep = register.read(app.RUNS_DIR).sweep(sweep_id)
        if sweep is not None:
            return sweep, claimed[1]
    part = register.claim(app.RUNS_DIR, sweep_id, app.owner_id())
    if part is None:
        st.warning(f"sweep={shown(sweep_id)} is not an open class sweep: the settings are yours.")
        return None
    st.session_state[SWEEP] = (sweep_id, part[1])
    return part
