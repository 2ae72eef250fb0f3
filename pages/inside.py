"""Inside the RNN: watch the selected model read one image, one time step after another."""

import random

import streamlit as st

from pages.parts.charts import chart, show
from pages.parts.player import player
from pages.parts.shared import (
    checkpoints,
    data_dir,
    run_through_the_frame,
    selected_checkpoint,
    selected_info,
)
from rnnviz.analysis import explain, reading, rows
from rnnviz.common.text import plain
from rnnviz.models.orders import ORDERS
from rnnviz.plots import reading as plots
from rnnviz.plots.inside import FRAMES, reading_animation
from rnnviz.plots.stills import still
from rnnviz.storage.checkpoints import load_checkpoint
from rnnviz.storage.scoring import checkpoint_dataset

run_through_the_frame()

SOURCES = ("Test set", "My drawing")
SAMPLE = 256  # test images the average row importance is taken over


@st.cache_resource(max_entries=4, show_spinner=False)
def _model(path: str):  # the comparison models; the selected one comes from the sidebar
    try:
        return load_checkpoint(path, device="cpu")
    except Exception:  # an unreadable checkpoint just leaves the comparison out
        return None


@st.cache_data(max_entries=8, show_spinner="Finding the images this model gets wrong...")
def _mistakes(path: str, _ckpt, _test) -> list[int]:
    return reading.misclassified_indices(_ckpt.model, _test.images, _test.labels)


@st.cache_resource(max_entries=16, show_spinner=False)  # building 28 frames takes a moment
def _animation(key: tuple, _reading, names: tuple[str, ...]) -> dict:
    return reading_animation(_reading.image, _reading.trace, names).to_dict()


@st.cache_data(max_entries=8, show_spinner="Measuring row importance on test images...")
def _average_shares(paths: tuple[str, ...], _models, _test) -> dict:
    batch, truth = _test.images[:SAMPLE], _test.labels[:SAMPLE]
    return {name: rows.row_share(m.model, batch, truth) for name, m in _models.items()}


def _choose(indices) -> None:
    if indices:
        st.session_state.inside_index = random.choice(indices)
    else:
        st.toast("This model gets none of the first 2,000 test images wrong.")


@st.cache_resource(ttl=120, show_spinner="Loading the test set...")
def _test_split(path: str, _ckpt) -> tuple:
    """(test split, None) or (None, why not); a failed load is remembered for two minutes."""
    try:
        return checkpoint_dataset(_ckpt, data_dir=data_dir()).test, None
    except Exception as err:  # a missing or unreadable dataset must not end the page
        return None, str(err)


def _equations(cell: str) -> None:
    about = explain.explain_cell(cell)
    with st.expander(f"The cell equations: {about.title}", expanded=True):
        for line in about.equations:  # inline maths wraps in a narrow column; displayed, it scrolls
            formula, _, label = line.partition(r" \quad \text{")
            st.markdown(f"**{label.rstrip('}')}**: ${formula}$" if label else f"${formula}$")
        st.markdown("\n".join(f"- {note}" for note in about.notes))


st.title("Inside the RNN")
ckpt, info = selected_checkpoint(), selected_info()
if ckpt is None or info is None:
    st.info("No models yet: train one on the Train page.")
    st.stop()
model_path = str(info.path)
if not reading.is_recurrent(ckpt.model):
    st.info(explain.CNN_NO_TIME)
    _equations(ckpt.config.cell)
    st.stop()

handed = reading.parse_handover(st.session_state.pop("inside_image", None))
if handed is not None and handed.source == "test":
    st.session_state.update(inside_source=SOURCES[0], inside_index=handed.index)
elif handed is not None and handed.image is not None:
    st.session_state.update(inside_source=SOURCES[1], inside_drawing=handed.image.tolist())

test, why = _test_split(str(info.path), ckpt)
if test is None:
    st.warning(
        f"This model's test set is not available here, so only drawings can be read. {plain(why)}"
    )
have = {SOURCES[0]: test is not None, SOURCES[1]: "inside_drawing" in st.session_state}
sources = [s for s in SOURCES if have[s]]
if not sources:
    st.info("Draw a digit on the Draw page, then open it here.")
    st.stop()
if st.session_state.get("inside_source") not in sources:
    st.session_state.inside_source = sources[0]

pick, edit = st.columns([3, 2])
source = pick.radio("Image", sources, key="inside_source", horizontal=True)
label = None
if source == SOURCES[0] and test is not None:
    n = len(test)
    if not 0 <= st.session_state.get("inside_index", 0) < n:
        st.session_state.inside_index = 0
    a, b = pick.columns(2, vertical_alignment="bottom")
    index = a.number_input(f"Test image (0 to {n - 1})", 0, n - 1, key="inside_index")
    choices = b.container(horizontal=True)  # whole labels: a tablet's narrow column wraps them
    choices.button("Random", icon=":material/casino:", on_click=_choose, args=(range(n),))
    choices.button("A mistake", icon=":material/error:", help="A test image this model gets wrong",
                   on_click=lambda: _choose(_mistakes(model_path, ckpt, test)))  # fmt: skip
    image, label = test.images[index].numpy(), int(test.labels[index])
else:
    image = st.session_state.inside_drawing

names = ckpt.class_names
experiment = edit.selectbox("Row experiment", list(rows.EXPERIMENTS), key="inside_experiment",
                            format_func=rows.EXPERIMENTS.__getitem__)  # fmt: skip
k = edit.slider("k rows", 1, 28, 14, key="inside_k") if experiment == "first_k" else 14
result = rows.run_experiment(ckpt.model, image, experiment, k=k)
before, after = result.original, result.edited

cols = st.columns(3)
if label is not None:
    cols[0].metric("True class", names[label])
cols[1].metric("Prediction", f"{names[before.prediction]} ({before.confidence:.0%})")
if experiment != "none":
    verdict = "changed" if result.changed else "unchanged"
    cols[2].metric(f"After the experiment ({verdict})",
                   f"{names[after.prediction]} ({after.confidence:.0%})")  # fmt: skip

order = ORDERS[ckpt.config.order]
st.subheader(order.how.capitalize())
sampled = f" ({order.steps} steps: the frames show every {order.steps // FRAMES}th and the last)"
st.caption(f"Press Play, or step with Previous, Next and the slider (Tab, then Enter or the arrow "
           f"keys, work too): each step feeds the network one more {order.unit}"
           f"{sampled if order.steps > FRAMES else ''}. Outlined bars: the answer after the last "
           f"{order.step_name}.")  # fmt: skip
key = (str(info.path), info.created, after.image.tobytes(), after.image.shape)
assert after.trace is not None  # a recurrent model's reading has its steps
animation, belief = _animation(key, after, tuple(names)), after.trace.probs[0].cpu().numpy()
player(key, [f["name"] for f in animation["frames"]], order.step_name,
       lambda i: chart("inside_animation", (key, i),
                       lambda: still(animation, i, belief, names, order.step_name)))  # fmt: skip
if experiment != "none":
    show(
        plots.compare_bars(before.probs, after.probs, names),
        key="inside_compare",
        what="probability of each class before and after the experiment",
    )

st.subheader("How much each row mattered")
st.caption(explain.IMPORTANCE_LESSON)
pair = reading.importance_pair([info, *checkpoints()], info.dataset)  # the selected one first
models = {info.record.title or info.name: ckpt}
if pair is not None:
    loaded = {i.record.title or i.name: ckpt if i == info else _model(str(i.path)) for i in pair}
    pair, models = (pair, loaded) if None not in loaded.values() else (None, models)
over = st.radio("Measured on", ["this image", f"{SAMPLE} test images"], horizontal=True,
                key="inside_over", disabled=test is None)  # fmt: skip
if over == "this image" or test is None:
    target = label if label is not None else before.prediction
    shares = {name: rows.row_share(m.model, image, [target]) for name, m in models.items()}
else:
    shares = _average_shares(tuple(str(m.path) for m in models.values()), models, test)
show(plots.importance_figure(shares), key="inside_importance")
if pair is None:
    st.caption("Train a vanilla RNN and an LSTM or GRU on this dataset to compare them here.")

_equations(ckpt.config.cell)
