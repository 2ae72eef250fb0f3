"""rnnviz: the navigation frame and the shared sidebar. Pages live in pages/."""

import os
import sys

# Training threads share the cores with Streamlit's script runs; OpenMP's spin-waiting then costs
# a CPU job up to 4x. Waiting passively must be chosen before torch (its OpenMP) is first loaded.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import streamlit as st
from streamlit import config

from pages.parts.shared import in_the_frame, sidebar
from pages.parts.teacher import sidebar_section as class_section
from rnnviz.common.cputime import CPU_LOG
from rnnviz.common.heap import freeze_after_imports

NEVER_CACHED = 1e18  # bytes: no message is this large

# A full gc.collect() after every script run (Streamlit's default) holds the GIL ~140 ms with torch
# loaded and starves training threads; .streamlit/config.toml turns it off, and so does this for a
# server started from another folder.
config.set_option("runner.postScriptGC", False)
# Streamlit sends a large element a browser already holds as a reference to its copy, trusting the
# list of copies the browser sent with its request; the browser may drop a copy before the answer
# arrives (it ages copies by runs, and a busy page's queued runs finish in between), and then stops
# with "Cached ForwardMsg MISS". Every element is sent whole instead; .streamlit/config.toml too.
config.set_option("global.minCachedMessageSize", NEVER_CACHED)
# Each watching tab's page run holds the GIL for up to the switch interval (5 ms by default) every
# time a training thread lets it go for a torch op; with a class watching, the training threads
# then wait more than they work. A shorter interval hands the GIL back sooner.
sys.setswitchinterval(0.0005)

in_the_frame()
st.set_page_config(page_title="rnnviz", page_icon=":material/replay:", layout="wide")
# On a touch screen Plotly's toolbar never hides and covers each chart's title; fingers pan and
# zoom without it, and Streamlit's own fullscreen button stays.
st.html("<style>@media (pointer: coarse) {.modebar-container {display: none !important}}</style>")
# While a page or a live fragment reruns, Streamlit fades the elements it has not yet drawn again
# to a third of their opacity, and text then reads at about 2:1; a live chart's refresh would fade
# its whole panel every second on a busy server. They stay readable: the header shows the run.
st.html('<style>[data-stale="true"] {opacity: 1 !important}</style>')

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/evaluate.py", title="Evaluate", icon=":material/analytics:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("pages/inside.py", title="Inside the RNN", icon=":material/visibility:"),
    st.Page("pages/draw.py", title="Draw", icon=":material/draw:"),
    st.Page("pages/memory_lab.py", title="Memory lab", icon=":material/memory:"),
    st.Page("pages/lessons.py", title="Lessons", icon=":material/school:"),
    st.Page("pages/class.py", title="Class", icon=":material/groups:"),
]

page = st.navigation(PAGES)
with CPU_LOG.measure(f"page.{page.url_path or 'home'}"):  # what a whole page run costs the server
    sidebar()
    with st.sidebar:
        class_section()
    page.run()
freeze_after_imports()  # the objects a page's first run imported stay out of the collector's way
