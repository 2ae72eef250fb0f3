"""Number series for charts: exponential smoothing and thinning to what an eye can see.

Raw mini-batch losses are too noisy to read or to compare; `ema` smooths them the way
TensorBoard does (with its start-up bias correction, so the curve starts at the first value), and
`thin` keeps a long series to a bounded number of evenly spaced points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def is_number(value: Any) -> bool:
    """A finite int or float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def ema(values: Sequence[Any], smooth: float) -> list[float]:
    """Exponential moving average with bias correction; non-numbers pass through as NaN."""
    if len(values) > 64 and set(map(type, values)) == {float}:  # checked in C
        return ema_array(values, smooth).tolist()
    _check(smooth)
    return _ema_in_python(values, smooth)


def ema_array(values: Sequence[float] | np.ndarray, smooth: float) -> np.ndarray:
    """`ema` of floats (NaN and infinities pass through as NaN), as an array; a typed history's
    array is read where it is, not copied."""
    _check(smooth)
    x = np.asarray(values, dtype=np.float64)
    if len(x) > 64 and np.isfinite(x).all():
        fast = _ema_of_floats(x, smooth)
        if fast is not None:
            return fast
    return np.asarray(_ema_in_python(x.tolist(), smooth), dtype=np.float64)


def _check(smooth: float) -> None:
    if not 0.0 <= smooth < 1.0:
        raise ValueError(f"smooth={smooth} must be in [0, 1)")


def _ema_in_python(values: Sequence[Any], smooth: float) -> list[float]:
    out, avg, n = [], 0.0, 0
    for value in values:
        if not is_number(value):
            out.append(math.nan)
            continue
        n += 1
        avg = smooth * avg + (1 - smooth) * float(value)
        out.append(avg / (1 - smooth**n))
    return out


def _ema_of_floats(x: np.ndarray, smooth: float) -> np.ndarray | None:
    """The same average in C (a first-order filter), for a long run's finite losses: a page
    redraws them every second. None without SciPy (a machine with torch alone)."""
    try:
        from scipy.signal import lfilter
    except ImportError:
        return None
    avg = lfilter([1.0 - smooth], [1.0, -smooth], x)  # avg[n] = smooth * avg[n-1] + (1-s) x[n]
    correction = 1.0 - smooth ** np.arange(1, len(x) + 1, dtype=np.float64)
    return np.asarray(avg / correction, dtype=np.float64)


def stride(n: int, limit: int) -> int:
    """The step that keeps at most `limit` of `n` evenly spaced points (1 when n <= limit)."""
    return max(1, math.ceil(n / limit))


def thin(points: list[tuple[float, float]], limit: int) -> list[tuple[float, float]]:
    """At most `limit` evenly spaced points, always keeping the last."""
    if len(points) <= limit:
        return points
    step = len(points) / limit
    picked = [points[int(i * step)] for i in range(limit - 1)]
    return [*picked, points[-1]]
