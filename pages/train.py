"""Train: pick a preset or every setting, start a run (or a race of cells), and watch it learn."""

from __future__ import annotations

import functools
import os
from collections.abc import Hashable
from dataclasses import replace
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAPIException

from pages.parts import resume, start, watch
from pages.parts import shared as app
from pages.parts.charts import chart, show
from rnnviz.classroom import urlstate
from rnnviz.classroom.stagger import settle_ticks
from rnnviz.common.cputime import CPU_LOG
from rnnviz.common.devices import resolve_device
from rnnviz.common.text import plain
from rnnviz.data.datasets import DATASETS, dataset_available, default_dataset
from rnnviz.jobs.races import RaceRecord, race_pace
from rnnviz.jobs.snapshots import JobSnapshot
from rnnviz.models.orders import ORDERS
from rnnviz.plots import training as plots
from rnnviz.plots.cache import LIVE
from rnnviz.training.admission import admit
from rnnviz.training.config import RunConfig
from rnnviz.training.events import Started, Stepped
from rnnviz.training.history import History
from rnnviz.training.presets import PRESETS, first_run
from rnnviz.training.record import RunRecord

app.run_through_the_frame()

JOB, VALUES, WRITTEN, ADOPTED = "train_job", "train_values", "train_params", "train_adopted"
USED = "train_used"  # a finished run with the same settings, used instead of training it


def fill(values: dict[str, Any]) -> None:
    st.session_state[VALUES] = values
    st.session_state.update({f"w.{key}": value for key, value in values.items()})


def load_url() -> None:
    """Settings from the URL on first load, or when a link (Home's button) brought new ones.

    A URL with no settings but the dataset starts from that dataset's quick preset for this
    machine's device, so a first Start teaches well; changing the Dataset later changes only it.
    """
    given = {k: v for k, v in st.query_params.to_dict().items() if k in urlstate.PARAM_KEYS}
    if VALUES in st.session_state and given in ({}, st.session_state.get(WRITTEN)):
        return
    given = {"dataset": default_dataset(app.data_dir()), **given}
    if set(given) == {"dataset"} and given["dataset"] in DATASETS:
        first = first_run(given["dataset"], resolve_device("auto").type)
        given = {**urlstate.run_to_params(first.run), **given}
        st.session_state["w.preset"] = first.key  # its caption says what a first Start reaches
    run, errors = urlstate.run_from_params(given)
    fill(urlstate.values_of(run))
    if errors:
        st.warning("Ignored from the link: " + plain("; ".join(errors)))


def write_url(run: RunConfig) -> None:
    for key, value in urlstate.param_changes(st.query_params.to_dict(), run).items():
        if value is None:
            del st.query_params[key]
        else:
            st.query_params[key] = value
    st.session_state[WRITTEN] = urlstate.run_to_params(run)


def dataset_title(key: str) -> str:
    here = dataset_available(key, app.data_dir())
    return f"✓ {DATASETS[key].title}" if here else f"{DATASETS[key].title} (download)"


def widget(f: urlstate.Field) -> None:
    key, s = f"w.{f.key}", f.setting
    st.session_state.setdefault(key, st.session_state[VALUES][f.key])
    tip, lo, hi = s.help or None, s.low or 0, s.high or 0
    if s.kind == "choice":
        names = s.options()
        fmt = dataset_title if f.key == "dataset" else names.__getitem__
        st.selectbox(s.label, list(names), key=key, format_func=fmt, help=tip)
    elif s.kind == "bool":
        st.toggle(s.label, key=key, help=tip)
    elif s.kind == "int":
        st.number_input(s.label, int(lo), int(hi), step=int(s.step), key=key, help=tip)
    else:
        lo, hi, step = float(lo), float(hi), float(s.step)
        st.number_input(s.label, lo, hi, step=step, key=key, help=tip, format="%g")


def latest_job() -> JobSnapshot | None:
    """This tab's job, else the newest of this owner's runs and races, with its events."""
    jobs, owner = app.job_manager(), app.owner_id()
    mine = [s.id for s in jobs.jobs(owner, events=False) if s.kind in ("train", "race")]
    chosen = [i for i in mine if i == st.session_state.get(JOB)]
    return jobs.snapshot((chosen or mine)[-1], owner) if mine else None  # oldest first


def record_of(snap: JobSnapshot) -> RunRecord | None:
    return snap.result if isinstance(snap.result, RunRecord) else None


def status(snap: JobSnapshot) -> None:
    step, started = snap.last(Stepped), snap.last(Started)
    if snap.kind == "race":
        step = race_pace(snap.kept(Stepped), len(snap.config.get("race_cells") or []) or None)
    device, record = started.device if started else "", record_of(snap)
    epochs = snap.config.get("train", {}).get("epochs", "?")
    if snap.state == "queued":
        st.info(f"{plain(snap.message)}: it starts when the jobs ahead of it finish.")
    elif snap.active:  # message: "running", "paused" or "stopping"
        text = f"{snap.message}: loading the data and building the model"
        if step:
            eta = int(step.eta_s)
            text = f"{snap.message} · epoch {step.epoch}/{epochs} · step {step.step}/"
            text += f"{step.total_steps} · lr {step.lr:.3g} · "
            text += f"{step.samples_per_s:,.0f} samples/s · ETA {eta // 60}:{eta % 60:02d}"
            text += " · scoring the test set" if step.step == step.total_steps else ""
        st.progress(snap.progress, text=f"{text} · {device or app.device_label()}")
    elif snap.state == "failed":
        st.error(f"The run failed: {plain(snap.message)}", icon="⚠️")
    elif isinstance(snap.result, RaceRecord):
        best = snap.result.best()
        say = st.success if snap.state == "done" else st.warning
        top = f"{best.test_accuracy:.2%}" if best and best.test_accuracy is not None else "-"
        say(f"Race {snap.state}: {plain(snap.message)}. Best: **{best.title if best else '-'}** "
            f"at **{top}**, now selected in the sidebar.")  # fmt: skip
    elif record is None or not record.checkpoint:
        st.warning(f"{snap.state.capitalize()}: {plain(snap.message)}.")
    else:
        say = st.success if snap.state == "done" else st.warning
        acc, name = record.test_accuracy or 0.0, os.path.basename(record.checkpoint)
        text = f"{snap.state.capitalize()} after {record.seconds:.0f} s on {device}"
        text += f"{record.on_worker}: "
        text += f"{snap.message}. Test accuracy **{acc:.2%}**"
        say(f"{text}; the model `{name}` is now selected in the sidebar.")


def curve_figure(name: str, record: RunRecord | None, history: History | None, big: bool) -> Any:
    """The run's "loss" or "accuracy" figure: from its record once it has one, else its history."""
    c = plots.curves([], record, history)
    if name == "loss":
        fig = plots.loss_figure(c.steps, c.losses, lr_changes=(c.lr_steps, c.lr_values),
                                resumed=c.resume_steps)  # fmt: skip
    else:
        fig = plots.accuracy_figure(c.epochs, c.train_acc, c.val_acc)
    return plots.for_projector(fig) if big else fig


def charts_of(record: RunRecord, big: bool) -> None:
    """A finished run's curves, replayed from its history."""
    for place, name in zip(st.columns(2), ("loss", "accuracy"), strict=True):
        with place:
            show(curve_figure(name, record, None, big), key=f"chart_{name}")


def charts(snap: JobSnapshot | None, big: bool) -> None:
    """The run's curves; empty ones before any run, so the browser loads its chart code early.
    Each is drawn once per new step or epoch whoever watches, and while the run trains at most
    twice a second (`LIVE`): every other refresh of every tab replays a drawn chart."""
    record = record_of(snap) if snap else None
    history = History(snap.histories.get(0, {}), typed=True) if snap else None
    h = history.data if history else {}
    made = (snap.id if snap else "", record is not None, big)
    versions: dict[str, Hashable] = {
        "loss": (*made, *(len(h.get(k, ())) for k in ("step", "lr_step", "resume_step"))),
        "accuracy": (*made, len(h.get("epoch", ()))),  # new only once an epoch
    }
    if snap is not None and snap.active:  # a new version each step: tabs share one a moment
        versions["loss"] = LIVE.settle(("loss", snap.id, big), versions["loss"], max_age=0.5)
    for place, name in zip(st.columns(2), ("loss", "accuracy"), strict=True):
        with place:
            chart(f"chart_{name}", (name, versions[name]),
                  functools.partial(curve_figure, name, record, history, big))  # fmt: skip
    if record and record.test_metrics and snap and snap.state in ("done", "stopped"):
        metrics = record.test_metrics.to_dict()["per_class"]

        def per_class() -> Any:
            fig = plots.per_class_figure(metrics)
            return plots.for_projector(fig) if big else fig

        with st.container():
            chart("chart_per_class", ("per_class", snap.id, big), per_class)


CONTROLS = "train_controls"  # what the row of buttons was last drawn for (`row_state`)


def row_state(snap: JobSnapshot | None) -> tuple[str, bool, bool]:
    """What the row of buttons shows for this tab's job: its id, whether it is paused, and
    whether this tab steers it (running, and watched by nobody else)."""
    if snap is None:
        return "", False, False
    return snap.id, snap.state == "paused", snap.active and snap.watchers == 1


def controls(run: RunConfig, cells: list[str], blocked: bool, big: bool) -> None:
    """The row of buttons, then the run they act on, live (`live`): a fragment of its own, so
    a press of Start, Pause or Stop redraws only this, and the live view's timer (about once a
    second) redraws only the view, not the buttons, which change with the run's state alone."""
    jobs, snap = app.job_manager(), latest_job()
    active = snap is not None and snap.active
    row = st.container(horizontal=True)
    label = "Start race" if cells else "Start training"
    key, match = start.work_key(run, cells=cells), None
    clicked = row.button(label, type="primary", disabled=blocked or active)
    if clicked:
        st.session_state[start.OFFER] = key
        if (match := start.finished(run, cells)) is None:
            try:
                st.session_state[JOB] = start.submit(run, cells)
            except ValueError as exc:  # JobRefused, or no room for another saved run
                st.warning(plain(exc), icon=":material/front_hand:")
            else:
                st.session_state.pop(start.OFFER, None)
                st.session_state.pop(USED, None)
                redraw()  # the buttons for the new run, and its view ticking from now on
    job_id, paused, steer = st.session_state[CONTROLS] = row_state(snap)
    owner = app.owner_id()
    if not big:
        act = jobs.resume if paused else jobs.pause
        row.button("Resume" if paused else "Pause", on_click=act, args=[job_id, owner],
                   disabled=not steer)  # fmt: skip
    row.button("Stop", on_click=jobs.cancel, args=[job_id, owner], disabled=not active)
    if not big:
        watch.lr_control(jobs, None if snap and snap.watchers > 1 else snap, row, owner)
        with row:
            resume.train_on(watch_job, disabled=active)
    if st.session_state.get(start.OFFER) == key and not active and not clicked:
        match = start.finished(run, cells)  # the offer shown by an earlier run of this view
    if match is not None:
        if (used := start.offer(run, match)) is not None:
            st.session_state.pop(start.OFFER, None)
            st.session_state[USED] = used
            st.rerun()
        return
    if (used := st.session_state.get(USED)) is not None and (snap is None or not active):
        st.success(f"Using **{plain(used.title)}**, trained before with the same settings: its "
                   "model is selected in the sidebar, and its curves are below.")  # fmt: skip
        charts_of(used, big)
        return
    if snap is None:
        st.caption(f"Nothing trained yet in this tab. Training runs on: {app.device_label()}.")
        charts(None, big)
        return
    st.fragment(live, run_every=app.live_every(1.0) if active else None)(big, active)


def redraw() -> None:
    """This fragment again, where the press came from one; else (a whole-page run) the page."""
    try:
        st.rerun(scope="fragment")
    except StreamlitAPIException:
        st.rerun()


def live(big: bool, ticking: bool) -> None:
    with CPU_LOG.measure("train.live"):  # what each watching tab's refresh costs the server
        live_view(big, ticking)


def live_view(big: bool, ticking: bool) -> None:
    """The run's title, state, curves and probes. A change the buttons above must show (another
    student joined, or the run ended) reruns the page: its buttons, and its sidebar's model."""
    snap = latest_job()
    if snap is None:
        return
    active = snap.active
    st.markdown(f"**{plain(snap.title)}**")
    status(snap)
    start.shared_note(snap)
    cells_raced = snap.config.get("race_cells") or []
    if snap.state != "queued" and cells_raced:  # a queued run has nothing to draw yet
        watch.race_charts(snap, cells_raced, big)
        if isinstance(snap.result, RaceRecord):
            watch.race_table(snap.result)
    elif snap.state != "queued":
        charts(snap, big)
    names = DATASETS[snap.config.get("data", {}).get("dataset", "mnist")].class_names
    order = ORDERS[snap.config.get("model", {}).get("order", "rows")]
    watch.probes_section(watch.probe_lanes(snap), names, key="train_probes", replay=not active,
                         step_name=order.step_name, version=snap.id)  # fmt: skip
    adopt = not active and st.session_state.get(ADOPTED) != snap.id
    if adopt:
        st.session_state[ADOPTED] = snap.id
        record = snap.result.best() if isinstance(snap.result, RaceRecord) else record_of(snap)
        if record and record.checkpoint:
            app.select_checkpoint(record.checkpoint)
    if not ticking and (active or adopt):
        st.rerun()  # once: to tick while it runs, or for the sidebar to select the new model
    elif ticking and not active:  # ended since the page last ran whole: rerun it, class-spread
        app.rerun_after(("train", snap.id), settle_ticks(snap.watchers, snap.place))
    elif ticking and row_state(snap) != st.session_state.get(CONTROLS):
        st.rerun()  # someone joined (or left) this run: its Pause and rate are on or off now


def watch_job(job_id: str) -> None:
    """Make `job_id` the job this tab watches, from the whole page's next run on."""
    st.session_state[JOB] = job_id
    st.session_state.pop(start.OFFER, None)
    st.session_state.pop(USED, None)
    st.rerun()


def use_preset() -> None:
    if key := st.session_state["w.preset"]:
        fill(urlstate.values_of(PRESETS[key].run))


st.title("Train")
load_url()
resume.interrupted(watch_job)  # runs a stopped server left: first thing their owner sees
lecture, locked = app.class_mode(), app.controls_locked()
if (part := start.sweep_part()) is not None:  # the class sweep fixes every setting but one
    sweep, index = part
    fill(urlstate.values_of(sweep.run_for(index)))
    st.info(f"Your part of the class sweep: **{plain(sweep.label(index))}**; the rest of the "
            "run is the same for everyone. Start it, then see the class's results on Class.",
            icon=":material/groups:")  # fmt: skip
    lecture, locked = True, True
else:
    hint = "Choose a preset: a seed experiment and the test accuracy it reported"
    preset = st.selectbox("Preset", list(PRESETS), index=None, key="w.preset",
                          on_change=use_preset, placeholder=hint,
                          format_func=lambda k: PRESETS[k].describe())  # fmt: skip
    if preset:
        st.caption(PRESETS[preset].lesson)
show_all = not lecture or (not locked and st.toggle("Show all controls"))
if show_all:
    for column, group in zip(st.columns(len(urlstate.GROUPS)), urlstate.GROUPS, strict=True):
        with column.expander(group, expanded=True):  # on a phone, a thumb folds away the rest
            for f in (f for f in urlstate.FIELDS if f.setting.group == group):
                widget(f)
    st.session_state[VALUES] = {f.key: st.session_state[f"w.{f.key}"] for f in urlstate.FIELDS}
run, errors = urlstate.run_from_values(st.session_state[VALUES])
run = replace(run, data=replace(run.data, data_dir=app.data_dir()))
try:
    admit(run, resolve_device(run.train.device))  # refused here, before anything is allocated
except ValueError as exc:
    errors.append(str(exc))
for error in errors:
    st.error(f"Cannot start with these settings: {plain(error)}", icon="🚫")
if not errors:
    write_url(run)
cells = watch.race_cells(locked, shown=show_all)
st.fragment(controls)(run, cells, bool(errors), lecture)
