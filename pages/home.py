"""Home: what an RNN sees when it reads an image, what each page is for, a one-click first run."""

from __future__ import annotations

import streamlit as st

from pages.parts import shared as app
from pages.parts import start
from pages.parts.charts import show
from rnnviz.classroom import urlstate
from rnnviz.common.devices import resolve_device
from rnnviz.common.text import plain
from rnnviz.data.datasets import (
    DataConfig,
    DatasetUnavailableError,
    default_dataset,
    load_dataset,
)
from rnnviz.plots.training import rows_figure
from rnnviz.training.presets import PRESETS, first_run, preset_run
from rnnviz.training.record import run_title

app.run_through_the_frame()

PAGES = {  # label and icon come from app.py's st.navigation
    "pages/train.py": "pick an architecture and watch loss and accuracy grow live",
    "pages/evaluate.py": "test accuracy, confusion matrix and the mistakes behind it",
    "pages/compare.py": "several runs side by side: cells, sizes, optimisers",
    "pages/inside.py": "hidden state and gates, one row at a time",
    "pages/draw.py": "draw a digit and see how the prediction forms row by row",
    "pages/memory_lab.py": "how far back can each cell remember?",
    "pages/lessons.py": "each classroom notebook as a guided lesson that reproduces its figure",
}


def quick_preset() -> str:
    """The first run that works here: the default dataset's quick preset for this device."""
    device = resolve_device("auto").type
    return first_run(default_dataset(app.data_dir()), device).key


def train_quick_model() -> None:
    key = quick_preset()
    run = preset_run(key, data_dir=app.data_dir())
    title = f"{run_title(run)} (preset {key})"
    try:  # the same quick run another student started is joined, not trained again
        st.session_state["train_job"] = start.submit(run, [], title=title)
    except ValueError as exc:  # JobRefused, or no room for another saved run
        st.warning(plain(exc), icon=":material/front_hand:")
        return
    keep = {k: v for k, v in st.query_params.to_dict().items() if k not in urlstate.PARAM_KEYS}
    st.switch_page("pages/train.py", query_params=keep | urlstate.run_to_params(run))


def example() -> None:
    """One test image of the default dataset and the 28 time steps an RNN makes of it."""
    key = default_dataset(app.data_dir())
    try:
        data = load_dataset(DataConfig(dataset=key, data_dir=app.data_dir()), device="cpu")
    except (DatasetUnavailableError, ValueError, OSError) as exc:
        st.info(f"No example image to show: {plain(exc)}")
        return
    image, label = data.test.images[0], int(data.test.labels[0])  # (28, 28) uint8
    what = "one test image and the 28 time steps an RNN makes of it"
    show(rows_figure(image), key="rows", what=what)
    name = data.info.class_names[label]
    st.caption(
        f"One {data.info.title} test image (label **{name}**). An RNN reads it top to bottom: "
        "row t of 28 pixels is its input at time step t, and after row 28 its hidden state has "
        "to hold everything it needs to name the class. A CNN sees all pixels at once."
    )


st.title("rnnviz: recurrent networks that read images")
st.markdown(
    "A recurrent neural network reads a sequence one step at a time and carries a **hidden "
    "state** from step to step. Here the sequence is an image: **28 rows, 28 time steps**."
)
example()

st.subheader("Start here")
left, right = st.columns([1, 2])
if left.button("Train a quick model", type="primary", icon=":material/rocket_launch:"):
    train_quick_model()
preset = PRESETS[quick_preset()]
right.caption(f"Runs the **{preset.title}** preset on {app.device_label()}: {preset.lesson}")

st.subheader("The pages")
for path, purpose in PAGES.items():
    link, text = st.columns([1, 3], vertical_alignment="center")
    link.page_link(path)
    text.caption(purpose)
