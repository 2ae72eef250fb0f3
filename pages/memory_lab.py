"""Memory lab: train small recurrent nets on tasks that need memory, and see what they keep."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import streamlit as st

from pages.parts import shared as app
from pages.parts.charts import show
from pages.parts.memory import as_job, buttons, events, finished, jobs_of, live, status, submit
from rnnviz import memory as lab
from rnnviz.common.devices import resolve_device
from rnnviz.common.settings import declared
from rnnviz.common.text import plain
from rnnviz.jobs.snapshots import JobFn
from rnnviz.memory import MAX_BITS
from rnnviz.models.cells import CELLS
from rnnviz.plots import memory as plots

app.run_through_the_frame()

DEVICE = resolve_device("auto")
NAMES = {c: CELLS[c].title for c in lab.MEMORY_CELLS} | lab.ADD_LOSSES
RECALL = ("length", "position", "min_length", "cell", "hidden_size", "steps")  # the widgets
ADD = ("bits", "loss", "cell", "hidden_size", "steps")
SIZES = [2, 5, 10]  # the hidden sizes of both sweeps over them
TABS = {"recall": "Recall the digit at position K", "add": "Add two binary numbers"}
LINKED = "memory.link"  # the link's query parameters last applied to the widgets
RECALL_LESSON = ("The network reads L random digits, one per step, and must then name the digit at "
                 "position K: its state has to carry that digit for L − K steps.")  # fmt: skip
ADD_LESSON = ("The network reads two binary numbers side by side, least significant bit first, and "
              "writes their sum bit by bit: its state has to carry the carry.")  # fmt: skip
NOTEBOOK = ("The classroom notebook reported a vanilla RNN at 16 %, 30 % and 96 % with hidden "
            "sizes 2, 5, 10 at L = 10, K = 2, trained and tested on lengths 3 to 10 (the crosses "
            "on the sweep charts).")  # fmt: skip


def load_link() -> str:
    """A link's task and settings (`?lab=recall&length=10&position=2&hidden=10`), applied to the
    widgets once per new link; the task whose tab to open."""
    params = st.query_params.to_dict()
    task, config, errors = lab.lab_from_params(params)
    if st.session_state.get(LINKED) != params:
        st.session_state[LINKED] = params
        names = RECALL if task == "recall" else ADD
        st.session_state.update({f"{task}.{name}": getattr(config, name) for name in names})
        st.session_state[f"{task}.base"] = config  # the settings that have no widget here
        if errors:
            st.warning("Ignored from the link: " + plain("; ".join(errors)))
    return task


def settings(
    prefix: str, make: type[lab.RecallConfig | lab.AddConfig], names: tuple[str, ...]
) -> Any:
    """One widget per config field, as its declaration says; the config, or None and an error.

    The settings without a widget come from the last link (`load_link`), else the defaults.
    """
    base, found = st.session_state.get(f"{prefix}.base") or make(), dict(declared(make))
    values: dict[str, Any] = {}
    for column, name in zip(st.columns(len(names)), names, strict=True):
        s, key = found[name], f"{prefix}.{name}"
        st.session_state.setdefault(key, getattr(base, name))
        if s.kind == "choice":
            values[name] = column.selectbox(s.label, list(s.options()), None,
                                            lambda k: NAMES.get(k, k), key=key,
                                            help=s.help or None)  # fmt: skip
        else:
            low, high = int(s.low or 0), int(s.high or 0)
            values[name] = int(column.number_input(s.label, low, high, key=key,
                                                   help=s.help or None))  # fmt: skip
    try:
        return replace(base, **values)
    except ValueError as err:
        st.error(f"Cannot train with these settings: {plain(err)}", icon="🚫")
        return None


def recall_job(view: str, config: lab.RecallConfig, gated: bool, seeds: int) -> tuple[str, JobFn]:
    """The job behind one of the recall tab's buttons: a training run or a sweep."""
    cells = ["rnn_tanh", "lstm", "gru"]
    if view == "hidden":
        cells = cells if gated else cells[:1]
        return "Sweep over hidden sizes", as_job(lab.sweep_hidden, cells, SIZES, config)
    if view == "seeds":
        title = f"{NAMES[config.cell]} over seeds 0 to {seeds - 1}, hidden sizes 2, 5, 10"
        return title, as_job(lab.sweep_seeds, SIZES, list(range(seeds)), config)
    if view == "distance":
        far = sorted({config.length * q // 4 for q in range(4)} | {config.length - 1})
        return f"Sweep over L − K = {far}", as_job(lab.sweep_distance, cells, far, config)
    title = f"{NAMES[config.cell]} H={config.hidden_size}, K={config.position} of L={config.length}"
    return title, as_job(lab.train_recall, config)


def spread_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A seed sweep's spread per hidden size, as the rows of a table of percentages."""
    shown = ("min", "median", "max", "mean")
    return [
        {"hidden size": size, **{k: f"{s[k]:.1%}" for k in shown}, "seeds": int(s["runs"])}
        for size, s in lab.spread(rows).items()
    ]


def recall_view(config: lab.RecallConfig | None, gated: bool, seeds: int) -> None:
    views = ("recall", "hidden", "distance", "seeds")
    if (view := buttons("recall", views, config is None)) and config:
        submit(view, [(*recall_job(view, config, gated, seeds), config.to_dict())])
    for snap in jobs_of("recall"):
        status(snap)
        show(plots.curves_figure({"": events(snap)}), key="recall.curves")
        if (run := finished(snap)) is None or not isinstance(run.config, lab.RecallConfig):
            continue
        done = run.config
        st.success(f"Test accuracy **{run.scores['test_accuracy']:.1%}** on {done.test_size} "
                   f"held-out sequences (chance 10 %) after {run.steps} steps.")  # fmt: skip
        samples = lab.recall_examples(run.build(DEVICE), done, 8, device=DEVICE)
        show(plots.recall_samples_figure(samples, done.position), key="recall.samples")
        show(plots.length_accuracy_figure(run.per_length), key="recall.lengths")
    for place, view in zip(st.columns(2), ("hidden", "distance"), strict=True):
        for snap in jobs_of(view):
            with place:
                status(snap)
                draw = (
                    plots.hidden_sweep_figure if view == "hidden" else plots.distance_sweep_figure
                )
                show(draw(plots.sweep_rows(events(snap))), key=view)
    for snap in jobs_of("seeds"):
        status(snap)
        show(plots.seed_spread_figure(plots.sweep_rows(events(snap))), key="seeds")
        if isinstance(snap.result, lab.Sweep) and snap.result.rows:
            st.table(spread_table(snap.result.rows))


def add_view(configs: list[lab.AddConfig]) -> None:
    if buttons("add", ("add",), not configs):
        title = "{} H={}, {} loss, {}-bit sums".format
        jobs = [(title(NAMES[c.cell], c.hidden_size, c.loss.upper(), c.bits), c) for c in configs]
        submit("add", [(name, as_job(lab.train_add, c), c.to_dict()) for name, c in jobs])
    snaps = jobs_of("add")
    label = {s.id: s.config["loss"].upper() if len(snaps) > 1 else "" for s in snaps}
    for snap in snaps:
        status(snap)
    if snaps:
        runs = {label[s.id]: events(s) for s in snaps}
        show(plots.curves_figure(runs), key="add.curves")
    if not (done := {label[s.id]: run for s in snaps if (run := finished(s)) is not None}):
        return
    scores = {name: run.summary() for name, run in done.items()}
    show(plots.add_scores_figure(scores), key="add.scores")
    st.markdown("**A worked example**: two numbers of your choice, added bit by bit.")
    a_col, b_col, _ = st.columns([1, 1, 3])
    a = int(a_col.number_input("a", 0, 2**MAX_BITS - 1, 173, key="add.a"))
    b = int(b_col.number_input("b", 0, 2**MAX_BITS - 1, 94, key="add.b"))
    for name, run in done.items():
        assert isinstance(run.config, lab.AddConfig)  # the add tab submits add runs only
        example = lab.add_example(run.build(DEVICE), run.config, a, b, device=DEVICE)
        show(plots.add_example_figure(example, label=name), key=f"add.example.{name}")


st.title("Memory lab")
task = load_link()
recall_tab, add_tab = st.tabs(list(TABS.values()), default=TABS[task])
with recall_tab:
    st.markdown(RECALL_LESSON)
    recall = settings("recall", lab.RecallConfig, RECALL)
    toggle_column, seeds_column = st.columns([3, 1])
    gated = toggle_column.toggle("Sweeps: LSTM and GRU next to the vanilla RNN", key="recall.gated")
    tip = "the spread trains hidden sizes 2, 5, 10 once per seed"
    seeds = int(seeds_column.number_input("Seeds for the spread", 1, 20, 5, key="recall.seed_count",
                                          help=tip))  # fmt: skip
    st.caption(NOTEBOOK)
    live(recall_view, ("recall", "hidden", "distance", "seeds"), recall, gated, seeds)
with add_tab:
    st.markdown(ADD_LESSON)
    add = settings("add", lab.AddConfig, ADD)
    both = st.toggle("Train both CE and MSE and compare them", key="add.both")
    losses = list(lab.ADD_LOSSES) if both else [add.loss] if add else []
    live(add_view, ("add",), [replace(add, loss=loss) for loss in losses] if add else [])
