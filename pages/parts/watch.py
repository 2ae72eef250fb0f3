"""Layout of a run as it learns: race curves and table, probe images and their replay, the rate.

Used by Train (live, and after the run) and Compare (any saved run's probes). Layout only: the
numbers come from `rnnviz.training.probes`, `rnnviz.jobs.races` and the job's snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import streamlit as st

from pages.parts.charts import chart
from rnnviz.common.series import ema_array
from rnnviz.common.text import plain
from rnnviz.jobs.mirror import Jobs
from rnnviz.jobs.races import MAX_LANES, RACE_CELLS, RaceRecord
from rnnviz.jobs.snapshots import JobSnapshot
from rnnviz.models.cells import CELLS
from rnnviz.models.orders import ORDERS
from rnnviz.plots import probes as plots
from rnnviz.plots.cache import LIVE
from rnnviz.plots.training import for_projector
from rnnviz.training.config import LR_SETTING, TrainConfig
from rnnviz.training.events import Probed, ProbeSet, Stepped
from rnnviz.training.history import History
from rnnviz.training.probes import Probes
from rnnviz.training.record import RunRecord

RACE_COLUMNS: dict[str, Any] = {
    "title": st.column_config.TextColumn("Model", width="medium"),
    "parameters": st.column_config.NumberColumn("Parameters", format="localized"),
    "seconds_per_epoch": st.column_config.NumberColumn("Seconds / epoch", format="%.2f"),
    "test_accuracy": st.column_config.NumberColumn("Test accuracy", format="percent"),
    "lock_in_row": st.column_config.NumberColumn("Answer locks in at row (mean)", format="%.1f"),
    "status": "Status",
}
RACE, RACE_URL = "w.race_cells", "race"  # the cells of a race; none: one model
PROBES_HELP = (
    "Eight fixed test images (four a trained model reads at once, four it is torn on) are read "
    "by the current weights about 20 times a run. The lines show the belief in each true label "
    "after every step; the right chart how much gradient reaches each input row: where it fades, "
    "the network cannot learn from those rows."
)


def probe_lanes(snap: JobSnapshot) -> list[tuple[str, str, Probes]]:
    """(label, colour, probes) per model of the job: from its record, else from its events."""
    cells = snap.config.get("race_cells") or [snap.config.get("model", {}).get("cell", "lstm")]
    if isinstance(snap.result, RaceRecord | RunRecord):
        found = _recorded_probes(snap.id, snap.result)
    else:
        events = snap.of(ProbeSet) + snap.of(Probed)
        found = [Probes.of(events, lane) for lane in range(len(cells))]
    return [(CELLS[c].tag, CELLS[c].color, p) for c, p in zip(cells, found, strict=False)]


@st.cache_resource(max_entries=32, show_spinner=False)
def _recorded_probes(job_id: str, _result: RaceRecord | RunRecord) -> list[Probes]:
    """An ended job's probes, read from its record once: every refresh of every tab that
    watched it draws them, and reading a record's probes is most of such a refresh."""
    records = _result.records if isinstance(_result, RaceRecord) else [_result]
    return [Probes.from_dict(r.probes) for r in records]


def race_cells(locked: bool, shown: bool = True) -> list[str]:
    """The cells to race (from the URL's `race=lstm,gru` on first load), or [] for one model.
    With the controls hidden (class mode) a link's race is kept and no widget is drawn."""
    if RACE not in st.session_state:
        given = st.query_params.get(RACE_URL, "")
        st.session_state[RACE] = [c for c in given.split(",") if c in RACE_CELLS][:MAX_LANES]
    if not shown:
        cells = list(st.session_state[RACE])
        return cells if len(cells) >= 2 else []
    on = st.toggle("Race several cells on the same batches", value=bool(st.session_state[RACE]),
                   disabled=locked, key="w.race_on")  # fmt: skip
    if not on:
        st.query_params.pop(RACE_URL, None)
        return []
    chosen = st.multiselect("Cells in the race (2 to 4; every other setting is shared)",
                            list(RACE_CELLS), default=None, key=RACE, max_selections=MAX_LANES,
                            format_func=lambda c: CELLS[c].title)  # fmt: skip
    if len(chosen) < 2:
        st.info("Choose at least two cells to race.")
        return []
    st.query_params[RACE_URL] = ",".join(chosen)
    return chosen


def histories(snap: JobSnapshot, lanes: int) -> list[History]:
    """Each lane's history: from the record once there is one, else folded from the events."""
    result = snap.result
    if isinstance(result, RaceRecord):
        return [History(r.history) for r in result.records]
    return [History(snap.histories.get(lane, {}), typed=True) for lane in range(lanes)]


def race_charts(snap: JobSnapshot, cells: Sequence[str], big: bool) -> None:
    """Loss (smoothed) and validation accuracy of every lane, overlaid in the cells' colours."""
    h = histories(snap, len(cells))

    def loss() -> Any:
        lanes = [
            plots.Lane(CELLS[c].tag, CELLS[c].color, x.data["step"], ema_array(x.data["loss"], 0.9))
            for c, x in zip(cells, h, strict=True)
        ]
        return plots.lanes_figure(lanes, title="Loss per step (smoothed)", x_title="step",
                                  y_title="loss")  # fmt: skip

    def val() -> Any:
        lanes = [
            plots.Lane(CELLS[c].tag, CELLS[c].color, x.data["epoch"], x.data["val_acc"])
            for c, x in zip(cells, h, strict=True)
        ]
        return plots.lanes_figure(lanes, title="Validation accuracy per epoch", x_title="epoch",
                                  y_title="accuracy", percent=True)  # fmt: skip

    version: Hashable = (snap.id, big, snap.result is not None,
                         *(len(x.data["step"]) + len(x.data["epoch"]) for x in h))  # fmt: skip
    if snap.active:
        version = LIVE.settle(("race", snap.id, big), version, max_age=0.5)
    for column, build, name in zip(st.columns(2), (loss, val), ("loss", "val"), strict=True):
        with column:
            chart(f"race_{name}", (name, version), _sized(build, big))


def _sized(build: Callable[[], Any], big: bool) -> Callable[[], Any]:
    return (lambda: for_projector(build())) if big else build


def race_table(record: RaceRecord) -> None:
    rows = record.results()
    step = ORDERS[record.records[0].config.model.order].step_name if record.records else "row"
    columns = RACE_COLUMNS | {"lock_in_row": st.column_config.NumberColumn(
        f"Answer locks in at {step} (mean)", format="%.1f")}  # fmt: skip
    st.dataframe(rows, column_order=list(columns), column_config=columns, hide_index=True)
    st.caption(
        "Every model is saved (folders starting with race-) and is on Compare and Inside. "
        f"The lock-in {step} is where the answer stops changing, averaged over 2,000 test images."
    )


def lr_control(jobs: Jobs, snap: JobSnapshot | None, row: Any, owner: str) -> None:
    """A popover beside Pause: a new learning rate from the next step on."""
    active = snap is not None and snap.active and snap.state != "queued"
    last = snap.last(Stepped) if snap else None
    s = LR_SETTING
    low, high = float(s.low or 0), float(s.high or 0)
    planned = snap.config.get("train", {}).get("lr") if snap else None
    rate = last.lr if last else float(planned or TrainConfig().lr)
    now = min(max(rate, low), high)  # a schedule may end below the lowest rate one can set
    with row.popover("Learning rate", disabled=not active, icon=":material/speed:"):
        st.number_input("New learning rate", low, high, value=now, step=float(s.step),
                        format="%g", key="w.new_lr")  # fmt: skip
        if active:  # drawn with the row, which a step does not redraw: the live rate is below
            st.caption("The rate at each step is on the progress line below.")
        elif last:
            st.caption(f"The rate at step {last.step}, the last: {last.lr:.3g}")
        if st.button("Set learning rate", disabled=not active) and snap is not None:
            try:
                jobs.set_lr(snap.id, float(st.session_state["w.new_lr"]), owner)
            except ValueError as exc:
                st.warning(plain(exc))
            else:
                st.caption("Takes effect at the next step; marked on the loss chart.")


def probes_section(
    lanes: Sequence[tuple[str, str, Probes]],
    class_names: Sequence[str],
    *,
    key: str,
    replay: bool,
    step_name: str = "row",
    version: str | None = None,
) -> None:
    """The probes of one run (or of each lane of a race) now, or replayed with a slider. With a
    `version` (the job's id) each chart is drawn once per reading, whoever watches."""
    lanes = [lane for lane in lanes if lane[2]]
    if not lanes:
        return
    first = lanes[0][2]
    images = first.images
    assert images is not None  # a non-empty Probes has its images
    steps = [r.step for r in first.readings]
    step = steps[-1]
    if replay and len(steps) > 1:
        step = st.select_slider("Replay the probes: the weights of step", steps, value=steps[-1],
                                key=f"{key}_step")  # fmt: skip
    index = steps.index(step)
    reading, label = first.readings[index], lanes[0][0]
    if len(lanes) > 1:
        label = st.radio("Images read by", [lane[0] for lane in lanes], horizontal=True,
                         key=f"{key}_lane")  # fmt: skip
        chosen = next(lane for lane in lanes if lane[0] == label)[2]
        reading = chosen.readings[min(index, len(chosen.readings) - 1)]
    grads = [plots.Lane(name, color, range(1, len(p.readings[0].row_grads) + 1),
                        p.readings[min(index, len(p.readings) - 1)].row_grads)
             for name, color, p in lanes]  # fmt: skip
    at = (version, key, tuple(class_names), step, label, len(steps), step_name)

    def drawn(name: str) -> Hashable | None:
        return None if version is None else (name, *at)

    chart(f"{key}_images", drawn("images"),
          lambda: plots.probe_images_figure(images, reading, class_names))  # fmt: skip
    left, right = st.columns(2)
    with left:
        chart(f"{key}_belief", drawn("belief"), lambda: plots.probe_belief_figure(
            images, reading, class_names, step=step_name))  # fmt: skip
    with right:
        chart(f"{key}_grads", drawn("grads"),
              lambda: plots.row_gradient_figure(grads, step=reading.step))  # fmt: skip
    st.caption(PROBES_HELP)
