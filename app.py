"""rnnviz: the navigation frame and the shared sidebar. Pages live in pages/."""

import streamlit as st

from pages._shared import sidebar

st.set_page_config(page_title="rnnviz", page_icon="🔁", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/train.py", title="Train", icon="🏋️"),
    st.Page("pages/evaluate.py", title="Evaluate", icon="📊"),
    st.Page("pages/compare.py", title="Compare", icon="📈"),
    st.Page("pages/inside.py", title="Inside the RNN", icon="🔬"),
    st.Page("pages/draw.py", title="Draw", icon="✏️"),
    st.Page("pages/memory_lab.py", title="Memory lab", icon="🧠"),
]

page = st.navigation(PAGES)
sidebar()
page.run()
