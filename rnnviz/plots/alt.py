"""A chart's text alternative: a short name, a caption with its key numbers, and its data as rows.

Plotly draws into SVG and canvas, which a screen reader cannot read and which says nothing to
someone who cannot see its colours. `describe(fig)` reads what a figure shows from the figure
itself, so every chart gets the same kind of alternative without each page writing its own:

- `name`: what the chart is ("Line chart: loss against step"), the chart's accessible name;
- `caption`: its key numbers, series by series (a line's first, last, lowest and highest point;
  the highest and lowest bars; a grid's range and its largest cell);
- `rows`: every point as a row (`series`, the x and y axes' titles, and `value` for a grid), for
  a table a student can open.

A chart whose own numbers say more than its traces (a confusion matrix: counts, not the colour
shares it draws) carries its alternative in `layout.meta["alt"]` (`own`): any of `name`,
`caption`, `rows` given there is taken as it is.

Hidden traces (`visible=False`), traces without a point and text-only traces are left out. A
figure's numbers may be lists, tuples or numpy arrays (the checked-once frames of `frames.py`).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import plotly.graph_objects as go

MAX_SERIES = 5  # series described in a caption; the others are counted
MAX_ROWS = 5_000  # rows of a chart's table; a longer one is cut and says so

_BREAKS = re.compile(r"(?i)<br\s*/?>")
_TAGS = re.compile(r"<[^>]+>")
_KINDS = {"scatter": "Line chart", "bar": "Bar chart", "heatmap": "Heatmap"}


@dataclass(frozen=True)
class Alt:
    """A chart's alternative; its table is made when first read (a live chart's caption is
    needed at every refresh, its table only while a student has it open)."""

    name: str
    caption: str
    table: Callable[[], tuple[list[dict[str, Any]], bool]] = field(repr=False, compare=False)

    @functools.cached_property
    def _table(self) -> tuple[list[dict[str, Any]], bool]:
        return self.table()

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self._table[0]

    @property
    def cut(self) -> bool:
        """The figure had more than MAX_ROWS points; `rows` holds the first ones."""
        return self._table[1]


@dataclass(frozen=True)
class _Series:
    kind: str  # "line", "points", "bars", "grid"
    name: str
    x: list[Any]
    y: list[Any]
    z: np.ndarray | None  # a grid's values, rows by columns
    x_title: str
    y_title: str
    percent: bool  # the value axis is shown in percent


def text(value: Any) -> str:
    """A title or label without its HTML tags and with single spaces."""
    return " ".join(_TAGS.sub("", _BREAKS.sub(" ", str(value or ""))).split())


def number(value: Any, percent: bool = False) -> str:
    """`value` as a chart's reader would say it: 98.1%, 0.0712, 1,290."""
    if isinstance(value, str):
        return text(value)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "none"
    v = float(value)
    if percent:
        return f"{v:.1%}"
    if v == int(v) and abs(v) < 1e15:
        return f"{int(v):,}"
    return f"{v:.3g}" if abs(v) < 1e4 else f"{v:,.0f}"


def _values(v: Any) -> list[Any]:
    if v is None:
        return []
    if isinstance(v, dict) and "bdata" in v:  # plotly's own typed array
        import base64

        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return a.tolist()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return list(v)


def _axis(fig: go.Figure, ref: str | None, letter: str) -> Any:
    suffix = (ref or letter)[1:]
    return fig.layout[f"{letter}axis{suffix}"]


def _finite(values: Sequence[Any]) -> list[int]:
    return [
        i
        for i, v in enumerate(values)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    ]


def _series(fig: go.Figure) -> list[_Series]:
    found = []
    for i, trace in enumerate(fig.data):
        if trace.visible is False or trace.type not in _KINDS:
            continue
        x_axis, y_axis = _axis(fig, trace.xaxis, "x"), _axis(fig, trace.yaxis, "y")
        name = text(trace.name) or f"series {i + 1}"
        titles = text(x_axis.title.text), text(y_axis.title.text)
        if trace.type == "heatmap":
            z = np.asarray(_values(trace.z), dtype=float)
            if z.ndim != 2 or z.size == 0:
                continue
            xs = _values(trace.x) or list(range(z.shape[1]))
            ys = _values(trace.y) or list(range(z.shape[0]))
            found.append(_Series("grid", name, xs, ys, z, *titles, False))
            continue
        x, y = _values(trace.x), _values(trace.y)
        if trace.type == "bar" and trace.orientation == "h":
            x, y, titles = y, x, (titles[1], titles[0])
            value_axis = x_axis
        else:
            value_axis = y_axis
        if not x and y:
            x = list(range(1, len(y) + 1))
        keep = _finite(y)
        if not keep:
            continue
        mode = "" if trace.type == "bar" else str(trace.mode or "lines")
        kind = "bars" if trace.type == "bar" else "line" if "lines" in mode else "points"
        percent = "%" in str(value_axis.tickformat or "")
        found.append(_Series(kind, name, x, y, None, *titles, percent))
    return found


def _about(s: _Series) -> str:
    say = lambda v: number(v, s.percent)  # noqa: E731
    if s.kind == "grid":
        assert s.z is not None
        r, c = np.unravel_index(np.nanargmax(s.z), s.z.shape)
        where = f"{s.y_title or 'row'} {number(s.y[r])}, {s.x_title or 'column'} {number(s.x[c])}"
        return (
            f"{s.name}: {s.z.shape[0]} by {s.z.shape[1]} grid, values {number(np.nanmin(s.z))} "
            f"to {number(np.nanmax(s.z))}, the largest at {where}"
        )
    keep = _finite(s.y)
    hi = max(keep, key=lambda i: s.y[i])
    lo = min(keep, key=lambda i: s.y[i])
    at = lambda i: f" at {number(s.x[i])}"  # noqa: E731
    if s.kind == "bars":
        top = f"highest {number(s.x[hi])} ({say(s.y[hi])})"
        return f"{s.name}: {len(keep)} bars, {top}, lowest {number(s.x[lo])} ({say(s.y[lo])})"
    if len(keep) == 1:
        return f"{s.name}: one point, {say(s.y[keep[0]])}{at(keep[0])}"
    first, last = keep[0], keep[-1]
    if s.kind == "line" and len({str(s.x[i]) for i in keep}) == 1:  # a marker across the chart
        return f"a line marks {s.name}" if s.name[:1].islower() else f"a line marks: {s.name}"
    if s.kind == "points":
        high, low = f"highest {say(s.y[hi])}{at(hi)}", f"lowest {say(s.y[lo])}{at(lo)}"
        return f"{s.name}: {len(keep)} points, {high}, {low}"
    turns = [f"{word} {say(s.y[i])}{at(i)}" for word, i in (("lowest", lo), ("highest", hi))
             if i not in (first, last)]  # fmt: skip
    ends = f"{s.name}: {say(s.y[first])}{at(first)} to {say(s.y[last])}{at(last)}"
    return ", ".join([ends, *turns])


def _ranking(series: list[_Series]) -> tuple[str, list[_Series]]:
    """For many lines over the same x (a belief in each class): who leads where they end, and
    the series left to describe one by one."""
    lines = [s for s in series
             if s.kind == "line" and len(s.y) == len(s.x) > 2 and _finite(s.y[-1:])]  # fmt: skip
    ends = [str(s.x[-1]) for s in lines]
    common = max(set(ends), key=ends.count) if ends else None
    group = [s for s, end in zip(lines, ends, strict=True) if end == common]
    if len(group) <= MAX_SERIES:
        return "", series
    ranked = sorted(group, key=lambda s: -s.y[-1])[:3]
    top = ", ".join(f"{s.name} {number(s.y[-1], s.percent)}" for s in ranked)
    first = group[0]
    where = f"{first.x_title or 'x'} {number(first.x[-1])}"
    said = f"at {where}, the highest of {len(group)} series: {top}"
    return said, [s for s in series if s not in group]


def _rows(series: list[_Series]) -> tuple[list[dict[str, Any]], bool]:
    x_titles = {s.x_title for s in series if s.kind != "grid"}
    y_titles = {s.y_title for s in series if s.kind != "grid"}
    x_key = x_titles.pop() if len(x_titles) == 1 and "" not in x_titles else "x"
    y_key = y_titles.pop() if len(y_titles) == 1 and "" not in y_titles else "y"
    if x_key == y_key or "series" in (x_key, y_key):
        x_key, y_key = "x", "y"
    grid = any(s.kind == "grid" for s in series)
    rows: list[dict[str, Any]] = []
    for s in series:
        if s.kind == "grid":
            assert s.z is not None
            points = (
                {"series": s.name, x_key: s.x[c], y_key: s.y[r], "value": s.z[r, c].item()}
                for r in range(s.z.shape[0])
                for c in range(s.z.shape[1])
            )
        else:
            points = (
                {"series": s.name, x_key: s.x[i] if i < len(s.x) else None, y_key: v}
                | ({"value": None} if grid else {})
                for i, v in enumerate(s.y)
            )
        for row in points:
            if len(rows) == MAX_ROWS:
                return rows, True
            rows.append(row)
    return rows, False


def own(name: str = "", caption: str = "", rows: list[dict[str, Any]] | None = None) -> dict:
    """A figure's own text alternative, for `fig.update_layout(meta=own(...))`."""
    given = {"name": name, "caption": caption, "rows": rows}
    return {"alt": {k: v for k, v in given.items() if v}}


def describe(fig: go.Figure, what: str = "") -> Alt:
    """`fig`'s text alternative; `what` names the chart where its title does not."""
    meta = fig.layout.meta
    given = meta.get("alt", {}) if isinstance(meta, dict) else {}
    if {"name", "caption", "rows"} <= set(given):
        name, caption = text(given["name"]), text(given["caption"])
        caption = caption if caption.startswith(name) else f"{name}. {caption}"
        return Alt(name, caption, functools.partial(_given, given["rows"]))
    found = _described(fig, what)
    name = text(given.get("name")) or found.name
    caption = text(given.get("caption")) or found.caption
    if "caption" in given and not caption.startswith(name):
        caption = f"{name}. {caption}"
    own_rows = given.get("rows")
    table = found.table if own_rows is None else functools.partial(_given, own_rows)
    return Alt(name, caption, table)


def _given(rows: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    return list(rows[:MAX_ROWS]), len(rows) > MAX_ROWS


def _described(fig: go.Figure, what: str) -> Alt:
    series = _series(fig)
    title = text(what) or text(fig.layout.title.text)
    shown = [t for t in fig.data if t.visible is not False and t.type in _KINDS]
    kinds = sorted({_KINDS[t.type] for t in shown})
    kind = kinds[0] if len(kinds) == 1 else "Chart"
    if not title and series:
        s = series[0]
        against = f" against {s.x_title}" if s.x_title else ""
        title = f"{s.y_title or 'values'}{against}" if s.kind != "grid" else s.name
    name = f"{kind}: {title}" if title else kind
    if not series:
        return Alt(name, f"{name}. It shows no data yet.", lambda: ([], False))
    ranking, others = _ranking(series)
    said = "; ".join([*([ranking] if ranking else []), *(_about(s) for s in others[:MAX_SERIES])])
    more = len(others) - MAX_SERIES
    rest = f"; and {more} more series (see the table)" if more > 0 else ""
    return Alt(name, f"{name}. {said[:1].upper()}{said[1:]}{rest}.", lambda: _rows(series))
