"""Charts drawn once per version of their data and replayed for every tab. Layout only.

`chart(key, version, build)` draws `build()` the first time any tab asks for `version` (which
names the data: a job, a count of its steps) and replays that drawn chart (Streamlit keeps the
elements a cached function drew) for every later ask: the figure is built, checked and turned
into JSON once, not once per tab per second. `version=None` draws it every time.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import streamlit as st


def chart(key: str, version: Hashable | None, build: Callable[[], Any]) -> None:
    """`build()`'s figure as a chart in the current container, under the element key `key`."""
    if version is None:
        st.plotly_chart(build(), key=key)
    else:
        _drawn(key, version, build)


@st.cache_data(max_entries=256, ttl=3600, show_spinner=False)
def _drawn(key: str, version: Hashable, _build: Callable[[], Any]) -> None:
    st.plotly_chart(_build(), key=key)
