"""Charts with their text alternatives, drawn once per version of their data. Layout only.

`show(fig, key)` draws a chart with what a student who cannot see it needs (`rnnviz.plots.alt`):
the chart's accessible name, a caption with its key numbers under it, and its data as a table
in a panel that opens on request.

`chart(key, version, build)` draws `build()` that way the first time any tab asks for `version`
(which names the data: a job, a count of its steps) and replays the drawn elements (Streamlit
keeps the elements a cached function drew) for every later ask: the figure is built, checked,
described and turned into JSON once, not once per tab per second. `version=None` draws it every
time.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import streamlit as st

from rnnviz.common.text import plain
from rnnviz.plots.alt import MAX_ROWS, describe

TABLE = "Show the data as a table"


def show(fig: Any, key: str | None = None, *, what: str = "", note: str = "", **kwargs: Any) -> Any:
    """`fig` as a chart with its text alternative; `what` names it where its title does not,
    `note` is said after its key numbers. Returns what `st.plotly_chart` returns."""
    alt = describe(fig, what)
    drawn = st.plotly_chart(fig, key=key, alt=alt.name, **kwargs)
    st.caption(plain(f"{alt.caption} {note}".strip(), limit=2_000))
    if alt.rows:
        with st.expander(TABLE, icon=":material/table:"):
            if alt.cut:
                st.caption(f"The first {MAX_ROWS:,} points.")
            st.dataframe(alt.rows, hide_index=True, alt=f"The data of the {alt.name}")
    return drawn


def chart(key: str, version: Hashable | None, build: Callable[[], Any]) -> None:
    """`build()`'s figure as a chart in the current container, under the element key `key`."""
    if version is None:
        show(build(), key)
    else:
        _drawn(key, version, build)


@st.cache_data(max_entries=256, ttl=3600, show_spinner=False)
def _drawn(key: str, version: Hashable, _build: Callable[[], Any]) -> None:
    show(_build(), key)
