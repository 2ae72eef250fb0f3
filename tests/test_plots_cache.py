"""rnnviz.plots.cache: tabs watching one live run draw the same version of its charts a moment."""

from __future__ import annotations

from rnnviz.plots.cache import LiveVersions
from rnnviz.plots.training import loss_figure


def test_a_live_version_is_shared_while_young_and_moves_on_when_old(monkeypatch) -> None:
    live, clock = LiveVersions(), [100.0]
    monkeypatch.setattr("rnnviz.plots.cache.time.monotonic", lambda: clock[0])
    assert live.settle("job", 1, max_age=0.5) == 1
    clock[0] += 0.3  # another tab, a few steps later: still the version every tab draws
    assert live.settle("job", 2, max_age=0.5) == 1
    clock[0] += 0.3  # 0.6 s old: the newer version is drawn from now on
    assert live.settle("job", 3, max_age=0.5) == 3
    clock[0] += 10  # a run that stopped stepping: its version stays, however old
    assert live.settle("job", 3, max_age=0.5) == 3
    assert live.settle("other", 7, max_age=0.5) == 7  # each slot on its own


def test_only_the_newest_slots_are_kept(monkeypatch) -> None:
    live, clock = LiveVersions(size=2), [0.0]
    monkeypatch.setattr("rnnviz.plots.cache.time.monotonic", lambda: clock[0])
    for slot in ("a", "b", "c"):  # three slots in room for two: "a" is forgotten
        live.settle(slot, 1, max_age=5)
    assert live.settle("a", 2, max_age=5) == 2 and live.settle("c", 2, max_age=5) == 1


def test_a_long_loss_curve_is_thinned_and_sent_as_typed_arrays() -> None:
    steps = list(range(1, 10_001))
    fig = loss_figure(steps, [1.0 / s for s in steps])
    raw, smooth = fig.data
    assert len(raw.x) == len(smooth.y) <= 600 and raw.x[-1] <= 10_000
    assert raw.x.dtype == "float64"  # numpy: checked and sent whole, not point by point
    short = loss_figure([1, 2, 3], [3.0, 2.0, 1.0])
    assert isinstance(short.data[0].x, tuple) and list(short.data[0].x) == [1, 2, 3]
