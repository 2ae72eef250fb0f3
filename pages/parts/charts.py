"""Charts with their text alternatives, drawn once per version of their data. Layout only.

`show(fig, key)` draws a chart with what a student who cannot see it needs (`rnnviz.plots.alt`):
the chart's accessible name, a caption with its key numbers under it, and its data as a table in
a panel that opens on request. A chart with a key builds its table only while that panel is open
(a table of a live chart would otherwise be rebuilt at every refresh, open or not).

`chart(key, version, build)` draws `build()` that way the first time any tab asks for `version`
(which names the data: a job, a count of its steps) and replays the drawn chart and caption
(Streamlit keeps the elements a cached function drew) for every later ask: the figure is built,
checked, described and turned into JSON once, not once per tab per second. `version=None` draws
it every time.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import streamlit as st

from rnnviz.common.text import plain
from rnnviz.plots.alt import MAX_ROWS, Alt, describe

TABLE = "Show the data as a table"
_ICON = ":material/table:"


def show(fig: Any, key: str | None = None, *, what: str = "", note: str = "", **kwargs: Any) -> Any:
    """`fig` as a chart with its text alternative; `what` names it where its title does not,
    `note` is said after its key numbers. Returns what `st.plotly_chart` returns."""
    alt = describe(fig, what)
    drawn = _draw(fig, alt, key, note, **kwargs)
    _table(key, lambda: alt)
    return drawn


def chart(key: str, version: Hashable | None, build: Callable[[], Any]) -> None:
    """`build()`'s figure as a chart in the current container, under the element key `key`."""
    if version is None:
        show(build(), key)
        return
    _drawn(key, version, build)
    _table(key, lambda: _described(key, version, build))


def _draw(fig: Any, alt: Alt, key: str | None, note: str = "", **kwargs: Any) -> Any:
    drawn = st.plotly_chart(fig, key=key, alt=alt.name, **kwargs)
    st.caption(plain(f"{alt.caption} {note}".strip(), limit=2_000))
    return drawn


def _table(key: str | None, alt_of: Callable[[], Alt]) -> None:
    """The chart's data in a panel: built at once for a chart without a key, else on opening."""
    if key is None:
        alt = alt_of()
        if alt.rows:
            with st.expander(TABLE, icon=_ICON):
                _rows(alt)
        return
    panel = st.expander(TABLE, icon=_ICON, key=f"{key}.table", on_change="rerun")
    if panel.open:
        with panel:
            _rows(alt_of())


def _rows(alt: Alt) -> None:
    if not alt.rows:
        st.caption("This chart shows no data yet.")
        return
    if alt.cut:
        st.caption(f"The first {MAX_ROWS:,} points.")
    st.dataframe(alt.rows, hide_index=True, alt=f"Data of the chart: {alt.name}")


@st.cache_data(max_entries=256, ttl=3600, show_spinner=False)
def _drawn(key: str, version: Hashable, _build: Callable[[], Any]) -> None:
    fig = _build()
    _draw(fig, _described(key, version, lambda: fig), key)


@st.cache_resource(max_entries=256, ttl=3600, show_spinner=False)
def _described(key: str, version: Hashable, _build: Callable[[], Any]) -> Alt:
    return describe(_build())
