"""Draw: draw a digit, watch it become an MNIST-style image, and see what the network reads."""

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from pages.parts.charts import show
from pages.parts.shared import run_through_the_frame, selected_checkpoint
from rnnviz.analysis import reading
from rnnviz.common.text import plain
from rnnviz.models.orders import ORDERS
from rnnviz.plots import reading as plots

run_through_the_frame()

CANVAS = 252  # pixels a side: 9x MNIST's 28, small enough for its column on a tablet
KEY = "draw_canvas"
HINT = "✏️ Draw a digit in the black square; the prediction appears when you lift the pen."


def _clear() -> None:
    # A new initial drawing empties the canvas; until the canvas reports back, the old picture
    # is still in its state, so remember it and show nothing for it.
    st.session_state.draw_clears = st.session_state.get("draw_clears", 0) + 1
    st.session_state.draw_stale = st.session_state.get("draw_png")


st.title("Draw")
ckpt = selected_checkpoint()
if ckpt is None:
    st.info("No models yet: train one on the Train page.")
    st.stop()
names = ckpt.class_names
if names[:3] != ["0", "1", "2"]:
    st.caption(f"This model knows {plain(', '.join(names))}: draw one of those.")

left, right = st.columns(2, gap="medium")  # the 280-pixel canvas fits its column on a tablet
with left:
    st.caption("Draw one digit, big.")
    clears = st.session_state.get("draw_clears", 0)
    canvas = st_canvas(
        stroke_width=st.session_state.get("draw_stroke", CANVAS // 10),
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=CANVAS,
        width=CANVAS,
        drawing_mode="freedraw",
        update_streamlit=True,  # sends the picture when the stroke ends (mouse up)
        initial_drawing={"objects": [], "rnnvizClears": clears} if clears else None,
        return_image_data=True,
        key=KEY,
    )
    st.slider("Stroke width", 5, 60, CANVAS // 10, key="draw_stroke")
    st.button("Clear", on_click=_clear, icon=":material/ink_eraser:")

png = canvas.image_bytes
st.session_state.draw_png = png
picture = canvas.image_data if png and png != st.session_state.get("draw_stale") else None
naive = st.toggle("Compare with a naive resize", key="draw_naive")
try:
    drawing = None if picture is None else reading.read_drawing(ckpt.model, picture, naive=naive)
except ValueError:  # BlankImageError, or a picture that is no picture: ask for a drawing
    drawing = None
if drawing is None:
    right.info(HINT)
    st.stop()

result = drawing.reading
order = ORDERS[ckpt.config.order]  # a CNN has one too: how its pixels are arranged
with right:
    sure = f"{result.confidence:.0%} sure"
    st.metric("Prediction", names[result.prediction], sure, delta_color="off", delta_arrow="off")
    bars, belief = st.container(), st.container()  # one above the other: a tablet's half-page
    bars.caption(f"Probability of each class after all {order.steps} {order.unit}s")
    with bars:
        show(plots.probability_bars(result.probs, names), key="draw_bars",
             what=f"probability of each class after all {order.steps} {order.unit}s")  # fmt: skip
    if result.belief is not None:
        belief.caption(f"Belief in each class after every {order.step_name}")
        with belief:
            show(
                plots.belief_figure(result.belief, names, step=order.step_name),
                key="draw_belief",
                what=f"belief in each class after every {order.step_name}",
            )
    else:
        belief.caption("A CNN reads the whole image at once: no row-by-row belief.")
    if st.button("Open in Inside the RNN", type="primary", icon=":material/biotech:"):
        st.session_state.inside_image = reading.drawing_handover(drawing.pre.image)
        st.switch_page("pages/inside.py")

st.subheader("What the network sees")
st.caption(
    "MNIST's recipe: crop to the ink, scale the longer side to 20 pixels, centre the ink's mass "
    f"in a 28x28 field. The network then reads it {order.how}, {order.steps} time steps."
)
show(
    plots.stages_figure(drawing.pre, naive=naive),
    key="draw_stages",
    what="your drawing at each stage of the preparation",
)
if drawing.naive is not None:
    guess = drawing.naive
    same = "the same answer" if guess.prediction == result.prediction else "a different answer"
    st.metric(
        "Naive resize (whole canvas squashed to 28x28) predicts",
        f"{names[guess.prediction]} ({guess.confidence:.0%})",
        same,
        delta_color="off",
        delta_arrow="off",
    )
