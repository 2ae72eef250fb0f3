"""Figures whose look plotly checks once and whose numbers are filled in at every redraw.

A live run's page redraws its curves and probes in every tab that watches it; checking every
property of a figure again costs several ms a figure. A *frame* is a figure without its numbers
(layout, styles), built with plotly's checks once per look and kept as a dict (`fig.to_dict()`,
cached by the module that draws it); `unchecked` fills a frame with plain numbers and strings
without checking them again. The frame itself is never changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go


def unchecked(frame: Mapping[str, Any], traces: list[dict[str, Any]], **layout: Any) -> go.Figure:
    """`frame` with `traces` (each merged into the frame's trace at its place, when the frame has
    one there) and `layout`'s entries, not checked again (`_validate=False`)."""
    own = frame["data"]
    data = [dict(own[i], **t) if i < len(own) else t for i, t in enumerate(traces)]
    return go.Figure({"data": data, "layout": dict(frame["layout"], **layout)}, _validate=False)
