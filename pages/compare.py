"""Compare: saved runs side by side, coloured by cell family, to see what the cell changes."""

from typing import Any

import pandas as pd
import streamlit as st

from pages.parts import watch
from pages.parts.charts import show
from pages.parts.shared import SHIPPED_DIR, checkpoint_label, checkpoints, run_through_the_frame
from rnnviz.models.cells import CELLS
from rnnviz.models.orders import ORDERS
from rnnviz.plots import metrics as plots
from rnnviz.storage import comparison
from rnnviz.training.probes import Probes

run_through_the_frame()

LESSON = (
    "**What to look for.** Each colour is a cell family: the vanilla RNN in red, the LSTM in "
    "blue, the GRU in green, the bidirectional LSTM in purple. Reading an image row by row is a "
    "28-step memory task: the plain RNN learns more slowly and levels off lower, because what it "
    "read in the top rows fades by the bottom; the gates of the LSTM and GRU keep it. Switch the "
    "x-axis to seconds to see what each cell costs: the GRU has three gates to the LSTM's four, "
    "and a bidirectional layer reads every image twice."
)
TABLE_COLUMNS: dict[str, Any] = {  # column -> its title, or a column config
    "run": st.column_config.TextColumn("Run", width="medium"),
    "group": "Cell family",
    "dataset": "Dataset",
    "cell": "Cell",
    "layers": "Layers",
    "hidden": "Hidden",
    "bidirectional": "Bidirectional",
    "parameters": st.column_config.NumberColumn("Parameters", format="localized"),
    "epochs": "Epochs",
    "seconds_per_epoch": st.column_config.NumberColumn("Seconds / epoch", format="%.1f"),
    "final_val_accuracy": st.column_config.NumberColumn("Final val accuracy", format="percent"),
    "test_accuracy": st.column_config.NumberColumn("Test accuracy", format="percent"),
    "order": "Reading order",
    "lock_in_row": st.column_config.NumberColumn(
        "Locks in at row / step",
        format="%.1f",
        help="mean time step from which the answer is final: a row for the rows order, else a "
        "step of the model's order (a column, or one of 784 pixels)",
    ),
    "device": "Device",
}

st.title("Compare")
st.markdown(LESSON)

infos = {str(i.path): i for i in checkpoints()}
if not infos:
    st.info("No models yet: train one on the Train page.")
    st.stop()
if "compare_runs" in st.session_state:  # runs deleted or renamed since drop out quietly
    st.session_state["compare_runs"] = [p for p in st.session_state["compare_runs"] if p in infos]
shipped = [p for p, i in infos.items() if i.path.parent == SHIPPED_DIR]
chosen = st.multiselect(
    "Runs",
    list(infos),
    default=shipped or list(infos)[:4],
    format_func=lambda p: checkpoint_label(infos[p]),
    key="compare_runs",
    placeholder="Choose runs to compare",
)
if not chosen:
    st.info("Choose one or more runs above.")
    st.stop()

runs = comparison.sort_runs(infos[p] for p in chosen)
if len({run.dataset for run in runs}) > 1:
    st.warning("These runs were trained on different datasets; their accuracies do not compare.")
seconds = st.toggle("Against wall-clock seconds (instead of epochs)", key="compare_seconds")
x: comparison.XAxis = "seconds" if seconds else "epoch"
x_title = "seconds of training" if seconds else "epoch"

loss_col, acc_col = st.columns(2)
with loss_col:
    st.markdown("**Training loss** (smoothed)")
    loss = comparison.loss_curves(runs, x=x)
    show(
        plots.curves_figure(loss, x_title=x_title, y_title="cross-entropy (nats)"),
        what="training loss (smoothed)",
    )
with acc_col:
    st.markdown("**Validation accuracy**")
    accuracy = comparison.accuracy_curves(runs, x=x)
    figure = plots.curves_figure(accuracy, x_title=x_title, y_title="accuracy", percent=True)
    show(figure, what="validation accuracy")
missing = len(runs) - len(accuracy)
if missing:
    st.caption(f"{missing} of the runs recorded no finished epoch, so they have no accuracy curve.")

rows = comparison.comparison_rows(runs)
table = pd.DataFrame(rows, columns=comparison.COLUMNS)
st.dataframe(table, hide_index=True, column_config=TABLE_COLUMNS, key="compare_table")
st.download_button(
    "Download table (CSV)",
    data=comparison.rows_to_csv(rows),
    file_name="rnnviz-comparison.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
)

watched = {checkpoint_label(r): r for r in runs if Probes.from_dict(r.record.probes)}
st.markdown("**How a run learned: its probe images, replayed**")
if not watched:
    st.caption("None of these runs recorded probe images (runs trained before probes existed).")
else:
    label = st.selectbox("Run", list(watched), key="compare_probes_run")
    record = watched[label].record
    cell = CELLS[record.config.model.cell]
    lanes = [(cell.tag, cell.color, Probes.from_dict(record.probes))]
    step = ORDERS[record.config.model.order].step_name
    watch.probes_section(lanes, record.class_names, key="compare_probes", replay=True,
                         step_name=step)  # fmt: skip
