"""rnnviz.plots.cache: a figure is built once per key, and the newest few are kept."""

from __future__ import annotations

import plotly.graph_objects as go

from rnnviz.plots.cache import FigureCache
from rnnviz.plots.training import loss_figure


def test_a_figure_is_built_once_per_key_and_the_oldest_go_first() -> None:
    cache, built = FigureCache(size=2), []

    def build(name: str) -> go.Figure:
        built.append(name)
        return go.Figure(layout={"title": name})

    first = cache.get(("a", 1), lambda: build("a1"))
    assert cache.get(("a", 1), lambda: build("again")) is first
    cache.get(("a", 2), lambda: build("a2"))
    cache.get(("b", 1), lambda: build("b1"))  # three keys in a cache of two: ("a", 1) goes
    cache.get(("a", 1), lambda: build("a1 again"))
    assert built == ["a1", "a2", "b1", "a1 again"] and cache.built == 4


def test_a_long_loss_curve_is_thinned_and_sent_as_typed_arrays() -> None:
    steps = list(range(1, 10_001))
    fig = loss_figure(steps, [1.0 / s for s in steps])
    raw, smooth = fig.data
    assert len(raw.x) == len(smooth.y) <= 600 and raw.x[-1] <= 10_000
    assert raw.x.dtype == "float64"  # numpy: checked and sent whole, not point by point
    short = loss_figure([1, 2, 3], [3.0, 2.0, 1.0])
    assert isinstance(short.data[0].x, tuple) and list(short.data[0].x) == [1, 2, 3]


def test_a_live_figure_is_shared_while_young_and_rebuilt_when_old(monkeypatch) -> None:
    cache, built, clock = FigureCache(), [], [100.0]
    monkeypatch.setattr("rnnviz.plots.cache.time.monotonic", lambda: clock[0])

    def build(version: int) -> go.Figure:
        built.append(version)
        return go.Figure(layout={"title": str(version)})

    first = cache.recent("job", 1, lambda: build(1), max_age=0.5)
    clock[0] += 0.3  # another tab, a few steps later: the same figure, not built again
    assert cache.recent("job", 2, lambda: build(2), max_age=0.5) is first
    clock[0] += 0.3  # 0.6 s old: built for the new version
    newer = cache.recent("job", 3, lambda: build(3), max_age=0.5)
    assert newer.layout.title.text == "3"
    clock[0] += 10  # an old figure of the same version is still the right one
    assert cache.recent("job", 3, lambda: build(4), max_age=0.5) is newer
    assert cache.recent("other", 3, lambda: build(5), max_age=0.5).layout.title.text == "5"
    assert built == [1, 3, 5] and cache.built == 3
