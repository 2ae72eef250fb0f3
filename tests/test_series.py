"""rnnviz.common.series: smoothing that starts where the data starts, thinning that keeps the
end."""

from __future__ import annotations

import math

import pytest

from rnnviz.common.series import ema, is_number, thin


def test_ema_is_bias_corrected() -> None:
    assert ema([2.0, 2.0, 2.0], 0.9) == pytest.approx([2.0, 2.0, 2.0])
    assert ema([1.0, 0.0], 0.5) == pytest.approx([1.0, 1 / 3])
    assert ema([], 0.9) == []
    with pytest.raises(ValueError, match="smooth"):
        ema([1.0], 1.0)


def test_ema_passes_gaps_through_and_keeps_going() -> None:
    out = ema([1.0, math.nan, None, 0.0], 0.5)
    assert out[0] == 1.0 and math.isnan(out[1]) and math.isnan(out[2])
    assert out[3] == pytest.approx(1 / 3)  # as if the gaps were not there


def test_thin_keeps_evenly_spaced_points_and_the_last() -> None:
    points = [(float(i), float(i)) for i in range(1000)]
    kept = thin(points, 10)
    assert len(kept) == 10 and kept[0] == (0.0, 0.0) and kept[-1] == (999.0, 999.0)
    assert [x for x, _ in kept[:3]] == [0.0, 100.0, 200.0]
    assert thin(points[:5], 10) == points[:5]
    assert [is_number(v) for v in (1, 2.5, True, math.inf, "1")] == [
        True,
        True,
        False,
        False,
        False,
    ]
