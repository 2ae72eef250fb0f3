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


def test_a_long_series_of_floats_is_smoothed_the_same_in_c_and_nan_keeps_to_the_loop() -> None:
    values = [float((i * 7919) % 101) / 10 for i in range(5000)]
    out, avg = [], 0.0
    for n, value in enumerate(values, 1):  # the definition, written out
        avg = 0.9 * avg + 0.1 * value
        out.append(avg / (1 - 0.9**n))
    assert ema(values, 0.9) == pytest.approx(out, rel=1e-12, abs=1e-12)
    with_nan = [*values[:100], math.nan, *values[100:200]]
    smoothed = ema(with_nan, 0.9)
    assert math.isnan(smoothed[100]) and smoothed[:100] == pytest.approx(out[:100])
