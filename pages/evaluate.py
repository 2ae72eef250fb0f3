"""Evaluate: how good the selected model is, class by class, and which test images it gets wrong."""

from functools import partial
from typing import NoReturn

import numpy as np
import pandas as pd
import streamlit as st

from pages.parts.charts import show
from pages.parts.checkpoints import manage_models
from pages.parts.shared import data_dir, run_through_the_frame, selected_checkpoint, selected_info
from rnnviz.analysis.inference import evaluate
from rnnviz.analysis.metrics import Metrics, confusion_pairs
from rnnviz.common.text import plain
from rnnviz.data.datasets import DatasetUnavailableError
from rnnviz.plots import metrics as plots
from rnnviz.storage.checkpoints import Checkpoint, CheckpointError
from rnnviz.storage.scoring import checkpoint_dataset

run_through_the_frame()

GRID = 16  # images per grid: two rows of eight
MODES = ["Random", "Least confident"]  # gallery: a random sample, or the worst misses
PERCENT = st.column_config.NumberColumn(format="percent")


@st.cache_data(max_entries=8, show_spinner="Evaluating on the test set…")
def _evaluate(
    path: str, mtime: float, data: str | None, _checkpoint: Checkpoint
) -> tuple[Metrics, np.ndarray, np.ndarray] | str:
    """Metrics, test probabilities (N, C), labels (N,); or why the data is missing (cached too)."""
    try:
        test = checkpoint_dataset(_checkpoint, data_dir=data, device="cpu").test
    except DatasetUnavailableError as e:
        return str(e)
    metrics, probs = evaluate(_checkpoint.model, test.images, test.labels, _checkpoint.class_names)
    return metrics, probs.numpy(), test.labels.numpy()


def _pick_cell(keys: tuple[str, str]) -> None:
    cell = plots.confusion_cell(st.session_state["eval_confusion"].selection)
    if cell is not None:
        st.session_state[keys[0]], st.session_state[keys[1]] = cell


def _grid(pictures: np.ndarray, titles: list[str], colors: list[str], columns: int = 8) -> None:
    cell_px = 120 if columns == 8 else 110  # full width, or the narrow column beside the matrix
    figure = plots.image_grid(pictures, titles, colors=colors, columns=columns, cell_px=cell_px)
    show(figure, config={"displayModeBar": False})


def _scores(metrics: Metrics) -> None:
    d = metrics.to_dict()
    total = sum(r["support"] for r in d["per_class"])
    averages = [{"name": f"{k} average", **d[k], "support": total} for k in ("macro", "weighted")]
    table = pd.DataFrame(d["per_class"] + averages)
    table.columns = ["Class", "Precision", "Recall", "F1", "Support"]
    config = dict.fromkeys(["Precision", "Recall", "F1"], PERCENT)  # the table, then the chart:
    st.dataframe(table, hide_index=True, column_config=config, height="content", key="eval_table")
    show(plots.per_class_bars(metrics), config={"displayModeBar": False})  # (side by side, a
    # tablet's half page cut the table's last column off)


def _pair_images(true_class: int, pred_class: int) -> None:
    if probs is None or labels is None or preds is None or images is None or info is None:
        st.info("The test images are not on this machine, so they cannot be shown.")
        return
    idx = np.array(confusion_pairs(labels, preds, true_class, pred_class)[:GRID], dtype=int)
    color = plots.RIGHT if true_class == pred_class else plots.WRONG
    titles = [f"#{i} · {probs[i, pred_class]:.0%}" for i in idx]  # three a row: on a tablet the
    _grid(images[idx], titles, [color] * len(idx), 3)  # column is 260 px, four titles ran together
    key = f"eval_image:{info.path}:{true_class}:{pred_class}"
    chosen = st.selectbox("Test image", idx.tolist(), format_func=lambda i: f"#{i}", key=key)
    if st.button("Open on Inside the RNN", icon=":material/biotech:"):
        st.session_state["inside_image"] = {"source": "test", "index": int(chosen)}
        st.switch_page("pages/inside.py")


def _give_up(message: str, show=st.error) -> NoReturn:
    show(message)
    manage_models()
    st.stop()


st.title("Evaluate")
info = selected_info()
if info is None:
    _give_up("No models yet: train one on the Train page, or upload one below.", st.info)
probs = labels = images = preds = None
try:
    checkpoint = selected_checkpoint() or _give_up(f"{info.name} is gone.", st.info)
    mtime = (info.path / "model.safetensors").stat().st_mtime
    result = _evaluate(str(info.path), mtime, data_dir(), checkpoint)
    if isinstance(result, str):
        st.warning(
            f"{plain(result)}\n\nShowing the test metrics recorded when the model was trained."
        )
        if info.record.test_metrics is None:
            raise KeyError("test_metrics")
        metrics = info.record.test_metrics
    else:
        metrics, probs, labels = result
        images = checkpoint_dataset(checkpoint, data_dir=data_dir()).test.images.numpy()
        preds = probs.argmax(1)
except KeyError as e:
    _give_up(f"This model has no recorded test metrics to show instead ({plain(e)}).")
except (CheckpointError, OSError, ValueError, RuntimeError) as e:
    _give_up(f"Could not evaluate {plain(info.name)}: {plain(e)}")

names = list(metrics.class_names)
st.caption(f"**{plain(info.record.title or info.name)}** on the {info.dataset} test set")
cols = st.columns(4)
cols[0].metric("Test accuracy", f"{metrics.accuracy:.2%}")
cols[1].metric("Macro F1", f"{metrics.macro['f1']:.2%}")
cols[2].metric("Weighted F1", f"{metrics.weighted['f1']:.2%}")
cols[3].metric("Test loss", "–" if metrics.loss is None else f"{metrics.loss:.3f}")

st.subheader("Per class")
_scores(metrics)

st.subheader("Confusion matrix")
st.caption("Rows are the true class, columns the prediction. Click a cell to see its images.")
keys = (f"eval_true:{info.path}", f"eval_pred:{info.path}")  # per model: values are labels
if not all(isinstance(st.session_state.get(k), int) for k in keys):  # start on the worst mix-up
    off = metrics.confusion - np.diag(np.diag(metrics.confusion))
    worst = np.unravel_index(off.argmax(), off.shape)
    st.session_state[keys[0]], st.session_state[keys[1]] = map(int, worst)
chart, pair = st.columns([3, 2])
with pair:
    classes = list(range(len(names)))
    true_class = st.selectbox("True class", classes, key=keys[0], format_func=names.__getitem__)
    pred_class = st.selectbox(
        "Predicted class", classes, key=keys[1], format_func=names.__getitem__
    )
    count = int(metrics.confusion[true_class, pred_class])
    true_name, pred_name = plain(names[true_class]), plain(names[pred_class])
    st.markdown(f"**{count}** test images of {true_name} predicted as {pred_name}.")
    if count:
        _pair_images(true_class, pred_class)
with chart:
    heatmap = plots.confusion_heatmap(metrics.confusion, names, selected=(true_class, pred_class))
    on_cell = partial(_pick_cell, keys)
    show(heatmap, key="eval_confusion", on_select=on_cell, selection_mode="points")

st.subheader("Prediction gallery")
if probs is None or labels is None or preds is None or images is None:
    st.info("The test images are not on this machine, so the gallery is empty.")
else:
    mode_col, shuffle_col = st.columns([3, 1], vertical_alignment="bottom")
    mode = mode_col.radio("Show", MODES, horizontal=True)
    if shuffle_col.button("New sample", icon=":material/shuffle:", disabled=mode != MODES[0]):
        st.session_state["eval_seed"] = st.session_state.get("eval_seed", 0) + 1
    if mode == MODES[0]:
        rng = np.random.default_rng(st.session_state.get("eval_seed", 0))
        idx = rng.choice(len(labels), size=min(GRID, len(labels)), replace=False)
    else:  # the lowest probability given to the true class: the model's worst misses
        idx = np.argsort(probs[np.arange(len(labels)), labels])[:GRID]
    titles = [f"{names[preds[i]]} {probs[i].max():.0%}<br>true: {names[labels[i]]}" for i in idx]
    _grid(images[idx], titles, [plots.RIGHT if preds[i] == labels[i] else plots.WRONG for i in idx])
    st.caption("Each title: the prediction and its probability; green when right, red when wrong.")

manage_models()
