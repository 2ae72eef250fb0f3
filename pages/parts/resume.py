"""Training on: the runs a stopped server left, and the selected model for longer. Layout only.

`interrupted` lists this person's interrupted runs (the server stopped while they trained; each
kept its last epoch's snapshot) with **Resume** (the same run goes on in its own folder) and
**Discard**. `train_on` offers the model selected in the sidebar for more epochs: a new run that
starts from its weights and optimiser state (`rnnviz.jobs.resuming`). Either hands the new job's
id to `started`, which makes it the one this tab watches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import streamlit as st

from pages.parts import shared as app
from rnnviz.common.text import plain
from rnnviz.jobs.resuming import train_on as going_on
from rnnviz.jobs.runs import training_job
from rnnviz.storage.checkpoints import CheckpointError, CheckpointInfo
from rnnviz.storage.folders import delete_checkpoint, interrupted_runs
from rnnviz.training.config import RunConfig
from rnnviz.training.record import run_title

Started = Callable[[str], None]


def interrupted(started: Started) -> None:
    """A box per interrupted run of this person's, newest first; nothing when there is none."""
    try:
        infos = interrupted_runs(app.runs_dir())
    except OSError:
        return
    for info in infos:
        with st.container(border=True, horizontal=True, vertical_alignment="center"):
            st.markdown(f"**{plain(info.name)}** was {plain(info.record.message)} when the server "
                        "stopped: its last epoch is saved.")  # fmt: skip
            if st.button("Resume", key=f"resume_{info.name}", icon=":material/play_arrow:"):
                run = going_on(info.record)
                _start(started, info, _here(run), in_place=True)
            if st.button("Discard", key=f"discard_{info.name}", icon=":material/delete:"):
                try:
                    delete_checkpoint(info.path)
                except CheckpointError as exc:
                    st.warning(plain(exc))
                else:
                    st.rerun()


def train_on(started: Started, *, disabled: bool) -> None:
    """**Train on** for the model selected in the sidebar: how many epochs in all, then go."""
    info = app.selected_info()
    if info is None or info.record.status == "interrupted":  # an interrupted one has Resume
        return
    done = len(info.record.history.get("epoch") or [])
    planned = info.record.config.train.epochs
    with st.popover("Train on", icon=":material/fast_forward:", disabled=disabled):
        st.caption(f"A new run that starts where **{plain(info.name)}** stopped (after {done} "
                   "epochs), with its weights and optimiser state; the loss chart goes on from "
                   "there.")  # fmt: skip
        epochs = st.number_input("Epochs in all", min_value=done + 1,
                                 max_value=done + max(100, planned),
                                 value=planned if done < planned else done + planned,
                                 key=f"w.train_on_epochs.{info.path}")  # fmt: skip
        if st.button("Train on", type="primary", key="train_on_go"):
            try:
                run = going_on(info.record, epochs=int(epochs))
            except ValueError as exc:
                st.warning(plain(exc))
                return
            _start(started, info, _here(run), in_place=False)


def _here(run: RunConfig) -> RunConfig:
    return replace(run, data=replace(run.data, data_dir=app.data_dir()))


def _start(started: Started, info: CheckpointInfo, run: RunConfig, *, in_place: bool) -> None:
    out = info.path.parent if in_place else app.runs_dir()
    try:
        job = training_job(run, out=out, name=info.name if in_place else None,
                           resume=Path(info.path), in_place=in_place)  # fmt: skip
        job_id = app.job_manager().submit(job, owner=app.owner_id(), title=run_title(run),
                                          config=run.to_dict())  # fmt: skip
    except ValueError as exc:  # no room for another saved run, or too many jobs
        st.warning(plain(exc), icon=":material/front_hand:")
        return
    started(job_id)
